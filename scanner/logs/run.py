"""What a training log says, gathered line by line in bounded memory: the losses and
learning rates (sampled), the first non-finite of each, the test passes, the debug_info
values that crossed the threshold, a crash, resumes, and the parameters Caffe printed."""
from __future__ import annotations

import re
from collections import deque
from typing import Callable

from .events import DebugHit, Event, TestPass, is_accuracy, spell, finite
from .series import Series
from .spikes import SPIKE_RATIO, watch

WINDOW = 200  # finite losses kept before the first non-finite one (the blow-up evidence)
MAX_TESTS = 2000  # test passes kept (the first ones; counts stay exact)


class TrainingRun:
    """The parser's handler; `notify(kind, text)` hears of a first event as it happens."""

    def __init__(self, debug_threshold: float = 1e3, notify: Callable | None = None,
                 rows=None):
        self.debug_threshold = debug_threshold
        self.notify = notify or (lambda kind, text: None)
        self.rows = rows  # the CSV tables (csv_tables.Tables), when asked for
        self.loss = Series()
        self.lr = Series()
        self.iterations = 0
        self.first_iteration: int | None = None
        self.last_iteration: int | None = None
        self.origin = 0  # the iteration at which the data reader started at record 0
        self.first_nonfinite: Event | None = None
        self.origin_at_nonfinite = 0
        self._window: deque = deque(maxlen=WINDOW)  # iterations as int or as bytes
        self.has_rate_lines = False
        self.lr_first: float | None = None
        self._lr_last: float | None = None
        self.lr_max: tuple[int, float] | None = None
        self.lr_bad: Event | None = None  # first NaN, infinite or negative learning rate
        self.lr_max_before_nan: float | None = None
        self.spikes: list[dict] = []
        self._mean: float | None = None
        self._spike: dict | None = None
        self.tests: list[TestPass] = []
        self.test_count = 0
        self._test: TestPass | None = None
        self._test_time: float | None = None
        self._in_test_forward = False
        self.first_nan_test: TestPass | None = None
        self.artefact_tests = 0
        self.first_artefact: TestPass | None = None
        self.debug_info = False
        self.debug_first: DebugHit | None = None  # first non-finite or over the threshold
        self.debug_first_nonfinite: DebugHit | None = None
        self.debug_first_test: DebugHit | None = None
        self._pending: list[DebugHit] = []
        self.fatal_event: Event | None = None
        self.signal_line: str | None = None
        self.last_before_fatal: int | None = None
        self.resumes: list[Event] = []
        self.runs_started = 0
        self.finished = False
        self.final_pass: Event | None = None
        self.solver_text: str | None = None
        self.gpu_count: int | None = None  # `Using GPUs 0, 1`: solvers sharing the reader
        self.net_texts: list[str] = []
        self.time: float | None = None
        self.date: str | None = None
        self.outputs_at_nonfinite: list[dict] = []
        self._iteration_in_run = 0
        self._finite_in_run = 0  # finite losses logged in the current run
        self._resumed_at: int | None = None

    @property
    def window(self) -> list[tuple[int, float]]:
        """The last finite losses before the first non-finite one: (iteration, loss)."""
        return [(int(iteration), loss) for iteration, loss in self._window]

    @property
    def wants_outputs(self) -> bool:
        """Train outputs are looked up only at the first non-finite loss."""
        return self.first_nonfinite is None

    @property
    def wants_parameters(self) -> bool:
        """The solver's and the first nets' parameters are all the diagnosis uses."""
        return self.solver_text is None or len(self.net_texts) < 2

    @property
    def wants_debug(self) -> bool:
        if self.solver_text is not None and not self.debug_info:
            return False  # the solver printed debug_info: false (or nothing): no such lines
        return self.debug_first is None or self.debug_first_nonfinite is None

    # -- parser events -------------------------------------------------------------------
    def iteration(self, iteration: int, loss: float, display: bool,
                  outputs: list | None = None) -> None:
        if not display:  # the forward-only pass after the last iteration
            self.final_pass = Event(iteration, None, {"loss": loss})
            return
        self.iterations += 1
        if not self._iteration_in_run and self.first_iteration is None:
            self.first_iteration = iteration
        self._iteration_in_run += 1
        self.last_iteration = iteration
        self._in_test_forward = False
        if self._test is not None:  # the test pass before this iteration is complete
            self._close_test()
        if self._pending:
            self._place_debug(iteration)
        self.loss.add(iteration, loss)
        if self.rows is not None:
            self.rows.train(iteration, self.time, outputs or [])
        if loss - loss == 0.0:  # finite
            self._finite_in_run += 1
            if self.first_nonfinite is None:
                self._window.append((iteration, loss))
            self._mean, self._spike, _ = watch((iteration,), (loss,), self._mean,
                                               self._spike, self.spikes)
            return
        if self.first_nonfinite is None:
            self._first_nonfinite(iteration, loss, outputs)

    def display_lines(self, iterations: list[bytes], losses: list[float]) -> None:
        """Display lines with a rate, in a row (iteration numbers as the log spells them):
        the same as `iteration` on each. A run of finite losses with no spike in it, by far
        the most common, is taken in bulk; any other run of finite losses follows the spike
        watch loss by loss, and the rest goes through `iteration`."""
        if self.rows is not None:
            for iteration, loss in zip(iterations, losses):
                self.iteration(int(iteration), loss, True)
            return
        total = sum(losses)
        if total - total != 0.0 and self.first_nonfinite is None:
            for iteration, loss in zip(iterations, losses):  # the first non-finite loss
                self.iteration(int(iteration), loss, True)
            return
        if self._test is not None:  # the test pass before these iterations is complete
            self._close_test()
        if self._pending:
            self._place_debug(int(iterations[0]))
        mean = self._mean
        if self._spike is None and mean is not None and total - total == 0.0 and \
                max(losses) <= SPIKE_RATIO * min(mean, min(losses)):
            # the running mean as if updated one by one, close enough for a spike baseline
            decay = 0.9 ** len(losses)
            recent = losses[-10:]
            self._mean = decay * mean + (1 - decay) * (sum(recent) / len(recent))
            finite = len(losses)
        else:
            self._mean, self._spike, finite = watch(iterations, losses, mean, self._spike,
                                                    self.spikes)
        self._count(iterations, losses, finite)

    def _count(self, iterations: list[bytes], losses: list[float], finite: int) -> None:
        """What `iteration` records of each display line but the spike watch."""
        count = len(losses)
        if not self._iteration_in_run and self.first_iteration is None:
            self.first_iteration = int(iterations[0])
        self.iterations += count
        self._iteration_in_run += count
        self._finite_in_run += finite
        self.last_iteration = int(iterations[-1])
        self._in_test_forward = False
        self.loss.extend_lazily(iterations, losses)
        if self.first_nonfinite is None:  # then every loss is finite
            tail = max(0, count - WINDOW)
            self._window.extend(zip(iterations[tail:], losses[tail:]))

    def _first_nonfinite(self, iteration: int, loss: float, outputs: list | None) -> None:
        self.outputs_at_nonfinite = [
            {"iteration": iteration, "index": i, "name": name, "value": value}
            for i, name, value, _ in outputs or [] if not finite(value)]
        self.first_nonfinite = Event(iteration, None, {
            "loss": loss, "finite_before_in_run": self._finite_in_run,
            "test_before": self._test_before_training()})
        self.origin_at_nonfinite = self.origin
        self.lr_max_before_nan = self.lr_max[1] if self.lr_max else None
        self._spike = None
        self.notify("nonfinite", f"iteration {iteration}: the training loss is "
                    f"{spell(loss)}")

    def _test_before_training(self) -> TestPass | None:
        """The test pass of this run before its first iteration, if it was non-finite."""
        test = self.first_nan_test
        return test if test is not None and test.before_training else None

    def learning_rate(self, iteration: int, value: float) -> None:
        """Kept when it changes: a schedule is a step function, and a fixed rate one point."""
        if self.rows is not None:
            self.rows.learning_rate(iteration, value)
        if value == self._lr_last:
            return
        self._lr_last = value
        self.lr.add(iteration, value)
        if self.lr_first is None:
            self.lr_first = value
        if value - value == 0.0 and value >= 0:
            if self.lr_max is None or value > self.lr_max[1]:
                self.lr_max = (iteration, value)
            return
        if self.lr_bad is None:
            self.lr_bad = Event(iteration, None, {"lr": value})
            self.notify("lr", f"iteration {iteration}: the learning rate is {spell(value)}")

    def test_start(self, iteration: int, net: int) -> None:
        self._close_test()
        self._test = TestPass(iteration, net, before_training=self._iteration_in_run == 0)
        self._test_time = self.time
        self._in_test_forward = True
        if self._pending:
            self._place_debug(None)

    def test_output(self, index: int, name: str, value: float, weight: float | None) -> None:
        self._in_test_forward = False
        if self._test is not None:
            self._test.outputs[name] = value

    def _close_test(self) -> None:
        test, self._test = self._test, None
        if test is None or not test.outputs:
            return
        self.test_count += 1
        if len(self.tests) < MAX_TESTS:
            self.tests.append(test)
        if self.rows is not None:
            self.rows.test(test.iteration, self._test_time, test.outputs)
        bad = [name for name, value in test.outputs.items() if not finite(value)]
        if bad and self.first_nan_test is None:
            self.first_nan_test = test
        if bad and any(is_accuracy(name) and value == 1.0
                       for name, value in test.outputs.items()):
            self.artefact_tests += 1
            self.first_artefact = self.first_artefact or test

    def debug(self, direction: str, layer: str, kind: str, blob: str, value: float,
              line: str) -> None:
        self.debug_info = True
        if finite(value) and abs(value) <= self.debug_threshold:
            return
        phase = "TEST" if self._in_test_forward else "TRAIN"
        hit = DebugHit(None, direction, layer, kind, blob, value, line.strip(), phase)
        if phase == "TEST":
            self.debug_first_test = self.debug_first_test or hit
            return
        if self.debug_first_nonfinite is None or self.debug_first is None:
            self._pending.append(hit)

    def _place_debug(self, iteration: int | None) -> None:
        """debug_info lines come before the loss line of their iteration."""
        for hit in self._pending:
            hit.iteration = iteration
            if self.debug_first is None:
                self.debug_first = hit
                self.notify("debug", f"iteration {iteration}: {hit.direction} {hit.layer} "
                            f"{hit.kind} blob {hit.blob}: mean |x| = {spell(hit.value)}")
            if hit.non_finite and self.debug_first_nonfinite is None:
                self.debug_first_nonfinite = hit
        self._pending = []

    def fatal(self, line: str, errors: list[str]) -> None:
        if self.fatal_event is None:
            self.fatal_event = Event(self.last_iteration, line, {"errors": errors})
            self.last_before_fatal = self.last_iteration
            self.notify("crash", f"after iteration {self.last_iteration}: {line}")

    def signal(self, line: str) -> None:
        if self.signal_line is None:
            self.signal_line = line
            if self.fatal_event is None:
                self.fatal(line, [])

    def resume(self, text: str) -> None:
        found = re.search(r"_iter_(\d+)", text)
        self.resumes.append(Event(int(found.group(1)) if found else None, text))
        self._resumed_at = int(found.group(1)) if found else None
        if found:
            self.origin = int(found.group(1))

    def gpus(self, count: int) -> None:
        if self.gpu_count is None:
            self.gpu_count = count

    def solving(self, name: str) -> None:
        """A run starts (a log may hold several): its reader starts at record 0."""
        self.runs_started += 1
        if self.rows is not None:
            self.rows.begin(self.time)
        self._iteration_in_run = 0
        self._finite_in_run = 0
        self.origin = self._resumed_at if self._resumed_at is not None else 0
        self._resumed_at = None

    def done(self) -> None:
        self.finished = True
        self._close_test()

    def parameters(self, kind: str, text: str) -> None:
        if kind == "solver" and self.solver_text is None:
            self.solver_text = text
            self.debug_info = self.debug_info or bool(re.search(r"^debug_info: true", text,
                                                                   re.MULTILINE))
        elif kind == "net" and len(self.net_texts) < 4:
            self.net_texts.append(text)

    def line_time(self, seconds: float, date: str) -> None:
        self.time, self.date = seconds, date

    def finish(self) -> None:
        """The log ended: settle what was still open."""
        self._close_test()
        if self._pending:
            self._place_debug(None)
