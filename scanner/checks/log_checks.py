"""Checks on a Caffe training log (`dscan log`): each takes what the log said (a
`scanner.logs.run.TrainingRun`) and the evidence the diagnosis worked out, and returns a
Problem or None. The diagnosis decides which of the cause checks apply."""
from __future__ import annotations

from ..types import CRASH, ERROR, GARBAGE, INFO, WARNING
from .registry import Problem, register

CLAMP = 87.3365  # SoftmaxWithLoss: -log(FLT_MIN), the most one sample can add to the loss


def spell(value) -> str:
    if value is None:
        return "?"
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


@register("DS901", ERROR, "training loss became NaN or infinite", "log", GARBAGE,
          fix="see the cause in the first line; every update from this iteration on is "
          "garbage")
def nonfinite_loss(run, evidence: dict) -> Problem | None:
    """What it finds: the first `Iteration N ..., loss = nan` (or inf) of the training net,
    and which `Train net output` was non-finite there.

    Why it matters: one NaN update turns every weight into NaN; the run goes on printing
    `loss = -nan` and its snapshots are worthless from that iteration on.

    Example: `Iteration 15 (34.5 iter/s, 0.029s/1 iters), loss = -nan`.
    """
    first = run.first_nonfinite
    if first is None:
        return None
    names = ", ".join(o["name"] for o in run.outputs_at_nonfinite)
    outputs = f"output {names}" if names else "the total loss"
    return Problem("DS901", f"iteration {first.iteration}: loss = "
                   f"{spell(first.detail['loss'])} ({outputs})",
                   {"iteration": first.iteration,
                    "outputs": [o["name"] for o in run.outputs_at_nonfinite]})


@register("DS902", ERROR, "learning rate in the log is NaN, infinite or negative", "log",
          GARBAGE, fix="fix the lr_policy parameters; 'dscan solver' shows the whole schedule")
def bad_learning_rate(run, evidence: dict) -> Problem | None:
    """What it finds: an `Iteration N, lr = X` line whose X is NaN, infinite or negative.

    Why it matters: the update is lr times the gradient: a NaN rate makes every weight NaN at
    once, a negative one climbs the loss instead of descending it.

    Example: `lr_policy: "poly"` trained past `max_iter` by a resumed run prints `lr = -nan`.
    """
    bad = run.lr_bad
    if bad is None:
        return None
    return Problem("DS902", f"iteration {bad.iteration}: lr = {spell(bad.detail['lr'])}",
                   {"iteration": bad.iteration})


@register("DS903", WARNING, "learning rate grew far above base_lr", "log", GARBAGE,
          fix="check the policy's gamma and power: a rate should not grow past base_lr")
def growing_learning_rate(run, evidence: dict) -> Problem | None:
    """What it finds: a logged learning rate more than 10 times `base_lr` (read from the
    solver parameters Caffe prints at the start, or from --solver).

    Why it matters: the step size then grows with the iterations until the loss blows up.

    Example: `lr_policy: "exp"` with `gamma: 1.01`: after 500 iterations the rate is 145 times
    base_lr.
    """
    base, peak = evidence.get("base_lr"), run.lr_max
    if not base or base <= 0 or peak is None or peak[1] <= 10 * base:
        return None
    return Problem("DS903", f"lr reached {spell(peak[1])} at iteration {peak[0]}, "
                   f"{peak[1] / base:.0f}x base_lr {spell(base)}",
                   {"iteration": peak[0], "lr": peak[1], "base_lr": base})


@register("DS904", ERROR, "loss blew up before it went NaN (gradient explosion)", "log",
          GARBAGE, fix="lower base_lr (or the loss_weight of the layer that blows up), or "
          "clip gradients (clip_gradients)")
def blow_up(run, evidence: dict) -> Problem | None:
    """What it finds: a training loss that grew several fold over the iterations before the
    first NaN: the classic gradient blow-up.

    Why it matters: the weights diverge until an activation overflows to inf, and inf - inf
    gives NaN. SoftmaxWithLoss clamps each sample at 87.3365 (-log FLT_MIN), so a blow-up
    often plateaus near 77-87 for a few iterations before the NaN.

    Example: base_lr 0.05 on LeNet: 0.86 at iteration 21, 2.68, 5.11, 12.1, 23.0, 71.8, 73.7,
    77.784, 77.784, then `loss = -nan` at 32.
    """
    growth = evidence.get("growth")
    if not growth or not growth["blow_up"]:
        return None
    text = (f"the loss grew {growth['ratio']:.0f}x in {growth['iterations']} iterations, "
            f"from {spell(growth['from'])} (iteration {growth['from_iteration']}) to "
            f"{spell(growth['peak'])} (iteration {growth['peak_iteration']}) before the NaN")
    if growth["plateau"]:
        text += f"; it plateaued near the SoftmaxWithLoss clamp ({CLAMP} per sample)"
    return Problem("DS904", text, growth)


