"""Quiet means quiet: what libraries print in workers does not reach the terminal."""
import os
import subprocess
import sys

from . import builders as b


def test_library_messages_on_fd_2_stay_out_of_a_quiet_run(tmp_path):
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i, shape=(1, 4, 4))
                                         for i in range(3000)])
    b.garble_pages(path, seed=5)  # liblmdb prints an assertion to fd 2, then aborts
    done = subprocess.run([sys.executable, "-m", "scanner", "lmdb", path, "-q", "-j", "2",
                           "--no-progress"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "DS001" in done.stdout
    assert done.stderr == ""  # no "Assertion ... failed", no dscan warning


def test_library_warnings_go_to_the_verbose_log(tmp_path):
    """A numpy warning raised in a worker is logged (with -v) and never printed raw."""
    script = tmp_path / "worker.py"
    script.write_text(
        "import logging, os, sys, warnings\n"
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stdout,"
        " format='%(levelname)s %(message)s')\n"
        "from scanner.capture import LibraryOutput\n"
        "out = LibraryOutput()\n"
        "os.write(2, b'libtiff: TIFFReadDirectory: unknown field\\n')\n"
        "warnings.warn('overflow encountered', RuntimeWarning)\n"
        "out.drain(7)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, cwd=os.getcwd(),
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.stderr == ""
    assert "DEBUG RuntimeWarning (worker.py:6): overflow encountered" in done.stdout
    assert "DEBUG shard 7: library output: libtiff: TIFFReadDirectory" in done.stdout
