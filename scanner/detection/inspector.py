"""Inspect the AnnotatedDatum records of one shard: every image/Datum check on the inner
datum (through DatumInspector), then the boxes as SSD's data layer and loss meet them."""
from __future__ import annotations

from dataclasses import dataclass

from ..aggregate import ShardResult
from ..checks.datum_checks import invalid_datum
from ..datum import DatumDecodeError, decode_datum
from ..inspect import DatumInspector
from ..settings import ScanSettings
from ..types import MISSING_LABEL
from . import checks
from .boxes import (CLIPPED, INVERTED, KEPT, OUTSIDE, clipped, duplicates, emitted, fate,
                    kept_share)
from .record import AnnotatedDatum, AnnotatedDecodeError, decode_annotated
from .stats import DetectionStats

_DROP_CODES = {INVERTED: "DS355", OUTSIDE: "DS357"}  # any other reason: DS356


@dataclass
class DetectionShardResult(ShardResult):
    detection: DetectionStats | None = None


def class_bound(settings: ScanSettings) -> tuple[int | None, str]:
    """The number of classes labels must stay below, and where it comes from."""
    if settings.num_classes is not None:
        return settings.num_classes, "num_classes"
    if settings.label_map:
        return max(label for label, _ in settings.label_map) + 1, "the label map"
    return None, ""


