"""`dscan solver`: Caffe's learning-rate policies computed exactly, the parameters each needs,
and the solver's net scanned on request."""
import os
import subprocess
import sys

import jsonschema
import numpy as np
import pytest

from scanner.config.prototxt import parse
from scanner.config.solver import SolverParams, learning_rates, schedule
from scanner.report import config_report

from .scanning import solver_report

NETS = os.path.join(os.path.dirname(__file__), "nets")
TESTS = os.path.dirname(NETS)


def _rates(text: str, iterations) -> np.ndarray:
    return learning_rates(SolverParams.from_message(parse(text)), np.asarray(iterations))


@pytest.mark.parametrize("text, iterations, expected", [
    ('lr_policy: "fixed" base_lr: 0.1', [0, 5000], [0.1, 0.1]),
    ('lr_policy: "step" base_lr: 0.1 gamma: 0.1 stepsize: 100', [0, 99, 100, 250],
     [0.1, 0.1, 0.01, 0.001]),
    ('lr_policy: "exp" base_lr: 1 gamma: 0.5', [0, 1, 3], [1, 0.5, 0.125]),
    ('lr_policy: "inv" base_lr: 0.01 gamma: 0.0001 power: 0.75', [0, 10000],
     [0.01, 0.01 * (1 + 0.0001 * 10000) ** -0.75]),
    ('lr_policy: "poly" base_lr: 0.01 power: 2 max_iter: 100', [0, 50, 99],
     [0.01, 0.01 * 0.25, 0.01 * 0.01 ** 2]),
    ('lr_policy: "sigmoid" base_lr: 0.1 gamma: 0.1 stepsize: 50', [50, 0],
     [0.05, 0.1 / (1 + np.exp(5))]),
])
def test_every_policy_matches_caffes_formula(text, iterations, expected):
    assert np.allclose(_rates(text, iterations), expected, rtol=1e-6)


def test_multistep_takes_one_step_per_iteration_as_caffe_does():
    rates = _rates('lr_policy: "multistep" base_lr: 1 gamma: 0.1 stepvalue: 3 stepvalue: 3 '
                   'stepvalue: 5', range(7))
    assert np.allclose(rates, [1, 1, 1, 0.1, 0.01, 0.001, 0.001])


def test_rates_are_float32_and_underflow_to_zero():
    params = SolverParams.from_message(parse('lr_policy: "exp" base_lr: 0.1 gamma: 0.5 '
                                             'max_iter: 300'))
    result = schedule(params, 300)
    assert learning_rates(params, np.arange(3)).dtype == np.float32
    assert 140 < result.first["zero"] < 160 and result.counts["zero"] == 300 - result.first[
        "zero"]


def test_long_horizons_are_evaluated_in_chunks(monkeypatch):
    monkeypatch.setattr("scanner.config.solver.CHUNK_ITERATIONS", 1000)
    params = SolverParams.from_message(parse('lr_policy: "step" base_lr: 1 gamma: 0.5 '
                                             'stepsize: 700 max_iter: 5000'))
    result = schedule(params, 5000)
    assert result.maximum == 1 and result.minimum == pytest.approx(0.5 ** 7)
    assert [i for i, _ in result.samples][:2] == [0, 25] and result.samples[-1][0] == 4999


def test_poly_without_max_iter_trains_0_iterations_and_the_step_schedule_passes(monkeypatch):
    monkeypatch.chdir(TESTS)  # where the solvers' net paths point
    poly = solver_report(os.path.join(NETS, "poly_no_max_iter_solver.prototxt"))
    jsonschema.validate(poly, config_report.load_schema())
    codes = {f["code"]: f for f in poly["findings"]}
    # a real run: max_iter defaults to 0, Caffe trains 0 iterations and prints no rate
    assert set(codes) == {"DS704"} and poly["schedule"] is None
    assert codes["DS704"]["message"].startswith("`caffe train` trains 0 iterations")
    assert codes["DS704"]["severity"] == "warning" and "nan" not in codes["DS704"]["message"]
    assert poly["exit_status"] == 0
    stepped = solver_report(os.path.join(NETS, "poly_no_max_iter_solver.prototxt"), horizon=10)
    assert {f["code"] for f in stepped["findings"]} == {"DS701", "DS704"}
    step = solver_report(os.path.join(NETS, "step_solver.prototxt"))
    jsonschema.validate(step, config_report.load_schema())
    assert step["findings"] == [] and step["exit_status"] == 0
    assert step["schedule"]["max"] == pytest.approx(0.001)
    assert step["schedule"]["min"] == pytest.approx(0.00001)


