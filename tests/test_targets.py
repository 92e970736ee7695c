"""Report paths (scanner/report/targets.py): checked before any work, the summary printed
whatever happens to a report, a closing line naming each report written."""
import json
import os
import shutil

import pytest

from scanner.cli import main

from . import builders as b
from .conftest import FIXTURES

ROOT = os.path.dirname(os.path.dirname(__file__))
LOG = os.path.join(FIXTURES, "logs", "a_clean", "caffe.log.gz")


def _run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("option", ["--json", "--html", "--keys-out"])
@pytest.mark.parametrize("where, words", [
    ("missing/r.out", "the folder {tmp}/missing does not exist"),
    ("folder", "is a directory; name a file in it"),
    ("a_file/r.out", "the folder {tmp}/a_file does not exist"),
])
def test_a_report_path_that_cannot_be_written_stops_before_the_scan(
        capsys, tmp_path, fixture_copy, option, where, words):
    store = fixture_copy("gray_lmdb")
    before = b.tree_state(store)
    (tmp_path / "folder").mkdir()
    (tmp_path / "a_file").write_text("")
    status, out, err = _run(capsys, "lmdb", store, option, str(tmp_path / where))
    assert status == 2 and out == ""  # nothing scanned: no summary
    assert err.count("\n") == 1 and err.startswith(f"dscan: error: {option} ")
    assert words.format(tmp=tmp_path) in err and "Traceback" not in err
    assert b.tree_state(store) == before


