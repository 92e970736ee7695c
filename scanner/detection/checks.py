"""Checks on SSD's AnnotatedDatum records: what the fork's AnnotatedData layer, its
DataTransformer and MultiBoxLoss (bbox_util.cpp) check, and what they silently fix."""
from __future__ import annotations

from ..checks.registry import Problem, register
from ..types import CRASH, ERROR, GARBAGE, INFO, WARNING


@register("DS350", ERROR, "value is not a valid AnnotatedDatum", "record", CRASH,
          fix="rewrite the record with convert_annoset; the stored bytes are damaged")
def invalid_record(message: str) -> Problem:
    """What it finds: a value in a detection store whose bytes do not parse as an SSD
    `AnnotatedDatum` message (bad tag, a field running past the end of its message).

    Why it matters: the data layer reads what the parser left, an AnnotatedDatum without its
    datum, and dies in the data transformer: `Check failed: datum_channels > 0 (0 vs. 0)`.

    Example: a value cut short in the middle of an annotation group.
    """
    return Problem("DS350", f"not a valid AnnotatedDatum: {message}")


@register("DS351", ERROR, "plain Datum in a detection store", "record", CRASH,
          fix="write every record of a detection store with convert_annoset "
              "(AnnotatedDatum), not convert_imageset")
def plain_datum(datum) -> Problem:
    """What it finds: a record that is a plain Caffe `Datum` (image and label, no boxes) in a
    store of `AnnotatedDatum` records.

    Why it matters: read as an AnnotatedDatum it has no datum and no type; SSD-Caffe aborts
    in the data transformer with `Check failed: datum_channels > 0 (0 vs. 0)` (observed, a
    couple of batches ahead of the record, in the prefetch thread).

    Example: one record of a convert_annoset LMDB replaced by convert_imageset output.
    """
    return Problem("DS351", f"a plain Datum ({datum.channels}x{datum.height}x{datum.width}, "
                   f"{datum.data_len} data bytes, label {datum.label}), no AnnotatedDatum",
                   {"channels": datum.channels, "height": datum.height,
                    "width": datum.width, "label": datum.label})


@register("DS352", ERROR, "AnnotatedDatum carries no image datum", "record", CRASH,
          fix="rewrite the record with its image; convert_annoset skips unreadable images")
def no_datum(groups: int) -> Problem:
    """What it finds: an AnnotatedDatum without its `datum` field (or with an empty one).

    Why it matters: the data transformer infers the blob shape from the empty datum and
    aborts: `Check failed: datum_channels > 0 (0 vs. 0)`.

    Example: a writer that filled the annotation groups but never set the image.
    """
    return Problem("DS352", f"no datum (image) in the record; {groups} annotation group(s)")


@register("DS353", ERROR, "AnnotatedDatum type missing or unknown", "record", CRASH,
          fix="set type: BBOX on every record (convert_annoset --anno_type=detection)")
def missing_type(first_has_type: bool, written: int | None) -> Problem:
    """What it finds: an AnnotatedDatum whose `type` is not set, or holds a value the
    AnnotationType enum does not define (the protobuf runtime then treats it as not set).

    Why it matters: the data layer decides from the first record it reads. If that one has a
    type (or the layer sets `anno_type`), a record without one aborts the run: `Check failed: sampled_datum.has_type() Some
    datum misses AnnotationType.` If the first record has none, the layer takes each
    record's datum label instead of its boxes: no box reaches MultiBoxLoss for the whole run
    (with convert_annoset's label -1 every loss is 0), or it aborts with `Cannot find any
    label.` when the datum has no label.

    Example: records written by a script that forgot `anno_datum.set_type(BBOX)`.
    """
    value = "not set" if written is None else f"{written}, which AnnotationType lacks"
    if first_has_type:
        return Problem("DS353", f"type {value}: Caffe aborts, 'Some datum misses "
                       "AnnotationType.'", {"type": written})
    return Problem("DS353", f"type {value}, and the first record has none either: the data "
                   "layer reads datum labels, no box reaches the loss in the whole run",
                   {"type": written, "first_record_has_type": False}, effect=GARBAGE)


@register("DS354", ERROR, "box reaches outside the image: clipped", "record", GARBAGE,
          fix="recompute the normalised box from the annotation and the image size; "
              "coordinates must lie in [0, 1]")
def clipped_box(label: int, coords: tuple, kept: float) -> Problem:
    """What it finds: a box with a coordinate below 0 or above 1 that still overlaps the
    image (float noise within 1e-6 is allowed).

    Why it matters: the data layer clips every box to [0, 1] without a message; the net
    trains on the clipped box, a different object extent than the one annotated.
    Observed: xmax = 1.3 trains silently, the loss departs from the clean run at the batch
    holding the record.

    Example: a box normalised by the wrong image width, xmax = 1.3.
    """
    return Problem("DS354", f"class {label} box {_show(coords)} is clipped to [0, 1]; "
                   f"{kept:.0%} of it is kept", {"label": label, "box": _plain(coords),
                                                 "kept_share": round(kept, 4)})


