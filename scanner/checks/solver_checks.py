"""Checks on a solver's learning-rate schedule (`dscan solver`)."""
from __future__ import annotations

from ..config.solver import POLICIES, Schedule, SolverParams
from ..types import CRASH, ERROR, GARBAGE, WARNING
from .registry import Problem, register


@register("DS701", ERROR, "learning rate is NaN or infinite", "solver", GARBAGE)
def lr_not_finite(schedule: Schedule) -> Problem | None:
    """What it finds: iterations at which the solver's learning-rate policy yields NaN or
    ±Inf, computed as Caffe's SGDSolver does (float32, iterations from 0).

    Why it matters: the first update with such a rate turns every weight into NaN; the log
    shows `lr = -nan` and then `loss = nan` for the rest of the run.

    Example: `lr_policy: "poly"` with `power: 0.9` and no `max_iter`: the rate is
    base_lr * (1 - 0/0)^0.9 = NaN at iteration 0 and infinite after it.
    """
    kinds = [kind for kind in ("nan", "inf") if kind in schedule.first]
    if not kinds:
        return None
    first = min(schedule.first[kind] for kind in kinds)
    count = sum(schedule.counts[kind] for kind in kinds)
    return Problem("DS701", f"lr = {'nan' if 'nan' in kinds else 'inf'} from iteration "
                   f"{first} ({count} of {schedule.horizon} iterations not finite)",
                   {"first_iteration": first, "iterations": count})


@register("DS702", ERROR, "learning rate is negative", "solver", GARBAGE)
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


@register("DS703", WARNING, "learning rate is zero", "solver")
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
          "solver")
def policy_parameters(params: SolverParams) -> list[Problem]:
    """What it finds: a parameter the `lr_policy` needs that is missing (Caffe then uses 0)
    or invalid: step/sigmoid without `stepsize`, a negative `gamma`, poly without
    `max_iter`, multistep without `stepvalue`, inv or poly without `power`, no `base_lr`,
    no `max_iter` at all. Severity follows the consequence: a failed Caffe CHECK or a NaN
    rate is an error, a rate that silently never decays is a warning.

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
        yield ("max_iter", "max_iter is not set: `caffe train` stops before the first "
               "iteration" + (", and poly's rate is 0/0 = nan" if policy == "poly" else ""),
               ERROR, GARBAGE if policy == "poly" else None)
    if "base_lr" in unset:
        yield "base_lr", "base_lr is not set: Caffe uses 0 and learns nothing", ERROR, None
    if policy in ("step", "sigmoid") and p.stepsize <= 0:
        yield ("stepsize", f"'{policy}' needs stepsize > 0 (Caffe: Check failed: "
               "stepsize() > 0)", ERROR, CRASH)
    if policy in ("step", "exp", "inv", "multistep", "sigmoid"):
        if p.gamma < 0:
            yield "gamma", f"gamma = {p.gamma:g} < 0 (Caffe: Check failed: gamma() >= 0)", \
                ERROR, CRASH
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


@register("DS705", ERROR, "unknown learning-rate policy", "solver", CRASH)
def unknown_policy(params: SolverParams) -> Problem | None:
    """What it finds: an `lr_policy` that is none of fixed, step, exp, inv, multistep, poly,
    sigmoid, or no `lr_policy` at all (Caffe has no default).

    Why it matters: Caffe aborts at the first iteration with `Unknown learning rate policy`.

    Example: `lr_policy: "cosine"`, copied from another framework's config.
    """
    if params.policy in POLICIES:
        return None
    shown = f"'{params.policy}'" if params.policy else "not set"
    return Problem("DS705", f"lr_policy {shown}: Caffe knows {', '.join(POLICIES)}")
