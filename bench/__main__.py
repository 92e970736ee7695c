"""`python -m bench [--quick] [--only NAME ...] [--repeat N] [--no-dask] [--rows-only]`: for
each workload, measure dscan (default settings, every check on), the naive script and the
ceiling probe (and for the large-record workloads `cat` of the file) in this one run, in turn
for N rounds (median of the N runs each), and print records/s, MB/s, peak private memory
(workers included), CPU time and the ratios; then `dscan log` on a 1 GB training log against a naive
line-by-line parser (bench/log_parse.py); then (full size) the 1M-record raw and 200k-record
JPEG LMDBs against the small ones, 1 and 2 workers with N workers simulated from a real shard
plan, and the Dask executor against the local pool on the same machine (with the dask extra
installed)."""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from bench import cores
from bench.memory import PeakAnon

# Memory: peak anonymous (private) memory of the process and its workers, summed; RSS would
# also count the read-only mapped pages of the data files.
BACKEND = {"jpeg": "lmdb", "float": "lmdb", "raw": "lmdb", "hdf5": "hdf5", "hdf5_gzip": "hdf5",
           "raw_1m": "lmdb", "jpeg_200k": "lmdb", "annotated": "lmdb",
           "raw_256": "lmdb", "float_224": "lmdb", "jpeg_full": "lmdb"}
DETECTION = {"annotated": "jpeg"}  # detection workload -> the plain workload of its images
SCALING = {"raw": "raw_1m", "jpeg": "jpeg_200k"}  # small workload -> its large version
TARGETS = {"jpeg": "dscan >= 0.9x ceiling", "float": ">= 150k rec/s",
           "raw": ">= 0.7x ceiling", "hdf5": ">= 8 GB/s", "hdf5_gzip": ">= 1.0 GB/s",
           "raw_256": "dscan >= 0.5x cat", "float_224": "dscan >= 0.5x cat",
           "jpeg_full": "dscan >= 0.9x ceiling"}
# workloads whose file is also read with `cat` in the same run: the rate of the page cache
WITH_CAT = ("raw_256", "float_224", "jpeg_full")


def _timed(command: list[str]) -> tuple[str, float, int, float]:
    """Run a command; return its stdout, wall seconds, its peak anonymous memory (KiB) and
    its CPU seconds (user + system), workers included. Python writes its bytecode cache, as
    an installed dscan has it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    cpu_before = _children_cpu()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env)
        memory = PeakAnon(process.pid)
        process.wait()
        peak = memory.stop()
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if process.returncode not in (0, 1):
            raise SystemExit(f"{command[:4]} failed: {err.read()[-500:]}")
        return out.read(), seconds, peak, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _dscan(name: str, path: str, jobs: int, extra: tuple = ()) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        report_path = os.path.join(scratch, "r.json")
        _, wall, peak, cpu = _timed([sys.executable, "-m", "scanner", BACKEND[name], path,
                                     "-j", str(jobs), "--no-progress", "-q", "--json",
                                     report_path, *extra])
        with open(report_path) as handle:
            report = json.load(handle)
    return {"records": report["summary"]["records"], "seconds": report["duration_s"],
            "wall": wall, "peak_kib": peak, "cpu": cpu,
            "shards": report["executor"].get("shards", [])}


def _cat(path: str, records: int) -> dict:
    """`cat FILE > /dev/null`: what reading the store's bytes costs, nothing else."""
    with open(os.devnull, "w") as sink:
        started, cpu_before = time.perf_counter(), _children_cpu()
        subprocess.run(["cat", path], stdout=sink, check=True)
        return {"records": records, "seconds": time.perf_counter() - started, "peak_kib": 0,
                "cpu": _children_cpu() - cpu_before}


