"""Checks on a solver's learning-rate schedule (`dscan solver`)."""
from __future__ import annotations

import difflib

from ..config.solver import POLICIES, Schedule, SolverParams
from ..types import CRASH, ERROR, GARBAGE, INFO, WARNING
from .registry import Problem, register


@register("DS701", ERROR, "learning rate is NaN or infinite", "solver", GARBAGE,
          fix=("Fix the learning-rate parameters so the rate stays finite (no power of a "
               "negative base, no gamma that overflows exp)."))
def lr_not_finite(schedule: Schedule) -> Problem | None:
    """What it finds: iterations at which the solver's learning-rate policy yields NaN or
    ±Inf, computed as Caffe's SGDSolver does (float32, iterations from 0).

    Why it matters: the first update with such a rate turns every weight into NaN; the log
    shows `lr = -nan` and then `loss = nan` for the rest of the run.

    Example: `lr_policy: "exp"` with `base_lr: 0.01` and `gamma: 1.5`: float32 overflows
    to inf from iteration 231 (see DS706). Poly with no `max_iter` is not one: `caffe train`
    then trains 0 iterations and uses no rate (DS704).
    """
    kinds = [kind for kind in ("nan", "inf") if kind in schedule.first]
    if not kinds:
        return None
    first = min(schedule.first[kind] for kind in kinds)
    count = sum(schedule.counts[kind] for kind in kinds)
    return Problem("DS701", f"lr = {'nan' if 'nan' in kinds else 'inf'} from iteration "
                   f"{first} ({count} of {schedule.horizon} iterations not finite)",
                   {"first_iteration": first, "iterations": count})


@register("DS702", ERROR, "learning rate is negative", "solver", GARBAGE,
          fix="Fix base_lr, gamma and power so the rate stays positive.")
def lr_negative(schedule: Schedule) -> Problem | None:
    """What it finds: iterations with a negative learning rate.

    Why it matters: Caffe applies it without complaint, and gradient descent becomes gradient
    ascent: the loss grows until it overflows.

    Example: `base_lr: -0.01`, a sign slipped in while editing.
    """
    if "negative" not in schedule.first:
        return None
    return Problem("DS702", f"lr < 0 from iteration {schedule.first['negative']} "
                   f"({schedule.counts['negative']} iterations)",
                   {"first_iteration": schedule.first["negative"],
                    "iterations": schedule.counts["negative"]})


@register("DS703", WARNING, "learning rate is zero", "solver",
          fix=("Raise base_lr, or change gamma/power/stepsize so the rate does not decay to zero "
               "before max_iter."))
def lr_zero(schedule: Schedule) -> Problem | None:
    """What it finds: iterations at which the learning rate is exactly 0, including a rate
    that decays until float32 underflows. An error when it is zero from the first iteration.

    Why it matters: those iterations cost full time and change no weight; a run whose rate
    is zero throughout learns nothing and reports a flat loss.

    Example: no `base_lr` (proto default 0), or `lr_policy: "exp"` with `gamma: 0.5`, which
    reaches 0 in float32 after about 150 iterations.
    """
    if "zero" not in schedule.first:
        return None
    first, count = schedule.first["zero"], schedule.counts["zero"]
    everywhere = count == schedule.horizon
    return Problem("DS703", "lr = 0 at every iteration" if everywhere else
                   f"lr = 0 from iteration {first} ({count} of {schedule.horizon} iterations)",
                   {"first_iteration": first, "iterations": count},
                   severity=ERROR if everywhere else None)


@register("DS704", ERROR, "learning-rate policy lacks a parameter or has an invalid one",
          "solver",
          fix=("Add or correct the parameter the policy needs (step: stepsize; multistep: "
               "stepvalue; poly: max_iter and power)."))
def policy_parameters(params: SolverParams) -> list[Problem]:
    """What it finds: a parameter the `lr_policy` needs that is missing (Caffe then uses 0)
    or invalid: step/sigmoid without `stepsize`, a negative `gamma`, multistep without
    `stepvalue`, inv or poly without `power`, no `base_lr`, no `max_iter` (or 0): then
    `caffe train` trains 0 iterations, which scripts that step the solver themselves do
    not mind (a warning). Severity follows the consequence: a failed Caffe CHECK is an
    error, a rate that silently never decays is a warning.

    Why it matters: Caffe does not validate these up front; it fails a CHECK at the first
    iteration (`Check failed: this->param_.stepsize() > 0`), yields NaN, or trains the
    whole run at a constant rate.

    Example: `lr_policy: "step"` with `gamma: 0.1` and no `stepsize`.
    """
    return [Problem("DS704", message, {"parameter": name}, severity=severity, effect=effect)
            for name, message, severity, effect in _parameter_problems(params)]


