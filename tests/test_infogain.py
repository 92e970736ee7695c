"""InfogainLoss's H matrix (scanner/config/infogain.py), as InfogainLossLayer::LayerSetUp
reads it and Reshape checks it (count == K x K)."""
import math

import pytest

from scanner.config.infogain import infogain_problems

from .reference import blob_bytes


def _h(tmp_path, values, shape=(1, 1, 3, 3)) -> str:
    path = tmp_path / "H.binaryproto"
    path.write_bytes(blob_bytes(values, shape=shape))
    return str(path)


@pytest.mark.parametrize("values, classes, code, effect, words", [
    ([1, 0, 0, 0, 1, 0, 0, 0, 1], 3, None, None, ""),
    ([1, 0, 0, 0, 1, 0, 0, 0, 1], 4, "DS519", "crash", "4x4 = 16"),
    ([1, 0, 0, 0, math.nan, 0, 0, 0, 1], 3, "DS519", None, "NaN or infinite"),
    ([1, 0, 0, 0, -1, 0, 0, 0, 1], 3, "DS519", None, "negative"),
    ([1, 0, 0, 0, 0, 0, 0, 0, 1], 3, "DS520", None, "row(s) [1] sum to 0"),
    ([2, 0, 0, 0, 1, 0, 0, 0, 1], None, "DS520", None, "class weights x2"),
])
def test_h_matrix_problems(tmp_path, values, classes, code, effect, words):
    problems = infogain_problems(_h(tmp_path, values), classes)
    assert [p.code for p in problems] == ([code] if code else [])
    if code:
        assert words in problems[0].message and problems[0].effect == effect


def test_a_file_that_is_no_blobproto_crashes_at_setup(tmp_path):
    (tmp_path / "H.binaryproto").write_bytes(b"\xff\xff\xff")
    [problem] = infogain_problems(str(tmp_path / "H.binaryproto"), 3)
    assert problem.code == "DS519" and problem.effect == "crash"
