"""`dscan solver`: the learning rate over the run, the parameters its policy needs, and,
when asked, `dscan net` on the net the solver trains."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .checks import solver_checks
from .config.findings import ConfigFinding, place
from .config.prototxt import read
from .config.solver import POLICIES, Schedule, SolverParams, schedule, solver_states
from .config.sources import Resolved, locate
from .net_scan import NetOutcome, NetRequest, scan_net

DEFAULT_HORIZON = 10_000  # kept for callers; a solver without max_iter trains 0 iterations


@dataclass
class SolverOutcome:
    path: str
    params: SolverParams
    schedule: Schedule | None
    findings: list[ConfigFinding] = field(default_factory=list)
    net_file: Resolved | None = None
    net: NetOutcome | None = None


def check_solver(path: str, enabled: frozenset[str], horizon: int | None = None,
                 net_request: NetRequest | None = None) -> SolverOutcome:
    """Evaluate the schedule over `horizon` iterations (default: max_iter), reporting the
    `enabled` codes; with a `net_request`, also scan the solver's net (path filled in here)."""
    solver = read(path)
    params = SolverParams.from_message(solver)
    outcome = SolverOutcome(path, params, None)
    where = solver.where("lr_policy")
    unknown = solver_checks.unknown_policy(params)
    problems = [unknown] if unknown else []
    problems += solver_checks.policy_parameters(params)
    crash_first = any(p.effect == "crash" for p in problems)
    # with no max_iter `caffe train` trains 0 iterations and uses no rate: none to check
    # unless a horizon asks what a script stepping the solver itself would see
    span = horizon or (params.max_iter if params.max_iter > 0 else None)
    if params.policy in POLICIES and not crash_first and span:
        outcome.schedule = schedule(params, span)
        rate_checks = (solver_checks.lr_not_finite, solver_checks.lr_negative,
                       solver_checks.lr_zero)
        problems += [p for p in (check(outcome.schedule) for check in rate_checks) if p]
        grows = solver_checks.lr_grows(outcome.schedule, params.policy)
        problems += [grows] if grows else []
    outcome.findings = [place(p, solver.where(p.detail.get("parameter")) if p.detail and
                              "parameter" in p.detail else where) for p in problems]
    net_field = next((name for name in ("net", "train_net") if solver.has(name)), None)
    if net_field:
        outcome.net_file = locate("net", solver.text(net_field), path, solver.where(net_field),
                                  outcome.findings)
    inline = next((name for name in ("net_param", "train_net_param") if solver.has(name)),
                  None)
    if net_request is not None:
        net_request = dataclasses.replace(net_request, states=solver_states(solver))
    if net_request is not None and inline and not net_field:
        outcome.net = scan_net(dataclasses.replace(net_request, path=path,
                                                   inline=solver.message(inline)))
    elif net_request is not None and outcome.net_file and outcome.net_file.path:
        outcome.net = scan_net(dataclasses.replace(net_request, path=outcome.net_file.path))
    outcome.findings = [f for f in outcome.findings if f.code in enabled]
    return outcome
