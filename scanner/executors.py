"""The executor the command line asks for: the local pool, or Dask (imported only then)."""
from __future__ import annotations

from .errors import UsageError
from .executor import Executor, LocalExecutor


def make_executor(kind: str, jobs: int, scheduler: str | None = None) -> Executor:
    """The executor of `--executor KIND`; Dask is imported only when asked for."""
    if kind == "local":
        return LocalExecutor(jobs)
    if not scheduler:
        raise UsageError("--executor dask needs --scheduler ADDRESS (or DSCAN_DASK_SCHEDULER),"
                         " e.g. tcp://127.0.0.1:8786")
    from .dask_executor import DaskExecutor
    return DaskExecutor(scheduler)
