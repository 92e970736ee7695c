"""A Caffe net definition as dscan needs it: layers by phase, data layers with their
sources, and what the loss layers say about labels."""
from __future__ import annotations

from dataclasses import dataclass

from .prototxt import Field, Message

PHASES = ("TRAIN", "TEST")
# V1 nets (`layers { type: DATA }`) name types by enum; the ones dscan looks at.
V1_TYPES = {"DATA": "Data", "HDF5_DATA": "HDF5Data", "IMAGE_DATA": "ImageData",
            "SOFTMAX_LOSS": "SoftmaxWithLoss", "ACCURACY": "Accuracy",
            "INNER_PRODUCT": "InnerProduct", "CONVOLUTION": "Convolution",
            "DECONVOLUTION": "Deconvolution", "POOLING": "Pooling", "RELU": "ReLU",
            "DROPOUT": "Dropout", "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss",
            "INFOGAIN_LOSS": "InfogainLoss", "EUCLIDEAN_LOSS": "EuclideanLoss",
            "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss",
            "HINGE_LOSS": "HingeLoss", "CONTRASTIVE_LOSS": "ContrastiveLoss",
            "MEMORY_DATA": "MemoryData", "DUMMY_DATA": "DummyData",
            "WINDOW_DATA": "WindowData", "SPLIT": "Split", "SOFTMAX": "Softmax"}
DATA_TYPES = {"Data": "data_param", "HDF5Data": "hdf5_data_param",
              "ImageData": "image_data_param", "AnnotatedData": "data_param"}
DB_TYPES = ("Data", "AnnotatedData")  # layers reading an LMDB/LevelDB through data_param
OTHER_INPUTS = ("MemoryData", "DummyData", "WindowData", "Input", "Python")
CLASS_LOSSES = {"SoftmaxWithLoss": "loss_param", "Accuracy": "accuracy_param",
                "MultinomialLogisticLoss": "loss_param", "InfogainLoss": "loss_param"}
# layers that pass their bottom's channels through: look further up for num_output
PASS_THROUGH = ("ReLU", "PReLU", "ELU", "Dropout", "BatchNorm", "Scale", "Bias", "Split",
                "Sigmoid", "TanH", "Power", "AbsVal", "Flatten", "Softmax")


@dataclass
class Layer:
    index: int
    name: str
    type: str
    params: Message
    tops: list[str]
    bottoms: list[str]

    @property
    def where(self) -> str:
        return self.params.where()

    @property
    def is_loss(self) -> bool:
        return self.type.endswith("Loss") or bool(self.params.numbers("loss_weight"))

    def loss_weights(self) -> list[float]:
        """Caffe's default: 1 for the first top of a *Loss layer, 0 elsewhere."""
        weights = self.params.numbers("loss_weight")
        if weights:
            return weights
        return [1.0] if self.type.endswith("Loss") else []


@dataclass
class NetState:
    phase: str
    level: int = 0
    stages: tuple[str, ...] = ()


class Net:
    def __init__(self, message: Message):
        self.message = message
        self.path = message.path
        self.name = message.text("name", "") or ""
        self.layers = [_layer(i, m) for i, m in enumerate(message.messages("layer")
                                                          or message.messages("layers"))]
        self.legacy_input = legacy_input(message)

    def active(self, state: NetState) -> list[Layer]:
        """Layers Caffe keeps for this state (Net::FilterNet), as written in the file."""
        return [layer for layer in self.layers if included(layer, state)]

    def built(self, state: NetState) -> list[Layer]:
        """The layers of the net Caffe builds: the Input layer UpgradeNetInput makes of
        legacy `input:` fields first, then the ones FilterNet keeps."""
        upgraded = [self.legacy_input] if self.legacy_input is not None else []
        return upgraded + self.active(state)

    @property
    def is_deploy(self) -> bool:
        """No layer reads data and none is a loss: a net Caffe only ever runs in TEST
        (pycaffe's Net(deploy, weights, TEST), or under a solver's test net)."""
        def reads_data(kind: str) -> bool:
            return kind in DATA_TYPES or kind in ("Python", "WindowData", "MemoryData") or \
                ("Data" in kind and kind != "DummyData")
        def trains(layer: Layer) -> bool:
            return any(rule.ident("phase", "") == "TRAIN" for rule in
                       layer.params.messages("include") + layer.params.messages("exclude"))
        return bool(self.layers) and not any(
            layer.type.endswith("Loss") or reads_data(layer.type) or trains(layer)
            for layer in self.layers)

    @property
    def own_stages(self) -> tuple[str, ...]:
        """The stages of the file's own `state { stage }`, which Caffe adds to every state."""
        return tuple(self.message.message("state").texts("stage"))