_DROPPED = {
    "inverted": "xmin > xmax or ymin > ymax",
    "zero_area": "zero width or height",
    "nan": "a NaN coordinate",
    "no_bbox": "no bbox in the annotation",
    "outside": "no overlap with the image",
}


def dropped_box(code: str, reason: str, label: int, coords: tuple) -> Problem:
    return Problem(code, f"class {label} box {_show(coords)} has {_DROPPED[reason]}: the data "
                   "layer drops it, the object is lost", {"label": label, "box": _plain(coords),
                                                          "reason": reason})


@register("DS355", ERROR, "box inverted (xmin > xmax or ymin > ymax): dropped", "record",
          GARBAGE, fix="swap the coordinates; a converter read the corners in the wrong order")
def inverted_box():
    """What it finds: a box whose xmin exceeds its xmax, or ymin its ymax.

    Why it matters: the data layer's box size is 0 for such a box, so it drops the box
    silently; the object is lost and its region trains as background.

    Example: a converter that wrote (xmax, ymax, xmin, ymin).
    """


@register("DS356", ERROR, "box of zero area, NaN or without a bbox: dropped", "record",
          GARBAGE, fix="fix or remove the annotation; zero-size boxes come from point "
                       "annotations or rounding")
def empty_box():
    """What it finds: a box with zero width or height, a NaN coordinate, or an annotation
    without a bbox at all (its coordinates read 0).

    Why it matters: the data layer drops boxes whose clipped size is not positive, without a
    message (a NaN never reaches the loss as NaN): the object is simply lost.

    Example: xmin == xmax after rounding a thin object to whole pixels.
    """


@register("DS357", ERROR, "box outside the image (or refused by emit_constraint): dropped",
          "record", GARBAGE,
          fix="recompute the box; it was normalised by the wrong size or belongs to another "
              "image")
def outside_box():
    """What it finds: a box that does not overlap the unit square at all (e.g. xmin >= 1),
    or, under the net's `emit_constraint`, a box reaching past the image whose centre lies
    outside it (CENTER) or whose share inside is at most `emit_overlap` (MIN_OVERLAP).

    Why it matters: projecting it onto the image fails, or the emit constraint refuses it,
    and the data layer drops it silently; the object is lost.

    Example: pixel coordinates stored unnormalised, xmin = 34.
    """


def not_emitted(label: int, coords: tuple, emit: tuple) -> Problem:
    rule = "its centre lies outside the image" if emit[0] == "CENTER" else \
        f"no more than {emit[1]:g} of it lies inside the image"
    return Problem("DS357", f"class {label} box {_show(coords)} reaches past the image and "
                   f"{rule}: emit_constraint {emit[0]} drops it, the object is lost",
                   {"label": label, "box": _plain(coords), "reason": "emit_constraint"})


@register("DS358", ERROR, "record without any box (trains as background)", "record", GARBAGE,
          fix="restore the record's annotation groups, or leave the image out")
def no_boxes() -> Problem:
    """What it finds: an AnnotatedDatum with no annotation group, or groups without boxes.

    Why it matters: the image enters the batch with no ground truth, so every prior on it
    trains as background. Observed: a record whose groups were removed trains silently, and
    the loss departs from the clean run at its batch. Deliberate negative images are the one
    legitimate case (`--ignore DS358`).

    Example: an image whose XML annotation file was empty when convert_annoset ran.
    """
    return Problem("DS358", "no annotation group: the image trains as pure background")


@register("DS359", ERROR, "box labelled as the background class", "record", CRASH,
          fix="relabel the group: label 0 is background in SSD, objects start at 1")
def background_label(label: int, boxes: int, reaching: int) -> Problem:
    """What it finds: an annotation group whose `group_label` is the background label (0, or
    the net's `background_label_id`).

    Why it matters: MultiBoxLoss aborts when such a box reaches it: `bbox_util.cpp Check
    failed: background_label_id != label (0 vs. 0) Found background label in the dataset.`
    (observed; difficult boxes too, the check comes first). When every box of the group is
    dropped by the data layer it never arrives, and the run goes on.

    Example: a label map without its background entry, so the first class got label 0.
    """
    if reaching:
        return Problem("DS359", f"group label {label} is the background class; {boxes} "
                       "box(es): Caffe aborts 'Found background label in the dataset.'",
                       {"label": label, "boxes": boxes})
    return Problem("DS359", f"group label {label} is the background class, but its boxes are "
                   "all dropped before the loss: no crash", {"label": label, "boxes": boxes},
                   severity=WARNING, effect="none")


@register("DS360", ERROR, "box label outside [0, num_classes)", "record", CRASH,
          fix="relabel the group, or raise num_classes of MultiBoxLoss (and the label map) "
              "to cover it")
