"""Convolution, Deconvolution and Pooling: output sizes by Caffe's own formulas, and the
pooling windows that see no input at all."""
from __future__ import annotations

import math

from .shapes import Note, SetupError, Shape, canonical_axis, repeated, shown


def convolution(layer, bottoms: list[Shape], notes: list[Note]) -> list[Shape]:
    """BaseConvolutionLayer::LayerSetUp/Reshape with ConvolutionLayer::compute_output_shape
    (or DeconvolutionLayer's, which inverts it)."""
    params = layer.params.message("convolution_param")
    first = bottoms[0]
    axis = canonical_axis(params.integer("axis", 1), len(first), layer.name)
    spatial = len(first) - axis - 1
    if spatial < 1:
        raise SetupError(f"{layer.type} '{layer.name}' needs spatial axes after axis "
                         f"{axis}, but its input is {shown(first)}", [first])
    kernel = repeated(params, "kernel_size", "kernel_h", "kernel_w", spatial, 0, layer.name)
    stride = repeated(params, "stride", "stride_h", "stride_w", spatial, 1, layer.name)
    pad = repeated(params, "pad", "pad_h", "pad_w", spatial, 0, layer.name)
    dilation = repeated(params, "dilation", "", "", spatial, 1, layer.name)
    if min(kernel) <= 0 or min(stride) <= 0:
        raise SetupError(f"{layer.type} '{layer.name}': kernel {kernel} and stride "
                         f"{stride} must be positive (Filter dimensions must be nonzero)")
    channels, outputs = first[axis], params.integer("num_output", 0)
    group = params.integer("group", 1)
    if outputs <= 0:
        raise SetupError(f"{layer.type} '{layer.name}': num_output must be positive")
    if group <= 0 or channels % group or outputs % group:
        raise SetupError(f"{layer.type} '{layer.name}': group {group} must divide the "
                         f"{channels} input channels and num_output {outputs}", [first])
    for other in bottoms[1:]:
        if other != first:
            raise SetupError(f"{layer.type} '{layer.name}': all inputs must have the same "
                             f"shape, got {shown(first)} and {shown(other)}", [first, other])
    sizes = []
    for i, size in enumerate(first[axis + 1:]):
        extent = dilation[i] * (kernel[i] - 1) + 1
        if layer.type == "Deconvolution":
            out = stride[i] * (size - 1) + extent - 2 * pad[i]
        else:
            out = _c_div(size + 2 * pad[i] - extent, stride[i]) + 1
        if out < 0:
            raise SetupError(f"{layer.type} '{layer.name}': kernel extent {extent} larger "
                             f"than its padded input {size + 2 * pad[i]} (input "
                             f"{shown(first)}, output size {out}: Check failed: "
                             "shape[i] >= 0)", [first])
        sizes.append(out)
    top = first[:axis] + (outputs,) + tuple(sizes)
    return [top] * max(len(layer.tops), 1)


def pooling(layer, bottoms: list[Shape], notes: list[Note]) -> list[Shape]:
    """PoolingLayer::LayerSetUp and Reshape (ceil or floor rounding, the pad clip, global
    pooling), plus the forward pass's windows that lie wholly outside the input."""
    params = layer.params.message("pooling_param")
    first = bottoms[0]
    if len(first) != 4:
        raise SetupError(f"Pooling '{layer.name}': input must have 4 axes, got "
                         f"{shown(first)}", [first])
    height, width = first[2], first[3]
    if params.flag("global_pooling"):
        kernel, stride, pad = [height, width], [1, 1], [0, 0]
    else:
        kernel = repeated(params, "kernel_size", "kernel_h", "kernel_w", 2, 0, layer.name)
        stride = repeated(params, "stride", "stride_h", "stride_w", 2, 1, layer.name)
        pad = repeated(params, "pad", "pad_h", "pad_w", 2, 0, layer.name)
    if min(kernel) <= 0 or min(stride) <= 0:
        raise SetupError(f"Pooling '{layer.name}': kernel {kernel} and stride {stride} "
                         "must be positive", [first])
    if pad[0] >= kernel[0] or pad[1] >= kernel[1]:
        raise SetupError(f"Pooling '{layer.name}': pad {pad} must be smaller than the "
                         f"kernel {kernel} (Check failed: pad_h_ < kernel_h_)", [first])
    # round_mode (BVLC master); forks write `ceil_mode: false` for the same floor rounding
    floor = params.word("round_mode", "CEIL") == "FLOOR" or not params.flag("ceil_mode", True)
    rounding = math.floor if floor else math.ceil
    pooled = []
    for size, k, s, p in zip((height, width), kernel, stride, pad):
        out = int(rounding((size + 2 * p - k) / s)) + 1
        if (pad[0] or pad[1]) and (out - 1) * s >= size + p:
            out -= 1  # Caffe clips the last window so that it starts inside the image
        if out < 0:
            raise SetupError(f"Pooling '{layer.name}': kernel {k} larger than its padded "
                             f"input {size + 2 * p} (input {shown(first)}, output size "
                             f"{out}: Check failed: shape[i] >= 0)", [first])
        pooled.append(out)
    top = (first[0], first[1], pooled[0], pooled[1])
    empty = _empty_windows((height, width), pooled, kernel, stride, pad)
    if empty:
        notes.append(_empty_note(layer, params.word("pool", "MAX"), first, top, kernel,
                                 stride, pad, empty))
    return [top] * max(len(layer.tops), 1)


def _empty_windows(sizes, pooled, kernel, stride, pad) -> dict:
    """Per axis, the output positions whose window starts at or past the input's end, and
    the positions whose AVE divisor (hend - hstart before clipping) is 0."""
    found = {}
    for name, size, out, k, s, p in zip(("height", "width"), sizes, pooled, kernel,
                                        stride, pad):
        starts = [i * s - p for i in range(out)]
        outside = [i for i, start in enumerate(starts) if start >= size]
        zero = [i for i, start in enumerate(starts) if min(start + k, size + p) == start]
        if outside:
            found[name] = {"positions": outside, "zero_divisor": zero,
                           "first_start": starts[outside[0]], "input": size}
    return found


def _empty_note(layer, method, bottom, top, kernel, stride, pad, empty) -> Note:
    axis, facts = next(iter(empty.items()))
    position = facts["positions"][0]
    start = facts["first_start"]
    nan = method == "MAX" or any(f["zero_divisor"] for f in empty.values())
    if method == "MAX":
        effect = "MAX gives -FLT_MAX there, inf and NaN in the next layers"
    elif nan:
        effect = "AVE divides by a window size of 0: 0/0 = NaN"
    else:
        effect = "AVE outputs 0 there (a negative window size)"
    lines = "rows" if axis == "height" else "columns"
    message = (f"{'NaN from the first forward pass' if nan else 'an output that sees no input'}"
               f": {method} kernel {kernel[0]}x{kernel[1]} stride {stride[0]}x{stride[1]} pad "
               f"{pad[0]}x{pad[1]} on {shown(bottom[2:])} gives {shown(top[2:])}; output "
               f"{position} reads {lines} {start}..{start + kernel[0 if axis == 'height' else 1] - 1}"
               f" of 0..{facts['input'] - 1}; {effect}")
    return Note("empty_window", message, {
        "pool": method, "input": list(bottom), "output": list(top), "kernel": kernel,
        "stride": stride, "pad": pad, "nan": nan,
        "empty": {name: f["positions"] for name, f in empty.items()}})


def _c_div(a: int, b: int) -> int:
    """C++ integer division: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q