def included(layer: Layer, state: NetState) -> bool:
    includes, excludes = layer.params.messages("include"), layer.params.messages("exclude")
    if includes:
        return any(_meets(rule, state) for rule in includes)
    return not any(_meets(rule, state) for rule in excludes)


def _meets(rule: Message, state: NetState) -> bool:
    """NetStateRule: phase, level range, required and forbidden stages."""
    if rule.has("phase") and rule.ident("phase") != state.phase:
        return False
    if rule.has("min_level") and state.level < rule.integer("min_level"):
        return False
    if rule.has("max_level") and state.level > rule.integer("max_level"):
        return False
    if any(stage not in state.stages for stage in rule.texts("stage")):
        return False
    return not any(stage in state.stages for stage in rule.texts("not_stage"))


def legacy_input(net: Message) -> Layer | None:
    """UpgradeNetInput: `input:` with `input_shape` or `input_dim` (4 per input) becomes a
    layer "input" of type Input placed first; `input:` alone is dropped."""
    names, shapes, dims = net.texts("input"), net.messages("input_shape"), \
        net.integers("input_dim")
    if not names or not (shapes or dims):
        return None
    blocks = []
    for i in range(len(names)):
        if shapes:
            values = shapes[i].integers("dim") if i < len(shapes) else []
        else:
            values = dims[4 * i:4 * i + 4]
        blocks.append(Field("shape", Message([Field("dim", v, net.line, 1) for v in values],
                                             net.path, net.line), net.line, 1))
    where = net.field("input")
    line = where.line if where else net.line
    params = Message([Field("input_param", Message(blocks, net.path, line), line, 1)],
                     net.path, line)
    return Layer(-1, "input", "Input", params, names, [])


def _layer(index: int, message: Message) -> Layer:
    kind = message.word("type", "")  # a string; V1 nets write an enum name
    kind = V1_TYPES.get(kind, kind)
    return Layer(index, message.text("name", "") or f"#{index}", kind, message,
                 message.texts("top"), message.texts("bottom"))


@dataclass
class ClassCount:
    """What the loss layers say about the labels a data top feeds."""

    num_classes: int | None
    ignore_label: int | None
    where: str  # the layer that gave num_classes
    layer: str


def classes_for(label_top: str, layers: list[Layer]) -> ClassCount | None:
    """num_output of the layer feeding a classification loss whose label is `label_top`,
    and that loss's ignore_label; None when no such loss reads the top."""
    for position, layer in enumerate(layers):
        section = CLASS_LOSSES.get(layer.type)
        if section is None or len(layer.bottoms) < 2 or layer.bottoms[1] != label_top:
            continue
        ignore = layer.params.message(section).integer("ignore_label")
        producer = _producer(layer.bottoms[0], layers[:position])
        num_output = None if producer is None else _num_output(producer)
        return ClassCount(num_output, ignore, producer.where if producer else layer.where,
                          producer.name if producer else layer.name)
    return None


def classes_for_input(blob: str, earlier: list[Layer]) -> int | None:
    """The num_output of the layer that gives `blob` its channels, if any."""
    producer = _producer(blob, earlier)
    return None if producer is None else _num_output(producer)


def _producer(blob: str, earlier: list[Layer]) -> Layer | None:
    """The nearest layer above that gives `blob` a channel count (skipping in-place ones)."""
    for layer in reversed(earlier):
        if blob not in layer.tops:
            continue
        if layer.type in PASS_THROUGH and layer.bottoms:
            return _producer(layer.bottoms[0], earlier[:earlier.index(layer)])
        return layer
    return None


def _num_output(layer: Layer) -> int | None:
    for section in ("inner_product_param", "convolution_param"):
        if layer.params.has(section):
            return layer.params.message(section).integer("num_output")
    return None
