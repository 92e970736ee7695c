"""Shape inference (scanner/netshape) against values worked out by hand from Caffe's own
functions (named in each test), on small nets written here."""
import pytest

from scanner.config.net import Net, NetState
from scanner.config.prototxt import parse
from scanner.netshape import infer


def _input(shape, name="data") -> str:
    dims = " ".join(f"dim: {d}" for d in shape)
    return (f'layer {{ name: "in_{name}" type: "Input" top: "{name}" '
            f'input_param {{ shape {{ {dims} }} }} }}\n')


def _shapes(text: str, phase: str = "TRAIN", starts=None):
    net = Net(parse(text))
    return infer(net.built(NetState(phase)), phase, starts or {})


def _top(text: str, blob: str):
    return _shapes(text).shape(blob)


def _trouble(text: str, kind: str = "setup"):
    return [t for t in _shapes(text).troubles if t.kind == kind]


def _layer(kind: str, params: str, bottoms=("data",), tops=("out",), name="l") -> str:
    b = " ".join(f'bottom: "{x}"' for x in bottoms)
    t = " ".join(f'top: "{x}"' for x in tops)
    return f'layer {{ name: "{name}" type: "{kind}" {b} {t} {params} }}\n'


# ConvolutionLayer::compute_output_shape: (in + 2 pad - (dilation (k - 1) + 1)) / stride + 1
@pytest.mark.parametrize("params, shape, expected", [
    ("num_output: 20 kernel_size: 5", (64, 1, 28, 28), (64, 20, 24, 24)),
    ("num_output: 8 kernel_size: 3 pad: 2 stride: 2 dilation: 2", (1, 3, 32, 32),
     (1, 8, 16, 16)),  # extent 5: (32 + 4 - 5) / 2 + 1 = 15 + 1
    ("num_output: 4 kernel_h: 3 kernel_w: 1 pad_h: 1 stride_h: 2 stride_w: 1",
     (2, 3, 9, 7), (2, 4, 5, 7)),  # (9 + 2 - 3) / 2 + 1 = 5; (7 - 1) / 1 + 1 = 7
    ("num_output: 6 kernel_size: 3 group: 3", (1, 3, 5, 5), (1, 6, 3, 3)),
    ("num_output: 2 kernel_size: 3 kernel_size: 3 kernel_size: 1", (1, 1, 8, 8, 8),
     (1, 2, 6, 6, 8)),  # N-D: one kernel size per spatial axis
    ("num_output: 96 kernel_size: 11 stride: 4", (10, 3, 227, 227), (10, 96, 55, 55)),
])
def test_convolution_output_shape(params, shape, expected):
    net = _input(shape) + _layer("Convolution", f"convolution_param {{ {params} }}")
    assert _top(net, "out") == expected


def test_deconvolution_inverts_the_formula():
    # DeconvolutionLayer::compute_output_shape: stride (in - 1) + extent - 2 pad
    net = _input((1, 8, 16, 16)) + _layer(
        "Deconvolution", "convolution_param { num_output: 4 kernel_size: 4 stride: 2 pad: 1 }")
    assert _top(net, "out") == (1, 4, 32, 32)  # 2 * 15 + 4 - 2


def test_convolution_group_must_divide_the_channels():
    # BaseConvolutionLayer::LayerSetUp: CHECK_EQ(channels_ % group_, 0)
    net = _input((1, 3, 8, 8)) + _layer(
        "Convolution", "convolution_param { num_output: 4 kernel_size: 3 group: 2 }")
    [trouble] = _trouble(net)
    assert "group 2" in trouble.message and _top(net, "out") is None


def test_a_kernel_larger_than_its_padded_input_crashes_at_setup():
    # Blob::Reshape CHECK_GE(shape[i], 0): (3 + 0 - 7) / 1 + 1 = -3
    net = _input((1, 1, 3, 3)) + _layer("Convolution",
                                        "convolution_param { num_output: 1 kernel_size: 7 }")
    [trouble] = _trouble(net)
    assert "larger than its padded input 3" in trouble.message


