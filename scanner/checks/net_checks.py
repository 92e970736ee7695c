"""Checks on a net definition: layer settings Caffe refuses or that breed NaN (lint), and
what the net's data layers ask of their data (files, mean, crop, channels)."""
from __future__ import annotations

from ..config.net import DATA_TYPES, Layer
from ..types import CRASH, ERROR, GARBAGE, INFO, WARNING
from .registry import Problem, register

LARGE_LOSS_RATIO = 10.0  # DS504: a weight above 1 and this many times every other loss's


@register("DS501", INFO, "pooling stride larger than its kernel", "net",
          fix="nothing, if meant; DS515 says when a window really misses the input")
def pooling_stride(layer: Layer) -> Problem | None:
    """What it finds: a Pooling layer (not global) whose stride exceeds its kernel size in
    either direction, so some inputs are never pooled.

    Why it matters: the inputs between windows never reach the output nor get a gradient.
    By itself it does not make NaN: real runs show NaN only when the ceil-rounded output
    grid has a window wholly outside the input, which DS515 finds from the real input size
    (with padding Caffe clips the last window; other sizes fit the grid).

    Example: `pooling_param { pool: MAX kernel_size: 2 stride: 3 }`.
    """
    if layer.type != "Pooling":
        return None
    params = layer.params.message("pooling_param")
    if params.flag("global_pooling"):
        return None
    kernel_sizes = params.integers("kernel_size")
    kernel = (params.integer("kernel_h", kernel_sizes[0] if kernel_sizes else 0),
              params.integer("kernel_w", kernel_sizes[-1] if kernel_sizes else 0))
    strides = params.integers("stride")
    stride = (params.integer("stride_h", strides[0] if strides else 1),
              params.integer("stride_w", strides[-1] if strides else 1))
    if not all(kernel) or all(s <= k for s, k in zip(stride, kernel)):
        return None
    return Problem("DS501", f"stride {stride[0]}x{stride[1]} exceeds kernel "
                   f"{kernel[0]}x{kernel[1]}", {"stride": list(stride), "kernel": list(kernel)})


@register("DS502", WARNING, "BatchNorm use_global_stats does not fit the phase", "net",
          fix=("Leave use_global_stats unset (Caffe picks the right value per phase) unless you "
               "are fine-tuning on purpose."))
def batchnorm_phase(layer: Layer, phase: str) -> Problem | None:
    """What it finds: a BatchNorm layer with `use_global_stats: true` in the TRAIN phase
    (statistics frozen while training) or `false` in TEST (test results depend on the
    batch). Caffe's default, when it is not set, is right for each phase.

    Why it matters: frozen statistics that were never accumulated are zero mean and zero
    variance, which blows activations up; batch statistics at test time make accuracy depend
    on batch size and order. Either can be meant (fine-tuning), hence a warning.

    Example: a train_val.prototxt whose BatchNorm layers were copied from a deploy net with
    `use_global_stats: true`, used to train from scratch.
    """
    if layer.type != "BatchNorm":
        return None
    params = layer.params.message("batch_norm_param")
    if not params.has("use_global_stats"):
        return None
    frozen = params.flag("use_global_stats")
    if frozen == (phase == "TEST"):
        return None
    return Problem("DS502", f"use_global_stats: {str(frozen).lower()} in phase {phase}",
                   {"phase": phase, "use_global_stats": frozen})


@register("DS503", WARNING, "BatchNorm eps is not positive", "net",
          fix="Set a small positive eps (Caffe's default is 1e-5).")
def batchnorm_eps(layer: Layer) -> Problem | None:
    """What it finds: a BatchNorm layer with `eps` of zero or less.

    Why it matters: Caffe divides by sqrt(variance + eps); a channel whose values are equal
    within a batch (variance 0) then divides by zero, and a negative eps takes the square
    root of a negative number: NaN in the forward pass.

    Example: `batch_norm_param { eps: 0 }`.
    """
    if layer.type != "BatchNorm":
        return None
    eps = layer.params.message("batch_norm_param").number("eps", 1e-5)
    if eps > 0:
        return None
    return Problem("DS503", f"eps = {eps:g}", {"eps": eps})


