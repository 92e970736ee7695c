"""Every kind of input dscan reads is recognised from its first bytes, and a command given
the wrong kind names the one that reads it."""
import os

import numpy as np
import pytest

from scanner.kinds import kind_of, suggestion

from . import builders as b

SAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "sample_data")


@pytest.fixture
def inputs(tmp_path):
    h5 = b.make_h5(tmp_path / "part0.h5", data=np.zeros((2, 3), np.float32))
    images = tmp_path / "train.txt"
    images.write_text("cat/0001.jpg 0\ndog/0002.JPEG 1\nbird 03.png 2\n")
    prose = tmp_path / "notes.txt"
    prose.write_text("A note about this dataset.\nNothing to scan here.\n")
    return {
        "lmdb": b.make_lmdb(tmp_path / "db", [b.raw_datum()]),
        "leveldb": b.make_leveldb(tmp_path / "ldb", [b.raw_datum()]),
        "hdf5": h5,
        "hdf5-list": b.h5_list(tmp_path / "list.txt", [h5, "part1.h5"]),
        "image-list": str(images),
        "net": os.path.join(SAMPLES, "train_val.prototxt"),
        "solver": os.path.join(SAMPLES, "solver.prototxt"),
        "mean": os.path.join(SAMPLES, "mean.binaryproto"),
        None: str(prose),
    }


def test_every_kind_is_recognised(inputs):
    assert {kind: kind_of(path) for kind, path in inputs.items()} == \
        {kind: kind for kind in inputs}
    assert kind_of(os.path.join(inputs["lmdb"], "data.mdb")) == "lmdb"
    assert kind_of(str(inputs["lmdb"]) + "-missing") is None


def test_a_solver_with_its_net_inline_is_a_solver(tmp_path):
    solver = tmp_path / "solver.prototxt"
    solver.write_text('net_param { layer { name: "data" type: "Input" } }\nbase_lr: 0.1\n')
    assert kind_of(str(solver)) == "solver"


def test_the_wrong_command_is_told_the_right_one(inputs):
    assert suggestion(inputs["leveldb"], "dscan lmdb") == \
        f"; this is a LevelDB: run `dscan leveldb {inputs['leveldb']}`"
    assert suggestion(os.path.join(inputs["lmdb"], "data.mdb"), "dscan lmdb").endswith(
        f"run `dscan lmdb {inputs['lmdb']}`")  # the folder, not the file
    assert "dscan images" in suggestion(inputs["image-list"], "dscan hdf5")
    assert suggestion(inputs["leveldb"], "dscan leveldb") == ""  # the right command
    assert suggestion(inputs[None], "dscan lmdb") == ""  # nothing to suggest


@pytest.mark.parametrize("command, given, right", [
    ("lmdb", "leveldb", "dscan leveldb"), ("leveldb", "lmdb", "dscan lmdb"),
    ("hdf5", "image-list", "dscan images"), ("hdf5", "net", "dscan net"),
    ("images", "lmdb", "dscan lmdb"), ("lmdb", "hdf5", "dscan hdf5")])
def test_a_command_on_the_wrong_kind_says_which_command_reads_it(inputs, capsys, command,
                                                                 given, right):
    from scanner.cli import main

    assert main([command, str(inputs[given]), "--no-progress"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("dscan: error: ") and error.count("\n") == 0
    assert f"run `{right} {inputs[given]}`" in error