@pytest.mark.parametrize("text, parameter, severity", [
    ('lr_policy: "step" base_lr: 0.1 gamma: 0.1 max_iter: 9', "stepsize", "error"),
    ('lr_policy: "exp" base_lr: 0.1 gamma: -1 max_iter: 9', "gamma", "error"),
    ('lr_policy: "inv" base_lr: 0.1 gamma: 0.1 max_iter: 9', "power", "warning"),
    ('lr_policy: "multistep" base_lr: 0.1 gamma: 0.1 max_iter: 9', "stepvalue", "warning"),
    ('lr_policy: "multistep" base_lr: 0.1 gamma: 0.1 stepvalue: 5 stepvalue: 2 max_iter: 9',
     "stepvalue", "warning"),
    ('lr_policy: "fixed" max_iter: 9', "base_lr", "error"),
    ('lr_policy: "fixed" base_lr: 0.1', "max_iter", "warning"),
])
def test_missing_or_invalid_parameters(tmp_path, text, parameter, severity):
    (tmp_path / "solver.prototxt").write_text(text)
    report = solver_report(str(tmp_path / "solver.prototxt"))
    [finding] = [f for f in report["findings"] if f["code"] == "DS704"]
    assert finding["detail"]["parameter"] == parameter and finding["severity"] == severity


def test_with_net_scans_the_solvers_net(tmp_path):
    out = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "scanner", "solver",
                          os.path.join(NETS, "lenet_solver.prototxt"), "--with-net", "--root",
                          TESTS, "--no-progress", "--json", str(out), "--lmdb-lock", "never",
                          "--ignore", "DS804"],  # this net tests on its training store
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "lr_policy 'inv'" in run.stdout and "== layer 'mnist'" in run.stdout
    import json
    report = json.loads(out.read_text())
    jsonschema.validate(report, config_report.load_schema())
    assert [s["batch_size"] for s in report["net_report"]["sections"]] == [64, 100]


def test_a_net_file_that_is_nowhere(tmp_path):
    (tmp_path / "solver.prototxt").write_text('net: "gone.prototxt" base_lr: 0.1 '
                                              'lr_policy: "fixed" max_iter: 10')
    report = solver_report(str(tmp_path / "solver.prototxt"))
    [finding] = report["findings"]
    assert finding["code"] == "DS510" and finding["where"].endswith(":1")


def test_with_net_scans_a_net_written_inside_the_solver(tmp_path):
    from scanner.checks import CATALOGUE
    from scanner.net_scan import NetRequest
    from scanner.settings import ScanSettings
    from scanner.solver_scan import check_solver

    from . import builders as b
    store = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i) for i in range(5)])
    (tmp_path / "solver.prototxt").write_text(
        'base_lr: 0.1 lr_policy: "fixed" max_iter: 10 net_param { name: "inline" layer { '
        f'name: "d" type: "Data" top: "data" data_param {{ source: "{store}" batch_size: 2 '
        'backend: LMDB } } }')
    enabled = frozenset(CATALOGUE)
    outcome = check_solver(str(tmp_path / "solver.prototxt"), enabled, None,
                           NetRequest("", settings=ScanSettings(enabled=enabled)))
    assert outcome.net.name == "inline"
    assert outcome.net.sections[0].outcome.totals.records == 5


def test_a_growing_rate_names_its_factor_and_first_iteration(tmp_path):
    # inv: base_lr (1 + gamma it)^-power; power < 0 makes it grow: at 199, 20.9^0.75
    (tmp_path / "solver.prototxt").write_text(
        'base_lr: 0.01 lr_policy: "inv" gamma: 0.1 power: -0.75 max_iter: 200')
    report = solver_report(str(tmp_path / "solver.prototxt"))
    jsonschema.validate(report, config_report.load_schema())
    [finding] = [f for f in report["findings"] if f["code"] == "DS706"]
    assert finding["detail"]["factor"] == pytest.approx(20.9 ** 0.75, rel=1e-5)
    assert finding["detail"]["first_iteration"] == 1 and finding["severity"] == "warning"
    # sigmoid rises to base_lr by design: info
    (tmp_path / "solver.prototxt").write_text(
        'base_lr: 0.01 lr_policy: "sigmoid" gamma: 0.1 stepsize: 50 max_iter: 100')
    [finding] = [f for f in solver_report(str(tmp_path / "solver.prototxt"))["findings"]
                 if f["code"] == "DS706"]
    assert finding["severity"] == "info"


def test_a_misspelt_policy_gets_a_did_you_mean(tmp_path):
    (tmp_path / "solver.prototxt").write_text('base_lr: 0.1 lr_policy: "stepp" stepsize: 10 '
                                              'gamma: 0.1 max_iter: 100')
    [finding] = [f for f in solver_report(str(tmp_path / "solver.prototxt"))["findings"]
                 if f["code"] == "DS705"]
    assert "did you mean 'step'?" in finding["message"]
