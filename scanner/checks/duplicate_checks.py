"""Duplicates within a store, conflicting labels, and leakage between stores (DS8xx). The
search itself lives in scanner/duplicates; these are the codes and their docs."""
from __future__ import annotations

from ..types import ERROR, GARBAGE, INFO, WARNING
from .registry import register


@register("DS801", WARNING, "exact duplicate records", "dataset",
          fix="remove the copies (or keep them on purpose: they weigh that picture more)")
def exact_duplicates() -> None:
    """What it finds: groups of records whose payloads are byte for byte the same (encoded
    image bytes, raw `data`, `float_data` values, HDF5 rows), with every member's key.

    Why it matters: each copy is one more gradient step on the same picture: the class it
    belongs to weighs more than its count says, and the net memorises it.

    Example: a list file that names the same image twice, or two crawls merged into one
    `convert_imageset` run.
    """


@register("DS802", INFO, "near-duplicate records (re-encoded, resized, cropped)", "dataset",
          fix="look at the group's pictures; drop the copies that are the same picture")
def near_duplicates() -> None:
    """What it finds: groups of records whose pictures differ by at most `--near-distance`
    bits of a 64-bit perceptual hash (default 10): the same picture at another JPEG
    quality, size, or with a few pixels cropped or some noise added. The distance of each
    member to the group's first record is reported.

    Why it matters: like exact copies they weigh one picture more, but no byte comparison
    finds them.

    Example: photos collected twice, once as originals and once as resized thumbnails.
    """


@register("DS803", ERROR, "the same content under different labels", "dataset", GARBAGE,
          fix="decide the one right label and relabel (or remove) the other copies")
def conflicting_labels() -> None:
    """What it finds: groups of exact or near-duplicate records that carry different labels;
    the labels and how many members carry each are reported.

    Why it matters: Caffe trains on contradictory targets: the loss pulls the same picture
    towards two classes for the whole run, and neither is learnt well.

    Example: an image listed under two class folders, or a relabelling pass that fixed only
    one of two copies.
    """


@register("DS804", ERROR, "test records that duplicate training records (leakage)",
          "dataset", fix="remove these records from the test set (or from the training set)")
def leakage() -> None:
    """What it finds: records of the scanned (test or validation) store that are exact or
    near duplicates of records of a training store: the store given with `--against`, or
    the TRAIN sources of the net for its TEST sources in `dscan net`. Both sides' keys are
    reported.

    Why it matters: the test accuracy then measures memory, not generalisation: it is
    higher than what the net does on new pictures.

    Example: a validation split drawn from a folder that the training list also covers.
    """
