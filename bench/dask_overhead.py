"""The Dask executor against the local pool on this machine: a scheduler and `jobs` worker
processes (one thread each) are started as separate processes, then the same workload is
scanned both ways in this one run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

WAIT_S = 60


class LocalDaskCluster:
    """`dask scheduler` and `dask worker` on loopback, as a user would start them."""

    def __init__(self, workers: int):
        self.folder = tempfile.mkdtemp(prefix="dscan-bench-dask-")
        self.file = os.path.join(self.folder, "scheduler.json")
        dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
        self.processes = [subprocess.Popen(
            dask + ["--scheduler-file", self.file, "--host", "127.0.0.1", "--port", "0",
                    "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        self._wait(lambda: os.path.exists(self.file))
        self.processes.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", "--scheduler-file", self.file,
             "--nworkers", str(workers), "--nthreads", "1", "--host", "127.0.0.1",
             "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with open(self.file) as handle:
            self.address = json.load(handle)["address"]
        from distributed import Client
        with Client(self.address, timeout=WAIT_S) as client:
            client.wait_for_workers(workers, timeout=WAIT_S)

    @staticmethod
    def _wait(ready) -> None:
        deadline = time.time() + WAIT_S
        while not ready():
            if time.time() > deadline:
                raise SystemExit("the Dask scheduler did not start")
            time.sleep(0.1)

    def close(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
            process.wait(timeout=30)