class AnnotatedInspector(DatumInspector):
    """Turns (key, AnnotatedDatum bytes) pairs, in read order, into one shard's result."""

    def __init__(self, settings: ScanSettings):
        super().__init__(settings)
        self.detection = DetectionStats()
        self.known = {label for label, _ in settings.label_map} if settings.label_map else None
        self.num_classes, self.classes_from = class_bound(settings)
        # labels from 0 up to this (but the background, and in the map) are the usual ones
        self.bound = self.num_classes if self.num_classes is not None else 2 ** 31
        self.image_hw: tuple | None = None  # the last encoded image's header size

    def take(self, key, value) -> bool:
        return False  # encoded images with boxes: no fixed byte layout to batch

    def inspect(self, key, value) -> None:
        try:
            record = decode_annotated(value)
        except AnnotatedDecodeError as exc:
            self.skip(key, checks.invalid_record(str(exc)), "invalid")
            return
        if record.datum is None or not len(record.datum):
            self.skip(key, *self._without_datum(value, record))
            return
        try:
            datum = decode_datum(record.datum)
        except DatumDecodeError as exc:
            self.skip(key, invalid_datum(f"inner datum: {exc}"), "invalid")
            return
        index = self.records
        self.records += 1
        self.labels.append(MISSING_LABEL)  # a detection record's classes are its boxes
        self.image_hw = None
        shape = self._structure(index, key, datum)
        self.shape_ids.append(self.shape_id(shape))
        if datum.encoded and self.image_hw is not None and \
                (datum.height, datum.width) != self.image_hw:
            self._size(index, key, (datum.height, datum.width), self.image_hw)
        self._annotations(index, key, record, shape)

    def _check_image(self, index: int, key, data, in_datum: bool):
        """As DatumInspector's (decoded as the layer asks), and keep the size the image's
        header declares."""
        image = super()._check_image(index, key, data, in_datum)
        self.image_hw = (image.height, image.width) if image.height else None
        return image

    def _without_datum(self, value, record: AnnotatedDatum):
        try:
            plain = decode_datum(value)
        except DatumDecodeError:
            plain = None
        if plain is not None and (plain.data_len or plain.float_count) and not record.groups:
            return checks.plain_datum(plain), "plain-datum"
        return checks.no_datum(len(record.groups)), "no-datum"

    def _size(self, index: int, key, datum_hw: tuple, image_hw: tuple) -> None:
        """The datum's height and width differ from the image's header."""
        if min(datum_hw) <= 0:
            if self.settings.resizes is not False:  # only a resizing layer reads the size
                self._report(index, key, checks.size_unset(datum_hw))
        else:
            self._report(index, key, checks.size_mismatch(datum_hw, image_hw))

    def _annotations(self, index: int, key, record: AnnotatedDatum, shape) -> None:
        settings, stats = self.settings, self.detection
        if record.type is None:
            self._report(index, key, checks.missing_type(settings.first_has_type,
                                                         record.raw_type))
        groups = record.groups
        if not groups or (len(groups) == 1 and not groups[0].boxes) or \
                not any([group.boxes for group in groups]):
            self._report(index, key, checks.no_boxes())
            stats.add_record(index, 0, 0, set())
            return
        aspect = shape[2] / shape[1] if shape and shape[1] else 1.0
        widths, heights, aspects = stats.widths.append, stats.heights.append, \
            stats.aspects.append
        per_class = stats.per_class
        per_class_get = per_class.get
        bound, background, known = self.bound, settings.background, self.known
        present: set[int] = set()
        written = lost = difficult = 0
        for group in groups:
            label, kept_boxes, hard = group.label, [], 0
            for box in group.boxes:
                xmin, ymin, xmax, ymax = box.xmin, box.ymin, box.xmax, box.ymax
                hard += box.difficult
                if 0 <= xmin < xmax <= 1 and 0 <= ymin < ymax <= 1 and \
                        (xmax - xmin) * (ymax - ymin) > 1e-30 and box.has_bbox:
                    coords = (xmin, ymin, xmax, ymax)  # the usual box: inside, positive size
                else:
                    coords = self._unusual(index, key, label, box)
                    if coords is None:
                        lost += 1
                        continue
                width, height = coords[2] - coords[0], coords[3] - coords[1]
                widths(width)
                heights(height)
                aspects(width / height * aspect)
                kept_boxes.append(coords)
                if not box.difficult or settings.use_difficult_gt:
                    present.add(label)
            count, reaching = len(group.boxes), len(kept_boxes)
            written += count
            difficult += hard
            per_class[label] = per_class_get(label, 0) + count
            if hard:
                stats.difficult[label] = stats.difficult.get(label, 0) + hard
            stats.reaching += reaching
            if not (0 <= label < bound and label != background and
                    (known is None or label in known)):
                self._label(index, key, label, count, reaching)
            if len(kept_boxes) > 1:
                for first, second, overlap in duplicates(kept_boxes):
                    self._report(index, key, checks.duplicate_box(
                        label, kept_boxes[first], kept_boxes[second], overlap))
        if difficult == written:
            self._report(index, key, checks.all_difficult(written, settings.use_difficult_gt))
        stats.add_record(index, written, lost, present)

    def _unusual(self, index: int, key, label: int, box) -> tuple | None:
        """A box outside the unit square or of no positive size: what the data layer makes
        of it (clipped coordinates), or None when it drops the box; reported either way."""
        outcome = fate(box)
        if outcome is CLIPPED and not emitted(box, self.settings.emit):
            self._report(index, key, checks.not_emitted(label, box.coords,
                                                        self.settings.emit))
            return None
        if outcome is CLIPPED:
            self.detection.clipped += 1
            self._report(index, key, checks.clipped_box(label, box.coords, kept_share(box)))
            return clipped(box)
        if outcome is KEPT:  # within the float noise of the edges
            return clipped(box)
        self._report(index, key, checks.dropped_box(_DROP_CODES.get(outcome, "DS356"), outcome,
                                                    label, box.coords))
        return None

    def _label(self, index: int, key, label: int, boxes: int, reaching: int) -> None:
        """An unusual group label (background, out of range, not in the map), reported."""
        if not boxes:
            return
        if label == self.settings.background:
            self._report(index, key, checks.background_label(label, boxes, reaching))
        elif label < 0 or (self.num_classes is not None and label >= self.num_classes):
            problem = checks.label_out_of_range(label, self.num_classes, self.classes_from)
            if not reaching:  # every box dropped first: the loss never sees the label
                problem.severity, problem.effect = "warning", "none"
                problem.message += " (but no box of the group reaches the loss)"
            self._report(index, key, problem)
        elif self.known is not None and label not in self.known:
            self._report(index, key, checks.label_not_in_map(label, len(self.known)))

    def result(self, number: int, store_error: dict | None = None) -> DetectionShardResult:
        base = super().result(number, store_error)
        return DetectionShardResult(**vars(base), detection=self.detection)
