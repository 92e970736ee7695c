"""The learning rate Caffe's SGDSolver::GetLearningRate yields at every iteration, computed
in float32 as Caffe does, and the parameters each policy needs."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..arrays import distinct
from .net import NetState
from .prototxt import Message

POLICIES = ("fixed", "step", "exp", "inv", "multistep", "poly", "sigmoid")
CHUNK_ITERATIONS = 1 << 20  # iterations evaluated at once (bounded memory for long runs)
SAMPLES = 200  # learning rates kept for the report, evenly spread over the horizon


@dataclass
class SolverParams:
    """The fields GetLearningRate reads, with proto2 defaults (0) where they are unset."""

    policy: str
    base_lr: float
    gamma: float
    power: float
    stepsize: int
    stepvalues: list[int]
    max_iter: int
    unset: set[str] = field(default_factory=set)

    @classmethod
    def from_message(cls, solver: Message) -> SolverParams:
        names = ("lr_policy", "base_lr", "gamma", "power", "stepsize", "stepvalue", "max_iter")
        return cls(policy=solver.text("lr_policy", ""),
                   base_lr=solver.number("base_lr", 0.0), gamma=solver.number("gamma", 0.0),
                   power=solver.number("power", 0.0), stepsize=solver.integer("stepsize", 0),
                   stepvalues=solver.integers("stepvalue"),
                   max_iter=solver.integer("max_iter", 0),
                   unset={name for name in names if not solver.has(name)})


def solver_states(solver: Message) -> tuple:
    """The NetStates Caffe's Solver gives its nets: the train net in TRAIN with
    `train_state`, and one test net in TEST per `test_state` (one plain TEST net without)."""
    def state(message: Message | None, phase: str) -> NetState:
        if message is None:
            return NetState(phase)
        return NetState(phase, message.integer("level", 0), tuple(message.texts("stage")))
    train = solver.messages("train_state")
    tests = solver.messages("test_state") or [None]
    return (state(train[-1] if train else None, "TRAIN"),
            *(state(test, "TEST") for test in tests))


@dataclass
class Schedule:
    """Learning-rate facts over iterations [0, horizon)."""

    horizon: int
    first: dict = field(default_factory=dict)  # "nan"/"inf"/"negative"/"zero" -> iteration
    counts: dict = field(default_factory=dict)  # same keys -> iterations
    minimum: float | None = None
    maximum: float | None = None
    initial: float | None = None  # the rate at iteration 0
    peak_at: int | None = None  # the first iteration with the maximum rate
    samples: list[tuple[int, float | None]] = field(default_factory=list)


def schedule(params: SolverParams, horizon: int) -> Schedule:
    """Evaluate the policy at every iteration of the horizon, a chunk at a time."""
    result = Schedule(horizon)
    sample_at = distinct(np.linspace(0, max(horizon - 1, 0), min(SAMPLES, horizon))
                         .astype(np.int64))
    for start in range(0, horizon, CHUNK_ITERATIONS):
        iterations = np.arange(start, min(start + CHUNK_ITERATIONS, horizon), dtype=np.int64)
        rates = learning_rates(params, iterations)
        _account(result, iterations, rates)
        here = sample_at[(sample_at >= start) & (sample_at < start + len(iterations))]
        for i, value in zip(here.tolist(), rates[here - start].tolist()):
            result.samples.append((i, value if np.isfinite(value) else None))
    return result


def learning_rates(params: SolverParams, iterations: np.ndarray) -> np.ndarray:
    """float32 learning rates at these iterations (a known policy with valid parameters)."""
    f32 = np.float32
    base, gamma, power = f32(params.base_lr), f32(params.gamma), f32(params.power)
    with np.errstate(all="ignore"):
        if params.policy == "fixed":
            return np.full(len(iterations), base, f32)
        if params.policy == "step":
            return (base * np.power(np.float64(gamma), iterations // params.stepsize)).astype(f32)
        if params.policy == "exp":
            return (base * np.power(np.float64(gamma), iterations)).astype(f32)
        if params.policy == "inv":
            return base * np.power(f32(1) + gamma * iterations.astype(f32), -power)
        if params.policy == "multistep":
            steps = _multistep_steps(params.stepvalues, iterations)
            return (base * np.power(np.float64(gamma), steps)).astype(f32)
        if params.policy == "poly":
            fraction = iterations.astype(f32) / f32(params.max_iter)
            return base * np.power(f32(1) - fraction, power)
        if params.policy == "sigmoid":
            exponent = -gamma * (iterations.astype(f32) - f32(params.stepsize))
            return base * (f32(1) / (f32(1) + np.exp(exponent)))
    raise ValueError(f"unknown learning rate policy {params.policy!r}")


def _multistep_steps(stepvalues: list[int], iterations: np.ndarray) -> np.ndarray:
    """Caffe advances at most one step per iteration, when iter >= stepvalue[current]."""
    steps = np.zeros(len(iterations), np.int64)
    reached = -1  # the iteration at which the previous step was taken
    for value in stepvalues:
        reached = max(value, reached + 1)
        steps += iterations >= reached
    return steps


def _account(result: Schedule, iterations: np.ndarray, rates: np.ndarray) -> None:
    if iterations[0] == 0:
        result.initial = float(rates[0])
    masks = {"nan": np.isnan(rates), "inf": np.isinf(rates), "negative": rates < 0,
             "zero": rates == 0}
    if result.initial is not None and np.isfinite(result.initial):
        masks["rise"] = rates > result.initial  # a schedule that grows (see DS706)
    for name, mask in masks.items():
        hits = int(mask.sum())
        if hits:
            result.counts[name] = result.counts.get(name, 0) + hits
            result.first.setdefault(name, int(iterations[int(mask.argmax())]))
    finite = rates[np.isfinite(rates)]
    if len(finite):
        low, high = float(finite.min()), float(finite.max())
        result.minimum = low if result.minimum is None else min(result.minimum, low)
        if result.maximum is None or high > result.maximum:
            result.maximum = high
            result.peak_at = int(iterations[np.isfinite(rates)][int(finite.argmax())])
