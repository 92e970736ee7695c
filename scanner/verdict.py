"""What real Caffe would do with the dataset: crash (where first), train on garbage, or run."""
from __future__ import annotations

import heapq

import numpy as np

from .aggregate import CRASHES, FEEDS_GARBAGE, ScanTotals
from .batches import batch_matrix, first_positions, read_position


def verdict(totals: ScanTotals, complete: bool = True) -> dict:
    """The first record, in Caffe's read order, at which the run dies, and how many records
    would be fed to the net as garbage without any message. An interrupted scan that found
    neither cannot say the data is fine: its verdict is "unknown"."""
    sink = totals.sink
    settings = sink.settings
    garbage = [index for index, bits in sink.marks.items() if bits & FEEDS_GARBAGE and
               not bits & CRASHES]
    result = {"caffe": "ok", "first_crash": None, "crash_records": len(sink.crashes),
              "garbage_records": len(garbage),
              "garbage_examples": garbage_examples(totals, garbage)}
    candidates = []  # (position in read order, index, code, key if known)
    if sink.crashes:
        matrix = batch_matrix(totals.records, settings.batch_size, settings.solvers)
        positions = first_positions(matrix, totals.records)
        indices = np.fromiter(sink.crashes, np.int64, len(sink.crashes))
        local = indices - settings.start  # positions count from the first record scanned
        first = int(indices[np.argmin(positions[local])])
        candidates.append((int(positions[first - settings.start]), first, sink.crashes[first],
                           None))
    points = [{"index": e["index"], "code": "DS001", "key": None} for e in totals.store_errors]
    for point in points + totals.crash_points:  # the reader dies where the store broke
        position = read_position(point["index"] - settings.start, settings.batch_size,
                                 settings.solvers)
        candidates.append((position, point["index"], point["code"], point["key"]))
    if candidates:
        position, index, code, key = min(candidates, key=lambda c: c[:2])
        row = position // settings.batch_size
        result["caffe"] = "crashes"
        result["first_crash"] = {"index": index, "key": key, "code": code,
                                 "batch": row // settings.solvers,
                                 "solver": row % settings.solvers}
    elif garbage:
        result["caffe"] = "trains_on_garbage"
    elif not complete:
        result["caffe"] = "unknown"
    if totals.detection is not None:
        result["lost_objects"] = _lost_objects(totals.detection, settings)
    return result


def garbage_examples(totals: ScanTotals, garbage: list[int]) -> list[dict]:
    """The first `max_examples` records (by index) that would feed garbage, with the key a
    kept finding gives (scan.py looks the others up once the read is complete)."""
    first = heapq.nsmallest(totals.sink.settings.max_examples, garbage)
    keys = {f.index: f.key for f in totals.findings() if f.key is not None}
    return [{"index": index, "key": keys.get(index)} for index in first]


def _lost_objects(stats, settings) -> dict:
    """What SSD's data layer silently takes away from a detection store: dropped boxes and
    the records that lose them, images that train as pure background, clipped boxes. When
    the first record has no type, the layer reads no box at all in the whole run."""
    if not settings.first_has_type:
        return {"whole_run": True, "boxes": stats.boxes, "records": stats.records,
                "records_without_boxes": stats.records, "boxes_clipped": 0}
    return {"whole_run": False, "boxes": stats.lost, "records": stats.records_losing,
            "records_without_boxes": stats.background_records,
            "boxes_clipped": stats.clipped}