def test_every_command_checks_its_report_paths_first(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    missing = ["--json", str(tmp_path / "missing" / "r.json")]
    (tmp_path / "a_file").write_text("")
    for argv in (["net", "sample_data/train_val.prototxt", *missing],
                 ["mean", "sample_data/mean.binaryproto", *missing],
                 ["solver", "sample_data/solver.prototxt", *missing],
                 ["checks", *missing], ["explain", "DS101", *missing], ["log", LOG, *missing],
                 ["log", LOG, "--csv", str(tmp_path / "a_file")]):
        status, out, err = _run(capsys, *argv)
        assert (status, out) == (2, ""), argv
        assert err.count("\n") == 1 and ("does not exist" in err or "is not a folder" in err)


def _unwritable_folder(tmp_path) -> str:
    folder = tmp_path / "locked"
    folder.mkdir()
    os.chmod(folder, 0o555)
    if os.access(folder, os.W_OK):  # root writes where a mode forbids it
        folder = "/proc/self"  # where no one may create a file
        if os.access(folder, os.W_OK):
            pytest.skip("no folder here refuses this user's writes")
    return str(folder)


def test_an_unwritable_folder_stops_before_the_scan(capsys, tmp_path, fixture_copy):
    store = fixture_copy("gray_lmdb")
    folder = _unwritable_folder(tmp_path)
    status, out, err = _run(capsys, "lmdb", store, "--json", f"{folder}/r.json")
    assert status == 2 and out == ""
    assert err == f"dscan: error: --json {folder}/r.json: the folder {folder} is not " \
        "writable\n"


def test_the_same_file_for_two_reports_is_refused(capsys, tmp_path, fixture_copy):
    target = str(tmp_path / "r.out")
    status, out, err = _run(capsys, "lmdb", fixture_copy("gray_lmdb"), "--json", target,
                            "--html", target)
    assert status == 2 and out == "" and "also given to --json" in err
    assert not os.path.exists(target)


def test_a_report_never_replaces_what_is_scanned(capsys, tmp_path, fixture_copy):
    h5 = shutil.copy(os.path.join(FIXTURES, "hdf5", "hdf5data", "part0.h5"), tmp_path)
    before = open(h5, "rb").read()
    status, _, err = _run(capsys, "hdf5", h5, "--json", h5)
    assert status == 2 and "is the input being scanned" in err
    store = fixture_copy("gray_lmdb")
    state = b.tree_state(store)
    status, _, err = _run(capsys, "lmdb", store, "--keys-out", os.path.join(store, "data.mdb"))
    assert status == 2 and "is a file of the store being scanned" in err
    assert open(h5, "rb").read() == before and b.tree_state(store) == state


def test_a_report_never_replaces_a_file_a_list_names_nor_a_store_name(capsys, tmp_path):
    """Not only the input itself: the .h5 files an HDF5 list names, any image or prototxt,
    and store file names in the scanned folder, existing or not."""
    h5 = shutil.copy(os.path.join(FIXTURES, "hdf5", "hdf5data", "part0.h5"), tmp_path)
    listing = tmp_path / "list.txt"
    listing.write_text(f"{h5}\n")
    picture = tmp_path / "cat.jpg"
    picture.write_bytes(b.jpeg(8, 8))
    for target, says in ((h5, "is an HDF5 file"), (str(picture), "is an image"),
                         (str(listing), "is the input being scanned")):
        before = open(target, "rb").read()
        status, _, err = _run(capsys, "hdf5", str(listing), "--json", target)
        assert status == 2 and says in err, err
        assert open(target, "rb").read() == before
    store = b.make_leveldb(tmp_path / "ldb", [b.raw_datum(shape=(1, 2, 2))] * 3)
    state = b.tree_state(store)
    for name in ("LOG.old", "MANIFEST-000099", "000123.ldb"):
        status, _, err = _run(capsys, "leveldb", store, "--json", os.path.join(store, name))
        assert status == 2 and "is a file of the store being scanned" in err
    assert b.tree_state(store) == state


def test_a_report_in_the_store_folder_is_written_when_named(capsys, fixture_copy):
    """The person's choice: dscan writes there only because the path says so."""
    store = fixture_copy("gray_lmdb")
    state = b.tree_state(store, reader_table=True)  # a registered reader writes its slot
    target = os.path.join(store, "report.json")
    status, out, _ = _run(capsys, "lmdb", store, "--no-progress", "--json", target)
    assert status == 0 and out.splitlines()[-1] == f"wrote {target}"
    after = b.tree_state(store, reader_table=True)
    assert after.pop("report.json") and after == state


@pytest.mark.parametrize("argv", [
    ["lmdb", "{store}", "--no-progress"],
    ["mean", "sample_data/mean.binaryproto"],
    ["log", LOG],
    ["checks"],
])
def test_a_report_that_fails_leaves_the_summary_then_one_error_line(capsys, tmp_path, argv,
                                                                   fixture_copy, monkeypatch):
    monkeypatch.chdir(ROOT)
    store = fixture_copy("gray_lmdb")
    argv = [arg.format(store=store) for arg in argv]
    page = tmp_path / "r.html"
    html = ["--html", str(page)] if argv[0] in ("lmdb", "log") else []
    status, out, err = _run(capsys, *argv, "--json", "/dev/full", *html)  # full on write
    assert status == 2
    assert err == "dscan: error: /dev/full: cannot write the JSON report: No space left on " \
        "device\n"
    lines = out.splitlines()
    assert len(lines) > 1  # the summary is there
    if html:
        assert lines[-1] == f"wrote {page}" and page.stat().st_size > 0
    else:
        assert not [line for line in lines if line.startswith("wrote")]


def test_the_closing_line_names_every_report_and_quiet_drops_it(capsys, tmp_path,
                                                                 fixture_copy):
    store = fixture_copy("gray_lmdb")
    files = [str(tmp_path / name) for name in ("r.json", "r.html", "keys.txt")]
    argv = ["lmdb", store, "--no-progress", "--json", files[0], "--html", files[1],
            "--keys-out", files[2]]
    status, out, _ = _run(capsys, *argv)
    assert out.splitlines()[-1] == "wrote " + ", ".join(files)
    assert json.loads(open(files[0]).read())["exit_status"] == status
    status, out, _ = _run(capsys, *argv, "-q")
    assert "wrote" not in out and out.rstrip("\n").endswith(" records")  # the Findings line
    status, out, err = _run(capsys, "lmdb", store, "--no-progress", "--json", "-")
    assert "wrote" not in out + err  # stdout is no file