def _probe(mode: str, name: str, path: str, jobs: int) -> dict:
    out, wall, peak, cpu = _timed([sys.executable, "-m", "bench.probes", mode, name, path,
                                   str(jobs)])
    return {**json.loads(out), "wall": wall, "peak_kib": peak, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="small datasets (under a minute)")
    parser.add_argument("--only", nargs="+", choices=[n for n in BACKEND if n not in
                                                      SCALING.values()] + ["log"],
                        default=[n for n in BACKEND if n not in SCALING.values()] + ["log"])
    parser.add_argument("-j", "--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each measurement; the median is shown (default 3)")
    parser.add_argument("--no-dask", action="store_true",
                        help="skip the Dask executor's overhead against the local pool")
    parser.add_argument("--rows-only", action="store_true",
                        help="only the workload rows: no scaling, cores, duplicate step or Dask")
    parser.add_argument("--duplicates-only", action="store_true",
                        help="only the duplicate step's overhead (with and without it)")
    args = parser.parse_args()
    if args.duplicates_only:
        _duplicates_overhead(args)
        return
    print(f"{'workload':<10} {'run':<8} {'records':>8} {'rec/s':>10} {'MB/s':>9} "
          f"{'anon MiB':>9} {'CPU s':>7}   ratios; target")
    for name in [n for n in args.only if n not in DETECTION and n != "log"]:
        _workload_row(name, args)
    if args.rows_only:
        return
    if "annotated" in args.only:
        _detection(args)
    if "log" in args.only:  # dscan log: a 1 GB training log (100 MB with --quick)
        from bench.log_parse import measure
        measure("quick" if args.quick else "full", args.repeat)
    if not args.quick and any(name in args.only for name in SCALING):
        _scaling(args)
    if "raw" in args.only:
        _cores(args)
    _duplicates_overhead(args)
    if not args.no_dask:
        _dask_overhead(args)


def _workload_row(name: str, args) -> None:
    """dscan, the naive script, the ceiling probe (and `cat` of the file) in turn, `repeat`
    rounds: a shared machine's load drifts, and each round's runs see about the same load.
    Each run's figures are the median of its rounds; the ratios are per round (median, and
    their range)."""
    path = _workload(name, args.quick)
    size = _data_bytes(path)
    records = _dscan(name, path, args.jobs)["records"]  # also warms the page cache
    measures = {"dscan": lambda: _dscan(name, path, args.jobs),
                "naive": lambda: _probe("naive", name, path, 1),
                "ceiling": lambda: _probe("ceiling", name, path, args.jobs)}
    if name in WITH_CAT:
        measures["cat"] = lambda: _cat(_data_file(path), records)
    rounds = [{run: measure() for run, measure in measures.items()}
              for _ in range(max(1, args.repeat))]
    for run in measures:
        figures = _median_of([one[run] for one in rounds])
        rate = figures["records"] / figures["seconds"]
        print(f"{name:<10} {run:<8} {figures['records']:>8} {rate:>10,.0f} "
              f"{size / figures['seconds'] / 1e6:>9,.0f} {figures['peak_kib'] / 1024:>9,.0f} "
              f"{figures['cpu']:>7.2f}")
    ratios = [f"dscan/{run} {_ratio(rounds, run)}" for run in ("cat", "ceiling", "naive")
              if run in measures]
    cpu = [one["ceiling"]["cpu"] / one["dscan"]["cpu"] for one in rounds]
    print(f"{'':<10} {'ratios':<8} {', '.join(ratios)}; target {TARGETS[name]}\n"
          f"{'':<10} {'':<8} CPU time ceiling/dscan {_spread(cpu)}; {_machine_state(size)}\n")


def _machine_state(store_bytes: int) -> str:
    """The load; on Linux also the share of the last 60 s some task stalled on I/O, and the
    page cache beside the store's size: where the cache holds less than the store, runs
    read it from disk in part, and their times swing with that."""
    parts = [f"load {os.getloadavg()[0]:.2f}"]
    try:
        with open("/proc/pressure/io") as pressure:  # kernels with PSI only
            parts.append(f"stalled on I/O {pressure.readline().split()[2][6:]}% of 60 s")
    except (OSError, IndexError):
        pass
    try:
        with open("/proc/meminfo") as meminfo:
            cached = next(int(line.split()[1]) << 10 for line in meminfo
                          if line.startswith("Cached:"))
        parts.append(f"page cache {cached / 1e9:.1f} GB for a {store_bytes / 1e9:.1f} GB store")
    except (OSError, StopIteration, IndexError, ValueError):
        pass
    return ", ".join(parts)


