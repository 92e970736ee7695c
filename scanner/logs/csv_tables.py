"""--csv DIR: the train and test tables Caffe's tools/extra/parse_log.py writes
(`<log>.train` and `<log>.test`, columns NumIters, Seconds, LearningRate, then one per
net output), so plots made for those files keep working. Rows are written as the log is
read. Differences: a train row carries the learning rate of its own iteration, and a NaN is
written as `nan` (parse_log.py stops at it)."""
from __future__ import annotations

import csv
import math
import os

from ..errors import DscanError


class Tables:
    def __init__(self, folder: str, log_path: str):
        name = "stdin" if log_path == "-" else os.path.basename(log_path)
        for suffix in (".gz",):
            name = name[:-len(suffix)] if name.endswith(suffix) else name
        try:
            os.makedirs(folder, exist_ok=True)
            self._files = {phase: open(os.path.join(folder, f"{name}.{phase}"), "w",
                                       newline="", encoding="utf-8")
                           for phase in ("train", "test")}
        except OSError as exc:
            raise DscanError(f"{folder}: cannot write the CSV tables: {exc.strerror}") from None
        self.paths = {phase: handle.name for phase, handle in self._files.items()}
        self._writers: dict[str, csv.writer] = {}
        self._columns: dict[str, list[str]] = {}
        self._start: float | None = None
        self._pending: list | None = None  # a train row waiting for its iteration's lr
        self._lr: float | None = None
        self._held: list | None = None

    def begin(self, seconds: float | None) -> None:
        """A run starts (`Solving ...`): Seconds count from here, as in parse_log.py."""
        if seconds is not None:
            self._start = seconds

    def train(self, iteration: int, seconds: float | None, outputs: list) -> None:
        self._flush()
        self._pending = [iteration, self._seconds(seconds), None,
                         {name: value for _, name, value, _ in outputs}]

    def learning_rate(self, iteration: int, value: float) -> None:
        self._lr = value
        if self._held is not None:  # parse_log.py gives the first rows the first known rate
            held, self._held = self._held, None
            held[2] = value
            self._write("test", held)
        if self._pending is not None and self._pending[0] == iteration:
            self._pending[2] = value
            self._flush()

    def test(self, iteration: int, seconds: float | None, outputs: dict) -> None:
        self._flush()
        row = [iteration, self._seconds(seconds), self._lr, outputs]
        if self._lr is None and self._held is None:
            self._held = row  # the test pass before training: no rate logged yet
            return
        self._write("test", row)

    def close(self) -> None:
        self._flush()
        if self._held is not None:
            self._write("test", self._held)
        for handle in self._files.values():
            handle.close()

    def _flush(self) -> None:
        if self._pending is not None:
            row, self._pending = self._pending, None
            if row[2] is None:
                row[2] = self._lr
            self._write("train", row)

    def _seconds(self, seconds: float | None) -> float:
        if seconds is None:
            return 0.0
        if self._start is None:
            self._start = seconds
        elapsed = seconds - self._start
        return round(elapsed + 86400 if elapsed < -43200 else elapsed, 6)  # past midnight

    def _write(self, phase: str, row: list) -> None:
        iteration, seconds, lr, outputs = row
        if phase not in self._writers:
            self._writers[phase] = csv.writer(self._files[phase])
            self._columns[phase] = list(outputs)
            self._writers[phase].writerow(["NumIters", "Seconds", "LearningRate",
                                           *self._columns[phase]])
        values = [outputs.get(name) for name in self._columns[phase]]
        self._writers[phase].writerow([float(iteration), seconds, _cell(lr),
                                       *(_cell(v) for v in values)])


def _cell(value) -> str:
    if value is None:
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value)) if not math.isnan(value) else "nan"
