"""Checks on HDF5Data sources: the files of a list, their datasets, and label rows."""
from __future__ import annotations

from ..types import CRASH, ERROR, GARBAGE, WARNING
from .registry import register


@register("DS401", ERROR, "HDF5: dataset missing at the file root", "store", CRASH)
def dataset_missing():
    """What it finds: a top blob name (`--data`, `--label`) with no dataset of that name at the
    root of an HDF5 file; when one of that name sits in a sub-group, the finding says where.
    A name that is a soft link looping back on itself, or a link to a missing file, counts
    too: it leads to no dataset.

    Why it matters: Caffe looks the dataset up by the top's name at the root only and dies
    with `Failed to find HDF5 dataset label`.

    Example: labels stored as `/train/label`, or a regression file whose targets are called
    `targets` while the layer's top is `label`.
    """


@register("DS402", ERROR, "HDF5: first dimensions of the tops differ", "store", CRASH)
def first_dims_differ():
    """What it finds: datasets of one file (data, label, ...) whose first dimensions (sample
    counts) differ.

    Why it matters: Caffe checks `hdf_blobs_[i]->shape(0) == num` when it loads the file and
    aborts.

    Example: 20 data rows but 18 labels after a filtering step applied to one of them.
    """


@register("DS403", ERROR, "HDF5: unsupported type class", "store", CRASH)
def unsupported_type():
    """What it finds: a top dataset whose type is neither float nor integer (string, compound,
    enum, boolean, opaque), or that has no dimensions to read rows from (a scalar, or a null
    dataspace).

    Why it matters: Caffe's HDF5 loader accepts only float and integer classes and aborts on
    anything else.

    Example: labels written as strings ('cat', 'dog') by pandas.
    """


@register("DS404", ERROR, "HDF5: list entry cannot be opened", "store", CRASH)
def file_unopenable():
    """What it finds: a source-list entry that names no file (relative to the working directory
    or to the list's folder), or a file that HDF5 cannot open (truncated, not HDF5, no
    permission) or whose structure it cannot read (the finding names the exception). The
    scan continues with the other files.

    Why it matters: Caffe stops with `Failed opening HDF5 file` when it reaches that entry.

    Example: a file cut short by an interrupted copy (`truncated file: eof = 75052`).
    """


@register("DS405", ERROR, "HDF5: dataset over INT_MAX elements", "store", CRASH)
def over_int_max():
    """What it finds: a top dataset with more than 2^31 - 1 elements.

    Why it matters: Caffe's blob counts are int; it refuses such a blob (`Check failed`) and
    the file cannot be used as one piece.

    Example: 70000 x 3 x 128 x 128 floats in one file; split it into several files.
    """


@register("DS406", ERROR, "HDF5: sample shape differs between files", "store", CRASH)
def trailing_dims_differ():
    """What it finds: a file whose per-sample shape (all dimensions but the first) differs from
    that of the list's first file, for the same top.

    Why it matters: Caffe reshapes the top for each file, but the layers after it were set up
    for the first shape; the run fails at the first layer that checks its input size.

    Example: one file of 3x32x32 images in a list of 3x28x28 ones.
    """


@register("DS407", WARNING, "HDF5: list entry found only relative to the list file", "store")
def resolves_from_list_dir():
    """What it finds: a source-list entry that does not exist relative to the current working
    directory but does relative to the list file's folder. dscan scans that file.

    Why it matters: Caffe opens list entries relative to its working directory, so the run
    fails with `Failed opening HDF5 file` unless it is started from the list's folder.

    Example: a list of bare names (`part0.h5`) used from the project root.
    """


@register("DS408", ERROR, "HDF5: samples with no values", "store",
          fix="rewrite the file with the sample dimensions it was meant to have")
def empty_samples():
    """What it finds: a top dataset with rows whose per-sample shape has a zero dimension,
    e.g. data of shape (N, 0). The rows are scanned for their labels; their values are none.

    Why it matters: Caffe loads such a file without complaint and feeds batches of empty
    samples: the net has nothing to learn from, and a layer that needs inputs (an
    InnerProduct's weight filler checks that the blob is not empty) stops the run.

    Example: a feature matrix written after a column filter that dropped every column.
    """


@register("DS302", ERROR, "non-finite or non-integer label", "record", GARBAGE)
def bad_label():
    """What it finds: an HDF5 label that is NaN or infinite, or, when `--num-classes` says the
    labels are classes, one that is not a whole number.

    Why it matters: Caffe casts float labels to int without a check: NaN becomes an arbitrary
    class index and the loss turns nan; 2.5 silently becomes 2.

    Example: a label row left NaN by a failed join in the preprocessing script.
    """


@register("DS307", WARNING, "segmentation label map with no foreground", "record")
def no_foreground():
    """What it finds: a label map (a label with spatial dimensions) whose pixels are all
    `--background` (default 0) or `--ignore-label`.

    Why it matters: the sample teaches only background; many of them bias the net towards
    predicting background, and a loss normalised by foreground pixels divides by zero.

    Example: a crop taken from an empty region of a satellite image.
    """