def _parameter_problems(p: SolverParams):
    policy, unset = p.policy, p.unset
    if "max_iter" in unset or p.max_iter <= 0:
        said = "max_iter is not set" if "max_iter" in unset else f"max_iter: {p.max_iter}"
        yield ("max_iter", f"`caffe train` trains 0 iterations: {said} (scripts that step "
               "the solver, e.g. py-faster-rcnn's --iters, do not read it)", WARNING, None)
    if "base_lr" in unset:
        yield "base_lr", "base_lr is not set: Caffe uses 0 and learns nothing", ERROR, None
    if policy in ("step", "sigmoid") and p.stepsize <= 0:
        yield ("stepsize", f"'{policy}' needs stepsize > 0: Caffe stops at iteration 0 "
               "(Check failed: stepsize() > 0)", ERROR, CRASH)
    if policy in ("step", "exp", "inv", "multistep", "sigmoid"):
        if p.gamma < 0:
            yield "gamma", f"gamma = {p.gamma:g} < 0: Caffe stops at iteration 0 (Check " \
                "failed: gamma() >= 0)", ERROR, CRASH
        elif "gamma" in unset:
            decays_to_zero = policy in ("step", "exp", "multistep")
            yield ("gamma", f"'{policy}' without gamma: Caffe uses 0, so the rate "
                   + ("drops to 0 at the first step" if decays_to_zero else "never changes"),
                   ERROR if decays_to_zero else WARNING, None)
    if policy in ("inv", "poly") and "power" in unset:
        yield "power", f"'{policy}' without power: Caffe uses 0, so the rate never changes", \
            WARNING, None
    if policy == "multistep":
        if not p.stepvalues:
            yield "stepvalue", "'multistep' without stepvalue: the rate never changes", \
                WARNING, None
        elif any(b <= a for a, b in zip(p.stepvalues, p.stepvalues[1:])):
            yield ("stepvalue", f"stepvalues {p.stepvalues} do not increase: Caffe takes "
                   "one step per iteration, so the later steps come late", WARNING, None)


@register("DS705", ERROR, "unknown learning-rate policy", "solver", CRASH,
          fix="Use one of Caffe's policies: fixed, step, exp, inv, multistep, poly, sigmoid.")
def unknown_policy(params: SolverParams) -> Problem | None:
    """What it finds: an `lr_policy` that is none of fixed, step, exp, inv, multistep, poly,
    sigmoid, or no `lr_policy` at all (Caffe has no default).

    Why it matters: Caffe aborts at the first iteration with `Unknown learning rate policy`.

    Example: `lr_policy: "cosine"`, copied from another framework's config.
    """
    if params.policy in POLICIES:
        return None
    shown = f"'{params.policy}'" if params.policy else "not set"
    close = difflib.get_close_matches(params.policy or "", list(POLICIES), n=1)
    guess = f" (did you mean '{close[0]}'?)" if close else ""
    return Problem("DS705", f"lr_policy {shown}{guess}: Caffe knows {', '.join(POLICIES)}")


@register("DS706", WARNING, "learning rate grows over the run", "solver", GARBAGE,
          fix="check the policy's sign and size: inv needs power > 0, exp/step/multistep "
              "gamma <= 1")
def lr_grows(schedule: Schedule, policy: str) -> Problem | None:
    """What it finds: a schedule whose rate rises above its value at iteration 0, with the
    factor it grows by and the first iteration above the start: `inv` with a negative
    `power`, `exp`, `step` or `multistep` with `gamma` > 1 (Caffe accepts all of them), and
    `sigmoid`, which rises by design (info).

    Why it matters: a rate that keeps growing ends in divergence: in a real run `inv` with
    `power: -1` took the rate from 0.01 to 4.37 over 200 iterations and the loss was NaN
    at iteration 26.

    Example: `lr_policy: "inv"` with `gamma: 0.1` and `power: -0.75`.
    """
    if "rise" not in schedule.first or not schedule.initial or schedule.maximum is None:
        return None
    factor = schedule.maximum / schedule.initial
    return Problem("DS706", f"lr grows from {schedule.initial:.6g} at iteration 0 to "
                   f"{schedule.maximum:.6g} at iteration {schedule.peak_at} (x{factor:.4g}); "
                   f"above the start from iteration {schedule.first['rise']}",
                   {"first_iteration": schedule.first["rise"], "factor": factor,
                    "peak_iteration": schedule.peak_at},
                   severity=INFO if policy == "sigmoid" else None)
