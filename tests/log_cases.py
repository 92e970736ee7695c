"""Firing and passing cases for the log checks (DS9xx): real Caffe logs from
tests/fixtures/logs, some edited the way another run would have printed them."""
from __future__ import annotations

import os
import re

from . import log_builders as lb


def _log(scenario: str, edit=None, **settings):
    def build(tmp_path):
        text = lb.log_bytes(scenario)
        path = lb.write_log(tmp_path, scenario, edit(text) if edit else text)
        return path, {"command": "log", **settings}, {}
    return build


def _scanned(fault: bool):
    def build(tmp_path):
        folder = lb.scenario_folder(tmp_path, "d_hdf5_nan_r1000", fault=fault)
        return os.path.join(folder, "caffe.log"), {"command": "log", "solver": "solver.prototxt",
                                                   "scan": True, "root": folder}, {}
    return build


def _lr_from(iteration: int, value: bytes):
    """Every `Iteration N, lr = ...` from `iteration` on prints `value`."""
    def edit(text: bytes) -> bytes:
        return re.sub(rb"Iteration (\d+), lr = \S+",
                      lambda m: m.group(0) if int(m.group(1)) < iteration
                      else b"Iteration " + m.group(1) + b", lr = " + value, text)
    return edit


def _spike(text: bytes) -> bytes:
    """Iteration 100 of a clean run prints a loss near the SoftmaxWithLoss clamp."""
    return re.sub(rb"(Iteration 100 \([^)]*\), loss = )\S+", rb"\g<1>79.2", text)


def _resumed(text: bytes) -> bytes:
    return text.replace(b"] Solving ", b"] Resuming from snap/lenet_iter_0.solverstate\n"
                        b"I20261201 15:26:02.500000  6189 solver.cpp:289] Solving ", 1)


def _cut(text: bytes) -> bytes:
    return text[:len(text) // 2]


LOG_CASES = {
    "DS901": (_log("d_hdf5_nan_r1000"), _log("d_hdf5_clean")),
    "DS902": (_log("a_clean", _lr_from(40, b"-nan")), _log("a_clean")),
    "DS903": (_log("a_clean", _lr_from(40, b"0.5")), _log("a_clean", _lr_from(40, b"0.05"))),
    "DS904": (_log("b_blowup_lr0.05"), _log("d_hdf5_nan_r1000")),
    "DS905": (_log("a_clean", _spike), _log("a_clean")),
    "DS906": (_log("d_hdf5_nan_r1000"), _log("b_blowup_lr0.05")),
    "DS907": (_log("f_avepool_k2s3"), _log("d_hdf5_nan_r1000")),
    "DS908": (_log("b_blowup_lr0.05_debug"), _log("a_clean_debug")),
    "DS909": (_log("d_hdf5_nan_r1000"), _log("d_hdf5_clean")),
    "DS910": (_log("c_step_stepsize0"), _log("a_clean")),
    "DS911": (_log("c_poly_no_max_iter"), _log("a_clean")),
    "DS912": (_log("a_clean", _resumed), _log("a_clean")),
    "DS913": (_log("a_clean", _cut), _log("a_clean")),
    "DS914": (_scanned(fault=True), _scanned(fault=False)),
}
