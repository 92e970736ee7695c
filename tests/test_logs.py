"""`dscan log` against real Caffe training logs: every answer must equal the log's truth
file (first non-finite iteration, cause, layer, crash, the records of the faulty batch)."""
import math
import os

import jsonschema
import pytest

from scanner.logs import report as log_report
from scanner.report import json_report

from . import log_builders as lb
from .scanning import log_report as run_log

# The cause each group of runs was built to show (truth.json: group_description).
CAUSE = {"clean control": "none", "gradient blow-up (base_lr too high)": "blow_up",
         "faulty input: non-finite value in the training data": "input_or_loss",
         "crash on a corrupt record in an encoded LMDB": "crash",
         "iter_size and resume from snapshot": "none"}
SPECIAL = {"c_poly_no_max_iter": "no_training", "c_step_stepsize0": "crash",
           "f_avepool_k2s3": "net", "f_avepool_k2s3_debug": "net",
           "f_avepool_k2s3_pad1": "none", "d_hdf5_clean": "none", "g_encoded_clean": "none"}


def expected_cause(scenario: str, facts: dict) -> str:
    return SPECIAL.get(scenario) or CAUSE[facts["group_description"]]


def number(text: str) -> float:
    return float(text)


def same(a, b) -> bool:
    a, b = (float(x) if isinstance(x, str) else x for x in (a, b))
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("scenario", lb.SCENARIOS)
def test_diagnosis_equals_the_truth_file(scenario, tmp_path):
    facts, result = lb.truth(scenario), lb.truth(scenario)["result"]
    report = run_log(lb.write_log(tmp_path, scenario))
    diagnosis = report["diagnosis"]
    assert diagnosis["cause"] == expected_cause(scenario, facts), diagnosis["summary"]
    first = diagnosis["first_nonfinite"]
    assert (first and first["iteration"]) == result["first_nonfinite_loss_iteration"]
    if result.get("first_nonfinite_train_output"):
        name = result["first_nonfinite_train_output"]["line"].split("output #0: ")[1].split()[0]
        assert first["output"] == name
    assert report["run"]["last_iteration"] == result["last_iteration_logged"]
    crash = diagnosis["crash"]
    if facts["exit_code"] == 134:
        assert crash["fatal_line"] == result["fatal_lines"][0].rstrip()
        assert crash["last_iteration"] == result["last_iteration_logged_before_fatal_line"]
    else:
        assert crash is None
    jsonschema.validate(report, log_report.load_schema())
    json_report.dumps(report)  # strict JSON: no NaN literal anywhere


@pytest.mark.parametrize("scenario", [s for s in lb.SCENARIOS if lb.truth(s)["debug_info"]])
def test_debug_info_names_the_layer_of_the_truth_file(scenario, tmp_path):
    result = lb.truth(scenario)["result"]
    diagnosis = run_log(lb.write_log(tmp_path, scenario))["diagnosis"]
    nonfinite, large = result["debug_first_nonfinite"], result["debug_first_abs_mean_gt_1e3"]
    found = diagnosis["first_nonfinite_layer"]
    assert (found and (found["iteration"], found["layer"], found["line"])) == \
        (nonfinite and (nonfinite["iteration"], nonfinite["layer"], nonfinite["line"].strip()))
    earliest = min([e for e in (nonfinite, large) if e], key=lambda e: e["line"], default=None)
    found = diagnosis["first_layer"]
    assert (found and (found["iteration"], found["layer"])) == \
        (earliest and (earliest["iteration"], earliest["layer"]))


@pytest.mark.parametrize("scenario", lb.SCENARIOS)
def test_losses_tests_and_final_pass_equal_the_truth_file(scenario, tmp_path):
    result = lb.truth(scenario)["result"]
    report = run_log(lb.write_log(tmp_path, scenario))
    losses = {i: v for i, v in report["series"]["loss"]}
    assert set(losses) == {int(i) for i in result["loss_by_iteration"]}
    assert all(same(losses[int(i)], v) for i, v in result["loss_by_iteration"].items())
    tests = [(t["iteration"], t["outputs"]) for t in report["tests"]]
    expected = [(t["iteration"], t["outputs"]) for t in result["tests"]]
    assert [i for i, _ in tests] == [i for i, _ in expected]
    for (_, got), (_, want) in zip(tests, expected):
        assert got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    final = result["final_forward_only_pass"]
    got = report["run"]["final_pass"]
    assert (got and got["iteration"]) == (final and final["iteration"])
    if final:
        assert same(got["loss"], final["loss"])


