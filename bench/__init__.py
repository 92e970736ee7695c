"""Benchmarks: dscan against a naive user script and a ceiling probe, measured in one run."""