# PoolingLayer::Reshape: ceil((in + 2 pad - k) / stride) + 1, the last window clipped to
# start inside the image when padded; Forward_cpu: AVE divides by (hend - hstart) * ...
@pytest.mark.parametrize("params, size, out, empty", [
    ("pool: AVE kernel_size: 2 stride: 3", 24, 9, True),  # the 9th window starts at 24
    ("pool: AVE kernel_size: 2 stride: 3 pad: 1", 24, 9, False),  # starts at 23
    ("pool: AVE kernel_size: 2 stride: 3", 23, 8, False),  # ceil(21 / 3) + 1
    ("pool: MAX kernel_size: 2 stride: 2", 24, 12, False),
    ("pool: MAX kernel_size: 3 stride: 2", 13, 6, False),  # ceil(10 / 2) + 1
    ("pool: MAX kernel_size: 3 stride: 2", 14, 7, False),  # ceil(11 / 2) + 1: 7, ends at 14
    ("pool: AVE kernel_size: 2 stride: 3 round_mode: FLOOR", 24, 8, False),
    ("pool: MAX kernel_size: 2 stride: 2 pad: 1", 1, 1, False),  # 2 clipped to 1
    ("pool: AVE global_pooling: true", 7, 1, False),
])
def test_pooling_output_size_and_empty_windows(params, size, out, empty):
    net = _input((2, 5, size, size)) + _layer("Pooling", f"pooling_param {{ {params} }}")
    result = _shapes(net)
    assert result.shape("out") == (2, 5, out, out)
    assert bool([t for t in result.troubles if t.kind == "empty_window"]) == empty


def test_an_empty_ave_window_is_nan_and_a_negative_one_is_zero():
    nan = _input((1, 1, 24, 24)) + _layer("Pooling",
                                          "pooling_param { pool: AVE kernel_size: 2 stride: 3 }")
    [note] = _trouble(nan, "empty_window")
    assert note.detail["nan"] and note.message.startswith("NaN from the first forward pass")
    assert "on 24x24 gives 9x9" in note.message and note.detail["empty"]["height"] == [8]
    # k2 s5 on 24: starts 0, 5, ..., 25; hend - hstart = 24 - 25 = -1: the sum 0 / -2 is 0
    zero = _input((1, 1, 24, 24)) + _layer("Pooling",
                                           "pooling_param { pool: AVE kernel_size: 2 stride: 5 }")
    [note] = _trouble(zero, "empty_window")
    assert not note.detail["nan"] and "sees no input" in note.message
    # MAX: the empty window keeps -FLT_MAX, and the next layers make inf and NaN of it
    maximum = zero.replace("AVE", "MAX")
    [note] = _trouble(maximum, "empty_window")
    assert note.detail["nan"] and "-FLT_MAX" in note.message


def test_inner_product_keeps_the_axes_before_its_axis():
    # InnerProductLayer::Reshape: top = bottom.shape[:axis] + (num_output,)
    net = _input((64, 50, 3, 3)) + _layer("InnerProduct", "inner_product_param { num_output: 100 }")
    assert _top(net, "out") == (64, 100)
    net = _input((2, 3, 4, 5)) + _layer("InnerProduct",
                                        "inner_product_param { num_output: 7 axis: 2 }")
    assert _top(net, "out") == (2, 3, 7)


def test_inner_product_after_a_zero_size_blob_crashes_at_setup():
    # conv: (4 - 5) / 1 + 1 = 0 rows; the InnerProduct's weight filler CHECKs blob->count()
    net = _input((1, 1, 4, 4)) + _layer(
        "Convolution", "convolution_param { num_output: 2 kernel_size: 5 }", tops=("c",)) + \
        _layer("InnerProduct", "inner_product_param { num_output: 3 }", bottoms=("c",))
    assert _top(net, "c") == (1, 2, 0, 0)
    [trouble] = _trouble(net)
    assert "zero-size blob" in trouble.message and trouble.layer.type == "InnerProduct"


@pytest.mark.parametrize("params, expected", [
    ("", (2, 60)),  # FlattenLayer::Reshape: axes 1..-1
    ("flatten_param { end_axis: 2 }", (2, 12, 5)),
])
def test_flatten(params, expected):
    assert _top(_input((2, 3, 4, 5)) + _layer("Flatten", params), "out") == expected


