"""The shapes a net starts from: Input and DummyData layers' declared shapes, MemoryData's
fields, and the data layers' tops from the records a scan read."""
from __future__ import annotations

from .shapes import Shape, SetupError


def declared(layer) -> list[Shape] | None:
    """Tops of a layer whose shapes are written in the prototxt; None for other types."""
    params = layer.params
    if layer.type == "Input":
        shapes = [tuple(s.integers("dim")) for s in
                  params.message("input_param").messages("shape")]
        return _one_per_top(layer, shapes)
    if layer.type == "DummyData":
        dummy = params.message("dummy_data_param")
        shapes = [tuple(s.integers("dim")) for s in dummy.messages("shape")]
        if not shapes:
            legacy = [dummy.integers(n) for n in ("num", "channels", "height", "width")]
            shapes = [tuple(axis[i] if i < len(axis) else axis[0] for axis in legacy)
                      for i in range(max(map(len, legacy), default=0))
                      ] if all(legacy) else []
        return _one_per_top(layer, shapes)
    if layer.type == "MemoryData":
        memory = params.message("memory_data_param")
        batch = memory.integer("batch_size", 0)
        data = (batch, memory.integer("channels", 0), memory.integer("height", 0),
                memory.integer("width", 0))
        return [data, (batch,)][:len(layer.tops)]
    return None


def _one_per_top(layer, shapes: list[Shape]) -> list[Shape]:
    """InputLayer: one shape for every top, or one shape per top."""
    if len(shapes) == 1:
        return shapes * len(layer.tops)
    if len(shapes) != len(layer.tops):
        raise SetupError(f"{layer.type} '{layer.name}' has {len(shapes)} shapes for "
                         f"{len(layer.tops)} tops (give 1, or one per top)")
    return shapes


def data_tops(layer, batch: int, first_record: Shape | None, crop: int,
              label_dims: dict[str, Shape] | None = None) -> list[Shape | None]:
    """Data/ImageData: (batch, C, H, W) from the first record Caffe reads (after crop) and
    (batch,) labels; HDF5Data: (batch,) + each dataset's row shape."""
    if layer.type == "HDF5Data":
        rows = label_dims or {}
        return [(batch,) + rows[top] if top in rows else None for top in layer.tops]
    if first_record is None:
        return [None] * len(layer.tops)
    channels, height, width = first_record
    if crop > 0:
        height = width = crop
    return [(batch, channels, height, width), (batch,)][:len(layer.tops)]
