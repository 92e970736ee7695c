"""dscan hdf5 with no top named: the root datasets whose first dimension agrees are the tops
(backends/hdf5_tops.py); named tops stay as before."""
import json

import jsonschema
import numpy as np

from backends.hdf5_tops import find_tops
from scanner.cli import main
from scanner.report.json_report import load_schema

from . import builders as b


def _scan(capsys, *argv):
    status = main(["hdf5", *argv, "--no-progress", "--json", "-"])
    report = json.loads(capsys.readouterr().out)
    jsonschema.validate(report, load_schema())
    return status, report


def _solver_data(path, rows=20):
    """Like Caffe's solver_data.h5: `data` and `targets`, plus what no layer could read."""
    data = b.float_rows(rows)
    data[3, 0, 0, 0] = np.nan
    targets = np.arange(rows, dtype=np.float32)
    targets[5] = np.inf
    return b.make_h5(path, data=data, targets=targets, mean=np.zeros((3, 4, 4), np.float32),
                     names=np.array([b"name"] * rows))


def test_the_datasets_that_agree_are_the_tops(tmp_path, capsys):
    path = _solver_data(tmp_path / "solver_data.h5")
    status, report = _scan(capsys, path)
    assert status == 1
    found = report["source"]["found_tops"]
    assert (found["data"], found["label"], found["rows"]) == ("data", "targets", 20)
    assert set(found["left_out"]) == {"mean", "names"}
    assert "first dimension 3, not 20" in found["left_out"]["mean"]
    assert report["source"]["datasets"] == ["data", "targets"]
    by_code = report["summary"]["by_code"]
    assert by_code["DS101"] == 1 and by_code["DS302"] == 1  # data values and target labels
    assert "DS401" not in by_code
    assert {f["key"] for f in report["findings"] if f["code"] in ("DS101", "DS302")} == \
        {f"{path}:3", f"{path}:5"}
    assert (report["settings"]["data_top"], report["settings"]["label_top"]) == \
        ("data", "targets")


def test_the_terminal_says_which_datasets_were_taken(tmp_path, capsys):
    path = _solver_data(tmp_path / "solver_data.h5")
    assert main(["hdf5", path, "--no-progress", "-q"]) == 1
    out = capsys.readouterr().out
    assert "Tops (none named): data 'data', label 'targets'" in out
    assert "'mean' (first dimension 3, not 20)" in out and "--data/--label" in out


def test_named_tops_behave_as_before(tmp_path, capsys):
    path = _solver_data(tmp_path / "solver_data.h5")
    status, report = _scan(capsys, path, "--data", "data")  # label: still 'label'
    assert "found_tops" not in report["source"]
    assert report["summary"]["by_code"].get("DS401") == 1
    assert "'targets'" in report["findings"][0]["message"]  # DS401 lists what the root holds
    status, report = _scan(capsys, path, "--label", "targets")
    assert report["source"]["datasets"] == ["data", "targets"]
    assert "found_tops" not in report["source"]


def test_roles_follow_the_names_the_file_has(tmp_path):
    rows = np.zeros((4, 2), np.float32)
    cases = [({"X": rows, "y": rows[:, 0]}, ["X", "y"]),
             ({"label": rows[:, 0], "pixels": rows}, ["pixels", "label"]),
             ({"weights": rows, "label": rows[:, 0], "data": rows}, ["data", "label", "weights"]),
             ({"data": rows}, ["data"])]
    for number, (datasets, tops) in enumerate(cases):
        path = b.make_h5(tmp_path / f"f{number}.h5", **datasets)
        assert find_tops([(path, path, "given")]).tops == tops


def test_no_clear_group_keeps_the_default_tops(tmp_path, capsys):
    """data 20 rows and label 10: Caffe's usual tops would fail, and dscan says so."""
    path = b.make_h5(tmp_path / "f.h5", data=b.float_rows(20), label=np.zeros(10, np.float32))
    assert find_tops([(path, path, "given")]) is None
    status, report = _scan(capsys, path)
    assert "found_tops" not in report["source"] and report["summary"]["by_code"]["DS402"] == 1


def test_a_list_takes_the_tops_of_its_first_readable_file_and_needs_them_in_all(
        tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _solver_data(tmp_path / "a.h5")
    b.make_h5(tmp_path / "b.h5", data=b.float_rows(5), targets=np.zeros(5, np.float32))
    b.make_h5(tmp_path / "c.h5", data=b.float_rows(5))
    listing = b.h5_list(tmp_path / "list.txt", ["missing.h5", "a.h5", "b.h5", "c.h5"])
    status, report = _scan(capsys, listing)
    assert report["source"]["found_tops"]["from"] == "a.h5"
    assert report["summary"]["records"] == 25  # a and b; c lacks 'targets'
    missing = [f for f in report["findings"] if f["code"] in ("DS401", "DS404")]
    assert {(f["code"], f["key"]) for f in missing} == {("DS404", "missing.h5"),
                                                         ("DS401", "c.h5")}


def test_a_root_link_that_leads_nowhere_keeps_the_default_tops(tmp_path, capsys):
    import h5py

    path = str(tmp_path / "f.h5")
    with h5py.File(path, "w") as handle:
        handle["label"] = np.zeros(5, np.float32)
        handle["data"] = h5py.SoftLink("/nowhere")  # the label must not become the data
    assert find_tops([(path, path, "given")]) is None
    status, report = _scan(capsys, path)
    assert status == 1 and report["summary"]["by_code"] == {"DS401": 1}
    assert "found_tops" not in report["source"]


def test_the_html_report_says_which_datasets_were_taken(tmp_path, capsys):
    path = _solver_data(tmp_path / "solver_data.h5")
    page = tmp_path / "r.html"
    assert main(["hdf5", path, "--no-progress", "-q", "--html", str(page)]) == 1
    html = page.read_text()
    assert "Tops (none named): data &#39;data&#39;, label &#39;targets&#39;" in html
    named = tmp_path / "named.html"
    main(["hdf5", path, "--no-progress", "-q", "--data", "data", "--label", "targets",
          "--html", str(named)])
    assert "Tops (none named)" not in named.read_text()
