"""Progress as a person at a terminal sees it: a line for LevelDB's snapshot, then a bar
with its total; nothing with --no-progress, and no carriage returns when stderr is no
terminal. Run for real, dscan under a pseudo-terminal."""
import re
import subprocess
import sys

from . import builders as b
from .terminal import ROOT, on_a_terminal


def _store(tmp_path, records: int = 40) -> str:
    return b.make_leveldb(tmp_path / "ldb", [b.raw_datum(label=i % 2, shape=(1, 4, 4), seed=i)
                                             for i in range(records)], log_only=True)


def test_the_snapshot_gets_a_line_then_the_bar_has_its_total(tmp_path):
    path = _store(tmp_path)
    status, text = on_a_terminal(["leveldb", path, "-j", "1"])
    assert status == 0
    assert "making a private snapshot ..." in text
    assert re.search(r"making a private snapshot: done in \d+\.\d s\r?\n", text)
    bar = text[text.index("scanning:"):]
    assert re.search(r"40(\.0)?/40(\.0)? \[", bar)  # the total, which LevelDB keeps nowhere
    assert text.index("done in") < text.index("scanning:") < text.index("dscan leveldb")


def test_no_progress_shows_nothing_of_it(tmp_path):
    status, text = on_a_terminal(["leveldb", _store(tmp_path), "-j", "1", "--no-progress"])
    assert status == 0 and "snapshot" not in text and "scanning:" not in text
    assert "\r" not in text.replace("\r\n", "\n")


def test_stderr_that_is_no_terminal_gets_no_bar_and_no_carriage_return(tmp_path):
    done = subprocess.run([sys.executable, "-m", "scanner", "leveldb", _store(tmp_path),
                           "-j", "1"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "snapshot" not in done.stderr
    assert "scanning" not in done.stderr


def test_an_interrupted_snapshot_erases_its_line_and_still_reports(tmp_path):
    status, text = on_a_terminal(["leveldb", _store(tmp_path), "-j", "1"],
                                  DSCAN_TEST_SIGNAL_AT_PHASE="snapshot")
    assert status == 130
    assert "done in" not in text and "\r\x1b[Kdscan leveldb" in text  # the summary starts clean
    assert "PARTIAL: interrupted (SIGINT) during snapshot" in text
