"""Walk a net's layers in order, as Net::Init sets them up, giving every top blob its shape;
collect what Caffe would stop on, the notes the layers leave, and the blobs' memory."""
from __future__ import annotations

from dataclasses import dataclass, field

from . import dense, inputs, spatial
from ..errors import PrototxtError
from .shapes import FLOAT_BYTES, INT_MAX, Note, SetupError, Shape, count, shown

SHAPERS = {**dense.SHAPERS, "Convolution": spatial.convolution,
           "Deconvolution": spatial.convolution, "Pooling": spatial.pooling,
           "ConvolutionDepthwise": spatial.convolution}  # a fork's, same parameters
DATA_LAYERS = ("Data", "ImageData", "HDF5Data")


@dataclass
class LayerShapes:
    layer: object  # config.net.Layer
    bottoms: list[Shape | None]
    tops: list[Shape | None]


@dataclass
class Trouble:
    """A layer Caffe refuses (kind "setup"), a blob over INT_MAX elements ("int_max"), or a
    note a shape function left (e.g. "empty_window")."""

    layer: object
    kind: str
    message: str
    detail: dict = field(default_factory=dict)


@dataclass
class NetShapes:
    phase: str
    layers: list[LayerShapes] = field(default_factory=list)
    blobs: dict[str, Shape | None] = field(default_factory=dict)
    troubles: list[Trouble] = field(default_factory=list)
    unknown: list[tuple[str, str]] = field(default_factory=list)  # (layer, type) not modelled
    no_data: list[str] = field(default_factory=list)  # data layers whose records are unknown

    def shape(self, blob: str) -> Shape | None:
        return self.blobs.get(blob)

    def memory(self) -> dict:
        """float32 bytes of every blob of known shape, and Net::Init's "Memory required for
        data": every layer's tops (in-place ones again), plus the Split layers InsertSplits
        adds for a blob read by more than one layer; for TRAIN, data plus gradients."""
        sizes = {name: count(shape) * FLOAT_BYTES for name, shape in self.blobs.items()
                 if shape is not None}
        required, complete = 0, all(s is not None for s in self.blobs.values())
        readers: dict[tuple[int, str], int] = {}
        producer: dict[str, tuple[int, Shape | None]] = {}
        for position, item in enumerate(self.layers):
            for name in item.layer.bottoms:
                if name in producer:
                    key = (producer[name][0], name)
                    readers[key] = readers.get(key, 0) + 1
            for name, shape in zip(item.layer.tops, item.tops):
                producer[name] = (position, shape)
                required += count(shape) * FLOAT_BYTES if shape is not None else 0
        shapes = {(i, name): shape for i, item in enumerate(self.layers)
                  for name, shape in zip(item.layer.tops, item.tops)}
        for key, n in readers.items():
            if n > 1 and shapes.get(key) is not None:
                required += n * count(shapes[key]) * FLOAT_BYTES
        data = sum(sizes.values())
        return {"blobs": sizes, "data_bytes": data, "caffe_memory_required": required,
                "with_gradients_bytes": 2 * data if self.phase == "TRAIN" else data,
                "complete": complete}


def infer(layers: list, phase: str, starts: dict[int, list[Shape | None]]) -> NetShapes:
    """Shapes through `layers` (the net Caffe builds for one phase); `starts` gives the data
    layers' tops by layer index, from the records a scan read."""
    result = NetShapes(phase)
    for layer in layers:
        bottoms = [result.blobs.get(name) for name in layer.bottoms]
        tops = _tops(layer, bottoms, starts, result)
        tops = (list(tops) + [None] * len(layer.tops))[:len(layer.tops)]
        for name, shape in zip(layer.tops, tops):
            result.blobs[name] = shape
            if shape is not None and count(shape) > INT_MAX and \
                    not any(t.kind == "int_max" for t in result.troubles):
                result.troubles.append(Trouble(layer, "int_max", (
                    f"blob '{name}' of {layer.type} '{layer.name}' is {shown(shape)} = "
                    f"{count(shape):,} elements, over INT_MAX: crashes at set-up (Check "
                    "failed: blob size exceeds INT_MAX)"), {"blob": name, "shape": list(shape)}))
        result.layers.append(LayerShapes(layer, bottoms, tops))
    return result


def _tops(layer, bottoms, starts, result: NetShapes) -> list[Shape | None]:
    try:
        declared = inputs.declared(layer)
    except SetupError as error:
        _refused(result, layer, error)
        return []
    except PrototxtError:
        result.unknown.append((layer.name, layer.type))
        return []
    if declared is not None:
        return declared
    if layer.type in DATA_LAYERS or layer.type.endswith("Data"):  # forks' data layers too
        tops = starts.get(layer.index)
        if not tops or any(t is None for t in tops):
            result.no_data.append(layer.name)
        return tops or []
    shaper = SHAPERS.get(layer.type)
    if shaper is None:
        result.unknown.append((layer.name, layer.type))
        return []
    if any(b is None for b in bottoms) or (not bottoms and layer.type != "Silence"):
        return []  # downstream of something unknown: stays unknown
    notes: list[Note] = []
    try:
        tops = shaper(layer, bottoms, notes)
    except SetupError as error:
        _refused(result, layer, error)
        return []
    except PrototxtError:  # a value of the wrong kind (a template's placeholder): unknown
        result.unknown.append((layer.name, layer.type))
        return []
    result.troubles += [Trouble(layer, n.kind, n.message, n.detail) for n in notes]
    return tops


def _refused(result: NetShapes, layer, error: SetupError) -> None:
    result.troubles.append(Trouble(layer, "setup", error.message, {"shapes": error.shapes}))
