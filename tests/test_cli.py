"""The CLI in-process (exit codes, messages, options) and once as a real subprocess."""
import json
import os
import signal
import time
import subprocess
import sys

import jsonschema
import pytest

from scanner.checks import CATALOGUE
from scanner.cli import main
from scanner.report.json_report import load_schema

from . import builders as b
from .conftest import FIXTURES


def _run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _json(capsys, *argv):
    status, out, err = _run(capsys, *argv, "--json", "-", "--no-progress")
    report = json.loads(out)
    jsonschema.validate(report, load_schema())
    return status, report, err


def test_checks_lists_every_code(capsys):
    status, out, _ = _run(capsys, "checks")
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()] == sorted(CATALOGUE)


def test_explain_prints_the_doc(capsys):
    status, out, _ = _run(capsys, "explain", "ds202")
    assert status == 0 and "Why it matters:" in out and out.startswith("DS202 (error)")


@pytest.mark.parametrize("argv, words", [
    (["explain", "DS999"], "unknown check code"),
    (["lmdb", "/no/such/dir"], "no such file"),
    (["lmdb", "{fixture}", "-j", "0"], "must be at least 1"),
    (["lmdb", "{fixture}", "--batch-size", "-1"], "must be at least 1"),
    (["lmdb", "{fixture}", "--select", "DS999"], "no check code starts with"),
    (["lmdb", "{fixture}", "--fail-on", "sometimes"], "invalid choice"),
    (["net", "/no/such/train_val.prototxt"], "no such file"),
    (["net", "{fixture}"], "is a directory, not a prototxt file"),
    (["solver", "{fixture}/data.mdb"], "unexpected character"),
    (["mean", "{fixture}"], "is a directory"),
    (["mean", "/no/such/mean.binaryproto"], "no such file"),
    (["images", "{fixture}"], "is a directory"),
    (["net", "{fixture}", "--root", "/no/such/dir"], "--root is not a directory"),
    (["net", "{nets}/step_solver.prototxt"], "is it a net definition"),
    (["hdf5", "{fixture}"], "is a directory"),
    (["leveldb", "{fixture}"], "not a LevelDB directory"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_invocations_exit_2_with_one_line(capsys, fixture_copy, argv, words):
    fixture = fixture_copy("gray_lmdb")
    nets = os.path.join(os.path.dirname(__file__), "nets")
    argv = [arg.format(fixture=fixture, nets=nets) for arg in argv]
    status, out, err = _run(capsys, *argv)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("dscan: error:") and words in err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["lmdb", "leveldb"])
def test_an_hdf5_file_given_to_a_key_value_store_command(capsys, command):
    path = os.path.join(FIXTURES, "hdf5", "hdf5data", "part0.h5")
    status, _, err = _run(capsys, command, path)
    assert status == 2 and f"is a file; dscan {command} expects" in err
    assert err.count("\n") == 1


def test_faulty_store_exits_1_and_report_validates(capsys, fixture_copy):
    # the corpus crops overlap: near duplicates (DS802, info) are another test's matter
    status, report, _ = _json(capsys, "lmdb", fixture_copy("faulty_enc_lmdb"), "--ignore", "DS8")
    assert status == 1 == report["exit_status"]
    assert report["summary"]["by_code"] == {"DS003": 1, "DS202": 6, "DS206": 1}
    assert report["verdict"]["caffe"] == "crashes"
    assert report["verdict"]["first_crash"]["key"] == "00000368_coffee/coffee_0115.jpg"


def test_clean_store_exits_0(capsys, fixture_copy):
    status, report, _ = _json(capsys, "lmdb", fixture_copy("enc_lmdb"))
    assert status == 0 and report["summary"]["by_severity"]["error"] == 0
    assert report["verdict"]["caffe"] == "ok"


def test_fail_on_decides_the_exit_code(capsys, fixture_copy):
    path = fixture_copy("faulty_enc_lmdb")
    assert _run(capsys, "lmdb", path, "--fail-on", "never", "--no-progress")[0] == 0
    only_warnings = ["--select", "DS102", "--no-progress"]
    floats = fixture_copy("float_lmdb")
    assert _run(capsys, "lmdb", floats, *only_warnings)[0] == 0
    assert _run(capsys, "lmdb", floats, *only_warnings, "--fail-on", "warning")[0] == 1


def test_counts_stay_exact_when_examples_are_capped(capsys, fixture_copy):
    _, report, _ = _json(capsys, "lmdb", fixture_copy("float_lmdb"), "--max-examples", "1",
                         "--ignore", "DS8")
    assert report["summary"]["by_code"] == {"DS101": 7, "DS102": 3}
    assert [f["code"] for f in report["findings"]] == ["DS101", "DS102"]
    assert report["findings"][0]["key"] == "0000000005"  # the first in read order is kept


def test_select_and_ignore_filter_codes(capsys, fixture_copy):
    path = fixture_copy("faulty_enc_lmdb")
    _, report, _ = _json(capsys, "lmdb", path, "--select", "DS2", "--ignore", "DS202")
    assert report["summary"]["by_code"] == {"DS206": 1}


def test_limit_scans_the_first_records(capsys, fixture_copy):
    _, report, _ = _json(capsys, "lmdb", fixture_copy("faulty_enc_lmdb"), "--limit", "100",
                         "--ignore", "DS8")
    assert report["summary"]["records"] == 100
    assert report["summary"]["by_code"] == {"DS202": 1}  # only record 23 lies before 100


def test_hostile_keys_are_escaped_not_dropped(capsys, tmp_path):
    keys = [b"\xff\xfe bad utf8", b"<script>alert(1)</script>", b"tab\there", b"k" * 511]
    b.put_raw(tmp_path / "db", [(key, b"\x07junk") for key in keys])
    status, report, _ = _json(capsys, "lmdb", str(tmp_path / "db"))
    found = {f["key"]: f for f in report["findings"]}
    assert found["\\xff\\xfe bad utf8"]["key_hex"] == keys[0].hex()
    assert {"<script>alert(1)</script>", "tab\there", "k" * 511} <= set(found)
    status, out, _ = _run(capsys, "lmdb", str(tmp_path / "db"), "--no-progress", "-v")
    assert "tab\\there" in out and "\\xff\\xfe" in out


def test_json_to_a_file_and_summary_to_stdout(capsys, fixture_copy, tmp_path):
    target = tmp_path / "report.json"
    status, out, _ = _run(capsys, "lmdb", fixture_copy("gray_lmdb"), "--json", str(target),
                          "--no-progress")
    assert status == 0 and "Caffe: ok" in out
    jsonschema.validate(json.loads(target.read_text()), load_schema())


def test_runs_as_a_real_subprocess(fixture_copy, tmp_path):
    target = tmp_path / "r.json"
    done = subprocess.run([sys.executable, "-m", "scanner", "lmdb", fixture_copy("float_lmdb"),
                           "--json", str(target), "-j", "2"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"})
    assert done.returncode == 1, done.stderr
    assert "TRAINS ON GARBAGE" in done.stdout and done.stderr == ""
    assert json.loads(target.read_text())["summary"]["by_code"]["DS101"] == 7


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except FileNotFoundError:
        return []


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_writes_a_partial_report_and_exits_130(tmp_path, stop_signal):
    image = b.encoded_datum(b.jpeg(256, 256))
    path = b.make_lmdb(tmp_path / "db", [image] * 6000)
    target = tmp_path / "r.json"
    process = subprocess.Popen([sys.executable, "-m", "scanner", "lmdb", path, "-j", "2",
                                "--json", str(target), "--no-progress"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(_children(process.pid)) < 2 and process.poll() is None:  # workers are running
        assert time.monotonic() < deadline
        time.sleep(0.01)
    workers = _children(process.pid)
    process.send_signal(stop_signal)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    report = json.loads(target.read_text())
    assert report["partial"] is True and report["exit_status"] == 130
    assert report["summary"]["records"] < 6000 and report["verdict"]["caffe"] == "unknown"
    assert not [pid for pid in workers if os.path.exists(f"/proc/{pid}")]


def test_worker_logs_reach_the_parent(tmp_path):
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(shape=(1, 4, 4), seed=i)
                                         for i in range(5000)])
    done = subprocess.run([sys.executable, "-m", "scanner", "lmdb", path, "-j", "2", "-v",
                           "--no-progress"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if ": DEBUG: shard " in line]
    from scanner.executor import SHARDS_PER_JOB
    assert len(lines) == 2 * SHARDS_PER_JOB  # every shard logged from its worker
    assert len({line.split("]")[0] for line in lines}) == 2  # from two worker processes


def test_dask_without_the_extra_names_the_install_command(capsys, monkeypatch, fixture_copy):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if the extra were absent
    status, _, err = _run(capsys, "lmdb", fixture_copy("gray_lmdb"), "--executor", "dask",
                          "--scheduler", "tcp://127.0.0.1:8786")
    assert status == 2 and err.count("\n") == 1
    assert "pip install '.[dask]'" in err and "Traceback" not in err


def test_dask_needs_a_scheduler_address(capsys, monkeypatch, fixture_copy):
    monkeypatch.delenv("DSCAN_DASK_SCHEDULER", raising=False)
    status, _, err = _run(capsys, "lmdb", fixture_copy("gray_lmdb"), "--executor", "dask")
    assert status == 2 and "--scheduler ADDRESS" in err


@pytest.mark.parametrize("argv, stdout, message", [
    (["--json", "-"], "full", "cannot write to standard output: No space left on device"),
    ([], "full", "cannot write to standard output: No space left on device"),
    (["--json", "/dev/full"], "null", "/dev/full: cannot write the JSON report: No space left"),
    ([], "closed", "standard output is closed"),
], ids=["json-to-full-stdout", "summary-to-full-stdout", "json-file-on-full-device",
        "closed-stdout"])
def test_an_output_that_cannot_be_written_is_one_line_exit_2(fixture_copy, argv, stdout,
                                                            message):
    """Output errors are input errors: no traceback, no exit 1 from the interpreter."""
    path = fixture_copy("gray_lmdb")
    command = [sys.executable, "-m", "scanner", "lmdb", path, "--no-progress", *argv]
    if stdout == "closed":
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, timeout=120, close_fds=True,
                              preexec_fn=lambda: os.close(1))
    else:
        with open("/dev/full" if stdout == "full" else os.devnull, "w") as out:
            done = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, text=True,
                                  timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert sorted(os.listdir(path)) == ["data.mdb", "lock.mdb"]


@pytest.mark.parametrize("argv, suggested", [
    (["lmdb", "db", "--num-clases", "4"], "--num-classes"),
    (["lmbd", "db"], "lmdb"),
    (["lmdb", "db", "--fail-on", "warn"], "warning"),
    (["hdf5", "list.txt", "--lable", "y"], "--label"),
])
def test_a_misspelling_gets_a_did_you_mean(capsys, argv, suggested):
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert f"did you mean {suggested}?" in error and error.count("\n") == 1


def test_nothing_close_gets_no_guess(capsys):
    assert main(["lmdb", "db", "--zzzz"]) == 2
    assert "did you mean" not in capsys.readouterr().err


def _imports(root: str) -> dict[str, set[str]]:
    """Module -> the project modules it imports (any import statement, at any depth)."""
    import ast

    modules = {}
    for package in ("scanner", "backends"):
        for folder, _, names in os.walk(os.path.join(root, package)):
            for name in names:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    dotted = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
                    modules[dotted.removesuffix(".__init__")] = path
    graph = {}
    for module, path in modules.items():
        package = module if path.endswith("__init__.py") else module.rsplit(".", 1)[0]
        found = set()
        for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] \
                    if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                found |= {n for n in [target] + [f"{target}.{a.name}" for a in node.names]
                          if n in modules}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name in modules}
        graph[module] = found - {module}
    return graph


def test_the_cli_modules_lie_on_no_import_cycle():
    graph = _imports(os.path.dirname(os.path.dirname(__file__)))
    cli = [module for module in graph if module.split(".")[:2] == ["scanner", "cli"]]
    assert len(cli) >= 5  # the package and its modules
    for start in cli:
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            assert module != start, f"{start} imports itself back"
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])