@register("DS504", WARNING, "loss weight far larger than the other losses'", "net",
          fix="Lower the loss_weight, or check that this loss really should dominate the others.")
def large_loss_weights(losses: list[Layer]) -> list[tuple[Layer, Problem]]:
    """What it finds: a loss layer whose `loss_weight` is above 1 and at least ten times
    the weight of every other loss in the same phase.

    Why it matters: the weight scales that loss's gradient; one term dominating the others
    by an order of magnitude is a classic cause of exploding updates and `loss = nan` in the
    first iterations, and it drowns out the other objectives.

    Example: an auxiliary loss with `loss_weight: 100` next to a main loss of weight 1.
    """
    weighted = [(layer, max(layer.loss_weights(), default=0.0)) for layer in losses]
    weighted = [(layer, weight) for layer, weight in weighted if weight > 0]
    found = []
    for layer, weight in weighted:
        others = [w for other, w in weighted if other is not layer]
        if others and weight > 1 and weight >= LARGE_LOSS_RATIO * max(others):
            found.append((layer, Problem("DS504", f"loss_weight {weight:g} against at most "
                                         f"{max(others):g} for the other losses",
                                         {"loss_weight": weight, "others": others})))
    return found


@register("DS505", ERROR, "layer settings Caffe refuses to run", "net", CRASH,
          fix="Change the layer's settings as the message says; Caffe refuses them at start-up.")
def refused_settings(layer: Layer) -> list[Problem]:
    """What it finds: settings that fail one of Caffe's CHECKs when the net is set up: both
    `include` and `exclude` rules, a Data or HDF5Data layer without a positive `batch_size`,
    both `force_color` and `force_gray`, both `mean_file` and `mean_value`, ImageData with
    only one of `new_height`/`new_width`, an unknown data `backend`.

    Why it matters: `caffe train` stops before the first iteration, often after minutes of
    loading, with a message like `Cannot specify mean_file and mean_value at the same time`.

    Example: `transform_param { mean_file: "mean.binaryproto" mean_value: 104 }`.
    """
    return [Problem("DS505", message) for message in _refusals(layer)]


def _refusals(layer: Layer):
    params = layer.params
    if params.messages("include") and params.messages("exclude"):
        yield "both include and exclude rules (Caffe: specify either, not both)"
    section = DATA_TYPES.get(layer.type)
    if section is None:
        return
    data_params = params.message(section)
    if layer.type != "ImageData" and data_params.integer("batch_size", 0) <= 0:
        yield f"{section}.batch_size is not set or not positive"
    if layer.type == "Data" and data_params.word("backend", "LEVELDB") not in ("LMDB",
                                                                               "LEVELDB"):
        yield f"unknown backend {data_params.word('backend')!r} (LMDB or LEVELDB)"
    if layer.type == "ImageData" and \
            (data_params.integer("new_height", 0) > 0) != (data_params.integer("new_width", 0) > 0):
        yield "new_height and new_width must be set together"
    transform = params.message("transform_param")
    if transform.flag("force_color") and transform.flag("force_gray"):
        yield "both force_color and force_gray"
    if transform.has("mean_file") and transform.numbers("mean_value"):
        yield "both mean_file and mean_value"


@register("DS510", ERROR, "a file the training run reads cannot be found", "net", CRASH,
          fix=("Fix the path, or start caffe in the directory the paths are relative to (--root "
               "shows where they resolve)."))