@pytest.mark.parametrize("params, shape, expected", [
    ("shape { dim: 0 dim: -1 }", (2, 3, 4, 5), (2, 60)),  # ReshapeLayer: 0 copies, -1 infers
    ("shape { dim: 2 dim: 2 } axis: 1 num_axes: 1", (2, 4, 5), (2, 2, 2, 5)),
    ("shape { dim: 1 } axis: -1 num_axes: 0", (6, 2, 3), (6, 2, 3, 1)),  # appends an axis
    ("shape { dim: -1 } axis: -2", (6, 2, 3), (6, 2, 3)),  # start 3 - 2 + 1: the last axis
])
def test_reshape(params, shape, expected):
    net = _input(shape) + _layer("Reshape", f"reshape_param {{ {params} }}")
    assert _top(net, "out") == expected


def test_reshape_to_another_count_crashes_at_setup():
    net = _input((2, 3, 4)) + _layer("Reshape", "reshape_param { shape { dim: 5 dim: 5 } }")
    [trouble] = _trouble(net)
    assert "output count must match input count" in trouble.message


def test_concat_slice_split_eltwise():
    net = (_input((2, 3, 4, 4), "a") + _input((2, 5, 4, 4), "b") + _input((2, 5, 3, 4), "c")
           + _layer("Concat", "", ("a", "b"), ("ab",), "cat")
           + _layer("Concat", "", ("a", "c"), ("ac",), "bad_cat")
           + _layer("Slice", "slice_param { slice_point: 1 slice_point: 4 }", ("ab",),
                    ("s1", "s2", "s3"), "slice")
           + _layer("Slice", "", ("ab",), ("h1", "h2"), "halves")
           + _layer("Split", "", ("a",), ("a1", "a2"), "split")
           + _layer("Eltwise", "", ("a1", "a2"), ("sum",), "sum")
           + _layer("Eltwise", "", ("b", "c"), ("bad",), "bad_sum"))
    result = _shapes(net)
    assert result.shape("ab") == (2, 8, 4, 4)  # ConcatLayer::Reshape: sum along axis 1
    assert [result.shape(s) for s in ("s1", "s2", "s3")] == [(2, 1, 4, 4), (2, 3, 4, 4),
                                                            (2, 4, 4, 4)]
    assert result.shape("h1") == result.shape("h2") == (2, 4, 4, 4)  # 8 / 2
    assert result.shape("a2") == result.shape("sum") == (2, 3, 4, 4)
    refused = {t.layer.name: t.message for t in result.troubles if t.kind == "setup"}
    assert set(refused) == {"bad_cat", "bad_sum"}
    assert "2x5x4x4 and 2x5x3x4" in refused["bad_sum"]


def test_crop():
    # CropLayer::Reshape: axes from `axis` take the reference's size; offset + size <= input
    net = (_input((1, 21, 100, 100), "a") + _input((1, 3, 80, 80), "ref")
           + _layer("Crop", "crop_param { axis: 2 offset: 10 }", ("a", "ref"), ("ok",), "ok")
           + _layer("Crop", "crop_param { axis: 2 offset: 30 }", ("a", "ref"), ("no",), "no"))
    result = _shapes(net)
    assert result.shape("ok") == (1, 21, 80, 80) and result.shape("no") is None
    [trouble] = [t for t in result.troubles if t.kind == "setup"]
    assert "crop beyond its input" in trouble.message


@pytest.mark.parametrize("kind", ["ReLU", "Sigmoid", "TanH", "Dropout", "BatchNorm", "Scale",
                                  "Bias", "Power", "AbsVal", "Exp", "Log", "LRN", "Softmax"])
def test_same_shape_layers_in_place_and_not(kind):
    net = _input((4, 3, 5, 5)) + _layer(kind, "", tops=("data",), name="inplace") + \
        _layer(kind, "", tops=("out",), name="copy")
    result = _shapes(net)
    assert result.shape("data") == result.shape("out") == (4, 3, 5, 5)


