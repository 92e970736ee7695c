"""Checks on the shapes Caffe gives a net's blobs (scanner/netshape): pooling windows that
see no input, shapes Caffe refuses at set-up, blobs over INT_MAX elements, and data layer
settings that make the read order random."""
from __future__ import annotations

from ..types import CRASH, ERROR, GARBAGE, WARNING
from .registry import Problem, register


@register("DS515", ERROR, "pooling window lies wholly outside its input", "net", GARBAGE,
          fix="make the last window start inside the input: pad the pooling layer, change "
              "kernel/stride, or use round_mode: FLOOR")
def empty_pooling_window(message: str, detail: dict) -> Problem:
    """What it finds: a Pooling layer whose ceil-rounded output grid (PoolingLayer::Reshape)
    has a window that starts at or past the end of its input, worked out from the input
    size the net really gets. An error when the window yields NaN: AVE pooling divides its
    empty sum by a window size of 0, and MAX pooling outputs -FLT_MAX, which the next
    layers turn into inf and NaN. AVE windows with a negative size output 0 (a warning).

    Why it matters: the NaN is there from the first forward pass: the log shows
    `loss = -nan` at iteration 0, and every test pass `accuracy = 1`. With padding Caffe
    clips the last window, and on another input size the grid fits, so stride > kernel
    alone (DS501) is not the cause.

    Example: AVE pooling `kernel_size: 2 stride: 3` on a 24x24 map: 9x9 output, the 9th
    window starts at 24.
    """
    return Problem("DS515", message, detail, severity=None if detail.get("nan") else WARNING)


@register("DS516", ERROR, "blob shapes Caffe refuses at net set-up", "net", CRASH,
          fix="make the layer's inputs agree: check kernel, stride, pad, crop offsets and the "
              "shapes of the blobs it joins")
def refused_shapes(layer_type: str, message: str, shapes: list) -> Problem:
    """What it finds: a layer whose input shapes fail one of Caffe's CHECKs when the net is
    set up: Eltwise inputs that differ, Concat inputs that differ off the concat axis, a
    kernel larger than its padded input, an InnerProduct after a zero-size blob, a Crop
    that reaches beyond its input, a Reshape whose count differs, a Slice that does not
    divide, labels and predictions that do not pair up.

    Why it matters: `caffe train` stops before the first iteration, with a CHECK such as
    `Check failed: bottom[i]->shape() == bottom[0]->shape()`, after loading the data.

    Example: an Eltwise SUM of a 56x56 branch and a 28x28 branch whose stride was changed.
    """
    return Problem("DS516", f"crashes at set-up: {message}", {"type": layer_type,
                                                               "shapes": shapes})


@register("DS517", ERROR, "blob larger than INT_MAX elements", "net", CRASH,
          fix="reduce batch_size or the input size so every blob stays under 2^31 elements")
def blob_over_int_max(message: str, detail: dict) -> Problem:
    """What it finds: a blob whose shape, inferred through the net, holds more than
    INT_MAX (2^31 - 1) elements.

    Why it matters: Blob::Reshape refuses it: `Check failed: shape[i] <= INT_MAX / count_
    (... vs. ...) blob size exceeds INT_MAX`, at set-up; long before that limit the net may
    not fit in memory (see the report's memory figures).

    Example: a 512-channel 1024x1024 feature map with batch_size 16.
    """
    return Problem("DS517", message, detail)


@register("DS518", WARNING, "rand_skip: the read order is not determined", "net",
          fix="remove rand_skip (Caffe 1.0 ignores it in Data layers) or shuffle the source; "
              "batch findings assume no skip")
def random_skip(layer_type: str, rand_skip: int, records: int | None) -> Problem:
    """What it finds: a data layer with `rand_skip`: ImageData (and the Data layer of Caffe
    before 1.0 and forks built on it, such as SSD's) first skips a random number of records
    in [0, rand_skip), so which records share a batch is not known in advance. Caffe 1.0's
    Data layer ignores `data_param.rand_skip`. ImageData stops with `Not enough points to
    skip` when the skip can reach the list's length (an error).

    Why it matters: the batch findings (DS304, DS305) are computed for the read order
    without a skip; with one, every batch starts up to rand_skip - 1 records later.

    Example: `image_data_param { rand_skip: 1000 }` on a 500-line list.
    """
    span = f"batches start 0..{rand_skip - 1} records later than reported"
    if layer_type == "Data":
        message = (f"rand_skip {rand_skip}: ignored by Caffe 1.0's Data layer (the read order "
                   f"is as reported); Caffe before 1.0 and its forks skip a random count: {span}")
        return Problem("DS518", message, {"rand_skip": rand_skip, "skip": [0, rand_skip - 1]})
    if records is not None and rand_skip > records:
        return Problem("DS518", f"rand_skip {rand_skip} can reach the {records} records: "
                       "Caffe stops with 'Not enough points to skip' when it does",
                       {"rand_skip": rand_skip, "records": records}, severity=ERROR,
                       effect=CRASH)
    return Problem("DS518", f"rand_skip {rand_skip}: read order not determined; {span}",
                   {"rand_skip": rand_skip, "skip": [0, rand_skip - 1]})