def missing_file(what: str, given: str, found_at: str | None) -> Problem:
    """What it finds: a data source, mean file or net file named in a prototxt that does not
    exist relative to the directory Caffe runs in (`--root`, default: the working
    directory). When dscan finds it relative to the prototxt's folder or one above it
    instead, it scans that copy and says where Caffe must be started (a warning).

    Why it matters: Caffe resolves these paths against its working directory only and dies
    at set-up (`Check failed: mdb_status == 0 (2 vs. 0) No such file or directory`).

    Example: `source: "examples/mnist/mnist_train_lmdb"` when caffe is started from
    somewhere other than the Caffe root.
    """
    if found_at is None:
        return Problem("DS510", f"{what} '{given}' does not exist relative to the run "
                       "directory", {"given": given})
    return Problem("DS510", f"{what} '{given}' does not exist relative to the run "
                   f"directory; found at {found_at}: start caffe there", {"given": given,
                   "found_at": found_at}, severity=WARNING, effect=None)


@register("DS511", ERROR, "mean file shape differs from the data's", "net", CRASH,
          fix=("Compute the mean file from this data (compute_image_mean), or use mean_value per "
               "channel."))
def mean_shape(mean_chw: tuple, data_chw: tuple, first: int, count: int) -> Problem:
    """What it finds: a `transform_param { mean_file }` whose channels x height x width (as
    Caffe reads the blob) differ from the records' (after decoding, force_color/force_gray
    and ImageData resizing; before cropping).

    Why it matters: Caffe checks each record against the mean:
    `Check failed: datum_height == data_mean_.height() (28 vs. 32)` at the first batch.

    Example: an ImageNet 256x256 mean file used with a 32x32 CIFAR LMDB.
    """
    return Problem("DS511", f"mean is {'x'.join(map(str, mean_chw))} but {count} record(s) "
                   f"are {'x'.join(map(str, data_chw))} (first at record {first})",
                   {"mean": list(mean_chw), "data": list(data_chw), "first_index": first,
                    "records": count})


@register("DS512", ERROR, "mean_value count is neither 1 nor the channel count", "net", CRASH,
          fix="Give one mean_value, or one per channel of the data.")
def mean_value_count(values: int, channels: int, first: int, count: int) -> Problem:
    """What it finds: `mean_value` given a number of times that is not 1 and not the
    records' channel count.

    Why it matters: Caffe stops with `Specify either 1 mean_value or as many as channels`.

    Example: three mean_value lines (B, G, R) on a greyscale LMDB.
    """
    return Problem("DS512", f"{values} mean_value(s) for {channels}-channel data "
                   f"({count} record(s), first at record {first})",
                   {"mean_values": values, "channels": channels, "first_index": first,
                    "records": count})


@register("DS513", ERROR, "crop_size larger than the images", "net", CRASH,
          fix=("Lower crop_size to at most the smallest record's height and width, or resize the "
               "images."))
def crop_too_large(crop: int, smallest: tuple, first: int, count: int) -> Problem:
    """What it finds: a `crop_size` greater than the height or width of some records.

    Why it matters: Caffe checks `datum_height >= crop_size` for every record and stops at
    the first that is smaller.

    Example: `crop_size: 227` on an LMDB converted with `--resize_height=32`.
    """
    return Problem("DS513", f"crop_size {crop} but {count} record(s) are smaller, down to "
                   f"{smallest[0]}x{smallest[1]} (first at record {first})",
                   {"crop_size": crop, "smallest": list(smallest), "first_index": first,
                    "records": count})


@register("DS514", WARNING, "transform setting that has no effect on this data", "net",
          GARBAGE,
          fix=("Remove the setting, or move the transformation into the data itself (HDF5Data "
               "applies none)."))
def ignored_setting(setting: str, reason: str) -> Problem:
    """What it finds: a `transform_param` setting Caffe ignores for the data at hand:
    `force_color`/`force_gray` on raw (not encoded) datums, or any transformation on an
    HDF5Data layer, which applies none.

    Why it matters: the net is trained on data that is not what the author believes: no
    mean subtracted, no scaling to [0, 1], grey images kept grey.

    Example: `transform_param { scale: 0.00390625 }` on an HDF5Data layer of uint8 pixels.
    """
    return Problem("DS514", f"{setting} is ignored: {reason}", {"setting": setting})