def test_losses_accuracy_argmax_embed():
    net = (_input((8, 10), "score") + _input((8,), "label") + _input((7,), "short")
           + _layer("SoftmaxWithLoss", "", ("score", "label"), ("loss", "prob"), "loss")
           + _layer("Accuracy", "", ("score", "label"), ("acc", "per_class"), "acc")
           + _layer("Accuracy", "accuracy_param { top_k: 11 }", ("score", "label"),
                    ("acc11",), "acc11")
           + _layer("SoftmaxWithLoss", "", ("score", "short"), ("bad",), "bad_loss")
           + _layer("ArgMax", "argmax_param { top_k: 3 }", ("score",), ("top3",), "am")
           + _layer("ArgMax", "argmax_param { out_max_val: true }", ("score",), ("mv",), "mv")
           + _layer("ArgMax", "argmax_param { axis: 1 top_k: 2 }", ("score",), ("ax",), "ax")
           + _layer("Embed", "embed_param { num_output: 16 input_dim: 100 }", ("label",),
                    ("vectors",), "embed"))
    result = _shapes(net)
    assert result.shape("loss") == () and result.shape("prob") == (8, 10)
    assert result.shape("acc") == () and result.shape("per_class") == (10,)
    # ArgMaxLayer::Reshape: (N, 1 or 2, top_k) without an axis, top_k along it with one
    assert result.shape("top3") == (8, 1, 3) and result.shape("mv") == (8, 2, 1)
    assert result.shape("ax") == (8, 2)
    assert result.shape("vectors") == (8, 16)  # EmbedLayer: bottom shape + (num_output,)
    refused = {t.layer.name for t in result.troubles if t.kind == "setup"}
    assert refused == {"acc11", "bad_loss"}


def test_dummy_and_memory_data_declare_their_shapes():
    net = ('layer { name: "d" type: "DummyData" top: "x" top: "y" dummy_data_param { '
           'num: 4 channels: 3 height: 8 width: 8 num: 4 channels: 1 height: 1 width: 1 } }\n'
           'layer { name: "m" type: "MemoryData" top: "m" top: "ml" memory_data_param { '
           'batch_size: 5 channels: 2 height: 6 width: 7 } }\n')
    result = _shapes(net)
    assert result.shape("x") == (4, 3, 8, 8) and result.shape("y") == (4, 1, 1, 1)
    assert result.shape("m") == (5, 2, 6, 7) and result.shape("ml") == (5,)


def test_an_unknown_type_leaves_everything_after_it_unknown_and_is_named_once():
    net = _input((1, 3, 8, 8)) + _layer("Upsample", "", tops=("p",), name="perm") + \
        _layer("ReLU", "", ("p",), ("r",), "relu") + _layer("Pooling",
                                                           "pooling_param { kernel_size: 2 }",
                                                           ("r",), ("q",), "pool")
    result = _shapes(net)
    assert result.shape("p") is result.shape("r") is result.shape("q") is None
    assert result.unknown == [("perm", "Upsample")] and not result.troubles


def test_blob_over_int_max_elements():
    # Blob::Reshape: CHECK_LE(shape[i], INT_MAX / count_) "blob size exceeds INT_MAX"
    net = _input((64, 512, 256, 256)) + _layer("ReLU", "", tops=("out",))
    [trouble] = _trouble(net, "int_max")  # the first such blob: Caffe stops there
    assert "over INT_MAX" in trouble.message and trouble.detail["blob"] == "data"


def test_legacy_input_fields_become_the_input_layer_caffe_makes():
    # UpgradeNetInput: a layer "input" of type Input, first, one shape per input
    dims = 'input: "data" input_dim: 10 input_dim: 3 input_dim: 227 input_dim: 227\n'
    shaped = 'input: "a" input_shape { dim: 1 dim: 2 } input: "b" input_shape { dim: 3 }\n'
    for text, blobs in ((dims, {"data": (10, 3, 227, 227)}), (shaped, {"a": (1, 2), "b": (3,)})):
        net = Net(parse(text + _layer("ReLU", "", ("a" if "a" in blobs else "data",), ("r",))))
        assert net.legacy_input.name == "input" and net.legacy_input.type == "Input"
        assert [layer.name for layer in net.active(NetState("TRAIN"))] == ["l"]
        result = infer(net.built(NetState("TEST")), "TEST", {})
        assert {name: result.shape(name) for name in blobs} == blobs
    assert Net(parse('input: "data"\n' + _layer("ReLU", ""))).legacy_input is None