@register("DS905", WARNING, "loss spike that recovered", "log",
          fix="a warning sign of a rate near the edge: consider a lower base_lr")
def recovered_spike(run, evidence: dict) -> Problem | None:
    """What it finds: a training loss that jumped to 3 times its running mean (and by at
    least 1) and came back down, with no NaN.

    Why it matters: the run survived, but it was close to diverging; a spike to about 80 is
    the SoftmaxWithLoss clamp and the next one may not recover.

    Example: loss 0.9, 0.8, 79.2, 4.1, 1.2, 0.9.
    """
    if not run.spikes:
        return None
    spike = max(run.spikes, key=lambda s: s["peak"] / max(s["baseline"], 1e-12))
    return Problem("DS905", f"{len(run.spikes)} spike(s); the largest reached "
                   f"{spell(spike['peak'])} at iteration {spike['peak_iteration']} (running "
                   f"mean {spell(spike['baseline'])}) and recovered at iteration "
                   f"{spike['recovered_at']}", {"spikes": run.spikes[:10]})


@register("DS906", ERROR, "loss went NaN suddenly, without growing: faulty input or loss",
          "log", GARBAGE, fix="scan the records of that batch (dscan log --solver ... --scan)")
def sudden_nan(run, evidence: dict) -> Problem | None:
    """What it finds: a first NaN loss after losses that did not grow: the batch of that
    iteration, or the loss computation, brought the NaN in.

    Why it matters: lowering the learning rate will not help; the record (a NaN or inf value,
    a label the loss cannot take) must be found and fixed.

    Example: an HDF5 row with one NaN pixel: losses 2.1-2.4, then `loss = -nan` exactly at the
    iteration whose batch holds the row.
    """
    if evidence.get("cause") != "input_or_loss":
        return None
    first = run.first_nonfinite
    return Problem("DS906", f"iteration {first.iteration}: NaN after losses that did not "
                   f"grow (at most {evidence['growth']['ratio']:.2f}x their low point)",
                   {"iteration": first.iteration})


@register("DS907", ERROR, "NaN from the first pass: the net itself", "log", GARBAGE,
          fix="look at the net: a pooling window wholly outside its input (dscan net), a "
          "division by zero in a custom layer")
def nan_from_start(run, evidence: dict) -> Problem | None:
    """What it finds: a loss (or test output) that is NaN from the very first forward pass,
    before any update.

    Why it matters: no learning rate is involved; the net computes NaN from finite data.

    Example: AVE pooling with kernel 2, stride 3 and no pad on a 24x24 map: the ceil-rounded
    9th window lies wholly outside, its 0/0 is NaN, and the first test pass prints
    `accuracy = 1`, `loss = -nan`.
    """
    if evidence.get("cause") != "net":
        return None
    first = run.first_nonfinite
    return Problem("DS907", f"NaN at iteration {first.iteration}, the first of the run"
                   + (" (and in the test pass before it)" if first.detail.get("test_before")
                      else ""), {"iteration": first.iteration})


@register("DS908", ERROR, "debug_info: first layer whose mean |x| is NaN, inf or huge", "log",
          GARBAGE, fix="look at that layer's inputs, weights and settings first")
def first_bad_layer(run, evidence: dict) -> Problem | None:
    """What it finds: with `debug_info: true`, the first `[Forward]` or `[Backward]` line of
    the training net whose mean magnitude is non-finite or above the threshold
    (--debug-threshold, default 1e3).

    Why it matters: the layer where values first explode or turn NaN is the one to look at;
    the loss only shows the damage later.

    Example: `[Forward] Layer ip2, top blob ip2 data: 11920.3` at iteration 29, three
    iterations before the loss turns NaN.
    """
    hit = run.debug_first
    if hit is None:
        return None
    first_nan = run.debug_first_nonfinite
    text = (f"iteration {hit.iteration}: [{hit.direction}] layer {hit.layer}, {hit.kind} blob "
            f"{hit.blob}: {spell(hit.value)}")
    if first_nan is not None and first_nan is not hit:
        text += (f"; first non-finite at iteration {first_nan.iteration}: layer "
                 f"{first_nan.layer}, {first_nan.kind} blob {first_nan.blob}")
    return Problem("DS908", text, {"iteration": hit.iteration, "layer": hit.layer,
                                   "line": hit.line})


@register("DS909", WARNING, "test outputs that are artefacts of NaN", "log",
          fix="do not trust these test results: the net outputs NaN")
