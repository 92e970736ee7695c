"""Detection statistics of one shard, merged exactly across shards: boxes per class and per
image, difficult boxes, the size and shape of the boxes that reach the loss, and which
classes each record brings to its batch."""
from __future__ import annotations

from array import array
from collections import Counter

import numpy as np

from ..batches import batch_matrix
from ..class_stats import absence_probabilities

QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
SCATTER_POINTS = 2000  # boxes drawn in the HTML size plot


class DetectionStats:
    def __init__(self) -> None:
        self.records = 0  # AnnotatedDatum records whose boxes were read
        self.boxes = 0  # as written
        self.reaching = 0  # boxes that reach the loss (kept or clipped)
        self.lost = 0  # boxes the data layer drops
        self.clipped = 0
        self.records_losing = 0  # records with at least one dropped box
        self.background_records = 0  # records from which no box reaches the loss
        self.per_class: Counter = Counter()
        self.difficult: Counter = Counter()
        self.per_image: Counter = Counter()  # boxes written -> records
        self.widths = array("f")  # normalised, after clipping, of the boxes reaching the loss
        self.heights = array("f")
        self.aspects = array("f")  # width / height in pixels of the image
        self.present_records = array("q")  # (record, class) pairs: classes reaching the loss
        self.present_classes = array("q")

    def add_size(self, width: float, height: float, pixel_aspect: float) -> None:
        """A box reaching the loss; `pixel_aspect` is the image's width / height."""
        self.widths.append(width)
        self.heights.append(height)
        if height > 0:
            self.aspects.append(width / height * pixel_aspect)

    def add_record(self, index: int, written: int, lost: int, classes: set[int]) -> None:
        """A record's totals; its boxes per class and difficult ones are counted by the
        inspector directly into `per_class` and `difficult`."""
        self.records += 1
        self.boxes += written
        self.per_image[written] = self.per_image.get(written, 0) + 1
        self.lost += lost
        self.records_losing += lost > 0
        self.background_records += not classes
        for label in classes:
            self.present_records.append(index)
            self.present_classes.append(label)

    def merge(self, other: "DetectionStats", offset: int) -> None:
        for name in ("records", "boxes", "reaching", "lost", "clipped", "records_losing",
                     "background_records"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("per_class", "difficult", "per_image"):
            getattr(self, name).update(getattr(other, name))
        for name in ("widths", "heights", "aspects", "present_classes"):
            getattr(self, name).extend(getattr(other, name))
        self.present_records.extend(i + offset for i in other.present_records)

    def sizes(self) -> tuple[np.ndarray, np.ndarray]:
        return np.frombuffer(self.widths, np.float32), np.frombuffer(self.heights, np.float32)

    def as_report(self, records: int, batch_size: int, solvers: int) -> dict:
        widths, heights = self.sizes()
        areas = widths.astype(np.float64) * heights
        aspects = np.frombuffer(self.aspects, np.float32)
        return {
            "records": self.records, "boxes": self.boxes, "boxes_reaching_loss": self.reaching,
            "boxes_clipped": self.clipped, "boxes_dropped": self.lost,
            "records_losing_boxes": self.records_losing,
            "records_without_boxes": self.background_records,
            "boxes_per_class": {str(k): v for k, v in sorted(self.per_class.items())},
            "difficult_per_class": {str(k): v for k, v in sorted(self.difficult.items())},
            "difficult": sum(self.difficult.values()),
            "boxes_per_image": {str(k): v for k, v in sorted(self.per_image.items())},
            "area_quantiles": _quantiles(areas),
            "aspect_ratio_quantiles": _quantiles(aspects),
            "batches": self.batches(records, batch_size, solvers),
        }

    def batches(self, records: int, batch_size: int, solvers: int) -> dict | None:
        """Distinct classes (over the boxes that reach the loss) per batch, in read order."""
        classes = sorted(set(self.present_classes))
        if not records or not classes:
            return None
        distinct = self.distinct_per_batch(records, batch_size, solvers, classes)
        counts = np.bincount(np.searchsorted(classes, np.frombuffer(self.present_classes,
                                                                     np.int64)),
                             minlength=len(classes))
        expected = float(np.sum(1 - absence_probabilities(counts, records, batch_size)))
        return {"batch_size": batch_size, "count": int(len(distinct)), "classes": len(classes),
                "batches_missing_classes": int(np.count_nonzero(distinct < len(classes))),
                "distinct_classes_per_batch": {
                    "min": int(distinct.min()), "median": float(np.median(distinct)),
                    "max": int(distinct.max()), "expected_if_shuffled": round(expected, 3)}}

    def distinct_per_batch(self, records: int, batch_size: int, solvers: int,
                           classes: list[int]) -> np.ndarray:
        words = -(-len(classes) // 64)
        masks = np.zeros((records, words), np.uint64)
        rows = np.frombuffer(self.present_records, np.int64)
        slots = np.searchsorted(classes, np.frombuffer(self.present_classes, np.int64))
        keep = rows < records
        np.bitwise_or.at(masks, (rows[keep], slots[keep] // 64),
                         np.left_shift(np.uint64(1), (slots[keep] % 64).astype(np.uint64)))
        matrix = batch_matrix(records, batch_size, solvers)
        union = np.bitwise_or.reduce(masks[matrix], axis=1)  # (batches, words)
        bits = np.unpackbits(union.view(np.uint8), axis=1)
        return bits.sum(axis=1)


def _quantiles(values: np.ndarray) -> dict | None:
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    found = np.quantile(values.astype(np.float64), QUANTILES)
    return {f"p{int(q * 100)}": round(float(v), 6) for q, v in zip(QUANTILES, found)}
