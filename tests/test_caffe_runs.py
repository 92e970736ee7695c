"""dscan against real `caffe train` runs (tests/fixtures/caffe_runs: the solvers and nets of
a set of logged runs, with the lines of each log that matter here): the rates `dscan
solver` computes equal every logged `lr =` value, the shapes and memory `dscan net` infers
equal Net::Init's `Top shape` and `Memory required for data` lines, and "NaN from the first
forward pass" is said for exactly the runs whose loss was NaN at iteration 0. Where the
full log corpus is present (../shared/corpus/logs), the same is checked on its own data."""
import json
import os
import shutil

import numpy as np
import pytest

from scanner.checks import CATALOGUE
from scanner.config.prototxt import read
from scanner.config.solver import SolverParams, learning_rates
from scanner.net_scan import NetRequest, scan_net
from scanner.report import config_report
from scanner.settings import ScanSettings

from . import builders as b
from .scanning import solver_report

RUNS = os.path.join(os.path.dirname(__file__), "fixtures", "caffe_runs")
SCENARIOS = sorted(os.listdir(RUNS))
WITH_NET = sorted(s for s in SCENARIOS if os.path.exists(os.path.join(RUNS, s,
                                                                      "train_val.prototxt")))
CORPUS_LOGS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus", "logs")
NAN_PHRASE = "NaN from the first forward pass"


def _logged_rates(scenario: str) -> list[tuple[int, str]]:
    with open(os.path.join(RUNS, scenario, "lr.txt")) as handle:
        return [(int(i), text) for i, text in (line.split() for line in handle)]


def _truth(scenario: str) -> dict:
    with open(os.path.join(RUNS, scenario, "truth.json")) as handle:
        return json.load(handle)


def _printed(rate: np.float32) -> str:
    """How Caffe's `LOG(INFO) << ... << rate` prints a float: ostream's default, 6 digits."""
    return f"{float(rate):.6g}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rates_equal_every_logged_lr(scenario):
    solver = os.path.join(RUNS, scenario, "solver.prototxt")
    logged = _logged_rates(scenario)
    report = solver_report(solver)
    if not logged:  # the run printed no rate: dscan says why
        codes = {f["code"]: f for f in report["findings"]}
        if "stepsize" in json.dumps(report["findings"]):  # CHECK failure at iteration 0
            assert codes["DS704"]["severity"] == "error" and report["schedule"] is None
            assert "iteration 0" in codes["DS704"]["message"]
        else:  # max_iter unset: `caffe train` trained 0 iterations
            assert report["schedule"] is None
            assert codes["DS704"]["message"].startswith("`caffe train` trains 0 iterations")
            assert "DS701" not in codes
        return
    params = SolverParams.from_message(read(solver))
    iterations = np.array([i for i, _ in logged], np.int64)
    rates = learning_rates(params, iterations)
    assert [_printed(r) for r in rates] == [text for _, text in logged]
    assert report["schedule"]["horizon"] == params.max_iter == logged[-1][0] + 1 or \
        _truth(scenario)["exit_code"] != 0  # a crashed run logs fewer iterations


