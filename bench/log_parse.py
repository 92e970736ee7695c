"""The `dscan log` row of the benchmark: a 1 GB training log built by repeating a real one
(tests/fixtures/logs/a_clean: `display: 1`, so three of every four lines are iteration
lines, the most work per byte a log can ask), parsed by `dscan log` and by a naive
line-by-line parser in the style of Caffe's tools/extra/parse_log.py, in the same run.

`python -m bench.log_parse naive FILE` runs the naive parser (for the timing child)."""
from __future__ import annotations

import gzip
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

from bench.memory import PeakAnon

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "tests", "fixtures", "logs", "a_clean", "caffe.log.gz")
CACHE = os.path.join(ROOT, "bench", ".cache")
SIZES = {"full": 1 << 30, "quick": 100 << 20}


def build(size: str) -> str:
    """The repeated log, cached under bench/.cache (written once, in 8 MiB pieces)."""
    path = os.path.join(CACHE, f"caffe_{size}.log")
    if os.path.exists(path + ".done"):
        return path
    os.makedirs(CACHE, exist_ok=True)
    with gzip.open(SOURCE, "rb") as handle:
        one = handle.read()
    piece = one * max(1, (8 << 20) // len(one))
    with open(path, "wb") as out:
        written = 0
        while written < SIZES[size]:
            out.write(piece)
            written += len(piece)
    open(path + ".done", "w").close()
    return path


def naive(path: str) -> dict:
    """Line by line with a regex per kind of line, rows kept in lists: how logs are usually
    parsed (parse_log.py keeps every row too)."""
    iteration_re = re.compile(r"Iteration (\d+)")
    loss_re = re.compile(r"Iteration \d+ \(.*\), loss = (\S+)")
    output_re = re.compile(r"(Train|Test) net output #(\d+): (\S+) = (\S+)")
    lr_re = re.compile(r"lr = (\S+)")
    train, test, lr, iteration, first_nan = [], [], None, -1, None
    started = time.perf_counter()
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            found = iteration_re.search(line)
            if found:
                iteration = int(found.group(1))
            found = loss_re.search(line)
            if found:
                value = float(found.group(1))
                train.append((iteration, value, lr))
                if value != value and first_nan is None:
                    first_nan = iteration
            found = output_re.search(line)
            if found and found.group(1) == "Test":
                test.append((iteration, found.group(3), float(found.group(4))))
            found = lr_re.search(line)
            if found:
                lr = float(found.group(1))
    return {"seconds": time.perf_counter() - started, "iterations": len(train),
            "first_nan": first_nan}


def _timed(command: list[str]) -> tuple[str, float, float, int]:
    """stdout, wall seconds, CPU seconds (user + system) and peak anonymous KiB of a child.
    CPU time is what the parse costs; wall time also holds the waits of a busy machine."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, text=True)
        memory = PeakAnon(process.pid)
        process.wait()
        peak = memory.stop()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        out.seek(0)
        return out.read(), time.perf_counter() - started, cpu, peak


def measure(size: str, repeat: int) -> None:
    path = build(size)
    total = os.path.getsize(path)
    runs = {"dscan": [], "naive": []}
    for _ in range(max(1, repeat)):
        with tempfile.TemporaryDirectory() as scratch:
            report_path = os.path.join(scratch, "r.json")
            _, wall, cpu, peak = _timed([sys.executable, "-m", "scanner", "log", path, "-q",
                                         "--json", report_path])
            with open(report_path) as handle:
                report = json.load(handle)
        runs["dscan"].append({"cpu": cpu, "wall": wall, "peak": peak,
                              "iterations": report["run"]["iterations_logged"]})
        out, wall, cpu, peak = _timed([sys.executable, "-m", "bench.log_parse", "naive", path])
        runs["naive"].append({**json.loads(out), "cpu": cpu, "wall": wall, "peak": peak})
    print(f"{'workload':<10} {'run':<8} {'iterations':>10} {'MB/s cpu':>9} {'MB/s wall':>9} "
          f"{'anon MiB':>9}   log of {total / 1e6:,.0f} MB; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    median = {}
    for name, figures in runs.items():
        figures.sort(key=lambda f: f["cpu"])
        chosen = median[name] = figures[len(figures) // 2]
        spread = "".join(f"  {kind} {total / max(f[kind] for f in figures) / 1e6:,.0f}-"
                         f"{total / min(f[kind] for f in figures) / 1e6:,.0f}"
                         for kind in ("cpu", "wall")) if len(figures) > 1 else ""
        print(f"{'log':<10} {name:<8} {chosen['iterations']:>10,} "
              f"{total / chosen['cpu'] / 1e6:>9,.0f} {total / chosen['wall'] / 1e6:>9,.0f} "
              f"{chosen['peak'] / 1024:>9,.0f}{spread}")
    print(f"{'':<10} {'ratios':<8} dscan/naive {median['naive']['cpu'] / median['dscan']['cpu']:.2f}"
          f" (CPU time); target >= 100 MB/s in bounded memory\n")

if __name__ == "__main__":
    if sys.argv[1:2] == ["naive"]:
        print(json.dumps(naive(sys.argv[2])))
    else:
        measure(sys.argv[1] if len(sys.argv) > 1 else "quick", 1)
