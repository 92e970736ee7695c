"""What every layer family's shape function shares: the blob shape type, the error for a
shape Caffe refuses at set-up, and the notes a layer can leave (an empty pooling window)."""
from __future__ import annotations

from dataclasses import dataclass, field

Shape = tuple[int, ...]
INT_MAX = 2**31 - 1
FLOAT_BYTES = 4  # Caffe's Dtype float


class SetupError(Exception):
    """Caffe would stop at net set-up (a CHECK in the layer's LayerSetUp or Reshape)."""

    def __init__(self, message: str, shapes: list[Shape] | None = None):
        super().__init__(message)
        self.message = message
        self.shapes = [list(s) for s in shapes or []]


@dataclass
class Note:
    """Something a layer's shape tells about its output (an empty pooling window)."""

    kind: str  # "empty_window"
    message: str
    detail: dict = field(default_factory=dict)


def count(shape: Shape) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total


def shown(shape: Shape | None) -> str:
    if shape is None:
        return "unknown"
    return "x".join(map(str, shape)) if shape else "scalar"


def canonical_axis(axis: int, num_axes: int, layer: str) -> int:
    """Blob::CanonicalAxisIndex: a negative axis counts from the end; out of range is fatal."""
    if not -num_axes <= axis < max(num_axes, 1):
        raise SetupError(f"axis {axis} out of range for a {num_axes}-axis blob in {layer}")
    return axis + num_axes if axis < 0 else axis


def repeated(params, name: str, name_h: str, name_w: str, spatial: int, default: int,
             layer: str) -> list[int]:
    """kernel_size/pad/stride/dilation as Convolution reads them: one value for every
    spatial axis, one value per axis, or the 2-D `_h`/`_w` pair."""
    if params.has(name_h) or params.has(name_w):
        if spatial != 2:
            raise SetupError(f"{name_h}/{name_w} only for 2-D {layer}")
        return [params.integer(name_h, default), params.integer(name_w, default)]
    values = params.integers(name)
    if not values:
        return [default] * spatial
    if len(values) == 1:
        return values * spatial
    if len(values) != spatial:
        raise SetupError(f"{name} must be given once or {spatial} times in {layer}, "
                         f"not {len(values)} times")
    return values
