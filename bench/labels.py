"""`python -m bench.labels [--records N]`: the label analyses against label values that used to
make the work grow with the values instead of the records. Each scenario is an HDF5 file of N
rows (one float each, so reading costs nothing) scanned by `dscan hdf5` in a subprocess; the
wall time and the finding counts are printed per scenario."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np


def scenarios(records: int) -> dict[str, tuple[np.ndarray, list[str]]]:
    """name -> (labels, extra dscan arguments)."""
    rng = np.random.default_rng(0)
    shuffled = rng.integers(0, 10, records)
    return {
        "10 classes, shuffled": (shuffled, []),
        "--num-classes 10000000": (shuffled, ["--num-classes", "10000000"]),
        "every record its own class, sorted": (np.arange(records), []),
        "a quarter of the labels 3e9": (np.where(np.arange(records) % 4 == 3, 3e9, shuffled),
                                        []),
        "labels spread over 0..2^31, sorted": (np.sort(rng.integers(0, 2 ** 31 - 1, records)),
                                               []),
    }


def run(path: str, extra: list[str]) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as scratch:
        report_path = os.path.join(scratch, "r.json")
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "scanner", "hdf5", path, "-j", "2",
                               "--no-progress", "-q", "--json", report_path, *extra],
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode not in (0, 1):
            raise SystemExit(f"dscan failed: {done.stderr[-500:]}")
        with open(report_path) as handle:
            return wall, json.load(handle)["summary"]["by_code"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.labels")
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"{'scenario':40} {'wall s':>7}  findings")
    with tempfile.TemporaryDirectory() as scratch:
        for name, (labels, extra) in scenarios(args.records).items():
            path = os.path.join(scratch, "labels.h5")
            with h5py.File(path, "w") as handle:
                handle["data"] = np.linspace(0, 1, args.records, dtype=np.float32)[:, None]
                handle["label"] = labels
            wall, codes = run(path, extra)
            shown = ", ".join(f"{code} {count}" for code, count in codes.items()
                              if code.startswith("DS3"))
            print(f"{name:40} {wall:7.2f}  {shown or '-'}")


if __name__ == "__main__":
    main()
