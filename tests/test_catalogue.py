"""The catalogue of checks: every check carries a fix hint; `dscan checks --json` and
`dscan explain` show codes, severities, effects, titles and fixes."""
import json

from scanner.checks import CATALOGUE
from scanner.cli import main


def test_every_check_has_a_one_line_fix():
    missing = sorted(code for code, check in CATALOGUE.items() if not check.fix)
    assert not missing, f"checks without a fix hint: {missing}"
    assert all("\n" not in check.fix for check in CATALOGUE.values())


def test_checks_json_lists_every_check(capsys):
    assert main(["checks", "--json", "-"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["schema"] == "dscan-checks/1"
    assert [c["code"] for c in listed["checks"]] == sorted(CATALOGUE)
    first = listed["checks"][0]
    assert set(first) >= {"code", "severity", "effect", "title", "fix"}


def test_explain_shows_the_fix_and_what_caffe_does(capsys):
    assert main(["explain", "ds202"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("DS202 (error)") and "Caffe: trains on garbage." in text
    assert f"Fix: {CATALOGUE['DS202'].fix}" in text
    assert main(["explain", "DS202", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["fix"] == CATALOGUE["DS202"].fix


def test_an_unknown_code_gets_the_nearest_one(capsys):
    assert main(["explain", "DS2002"]) == 2
    assert "did you mean DS202?" in capsys.readouterr().err


def test_the_json_report_says_what_to_do_about_each_code(tmp_path):
    from .scanning import scan_report
    from . import builders as b

    path = b.make_lmdb(tmp_path / "db", [b.encoded_datum(b.truncate(b.jpeg()), label=0),
                                         b.encoded_datum(b.jpeg(seed=1), label=1)])
    report = scan_report(path)
    assert set(report["checks"]) == set(report["summary"]["by_code"])
    assert report["checks"]["DS202"]["fix"] == CATALOGUE["DS202"].fix
