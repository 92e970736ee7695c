"""The options every subcommand takes (scanner/cli/common.py): accepted everywhere, the same
meaning everywhere, refused in one line where a command cannot make that output."""
import argparse
import json
import os

import pytest

from scanner.cli import build_parser, main
from scanner.cli.common import COMMON

from .conftest import FIXTURES

ROOT = os.path.dirname(os.path.dirname(__file__))
LOG = os.path.join(FIXTURES, "logs", "a_clean", "caffe.log.gz")

# One run of every subcommand, from the repository root.
COMMANDS = {
    "lmdb": ["lmdb", "sample_data/raw_lmdb"],
    "leveldb": ["leveldb", "sample_data/enc_leveldb"],
    "hdf5": ["hdf5", "sample_data/hdf5/train_h5_list.txt"],
    "images": ["images", "sample_data/images/train_list.txt", "--root-folder",
               "sample_data/images/"],
    "net": ["net", "sample_data/train_val.prototxt"],
    "solver": ["solver", "sample_data/solver.prototxt", "--with-net"],
    "mean": ["mean", "sample_data/mean.binaryproto"],
    "checks": ["checks"],
    "explain": ["explain", "DS101"],
    "log": ["log", LOG],
}
MAKES_HTML = {"lmdb", "leveldb", "hdf5", "images", "net", "solver", "log"}


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions
                  if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_subcommand_has_every_common_option():
    parsers = _subcommands()
    assert set(parsers) == set(COMMANDS)  # a new subcommand needs a row above
    flags = {"--json", "--html", "--no-progress", "-q", "--quiet", "-v", "--verbose",
             "--fail-on", "--select", "--ignore"}
    for name, parser in parsers.items():
        assert flags <= set(parser._option_string_actions), name
        dests = {a.dest for a in parser._actions}
        assert set(COMMON) <= dests, name


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_one_set_of_flags_passes_through_every_step(name, tmp_path, capsys, monkeypatch):
    """A pipeline giving every step the same flags: each runs and writes its reports."""
    monkeypatch.chdir(ROOT)
    report, page = tmp_path / "r.json", tmp_path / "r.html"
    argv = [*COMMANDS[name], "--json", str(report), "--no-progress", "-v",
            "--fail-on", "warning", "--select", "DS", "--ignore", "DS8"]
    if name in MAKES_HTML:
        argv += ["--html", str(page)]
    status = main(argv)
    out, err = capsys.readouterr()
    assert status in (0, 1), err
    assert json.loads(report.read_text())
    written = [str(report)] + ([str(page)] if name in MAKES_HTML else [])
    assert out.rstrip("\n").splitlines()[-1] == "wrote " + ", ".join(written)
    assert page.exists() == (name in MAKES_HTML)


@pytest.mark.parametrize("name", sorted(set(COMMANDS) - {"checks", "explain"}))
def test_quiet_keeps_the_summary_only_everywhere(name, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    argv = [*COMMANDS[name], "--no-progress", "--json", str(tmp_path / "r.json")]
    main(argv)
    full = capsys.readouterr().out.splitlines()
    main([*argv, "-q"])
    quiet = capsys.readouterr().out.splitlines()
    assert quiet and len(quiet) < len(full)
    assert not [line for line in quiet if line.startswith("wrote ")]
    assert any(line.startswith("wrote ") for line in full)


def test_select_and_ignore_filter_every_kind_of_report(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["checks", "--select", "DS1", "--ignore", "DS103"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == \
        ["DS101", "DS102"]
    main(["log", os.path.join(FIXTURES, "logs", "b_blowup_lr0.05", "caffe.log.gz"),
          "--json", "-"])
    codes = json.loads(capsys.readouterr().out)["summary"]["by_code"]
    assert "DS901" in codes
    assert main(["log", os.path.join(FIXTURES, "logs", "b_blowup_lr0.05", "caffe.log.gz"),
                 "--json", "-", "--ignore", "DS9"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["by_code"] == {}


@pytest.mark.parametrize("argv, words", [
    (["mean", "sample_data/mean.binaryproto", "--html", "m.html"], "makes no HTML page"),
    (["checks", "--html", "c.html"], "the catalogue has no HTML page"),
    (["explain", "DS101", "--html", "c.html"], "the catalogue has no HTML page"),
    (["solver", "sample_data/solver.prototxt", "--html", "s.html"], "--html needs --with-net"),
    (["net", "sample_data/train_val.prototxt", "--keys-out", "k.txt"], "reads several stores"),
    (["lmdb", "sample_data/raw_lmdb", "--keys-out", "k.txt", "--fail-on", "never"],
     "--fail-on never names none"),
])
def test_an_output_a_command_cannot_make_is_refused_in_one_line(argv, words, capsys,
                                                               monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    argv = [str(tmp_path / arg) if arg.endswith((".html", ".txt")) else arg for arg in argv]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and words in err
    assert err.startswith("dscan: error: ") and not os.listdir(tmp_path)
