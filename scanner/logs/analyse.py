"""`dscan log` from request to outcome: read the log, work out the run's set-up, diagnose,
map the guilty iteration to its records and, when asked, scan them."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from ..interrupts import Interrupted
from .batch import Batch, count_records, crash_window, iteration_batch
from .context import RunContext, from_files, from_texts
from .culprits import scan_batch
from .diagnose import Diagnosis, diagnose
from .parser import LogParser
from .reader import read_log
from .run import TrainingRun


@dataclass
class LogRequest:
    path: str  # a file, or '-' for stdin
    name: str | None = None  # how the report names it (default: path)
    solver: str | None = None
    net: str | None = None
    scan: bool = False
    solvers: int | None = None  # GPUs sharing the reader (default: the log's `Using GPUs`)
    debug_threshold: float = 1e3
    jobs: int = 1
    notify: Callable | None = None  # hears of first events while the log is read
    rows: object | None = None  # csv_tables.Tables, when --csv is given


@dataclass
class LogOutcome:
    request: LogRequest
    run: TrainingRun
    context: RunContext
    diagnosis: Diagnosis
    batch: Batch | None
    culprits: list[dict] | None  # None: not scanned
    size: int
    started_at: str
    duration_s: float
    partial: bool = False
    notes: list[str] = field(default_factory=list)
    scans: list = field(default_factory=list)  # the ScanOutcomes of --scan


def analyse(request: LogRequest) -> LogOutcome:
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    clock = time.perf_counter()
    run = TrainingRun(request.debug_threshold, request.notify, request.rows)
    parser = LogParser(run, want_times=request.rows is not None,
                       debug_threshold=request.debug_threshold)
    partial = False
    try:
        size = read_log(request.path, parser,
                        lambda: bool(run.iterations or run.test_count or run.solver_text))
    except (KeyboardInterrupt, Interrupted):  # a stream stopped: report what was read
        size, partial = parser.offset, True
    run.finish()
    return conclude(request, run, size, started_at, clock, partial)


def conclude(request: LogRequest, run: TrainingRun, size: int, started_at: str,
             clock: float, partial: bool = False) -> LogOutcome:
    context = from_files(from_texts(run.solver_text, run.net_texts), request.solver,
                         request.net)
    notes: list[str] = []
    if request.solvers is None:
        request.solvers = run.gpu_count or 1
    batch = _batch(request, run, context, notes)
    culprits, scans = None, []
    if request.scan and batch is not None:
        culprits, scans = scan_batch(context.data, batch, request.jobs)
    elif request.scan:
        notes.append("--scan: no batch to scan (see the notes above)")
    diagnosis = diagnose(run, context.base_lr, context.input_layers, culprits,
                         batch.describe() if batch is not None else None)
    return LogOutcome(request, run, context, diagnosis, batch, culprits, size, started_at,
                      round(time.perf_counter() - clock, 3), partial, notes, scans)


def _batch(request: LogRequest, run: TrainingRun, context: RunContext,
           notes: list[str]) -> Batch | None:
    """The records of the guilty iteration, or of a crash's prefetch window."""
    first, crash = run.first_nonfinite, run.fatal_event
    if first is None and crash is None:
        return None
    data = context.data
    if data is None:
        notes.append("no TRAIN data layer known: pass --solver or --net to map the iteration "
                      "to records")
        return None
    if request.solver is None and request.net is None:
        notes.append(f"the TRAIN layer '{data.layer}' reads {data.source}; pass --solver "
                     "(or --net) to map the iteration to its records")
        return None
    if data.path is None:
        notes.append(f"the TRAIN source {data.source} was not found (run dscan where caffe "
                     "ran, or give --root)")
        return None
    if data.shuffled:
        notes.append(f"the TRAIN layer '{data.layer}' shuffles: which records a batch read "
                     "cannot be known")
        return None
    data.records = count_records(data)
    if not data.records:
        notes.append(f"the TRAIN source {data.source} holds no record")
        return None
    if first is not None and (crash is None or first.iteration is not None):
        return iteration_batch(data, first.iteration, run.origin_at_nonfinite,
                               context.iter_size, request.solvers)
    return crash_window(data, run.last_before_fatal, run.origin, context.iter_size,
                        request.solvers)