def test_the_console_script_entry_point_is_importable():
    from importlib.metadata import entry_points

    from scanner.launch import run as launched

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "dscan"]
    assert script.load() is launched
    from scanner import cli
    assert callable(cli.main) and cli.main is main


def test_the_command_leaves_nothing_unwritten_at_its_exit(tmp_path):
    """The command ends without the interpreter's teardown (launch.run): what it printed is
    still all there, the summary lines to a pipe as well as a JSON report of far more than
    a pipe's buffer, with the exit status the findings give."""
    bad = [b.float_datum([float("nan")] * 12, (3, 2, 2), label=i % 5) for i in range(300)]
    path = b.make_lmdb(tmp_path / "db", bad)
    command = [sys.executable, "-m", "scanner", "lmdb", path, "--no-progress"]
    lines = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert lines.returncode == 1, lines.stderr
    words = " ".join(lines.stdout.split())  # the summary wraps where a long path makes it
    assert "300 of 300 records" in words and "DS101" in words
    assert "Findings:" in lines.stdout and lines.stdout.endswith("\n")
    done = subprocess.run(command + ["--json", "-", "--max-examples", "300"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert len(done.stdout) > 64 << 10 and report["summary"]["records"] == 300


def test_output_still_buffered_at_the_fast_exit_that_cannot_be_written_is_an_error():
    """`dscan explain` prints as it goes, so its text can still be buffered when the command
    ends: a full device is one error line and exit 2 there too, a reader that stopped
    exit 1 as during a run."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    command = [sys.executable, "-m", "scanner", "explain", "DS103"]
    with open("/dev/full", "w") as full:
        done = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True,
                              env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "dscan: error: cannot write to standard output: No space left on device"]
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env)
    reader.stdout.close()  # the reader stops before anything is read
    assert reader.wait(timeout=60) == 1 and reader.stderr.read() == b""


def test_the_command_runs_blas_on_one_thread_unless_told_otherwise():
    """The workers are the parallelism: BLAS threads spinning beside them only take CPU."""
    code = ("import os, scanner.launch, numpy; "
            "print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['MKL_NUM_THREADS'])")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["1", "1"], out.stderr
    env["OPENBLAS_NUM_THREADS"] = "4"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["4", "1"], out.stderr
