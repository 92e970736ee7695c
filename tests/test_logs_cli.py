"""`dscan log` on the command line: a stream read as it grows, refusals, outputs, and logs
that differ from the corpus (older glog, interleaved lines, junk)."""
import csv
import gzip
import json
import os
import subprocess
import sys
import threading
import time

import jsonschema

from scanner.cli import main
from scanner.logs import report as log_report

from . import log_builders as lb
from .builders import tree_state
from .scanning import log_report as run_log


def test_a_stream_reports_the_nan_before_it_ends(tmp_path):
    """Feed a real log through a pipe line by line; the finding must come out while lines
    are still being written."""
    lines = lb.log_bytes("d_hdf5_nan_r1000").splitlines(keepends=True)
    process = subprocess.Popen([sys.executable, "-m", "scanner", "log", "-"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    seen: list[tuple[float, bytes]] = []

    def read():
        for line in process.stdout:
            seen.append((time.monotonic(), line))
    reader = threading.Thread(target=read)
    reader.start()
    pause = 2.0 / len(lines)
    for line in lines:
        process.stdin.write(line)
        process.stdin.flush()
        time.sleep(pause)
    ended = time.monotonic()
    process.stdin.close()
    process.wait(timeout=30)
    reader.join(timeout=30)
    live = [(at, line) for at, line in seen if b"the training loss is NaN" in line]
    assert live and live[0][0] < ended - 0.3, seen[:3]
    assert b"iteration 15" in live[0][1]
    assert process.returncode == 1


def test_not_a_log_is_one_line_and_exit_2(tmp_path, capsys):
    junk = tmp_path / "notes.txt"
    junk.write_text("shopping list\neggs\nmilk\n" * 100)
    binary = tmp_path / "data.mdb"
    binary.write_bytes(os.urandom(200_000))
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    for path in (junk, binary, empty, tmp_path / "missing.log", tmp_path):
        assert main(["log", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("dscan: error: ") and err.count("\n") == 1, err


def test_a_clean_log_exits_0_and_a_nan_log_1(tmp_path, capsys):
    assert main(["log", lb.write_log(tmp_path, "a_clean")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("no problem found: the loss stayed finite over 300 "
                                        "logged iterations")
    assert main(["log", lb.write_log(tmp_path, "b_blowup_lr0.05", name="b.log")]) == 1
    assert "gradient blow-up" in capsys.readouterr().out.splitlines()[0]


def test_gzip_logs_are_read(tmp_path, capsys):
    path = os.path.join(lb.LOGS, "f_avepool_k2s3", "caffe.log.gz")
    assert main(["log", path, "-q"]) == 1
    assert "the net itself" in capsys.readouterr().out


def test_outputs_json_html_csv(tmp_path, capsys):
    folder = lb.scenario_folder(tmp_path, "d_hdf5_nan_r1000")
    before = tree_state(tmp_path / "data")
    code = main(["log", os.path.join(folder, "caffe.log"), "--solver",
                 os.path.join(folder, "solver.prototxt"), "--root", folder, "--scan",
                 "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html"),
                 "--csv", str(tmp_path / "tables")])
    assert code == 1
    assert tree_state(tmp_path / "data") == before  # the data was only read
    report = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(report, log_report.load_schema())
    assert report["diagnosis"]["culprits"][0]["index"] == 1000
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == 2 and "first NaN: 15" in page
    with open(tmp_path / "tables" / "caffe.log.train", newline="") as handle:
        train = list(csv.reader(handle))
    assert train[0] == ["NumIters", "Seconds", "LearningRate", "loss"]
    assert len(train) == 1 + 60 and train[16][0] == "15.0" and train[16][3] == "nan"
    with open(tmp_path / "tables" / "caffe.log.test", newline="") as handle:
        test = list(csv.reader(handle))
    assert test[0] == ["NumIters", "Seconds", "LearningRate", "accuracy", "loss"]
    assert [row[0] for row in test[1:]] == ["0.0", "20.0", "40.0", "60.0"]
    assert all(float(row[1]) >= 0 for row in train[1:] + test[1:])


def test_scan_without_solver_is_a_usage_error(tmp_path, capsys):
    assert main(["log", lb.write_log(tmp_path, "d_hdf5_nan_r1000"), "--scan"]) == 2
    assert "--scan needs --solver" in capsys.readouterr().err


def _old_glog(text: bytes) -> bytes:
    """The prefix of glog before 0.6: `I1201 15:26:19.579166  6497 file:line]`."""
    import re
    return re.sub(rb"(?m)^([IWEF])2026(\d{4}) ", rb"\1\2 ", text)


def test_older_glog_prefixes_give_the_same_answers(tmp_path):
    for scenario in ("b_blowup_lr0.05_debug", "g_encoded_corrupt_image_r900"):
        new = run_log(lb.write_log(tmp_path, scenario))["diagnosis"]
        old = run_log(lb.write_log(tmp_path, scenario, _old_glog(lb.log_bytes(scenario)),
                                   name="old.log"))["diagnosis"]
        assert old["cause"] == new["cause"]
        assert old["first_nonfinite"] == new["first_nonfinite"]
        assert (old["first_layer"] or {}).get("iteration") == \
            (new["first_layer"] or {}).get("iteration")
        assert (old["crash"] or {}).get("last_iteration") == \
            (new["crash"] or {}).get("last_iteration")


def test_junk_wrapped_and_interleaved_lines_change_nothing(tmp_path):
    lines = lb.log_bytes("d_hdf5_nan_r1000").splitlines(keepends=True)
    noisy = []
    for number, line in enumerate(lines):
        noisy.append(line)
        if number % 7 == 0:
            noisy.append(b"\x00\xff garbage that is no log line at all\n")
        if number % 11 == 0:
            noisy.append(b"W1201 15:27:21.099681  7404 blocking_queue.cpp:49] "
                         b"Waiting for data\n")
        if number % 13 == 0:  # a line cut by another thread's write, and its rest
            noisy.append(b"I20261201 15:27:21.099681  7404 data_layer.cpp:73] Restar")
            noisy.append(b"ting data prefetching from start.\n")
    noisy_report = run_log(lb.write_log(tmp_path, "d_hdf5_nan_r1000", b"".join(noisy)))
    clean = run_log(lb.write_log(tmp_path, "d_hdf5_nan_r1000", name="clean.log"))
    for field in ("cause", "first_nonfinite", "crash"):
        assert noisy_report["diagnosis"][field] == clean["diagnosis"][field]
    assert noisy_report["series"]["loss"] == clean["series"]["loss"]


def test_pieces_of_any_size_parse_the_same(tmp_path):
    from scanner.logs.parser import LogParser
    from scanner.logs.run import TrainingRun
    data = lb.log_bytes("b_blowup_lr0.05_debug")
    results = []
    for size in (1, 97, 4096, len(data)):
        run = TrainingRun()
        parser = LogParser(run)
        for start in range(0, len(data), size):
            parser.feed(data[start:start + size])
        parser.close()
        run.finish()
        results.append(repr((run.loss.points, run.first_nonfinite.iteration,
                             run.debug_first.line, run.solver_text, run.test_count,
                             run.final_pass)))  # repr: NaN equals NaN
    assert all(r == results[0] for r in results)


def test_display_lines_of_older_caffe_without_a_rate(tmp_path):
    """Caffe before 1.0 printed `Iteration N, loss = X` for display lines too: the train
    outputs below tell them from the final forward-only pass, also across pieces."""
    import re
    from scanner.logs.parser import LogParser
    from scanner.logs.run import TrainingRun
    data = re.sub(rb"Iteration (\d+) \([^)]*\), loss", rb"Iteration \1, loss",
                  lb.log_bytes("d_hdf5_nan_r1000"))
    for size in (1, 50, len(data)):
        run = TrainingRun()
        parser = LogParser(run)
        for start in range(0, len(data), size):
            parser.feed(data[start:start + size])
        parser.close()
        assert (run.iterations, run.first_nonfinite.iteration, run.final_pass.iteration) == \
            (60, 15, 60)


def _resumed(at: int) -> bytes:
    """A resumed run: Caffe prints `Resuming from` before `Solving`, and the first
    iteration is the snapshot's."""
    lines = lb.log_bytes("d_hdf5_nan_r1000").splitlines(keepends=True)
    solving = next(i for i, line in enumerate(lines) if b"] Solving " in line)
    first = next(i for i, line in enumerate(lines) if b"] Iteration %d (" % at in line)
    resume = (b"I20261201 15:27:20.000000  7403 caffe.cpp:224] Resuming from "
              b"snap/lenet_iter_%d.solverstate\n" % at)
    return b"".join(lines[:solving] + [resume] + lines[solving:solving + 2] + lines[first:])


def test_a_resumed_run_reads_from_record_0_again(tmp_path):
    folder = lb.scenario_folder(tmp_path, "d_hdf5_nan_r1000")
    path = tmp_path / "resumed.log"
    path.write_bytes(_resumed(10))
    report = run_log(str(path), "solver.prototxt", root=folder)
    batch = report["diagnosis"]["batch"]
    assert batch["iteration"] == 15 and batch["records"] == [(15 - 10) * 64, (15 - 10) * 64 + 63]
    assert any(f["code"] == "DS912" for f in report["findings"])


def test_wrapping_batches_and_iter_size(tmp_path):
    from scanner.logs.batch import crash_window, iteration_batch
    from scanner.logs.context import TrainData
    data = TrainData("data", "Data", "db", 32, 4, "lmdb", False, "db", records=1000)
    assert iteration_batch(data, 15, 0, 2).ranges == [(960, 999), (0, 23)]  # 64 per iteration
    assert iteration_batch(data, 16, 0, 2).ranges == [(24, 87)]
    assert iteration_batch(data, 100, 0, 1, solvers=4).ranges == [(800, 927)]
    window = crash_window(data, 10, 0, 1)
    assert window.iterations == (11, 15) and window.ranges == [(352, 511)]
    hdf5 = TrainData("data", "HDF5Data", "list", 64, 0, "hdf5", False, "list", records=1500)
    assert crash_window(hdf5, 10, 0, 1).ranges == [(704, 767)]


def test_several_losses_name_the_output_that_went_nan(tmp_path):
    """Two losses with weights, as `Train net output #k: name = v (* w = v loss)`."""
    lines = lb.log_bytes("d_hdf5_nan_r1000").splitlines(keepends=True)
    out = []
    for line in lines:
        out.append(line)
        if b"Train net output #0: loss = " in line:
            finite = b"-nan" not in line
            value = b"0.5" if finite else b"-nan"
            out.append(line.replace(b"#0: loss = ", b"#1: aux = ")
                       .split(b" = ")[0] + b" = " + value + b" (* 0.3 = " + value + b" loss)\n")
    text = b"".join(out).replace(b"Train net output #0: loss = -nan (* 1 = -nan loss)",
                                 b"Train net output #0: loss = 2.1 (* 1 = 2.1 loss)")
    report = run_log(lb.write_log(tmp_path, "d_hdf5_nan_r1000", text))
    first = report["diagnosis"]["first_nonfinite"]
    assert first["iteration"] == 15 and first["outputs"] == ["aux"]


def test_stdin_report_is_the_same_as_the_file_report(tmp_path):
    path = lb.write_log(tmp_path, "b_blowup_lr10")
    result = subprocess.run([sys.executable, "-m", "scanner", "log", "-", "--json", "-"],
                            input=open(path, "rb").read(), capture_output=True, check=False)
    assert result.returncode == 1
    piped = json.loads(result.stdout)
    assert piped["diagnosis"] == run_log(path)["diagnosis"]
    assert gzip  # (gzip logs: see test_gzip_logs_are_read)


def test_ctrl_c_on_a_stream_gives_a_partial_report(tmp_path):
    import signal
    lines = lb.log_bytes("d_hdf5_nan_r1000").splitlines(keepends=True)
    process = subprocess.Popen([sys.executable, "-m", "scanner", "log", "-", "--json",
                                str(tmp_path / "r.json")], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cut = next(i for i, line in enumerate(lines) if b"] Iteration 17 (" in line)
    process.stdin.write(b"".join(lines[:cut]))
    process.stdin.flush()
    first = process.stdout.readline()  # the live line: dscan is reading the stream
    assert b"the training loss is NaN" in first
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 130
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["partial"] and report["diagnosis"]["first_nonfinite"]["iteration"] == 15
    assert b"PARTIAL" in out


def test_a_multi_gpu_run_maps_iterations_over_every_solver(tmp_path):
    """`caffe train --gpu 0,1` logs `Using GPUs 0, 1`; both solvers take a batch from the
    one reader per iteration."""
    folder = lb.scenario_folder(tmp_path, "d_hdf5_nan_r1000")
    text = lb.log_bytes("d_hdf5_nan_r1000").replace(
        b"] Use CPU.", b"] Using GPUs 0, 1", 1)
    path = tmp_path / "gpus.log"
    path.write_bytes(text)
    report = run_log(str(path), "solver.prototxt", root=folder)
    assert report["context"]["solvers"] == 2
    first = 15 * 2 * 64 % 1500  # the second epoch: 1920 samples read before iteration 15
    assert report["diagnosis"]["batch"]["records"] == [first, first + 127]
    assert report["diagnosis"]["batch"]["epoch"] == 1


def test_windows_line_ends_and_logs_without_prefixes(tmp_path):
    import re
    text = lb.log_bytes("g_encoded_corrupt_image_r900")
    crlf = run_log(lb.write_log(tmp_path, "g_encoded_corrupt_image_r900",
                                text.replace(b"\n", b"\r\n"), name="crlf.log"))
    bare = run_log(lb.write_log(tmp_path, "g_encoded_corrupt_image_r900",
                                re.sub(rb"(?m)^[IWEF]\d{8} [^\]]*\] ", b"", text),
                                name="bare.log"))
    plain = run_log(lb.write_log(tmp_path, "g_encoded_corrupt_image_r900"))
    for report in (crlf, bare):
        assert report["series"]["loss"] == plain["series"]["loss"]
        assert report["diagnosis"]["cause"] == "crash"
        assert report["diagnosis"]["crash"]["last_iteration"] == 10
    assert crlf["diagnosis"]["crash"]["fatal_line"] == plain["diagnosis"]["crash"]["fatal_line"]


def test_a_resume_is_seen_when_the_log_arrives_line_by_line():
    from scanner.logs.parser import LogParser
    from scanner.logs.run import TrainingRun
    for lines in (_resumed(10).splitlines(keepends=True), [_resumed(10)]):
        run = TrainingRun()
        parser = LogParser(run)
        for line in lines:
            parser.feed(line)
        parser.close()
        assert [r.iteration for r in run.resumes] == [10]
        assert run.origin_at_nonfinite == 10 and run.first_nonfinite.iteration == 15
