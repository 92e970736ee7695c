"""Layers whose output shape follows from their inputs' without a spatial window:
InnerProduct, Embed, Flatten, Reshape, Concat, Slice, Split, Eltwise, Crop, Softmax and
the element-wise layers, the losses, Accuracy and ArgMax."""
from __future__ import annotations

from .shapes import SetupError, Shape, canonical_axis, count, shown

# Reshape gives top[0] the bottom's shape (NeuronLayer::Reshape and its kin).
SAME_SHAPE = {"ReLU", "PReLU", "ELU", "Sigmoid", "TanH", "Dropout", "BatchNorm", "Scale",
              "Bias", "Power", "AbsVal", "Exp", "Log", "BNLL", "Threshold", "Softmax", "LRN",
              "MVN", "Normalize", "Swish", "Clip",
              "BN"}  # BN: the BatchNorm-and-scale layer of SegNet's and PSPNet's forks


def same_shape(layer, bottoms: list[Shape], notes) -> list[Shape]:
    return [bottoms[0]] * max(len(layer.tops), 1)


def inner_product(layer, bottoms: list[Shape], notes) -> list[Shape]:
    """InnerProductLayer::LayerSetUp/Reshape: K = count from `axis`; the top keeps the
    axes before it and gets num_output."""
    params = layer.params.message("inner_product_param")
    first = bottoms[0]
    axis = canonical_axis(params.integer("axis", 1), len(first), layer.name)
    inputs = count(first[axis:])
    if inputs == 0:
        raise SetupError(f"InnerProduct '{layer.name}' after a zero-size blob "
                         f"{shown(first)}: its weights have 0 elements (Check failed: "
                         "blob->count() in the weight filler)", [first])
    outputs = params.integer("num_output", 0)
    return [first[:axis] + (outputs,)]


def embed(layer, bottoms: list[Shape], notes) -> list[Shape]:
    """EmbedLayer::Reshape: one num_output vector per input index."""
    outputs = layer.params.message("embed_param").integer("num_output", 0)
    return [bottoms[0] + (outputs,)]


def flatten(layer, bottoms: list[Shape], notes) -> list[Shape]:
    """FlattenLayer::Reshape: axes axis..end_axis become one."""
    params, first = layer.params.message("flatten_param"), bottoms[0]
    start = canonical_axis(params.integer("axis", 1), len(first), layer.name)
    end = canonical_axis(params.integer("end_axis", -1), len(first), layer.name)
    return [first[:start] + (count(first[start:end + 1]),) + first[end + 1:]]


def reshape(layer, bottoms: list[Shape], notes) -> list[Shape]:
    """ReshapeLayer::Reshape: 0 copies the bottom's dim, -1 is inferred, over the axes
    [axis, axis + num_axes) of the bottom."""
    params, first = layer.params.message("reshape_param"), bottoms[0]
    dims = params.message("shape").integers("dim")
    axis = params.integer("axis", 0)
    start = axis + len(first) + 1 if axis < 0 else axis
    num_axes = params.integer("num_axes", -1)
    end = len(first) if num_axes == -1 else start + num_axes
    if not 0 <= start <= end <= len(first) or dims.count(-1) > 1:
        raise SetupError(f"Reshape '{layer.name}': axis {axis}/num_axes {num_axes} do not "
                         f"fit the input {shown(first)}", [first])
    new = []
    for i, dim in enumerate(dims):
        if dim == 0:
            if start + i >= len(first):
                raise SetupError(f"Reshape '{layer.name}': dim 0 copies axis {start + i}, "
                                 f"which {shown(first)} lacks", [first])
            dim = first[start + i]
        new.append(dim)
    top = list(first[:start]) + new + list(first[end:])
    if -1 in top:
        known = count(tuple(d for d in top if d != -1))
        if known == 0 or count(first) % known:
            raise SetupError(f"Reshape '{layer.name}': {shown(first)} cannot become "
                             f"{dims}", [first])
        top[top.index(-1)] = count(first) // known
    if count(tuple(top)) != count(first):
        raise SetupError(f"Reshape '{layer.name}': output count must match input count: "
                         f"{shown(first)} ({count(first)}) against {shown(tuple(top))} "
                         f"({count(tuple(top))})", [first, tuple(top)])
    return [tuple(top)]


