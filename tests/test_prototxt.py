"""The prototxt reader: Caffe's text format, typed access, errors with line and column; and
agreement with the protobuf runtime's own text format printer."""
import math

import numpy as np
import pytest
from google.protobuf import text_format
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.config.prototxt import Ident, parse, read
from scanner.errors import PrototxtError

from .reference import datum_pb2

NET = '''# LeNet, abridged
name: "LeNet"
layer {
  name: "mnist"  type: "Data"
  top: "data" top: "label"
  include { phase: TRAIN }
  transform_param { scale: 0.00390625 mean_value: [104, 117.0, 123f] mirror: true }
  data_param { source: "examples/mnist/mnist_train_lmdb" batch_size: 64 backend: LMDB }
}
layer: <
  name: 'pool'; type: "Pooling",
  pooling_param: { kernel_size: 0x3 stride: 2 }
>
'''


def test_nested_blocks_repeated_fields_and_lists():
    net = parse(NET, "lenet.prototxt")
    data, pool = net.messages("layer")
    assert net.text("name") == "LeNet"
    assert data.texts("top") == ["data", "label"]
    assert data.message("include").ident("phase") == "TRAIN"
    transform = data.message("transform_param")
    assert transform.numbers("mean_value") == [104.0, 117.0, 123.0]
    assert transform.number("scale") == 0.00390625 and transform.flag("mirror") is True
    assert data.message("data_param").integer("batch_size") == 64
    assert data.message("data_param").word("backend") == "LMDB"
    assert pool.text("name") == "pool" and pool.message("pooling_param").integer(
        "kernel_size") == 3


def test_where_points_at_the_line_of_a_field():
    net = parse(NET, "lenet.prototxt")
    data = net.messages("layer")[0]
    assert data.where() == "lenet.prototxt:3"
    assert data.message("data_param").where("batch_size") == "lenet.prototxt:8"


def test_absent_fields_give_defaults_and_empty_messages():
    net = parse("name: 'x'")
    assert net.integer("batch_size", 7) == 7 and net.text("source") is None
    assert net.message("transform_param").fields == [] and not net.has("layer")
    assert net.flag("mirror") is False


def test_the_last_value_of_a_singular_field_wins():
    assert parse("batch_size: 1 batch_size: 2").integer("batch_size") == 2


@pytest.mark.parametrize("text, value", [
    ("x: 1e-4", 1e-4), ("x: -3", -3), ("x: .5", 0.5), ("x: 5.", 5.0), ("x: 2f", 2.0),
    ("x: -inf", -math.inf), ("x: inf", math.inf), ("x: 0x10", 16), ("x: 1E3", 1000.0),
])
def test_numbers(text, value):
    assert parse(text).number("x") == value


def test_nan_is_a_number():
    assert math.isnan(parse("x: nan").number("x"))


@pytest.mark.parametrize("text, value", [
    (r'x: "a\tb"', "a\tb"), (r"x: 'it\'s'", "it's"), (r'x: "\101\x42"', "AB"),
    ('x: "a" "b"\n "c"', "abc"), (r'x: "caf\303\251"', "café"), ('x: "#not a comment"',
                                                                  "#not a comment"),
])
def test_strings(text, value):
    assert parse(text).text("x") == value


@pytest.mark.parametrize("text, where, words", [
    ("layer {\n  name: 'x'\n", "f:3:1", "expected '}' to close the block"),
    ("a: }", "f:1:4", "expected a value"),
    ("a 1", "f:1:3", "expected ':' or '{'"),
    ("layer {\n  @\n}", "f:2:3", "unexpected character '@'"),
    ('a: "x\\q"', "f:1:6", "unknown escape"),
    ("a: [1, 2", "f:1:9", "expected ',' or ']'"),
    ('a: "open', "f:1:4", "unexpected character"),
])
def test_syntax_errors_name_line_and_column(text, where, words):
    with pytest.raises(PrototxtError) as error:
        parse(text, "f")
    assert str(error.value).startswith(where + ":") and words in str(error.value)


@pytest.mark.parametrize("text, call, words", [
    ("batch_size: '64'", lambda m: m.integer("batch_size"), "must be a whole number"),
    ("source: lmdb", lambda m: m.text("source"), "must be a quoted string"),
    ("mirror: 2", lambda m: m.flag("mirror"), "must be true or false"),
    ("layer: 3", lambda m: m.messages("layer"), "must be a { ... } block"),
])
def test_values_of_the_wrong_kind_name_the_field(text, call, words):
    with pytest.raises(PrototxtError, match=words) as error:
        call(parse(text, "net.prototxt"))
    assert str(error.value).startswith("net.prototxt:1:1:")


def test_enum_names_are_identifiers_not_strings():
    net = parse('phase: TRAIN name: "TRAIN"')
    assert isinstance(net.field("phase").value, Ident)
    assert not isinstance(net.field("name").value, Ident)


def test_read_reports_missing_files_in_one_line(tmp_path):
    with pytest.raises(PrototxtError, match="no such file"):
        read(str(tmp_path / "none.prototxt"))


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=40), label=st.integers(-2 ** 31, 2 ** 31 - 1),
       channels=st.integers(0, 2 ** 31 - 1),
       floats=st.lists(st.floats(width=32, allow_nan=False), max_size=6))
def test_reads_what_the_protobuf_runtime_prints(data, label, channels, floats):
    """Bytes escaped by the runtime (octal, quotes, UTF-8), negative and large integers and
    floats in every notation it prints come back equal."""
    datum = datum_pb2().Datum(data=data, label=label, channels=channels, float_data=floats,
                              encoded=True)
    message = parse(text_format.MessageToString(datum))
    assert message.text("data", "").encode("utf-8", "surrogateescape") == data
    assert message.integer("label") == label and message.integer("channels") == channels
    # the runtime prints float fields in their shortest float32 form: compare as float32
    assert np.array(message.numbers("float_data"), np.float32).tolist() == \
        list(datum.float_data)
    assert message.flag("encoded") is True


def test_reads_nested_messages_the_runtime_prints():
    blob = datum_pb2().BlobProto(num=1, channels=3)
    blob.shape.dim.extend([1, 3, 2])
    message = parse(text_format.MessageToString(blob))
    assert message.message("shape").integers("dim") == [1, 3, 2]
    assert message.integer("channels") == 3
