"""Detection datasets: SSD's AnnotatedDatum records (an image Datum plus groups of
normalised boxes), checked against what the SSD fork of Caffe does with them."""
from __future__ import annotations

from .sampling import ANNOTATED, resolve


def inspector_class(settings, default):
    """The inspector for records of a Datum store: AnnotatedDatum or plain Datum."""
    if settings.record == ANNOTATED:
        from .inspector import AnnotatedInspector
        return AnnotatedInspector
    return default


def attach(totals, results) -> None:
    """Merge the shards' detection statistics into the totals (None for a Datum store)."""
    from .stats import DetectionStats
    merged, offset = None, 0
    for result in sorted(results, key=lambda r: r.number):
        found = getattr(result, "detection", None)
        if found is not None:
            merged = merged or DetectionStats()
            merged.merge(found, offset)
        offset += result.records
    totals.detection = merged


__all__ = ["ANNOTATED", "attach", "inspector_class", "resolve"]