def label_out_of_range(label: int, num_classes: int | None, source: str) -> Problem:
    """What it finds: a `group_label` below 0, or at or above the number of classes (from
    `--num-classes`, the net's MultiBoxLoss `num_classes`, or the label map: its highest
    label + 1).

    Why it matters: MultiBoxLoss (CPU) computes the confidence loss of each matched box and
    aborts: `Check failed: label < num_classes` or `Check failed: label >= 0`
    (bbox_util.cpp, ComputeConfLoss).

    Example: group_label 21 in a 21-class VOC set (labels 0-20).
    """
    where = f" ({source})" if source != "num_classes" else ""
    bound = "below 0" if label < 0 else f"not below num_classes {num_classes}{where}"
    return Problem("DS360", f"group label {label} is {bound}: Caffe aborts in MultiBoxLoss "
                   f"('Check failed: label {'>= 0' if label < 0 else '< num_classes'}')",
                   {"label": label, "num_classes": num_classes})


@register("DS361", ERROR, "box label not in the label map", "record", GARBAGE,
          fix="add the class to the label map, or relabel the group")
def label_not_in_map(label: int, known: int) -> Problem:
    """What it finds: a `group_label` that no item of `--label-map` (the net's
    `label_map_file`) defines, although it lies below the number of classes.

    Why it matters: nothing checks it while training; the net learns a class that has no
    name, and evaluation and deployment, which go by the label map, never report it.

    Example: label 5 in a map of 0 background, 1-4 and 6-20 (a class deleted from the map).
    """
    return Problem("DS361", f"group label {label} is none of the {known} labels of the label "
                   "map", {"label": label})


@register("DS362", WARNING, "datum height/width differ from the image's", "record", None,
          fix="set the datum's height and width to the encoded image's size")
def size_mismatch(datum_hw: tuple, image_hw: tuple) -> Problem:
    """What it finds: an encoded inner datum whose `height`/`width` disagree with the size in
    the image's own header.

    Why it matters: the data transformer decodes the image for pixels, but places the boxes
    by the datum's height and width when it resizes (`UpdateBBoxByResizePolicy`): with
    `resize_mode: FIT_SMALL_SIZE` or `FIT_LARGE_SIZE_AND_PAD` the boxes land beside their
    objects; with WARP it does not matter.

    Example: images re-encoded at half size after convert_annoset recorded the original size.
    """
    return Problem("DS362", f"datum says {datum_hw[0]}x{datum_hw[1]} (HxW), the image is "
                   f"{image_hw[0]}x{image_hw[1]}", {"datum": list(datum_hw),
                                                   "image": list(image_hw)})


@register("DS363", ERROR, "datum height/width unset (0)", "record", CRASH,
          fix="write the image size into the datum (convert_annoset does)")
def size_unset(datum_hw: tuple) -> Problem:
    """What it finds: an encoded inner datum whose `height` or `width` is 0 or missing.

    Why it matters: with a `resize_param` (every SSD training net has one) the transformer
    places boxes by these numbers and aborts first: `Check failed: img_height > 0` or
    `img_width > 0` (data_transformer.cpp, TransformAnnotation).

    Example: AnnotatedDatums built from `convert_imageset --encoded` datums, which leave the
    size unset.
    """
    return Problem("DS363", f"datum height x width is {datum_hw[0]}x{datum_hw[1]}: Caffe aborts "
                   "'Check failed: img_height > 0' when it resizes", {"datum": list(datum_hw)})


@register("DS364", INFO, "every box of the image is difficult", "record", None,
          fix="with use_difficult_gt: false such images train as background; check the "
              "difficult flags")
def all_difficult(boxes: int, use_difficult_gt: bool) -> Problem:
    """What it finds: a record whose boxes are all marked `difficult`.

    Why it matters: with MultiBoxLoss `use_difficult_gt: false` (used by many SSD recipes)
    the loss skips every difficult box, so the whole image trains as background. With
    `use_difficult_gt: true` (the default) nothing is lost: then this is information only.

    Example: a converter that set difficult on every box of some images.
    """
    if use_difficult_gt:
        return Problem("DS364", f"all {boxes} box(es) difficult: the image trains as "
                       "background where use_difficult_gt is false", {"boxes": boxes})
    return Problem("DS364", f"all {boxes} box(es) difficult and use_difficult_gt is false: the "
                   "image trains as background", {"boxes": boxes}, severity=ERROR,
                   effect=GARBAGE)


@register("DS365", WARNING, "duplicate boxes in one image (same label, IoU >= 0.95)",
          "record", None, fix="remove the repeated annotation")
def duplicate_box(label: int, first: tuple, second: tuple, overlap: float) -> Problem:
    """What it finds: two boxes of the same class in one image that overlap with an
    intersection over union of at least 0.95.

    Why it matters: the object counts twice: its priors are matched to both, its
    localisation and confidence loss weigh double, and mAP counts a missed second copy.

    Example: an object annotated twice when two annotation files were merged.
    """
    return Problem("DS365", f"class {label} boxes {_show(first)} and {_show(second)} overlap "
                   f"with IoU {overlap:.3f}", {"label": label, "boxes": [_plain(first),
                                                                        _plain(second)],
                                               "iou": round(overlap, 4)})


def _plain(coords: tuple) -> list:
    """Coordinates for a JSON report: NaN and infinities as text (strict JSON has none)."""
    return [value if value == value and abs(value) != float("inf") else str(value)
            for value in coords]


def _show(coords: tuple) -> str:
    return "(" + ", ".join(f"{value:.4g}" for value in coords) + ")"
