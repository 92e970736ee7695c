"""Scaling with cores: the same store scanned with 1 and 2 workers here, and what N workers
would get, by scheduling the shards of a real plan (their sizes and measured seconds) onto N
workers as the pool hands them out: the next shard to the first worker that is free."""
from __future__ import annotations

import heapq

WORKERS = (1, 2, 4, 16, 64)
SHARDS = 256  # the plan the simulation schedules: enough shards for 64 workers


def makespan(seconds: list[float], workers: int) -> float:
    """Wall time of shards taken in plan order by `workers` workers (first free goes next)."""
    free_at = [0.0] * workers
    for duration in seconds:
        heapq.heapreplace(free_at, free_at[0] + duration)
    return max(free_at)


def report(name: str, run) -> None:
    """`run(jobs, extra_args)` scans the workload and returns its figures (with `shards`)."""
    measured = {jobs: run(jobs, ()) for jobs in (1, 2)}
    plan = run(1, ("--shards", str(SHARDS)))
    seconds = [shard["seconds"] for shard in plan["shards"]]
    # planning, start-up, merge, dataset checks, and each shard's hand-over to the parent
    fixed = max(0.0, plan["seconds"] - sum(seconds))
    records = plan["records"]
    one, two = (measured[j]["records"] / measured[j]["seconds"] for j in (1, 2))
    print(f"{name:<10} measured: 1 worker {one:,.0f} rec/s, 2 workers {two:,.0f} rec/s "
          f"(speed-up x{two / one:.2f})")
    print(f"{'':<10} simulated from {len(seconds)} shards of a real plan "
          f"(shard time {sum(seconds):.2f} s, fixed {fixed:.2f} s):")
    for workers in WORKERS:
        wall = fixed + makespan(seconds, workers)
        print(f"{'':<10}   {workers:>3} workers: {records / wall:>12,.0f} rec/s, "
              f"x{(fixed + sum(seconds)) / wall:.1f} of one worker")
    print(f"{'':<10} (the simulation assumes each worker keeps its one-worker rate: memory "
          f"bandwidth and the page cache are shared in practice)\n")