def concat(layer, bottoms: list[Shape], notes) -> list[Shape]:
    """ConcatLayer::Reshape: every input has the first's shape except along the axis."""
    params, first = layer.params.message("concat_param"), bottoms[0]
    given = params.integer("concat_dim") if params.has("concat_dim") else \
        params.integer("axis", 1)
    axis = canonical_axis(given, len(first), layer.name)
    total = 0
    for other in bottoms:
        same = len(other) == len(first) and all(
            a == b for i, (a, b) in enumerate(zip(first, other)) if i != axis)
        if not same:
            raise SetupError(f"Concat '{layer.name}': inputs must agree except along axis "
                             f"{axis}: {shown(first)} and {shown(other)}", [first, other])
        total += other[axis]
    return [first[:axis] + (total,) + first[axis + 1:]]


def slice_(layer, bottoms: list[Shape], notes) -> list[Shape]:
    """SliceLayer::Reshape: at the slice points, or into equal parts."""
    params, first = layer.params.message("slice_param"), bottoms[0]
    given = params.integer("slice_dim") if params.has("slice_dim") else \
        params.integer("axis", 1)
    axis = canonical_axis(given, len(first), layer.name)
    size, parts, points = first[axis], len(layer.tops), params.integers("slice_point")
    if points:
        edges = [0, *points, size]
        if len(points) != parts - 1 or any(b <= a for a, b in zip(edges, edges[1:])):
            raise SetupError(f"Slice '{layer.name}': slice points {points} do not cut "
                             f"{size} into {parts} parts", [first])
        widths = [b - a for a, b in zip(edges, edges[1:])]
    else:
        if parts == 0 or size % parts:
            raise SetupError(f"Slice '{layer.name}': {size} along axis {axis} does not "
                             f"divide into {parts} equal parts", [first])
        widths = [size // parts] * parts
    return [first[:axis] + (w,) + first[axis + 1:] for w in widths]


def split(layer, bottoms: list[Shape], notes) -> list[Shape]:
    return [bottoms[0]] * len(layer.tops)


def eltwise(layer, bottoms: list[Shape], notes) -> list[Shape]:
    """EltwiseLayer::Reshape: every input has exactly the first's shape."""
    for other in bottoms[1:]:
        if other != bottoms[0]:
            raise SetupError(f"Eltwise '{layer.name}': inputs must have the same shape: "
                             f"{shown(bottoms[0])} and {shown(other)}", [bottoms[0], other])
    return [bottoms[0]]


def crop(layer, bottoms: list[Shape], notes) -> list[Shape]:
    """CropLayer::Reshape: the axes from `axis` on take the second input's size, shifted by
    the offsets, which must keep the crop inside the first input."""
    params = layer.params.message("crop_param")
    if len(bottoms) < 2:
        raise SetupError(f"Crop '{layer.name}' needs two inputs")
    first, like = bottoms
    if len(first) != len(like):
        raise SetupError(f"Crop '{layer.name}': inputs {shown(first)} and {shown(like)} "
                         "differ in axes", [first, like])
    axis = canonical_axis(params.integer("axis", 2), len(first), layer.name)
    offsets = params.integers("offset")
    if len(offsets) not in (0, 1, len(first) - axis):
        raise SetupError(f"Crop '{layer.name}': {len(offsets)} offsets for "
                         f"{len(first) - axis} cropped axes")
    top = list(first)
    for i in range(axis, len(first)):
        offset = offsets[0] if len(offsets) == 1 else offsets[i - axis] if offsets else 0
        if first[i] - offset < like[i]:
            raise SetupError(f"Crop '{layer.name}': crop beyond its input along axis {i}: "
                             f"{shown(first)} offset {offset} cannot give {like[i]} (from "
                             f"{shown(like)})", [first, like])
        top[i] = like[i]
    return [tuple(top)]


def loss(layer, bottoms: list[Shape], notes) -> list[Shape]:
    """LossLayer::Reshape: one scalar; predictions and labels share the first dimension;
    SoftmaxWithLoss needs one label per prediction (outer x inner)."""
    first = bottoms[0]
    if len(bottoms) > 1 and first and bottoms[1] and first[0] != bottoms[1][0] \
            and layer.type not in ("ContrastiveLoss",):
        raise SetupError(f"{layer.type} '{layer.name}': the data and label should have the "
                         f"same first dimension: {shown(first)} and {shown(bottoms[1])}",
                         [first, bottoms[1]])
    if layer.type in ("SoftmaxWithLoss", "InfogainLoss") and len(bottoms) > 1:
        section = "softmax_param" if layer.type == "SoftmaxWithLoss" else \
            "infogain_loss_param"
        _one_label_each(layer, first, bottoms[1], layer.params.message(section))
    if layer.type in ("EuclideanLoss", "SigmoidCrossEntropyLoss") and len(bottoms) > 1 \
            and count(first) != count(bottoms[1]):
        raise SetupError(f"{layer.type} '{layer.name}': inputs must have the same count: "
                         f"{shown(first)} and {shown(bottoms[1])}", [first, bottoms[1]])
    tops = [()]
    if layer.type == "SoftmaxWithLoss" and len(layer.tops) > 1:
        tops.append(first)
    return tops


def accuracy(layer, bottoms: list[Shape], notes) -> list[Shape]:
    """AccuracyLayer::Reshape: a scalar, and per-class accuracies as a second top."""
    params, first = layer.params.message("accuracy_param"), bottoms[0]
    axis = canonical_axis(params.integer("axis", 1), len(first), layer.name)
    if params.integer("top_k", 1) > first[axis]:
        raise SetupError(f"Accuracy '{layer.name}': top_k {params.integer('top_k', 1)} "
                         f"must not exceed the {first[axis]} classes", [first])
    if len(bottoms) > 1:
        _one_label_each(layer, first, bottoms[1], params)
    return [(), (first[axis],)][:max(len(layer.tops), 1)]


def argmax(layer, bottoms: list[Shape], notes) -> list[Shape]:
    """ArgMaxLayer::Reshape: top_k along `axis`, or (N, 1 or 2, top_k, 1...) without it."""
    params, first = layer.params.message("argmax_param"), bottoms[0]
    top_k = params.integer("top_k", 1)
    if params.has("axis"):
        axis = canonical_axis(params.integer("axis"), len(first), layer.name)
        return [first[:axis] + (top_k,) + first[axis + 1:]]
    shape = [1] * max(len(first), 3)
    shape[0], shape[2] = first[0], top_k
    if params.flag("out_max_val"):
        shape[1] = 2
    return [tuple(shape)]


def permute(layer, bottoms: list[Shape], notes) -> list[Shape]:
    """SSD's PermuteLayer: axes in `order`, the ones it leaves out after them in order."""
    first = bottoms[0]
    order = [canonical_axis(a, len(first), layer.name)
             for a in layer.params.message("permute_param").integers("order")]
    order += [a for a in range(len(first)) if a not in order]
    return [tuple(first[a] for a in order)]


def silence(layer, bottoms: list[Shape], notes) -> list[Shape]:
    return []


def _one_label_each(layer, first: Shape, labels: Shape, params) -> None:
    """SoftmaxWithLoss, InfogainLoss and Accuracy: outer x inner predictions, one label each."""
    axis = canonical_axis(params.integer("axis", 1), len(first), layer.name)
    predictions = count(first[:axis]) * count(first[axis + 1:])
    if predictions != count(labels):
        raise SetupError(f"{layer.type} '{layer.name}': number of labels must match number "
                         f"of predictions: {shown(first)} gives {predictions}, the labels "
                         f"{shown(labels)} are {count(labels)}", [first, labels])


SHAPERS = {"InnerProduct": inner_product, "Embed": embed, "Flatten": flatten,
           "Reshape": reshape, "Concat": concat, "Slice": slice_, "Split": split,
           "Eltwise": eltwise, "Crop": crop, "Accuracy": accuracy, "ArgMax": argmax,
           "Silence": silence, "Permute": permute, **{name: same_shape for name in SAME_SHAPE}}
LOSSES = ("SoftmaxWithLoss", "EuclideanLoss", "SigmoidCrossEntropyLoss", "HingeLoss",
          "InfogainLoss", "MultinomialLogisticLoss", "ContrastiveLoss")
SHAPERS.update({name: loss for name in LOSSES})
