"""From what the log said to why the run went wrong: the growth before the first NaN, the
cause (one of CAUSES), and the findings of the log checks."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..checks import log_checks as checks
from ..checks.registry import Problem
from .run import TrainingRun

CAUSES = ("none", "blow_up", "learning_rate", "input_or_loss", "net", "crash", "no_training")
BLOW_UP_RATIO = 3.0  # the loss before the NaN at least this many times its low point
BLOW_UP_MARGIN = 1.0  # ... and at least this much above it
PEAK_SPAN = 10  # the peak is looked for among the last finite losses before the NaN
DATA_TYPES = ("Data", "HDF5Data", "ImageData", "Input", "MemoryData", "DummyData",
              "WindowData")


@dataclass
class Diagnosis:
    cause: str
    summary: str
    problems: list[Problem] = field(default_factory=list)
    evidence: dict = field(default_factory=dict)


def growth(window: list[tuple[int, float]]) -> dict | None:
    """How the finite losses before the first NaN grew: the peak among the last few, and
    the lowest point before that peak."""
    if not window:
        return None
    tail = window[-PEAK_SPAN:]
    peak_at = max(range(len(tail)), key=lambda i: tail[i][1]) + len(window) - len(tail)
    peak_iteration, peak = window[peak_at]
    before = window[:peak_at + 1]
    low_at = min(range(len(before)), key=lambda i: before[i][1])
    low_iteration, low = before[low_at]
    ratio = peak / low if low > 0 else float("inf") if peak > low else 1.0
    blew = ratio >= BLOW_UP_RATIO and peak - low >= BLOW_UP_MARGIN
    return {"blow_up": blew, "ratio": ratio if ratio != float("inf") else 1e308,
            "from": low, "from_iteration": low_iteration, "peak": peak,
            "peak_iteration": peak_iteration, "iterations": peak_iteration - low_iteration,
            "last": window[-1][1], "plateau": blew and 60.0 <= peak <= checks.CLAMP * 1.001}


def diagnose(run: TrainingRun, base_lr: float | None = None, data_layers=(),
             culprits: list | None = None, batch_text: str | None = None) -> Diagnosis:
    """`data_layers`: names of the net's input layers (a first NaN there is the data's);
    `culprits`: what --scan found in the guilty batch, described by `batch_text`."""
    evidence = {"base_lr": base_lr, "growth": growth(list(run.window)),
                "culprits": culprits or [], "batch_text": batch_text}
    cause = _cause(run, evidence, set(data_layers))
    evidence["cause"] = cause
    order = (checks.nonfinite_loss, checks.bad_learning_rate, checks.growing_learning_rate,
             checks.blow_up, checks.sudden_nan, checks.nan_from_start, checks.first_bad_layer,
             checks.crashed, checks.culprit, checks.no_training, checks.recovered_spike,
             checks.nan_artefacts, checks.resumed, checks.ends_mid_run)
    problems = [p for p in (check(run, evidence) for check in order) if p is not None]
    if cause != "blow_up":
        problems = [p for p in problems if p.code != "DS904"]
    return Diagnosis(cause, _summary(run, cause, evidence), problems, evidence)


def _cause(run: TrainingRun, evidence: dict, data_layers: set[str]) -> str:
    first = run.first_nonfinite
    if first is not None:
        if _rate_to_blame(run, evidence, first.iteration):
            return "learning_rate"
        if evidence["culprits"] or _data_first(run, data_layers):
            return "input_or_loss"
        if not first.detail["finite_before_in_run"]:
            return "net"
        trend = evidence["growth"]
        return "blow_up" if trend and trend["blow_up"] else "input_or_loss"
    if run.fatal_event is not None:
        return "crash"
    if run.iterations == 0 and (run.final_pass is not None or run.finished):
        return "no_training"
    if run.iterations == 0 and run.first_nan_test is not None:
        return "net"
    return "none"


def _rate_to_blame(run: TrainingRun, evidence: dict, iteration: int) -> bool:
    bad = run.lr_bad
    if bad is not None and bad.iteration is not None and bad.iteration <= iteration:
        return True
    base, peak = evidence["base_lr"], run.lr_max_before_nan
    return bool(base and base > 0 and peak is not None and peak > 10 * base)


def _data_first(run: TrainingRun, data_layers: set[str]) -> bool:
    """debug_info shows the first non-finite value at an input layer's top."""
    hit = run.debug_first_nonfinite
    return hit is not None and hit.direction == "Forward" and hit.layer in data_layers \
        and run.first_nonfinite is not None and hit.iteration == run.first_nonfinite.iteration


def _summary(run: TrainingRun, cause: str, evidence: dict) -> str:
    first = run.first_nonfinite
    at = f"at iteration {first.iteration}" if first is not None else ""
    trend = evidence["growth"]
    texts = {
        "none": f"no problem found: the loss stayed finite over {run.iterations} logged "
                "iterations" if run.iterations else "no training iteration logged (yet)",
        "blow_up": f"gradient blow-up: the loss grew {trend and trend['ratio']:.0f}x over "
                   f"{trend and trend['iterations']} iterations, then went NaN {at}"
        if trend else f"gradient blow-up {at}",
        "learning_rate": f"the learning rate: NaN loss {at} after the logged lr went "
                         + ("non-finite or negative" if run.lr_bad else "far above base_lr"),
        "input_or_loss": f"faulty input or loss: the loss went NaN suddenly {at} without "
                         "growing",
        "net": f"the net itself: NaN from the first pass ({at})",
        "crash": f"the run crashed after iteration {run.last_before_fatal}"
        if run.last_before_fatal is not None else "the run crashed before any iteration",
        "no_training": "no training iteration ran",
    }
    found = evidence["culprits"]
    if found and cause in ("input_or_loss", "crash"):
        first = found[0]
        key = f" ({first['key']})" if first.get("key") else ""
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        where = f"; {evidence['batch_text']}" if evidence["batch_text"] else ""
        return (texts[cause] + f"{where}; record {first['index']}{key} holds "
                f"{first['code']}: {first['message']}{more}")
    return texts[cause]