def _data(root) -> None:
    """The datasets the logged nets read, written here: 28x28 grey raw and 32x32 colour
    JPEG LMDBs, and HDF5 files of 1x28x28 floats (the shapes are what matters)."""
    data = root / "data"
    data.mkdir()
    grey = [b.raw_datum(label=i % 10, shape=(1, 28, 28), seed=i) for i in range(40)]
    colour = [b.encoded_datum(b.jpeg(32, 32, seed=i), label=i % 10) for i in range(20)]
    for name in ("grey_train_lmdb", "grey_test_lmdb"):
        b.make_lmdb(data / name, grey)
    for name in ("color_train_enc_lmdb", "color_test_enc_lmdb"):
        b.make_lmdb(data / name, colour)
    for split in ("train", "test"):
        b.make_h5(data / f"hdf5_{split}.h5", data=b.float_rows(40, (1, 28, 28)),
                  label=np.arange(40, dtype=np.float32) % 10)
        b.h5_list(data / f"hdf5_{split}_list.txt", [f"../data/hdf5_{split}.h5"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every logged net, run by `dscan net` from its own folder as Caffe was."""
    root = tmp_path_factory.mktemp("runs")
    _data(root)
    reports = {}
    here = os.getcwd()
    try:
        for scenario in WITH_NET:
            folder = root / scenario
            folder.mkdir()
            shutil.copy(os.path.join(RUNS, scenario, "train_val.prototxt"), folder)
            os.chdir(folder)
            outcome = scan_net(NetRequest("train_val.prototxt",
                                          settings=ScanSettings(enabled=frozenset(CATALOGUE))))
            reports[scenario] = config_report.net_report(outcome, "error")
    finally:
        os.chdir(here)
    return reports


def _setup_lines(scenario: str):
    """Per net Caffe built (TRAIN, then TEST; each starts with the same first layer): the
    Top shape of each top, and the last `Memory required for data`."""
    nets, first = [], None
    with open(os.path.join(RUNS, scenario, "setup.txt")) as handle:
        for line in handle:
            if line.startswith("Creating Layer"):
                name = line.split(maxsplit=2)[2].strip()
                first = first or name
                if name == first:
                    nets.append({"shapes": [], "memory": None})
            elif line.startswith("Top shape:"):
                dims = line.split(":", 1)[1].rsplit("(", 1)[0].split()
                nets[-1]["shapes"].append(tuple(int(d) for d in dims))
            elif line.startswith("Memory required for data:"):
                nets[-1]["memory"] = int(line.split(":")[1])
    return nets


def _without_splits(theirs: list, ours: list) -> list:
    """Caffe's list with the tops of its inserted Split layers taken out: walking both in
    order, a logged shape that does not come next in ours is a split copy."""
    wanted = [s for s in ours if s != ()]
    kept, position = [], 0
    for shape in theirs:
        if position < len(wanted) and shape == wanted[position]:
            kept.append(shape)
            position += 1
    return kept


@pytest.mark.parametrize("scenario", WITH_NET)
def test_shapes_and_memory_equal_caffes_setup_lines(runs, scenario):
    report = runs[scenario]
    logged = _setup_lines(scenario)
    for phase, net in zip(("TRAIN", "TEST"), logged):
        facts = report["shapes"][phase]
        assert facts["memory"]["caffe_memory_required"] == net["memory"]
        ours = [tuple(t) for item in facts["layers"] for t in item["tops"].values()]
        # Caffe prints a loss as (1) and adds Split layers where a blob is read twice
        theirs = [s for s in net["shapes"] if s != (1,)]
        assert [s for s in ours if s != ()] == _without_splits(theirs, ours)


@pytest.mark.parametrize("scenario", WITH_NET)
def test_nan_from_the_first_forward_pass_exactly_where_the_run_was_nan_at_0(runs, scenario):
    said = any(NAN_PHRASE in f["message"] for f in runs[scenario]["findings"])
    assert said == (_truth(scenario)["first_nonfinite_loss_iteration"] == 0)


def _corpus_scenarios():
    if not os.path.isdir(CORPUS_LOGS):
        return []
    return sorted(s for s in os.listdir(CORPUS_LOGS)
                  if os.path.exists(os.path.join(CORPUS_LOGS, s, "truth.json")))


@pytest.mark.skipif(not _corpus_scenarios(), reason="the log corpus is not here")
@pytest.mark.parametrize("scenario", _corpus_scenarios())
def test_on_the_log_corpus_itself(scenario, monkeypatch):
    folder = os.path.join(CORPUS_LOGS, scenario)
    with open(os.path.join(folder, "truth.json")) as handle:
        truth = json.load(handle)
    monkeypatch.chdir(folder)
    outcome = scan_net(NetRequest("train_val.prototxt",
                                  settings=ScanSettings(enabled=frozenset(CATALOGUE))))
    said = any(NAN_PHRASE in f.message for f in outcome.findings)
    assert said == (truth["result"].get("first_nonfinite_loss_iteration") == 0)