def test_nan_artefacts_in_tests_are_flagged(tmp_path):
    report = run_log(lb.write_log(tmp_path, "d_hdf5_nan_r1000"))
    finding = next(f for f in report["findings"] if f["code"] == "DS909")
    assert finding["iteration"] == 20  # the first test pass after the NaN at 15


def test_a_blow_up_says_how_much_over_how_many_iterations(tmp_path):
    report = run_log(lb.write_log(tmp_path, "b_blowup_lr0.05"))
    growth = report["diagnosis"]["growth"]
    assert (growth["from_iteration"], growth["from"]) == (21, 0.862034)
    assert growth["peak"] == 77.784 and growth["plateau"]
    lr10 = run_log(lb.write_log(tmp_path, "b_blowup_lr10", name="lr10.log"))["diagnosis"]
    assert lr10["cause"] == "blow_up" and lr10["growth"]["iterations"] == 2


def test_hdf5_nan_row_maps_to_its_batch_and_scan_names_it(tmp_path):
    facts = lb.truth("d_hdf5_nan_r1000")
    folder = lb.scenario_folder(tmp_path, "d_hdf5_nan_r1000")
    report = run_log(os.path.join(folder, "caffe.log"), "solver.prototxt", scan=True,
                     root=folder)
    diagnosis, fault = report["diagnosis"], facts["fault"]
    batch = fault["batches_containing_it"][0]
    first = batch["iteration"] * 64
    assert diagnosis["batch"]["iteration"] == fault["first_iteration_reading_it"]
    assert diagnosis["batch"]["records"] == [first, first + 63]
    assert first + batch["item_in_batch"] == fault["row"]
    assert [(c["index"], c["code"]) for c in diagnosis["culprits"]] == [(fault["row"], "DS101")]
    assert diagnosis["cause"] == "input_or_loss"
    assert any(f["code"] == "DS914" for f in report["findings"])
    jsonschema.validate(report, log_report.load_schema())


def test_crash_window_covers_the_corrupt_record_and_scan_names_it(tmp_path):
    fault = lb.truth("g_encoded_corrupt_image_r900")["fault"]
    folder = lb.scenario_folder(tmp_path, "g_encoded_corrupt_image_r900")
    report = run_log(os.path.join(folder, "caffe.log"), "solver.prototxt", scan=True,
                     root=folder)
    batch = report["diagnosis"]["batch"]
    first, last = batch["iterations"]
    assert first <= fault["first_iteration_reading_it"] <= last
    assert any(a <= fault["row"] <= b for a, b in batch["ranges"])
    culprits = report["diagnosis"]["culprits"]
    assert [c["index"] for c in culprits] == [fault["row"]]
    assert culprits[0]["key"].startswith("%08d_" % fault["row"])
    assert report["diagnosis"]["cause"] == "crash"


def test_clean_data_gives_no_culprit(tmp_path):
    folder = lb.scenario_folder(tmp_path, "d_hdf5_nan_r1000", fault=False)
    report = run_log(os.path.join(folder, "caffe.log"), "solver.prototxt", scan=True,
                     root=folder)
    assert report["diagnosis"]["culprits"] == []
    assert report["diagnosis"]["cause"] == "input_or_loss"


@pytest.mark.parametrize("name", ["rerun1.log.gz", "rerun2.log.gz", "rerun3.log.gz"])
def test_reruns_of_the_crash_agree_on_the_iteration_before_the_fatal_line(name, tmp_path):
    text = lb.log_bytes("g_encoded_corrupt_image_r900", os.path.join("reruns", name))
    report = run_log(lb.write_log(tmp_path, "g_encoded_corrupt_image_r900", text))
    assert report["diagnosis"]["crash"]["last_iteration"] == 10
    assert report["run"]["last_iteration"] in (10, 11, 12)


@pytest.mark.skipif(not os.path.isdir(lb.SHARED), reason="the shared corpus is not here")
@pytest.mark.parametrize("scenario", ["d_hdf5_nan_r1000", "g_encoded_corrupt_image_r900"])
def test_scan_on_the_real_data_of_the_run(scenario):
    fault = lb.truth(scenario)["fault"]
    folder = os.path.join(lb.SHARED, scenario)
    report = run_log(os.path.join(folder, "caffe.log"), "solver.prototxt", scan=True,
                     root=folder)
    assert [c["index"] for c in report["diagnosis"]["culprits"]] == [fault["row"]]