def nan_artefacts(run, evidence: dict) -> Problem | None:
    """What it finds: test passes that print `accuracy = 1` together with a NaN loss.

    Why it matters: AccuracyLayer counts a sample as right when no score beats the true
    class's, and every comparison with NaN is false: a dead net scores 100%.

    Example: `Test net output #0: accuracy = 1`, `Test net output #1: loss = -nan`.
    """
    test = run.first_artefact
    if test is None:
        return None
    return Problem("DS909", f"{run.artefact_tests} test pass(es) report accuracy 1 with a "
                   f"NaN loss, the first at iteration {test.iteration}",
                   {"iteration": test.iteration, "passes": run.artefact_tests})


@register("DS910", ERROR, "the training run crashed", "log", CRASH,
          fix="read the fatal line; for a data-layer crash scan the records the prefetch "
          "could have reached (--solver ... --scan)")
def crashed(run, evidence: dict) -> Problem | None:
    """What it finds: a glog fatal line (`F... Check failed: ...`) or a fatal signal
    (`*** SIGSEGV ...`), with the last iteration logged before it.

    Why it matters: the run stopped. A crash in the prefetch thread (DataLayer::load_batch,
    `Could not decode datum`) names no record, and it comes about `prefetch` (default 4)
    iterations before the batch that holds the bad record.

    Example: `F... data_transformer.cpp:239] Check failed: channels == img_channels (3 vs. 1)`
    after `Iteration 10`.
    """
    event = run.fatal_event
    if event is None:
        return None
    last = "no iteration" if event.iteration is None else f"iteration {event.iteration}"
    return Problem("DS910", f"after {last}: {event.line}",
                   {"last_iteration": event.iteration, "line": event.line,
                    "errors": event.detail.get("errors", [])})


@register("DS911", WARNING, "no training iteration ran", "log",
          fix="set max_iter (poly and every policy need it), or check why the solver stopped")
def no_training(run, evidence: dict) -> Problem | None:
    """What it finds: a log with no `Iteration N (... iter/s ...), loss` line, only perhaps
    the forward-only pass Caffe runs at the end.

    Why it matters: the run did nothing, and its snapshot `_iter_0` is the initial weights.

    Example: `lr_policy: "poly"` without `max_iter`: max_iter defaults to 0, so Solve() runs
    no step, prints `Iteration 0, loss = 2.3712` and `Optimization Done.`.
    """
    if run.iterations or run.fatal_event is not None:
        return None
    if run.final_pass is None and not run.finished:
        return None
    return Problem("DS911", "the log holds no training iteration"
                   + (" (max_iter is 0?)" if run.final_pass is not None else ""))


@register("DS912", INFO, "resumed run: the data restarts at record 0", "log",
          fix="expect the first batches after a resume to repeat those of the first run")
def resumed(run, evidence: dict) -> Problem | None:
    """What it finds: `Resuming from ...solverstate` in the log.

    Why it matters: the solverstate does not hold the data reader's position, so the resumed
    run reads from record 0 again; dscan maps iterations to records from the resume point.

    Example: `caffe train --snapshot=snap/lenet_iter_50.solverstate`: iteration 50 reads
    records 0..63.
    """
    if not run.resumes:
        return None
    first = run.resumes[0]
    return Problem("DS912", f"resumed from {first.line}"
                   + (f" at iteration {first.iteration}" if first.iteration is not None
                      else ""), {"iteration": first.iteration})


@register("DS913", WARNING, "the log ends in the middle of the run", "log",
          fix="was the run killed (out of memory, time limit)? check the job's own log")
def ends_mid_run(run, evidence: dict) -> Problem | None:
    """What it finds: a log that has training iterations but neither `Optimization Done.`
    nor a fatal line.

    Why it matters: the process was killed from outside (OOM killer, scheduler time limit,
    Ctrl-C), or the log is still being written; the last iteration is where it stopped.

    Example: a job killed at iteration 1840 by a 4-hour limit.
    """
    if not run.iterations or run.finished or run.fatal_event is not None:
        return None
    return Problem("DS913", f"the last iteration logged is {run.last_iteration}",
                   {"last_iteration": run.last_iteration})


@register("DS914", ERROR, "a record of the guilty batch is faulty", "log", GARBAGE,
          fix="fix or drop the record, then retrain from a snapshot before the NaN")
def culprit(run, evidence: dict) -> Problem | None:
    """What it finds: with --scan, a record among those the guilty iteration read (or the
    prefetch could have reached before a crash) on which the normal checks fire.

    Why it matters: that record is the cause: Caffe read it in exactly that batch.

    Example: `iteration 15 read rows 960..1023 of hdf5_train.h5; row 1000 holds a NaN
    (DS101)`.
    """
    found = evidence.get("culprits") or []
    if not found:
        return None
    first = found[0]
    return Problem("DS914", f"{first['source']} record {first['index']}"
                   + (f" ({first['key']})" if first.get("key") else "")
                   + f": {first['code']} {first['message']}"
                   + (f"; and {len(found) - 1} more" if len(found) > 1 else ""),
                   {"culprits": found[:20]})