def _ratio(rounds: list[dict], run: str) -> str:
    """dscan's rate over the run's, per round: 'median (lowest-highest)'."""
    return _spread([one[run]["seconds"] / one["dscan"]["seconds"] for one in rounds])


def _spread(values: list[float]) -> str:
    values = sorted(values)
    middle = f"{values[len(values) // 2]:.2f}"
    return middle if len(values) < 2 else f"{middle} ({values[0]:.2f}-{values[-1]:.2f})"


def _median_of(runs: list[dict]) -> dict:
    runs = sorted(runs, key=lambda figures: figures["records"] / figures["seconds"])
    return runs[len(runs) // 2]


def _scaling(args) -> None:
    """The large versions of raw and jpeg: same per-record rate, flat private memory?"""
    print(f"{'workload':<10} {'records':>9} {'rec/s':>10} {'anon MiB':>9}   large / small")
    for small in [name for name in SCALING if name in args.only]:
        runs = {}
        for name in (small, SCALING[small]):
            path = _workload(name, args.quick)
            runs[name] = _median(args.repeat, lambda: _dscan(name, path, args.jobs))
            figures = runs[name]
            print(f"{name:<10} {figures['records']:>9} "
                  f"{figures['records'] / figures['seconds']:>10,.0f} "
                  f"{figures['peak_kib'] / 1024:>9,.0f}")
        rate = {n: f["records"] / f["seconds"] for n, f in runs.items()}
        print(f"{'':<10} rate x{rate[SCALING[small]] / rate[small]:.2f}, memory "
              f"x{runs[SCALING[small]]['peak_kib'] / runs[small]['peak_kib']:.2f}\n")


def _detection(args) -> None:
    """SSD's AnnotatedDatum records against plain Datums of the same JPEGs, in this run."""
    print(f"{'workload':<10} {'records':>9} {'rec/s':>10} {'MB/s':>9} {'anon MiB':>9}   "
          "annotated / jpeg; target >= 0.90")
    for name, plain in DETECTION.items():
        paths = {workload: _workload(workload, args.quick) for workload in (plain, name)}
        runs: dict[str, list] = {plain: [], name: []}
        for _ in range(max(1, args.repeat)):  # interleaved: both see the same machine load
            for workload, path in paths.items():
                runs[workload].append(_dscan(workload, path, args.jobs))
        rates = {}
        for workload, measured in runs.items():
            figures = sorted(measured, key=lambda f: f["records"] / f["seconds"])[
                len(measured) // 2]
            rates[workload] = figures["records"] / figures["seconds"]
            print(f"{workload:<10} {figures['records']:>9} {rates[workload]:>10,.0f} "
                  f"{_data_bytes(paths[workload]) / figures['seconds'] / 1e6:>9,.0f} "
                  f"{figures['peak_kib'] / 1024:>9,.0f}")
        print(f"{'':<10} ratio {rates[name] / rates[plain]:.2f}\n")


def _duplicates_overhead(args) -> None:
    """The duplicate step (fingerprints in the workers, the join in the parent): the same
    scan with and without it, in this run, in pairs (each pair's two runs one after the
    other, the order turned every pair: no order is favoured), medians; 1M raw records at
    full size. Beside the ratio of the medians, the ratios of the pairs: their median and
    middle half say how far a machine whose speed drifts lets the figure be trusted. The
    CPU seconds (workers and parent) say what the step costs on a machine shared with
    other jobs, where the scan time swings with their load. The store is read back before
    each run: a host that drops the page cache between runs would otherwise time its disk,
    not the step. raw_256 (10k raw 3x256x256 records, 2 GB) and hdf5 (3815 float32 rows of
    3x128x256, 1.5 GB) where they are asked for by name."""
    print(f"{'workload':<10} {'records':>9} {'with s':>9} {'without s':>10} {'cpu with':>9} "
          f"{'cpu w/o':>8}   duplicate step (scan time; cpu; pairs: median, middle half; "
          f"each pair)")
    names = [n for n in ("raw_1m", "jpeg", "float") if n.split("_")[0] in args.only]
    for name in names + [n for n in ("raw_256", "hdf5") if n in args.only]:  # large records
        path = _workload(name, args.quick)
        _dscan(name, path, args.jobs)  # the store into the page cache: not a measured run
        runs = {"with": [], "without": []}
        order = [("with", ()), ("without", ("--no-duplicates",))]
        for _ in range(max(1, args.repeat)):  # in pairs: a shared machine's load drifts
            for run, extra in order:
                _cat(_data_file(path), 0)  # a page cache the host dropped: read back first
                runs[run].append(_dscan(name, path, args.jobs, extra))
            order.reverse()
        pairs = [w["seconds"] / o["seconds"] - 1 for w, o in zip(runs["with"], runs["without"])]
        cpu = {run: statistics.median(f["cpu"] for f in figures)
               for run, figures in runs.items()}
        seconds = {run: statistics.median(f["seconds"] for f in figures)
                   for run, figures in runs.items()}
        quarter = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else pairs * 3
        print(f"{name:<10} {runs['with'][0]['records']:>9} {seconds['with']:>9.2f} "
              f"{seconds['without']:>10.2f} {cpu['with']:>9.2f} {cpu['without']:>8.2f}   "
              f"{(seconds['with'] / seconds['without'] - 1) * 100:+.0f}% of the scan time "
              f"(target <= 10%); cpu {(cpu['with'] / cpu['without'] - 1) * 100:+.0f}%; pairs "
              f"{statistics.median(pairs):+.0%}, {quarter[0]:+.0%} to {quarter[2]:+.0%}; "
              + " ".join(f"{pair:+.0%}" for pair in pairs))
    print()


def _cores(args) -> None:
    """1 and 2 workers measured on the large raw store, N workers simulated from its plan."""
    name = "raw_1m"  # 60k records with --quick
    path = _workload(name, args.quick)
    print("scaling with cores")
    cores.report(name, lambda jobs, extra: _median(args.repeat,
                                                   lambda: _dscan(name, path, jobs, extra)))


def _median(repeat: int, measure) -> dict:
    """The run with the median rate among `repeat` runs (the first warms the page cache)."""
    runs = sorted((measure() for _ in range(max(1, repeat))),
                  key=lambda figures: figures["records"] / figures["seconds"])
    return runs[len(runs) // 2]


def _workload(name: str, quick: bool) -> str:
    """Built in a child process: this process stays small."""
    return subprocess.run([sys.executable, "-m", "bench.workloads", name,
                           "quick" if quick else "full"], check=True, capture_output=True,
                          text=True).stdout.strip()


def _dask_overhead(args) -> None:
    """The same scan through a Dask cluster of `jobs` single-thread workers on this machine."""
    try:
        from bench.dask_overhead import LocalDaskCluster
        import distributed  # noqa: F401
    except ImportError:
        print("dask executor: skipped (pip install '.[dask]')")
        return
    print(f"{'workload':<10} {'executor':<8} {'records':>8} {'rec/s':>10} {'scan s':>9} "
          f"{'wall s':>9}   dask / local")
    cluster = LocalDaskCluster(args.jobs)
    try:
        for name in [n for n in ("raw", "jpeg", "hdf5") if n in args.only]:
            path = _workload(name, args.quick)
            runs = {"local": _median(args.repeat, lambda: _dscan(name, path, args.jobs)),
                    "dask": _median(args.repeat, lambda: _dscan(
                        name, path, args.jobs,
                        ("--executor", "dask", "--scheduler", cluster.address)))}
            for run, figures in runs.items():
                print(f"{name:<10} {run:<8} {figures['records']:>8} "
                      f"{figures['records'] / figures['seconds']:>10,.0f} "
                      f"{figures['seconds']:>9.2f} {figures['wall']:>9.2f}")
            local, dask = runs["local"], runs["dask"]
            print(f"{'':<10} {'overhead':<8} scan time x{dask['seconds'] / local['seconds']:.2f}"
                  f", wall x{dask['wall'] / local['wall']:.2f}\n")
    finally:
        cluster.close()


def _data_file(path: str) -> str:
    return path if path.endswith(".h5") else os.path.join(path, "data.mdb")


def _data_bytes(path: str) -> int:
    return os.path.getsize(_data_file(path))


if __name__ == "__main__":
    main()
