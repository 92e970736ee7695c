"""Duplicates, near duplicates, conflicting labels and train/test leakage: fingerprints made
in the workers during the normal scan, joined in the parent after the merge."""
