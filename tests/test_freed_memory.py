"""malloc told to keep freed memory: blocks of a few MB allocated and freed again and again
come back without new pages; the environment's own malloc settings are left alone. Each
case runs in a fresh interpreter: the setting is for the whole process."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from scanner.freed_memory import _numpy_setting

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc")

_ROUNDS = """
import resource, sys
from scanner.freed_memory import keep_freed_memory
set_here = keep_freed_memory() if sys.argv[1] == "keep" else None
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):  # the heap as large as the rounds need
    blocks = [bytearray(3 << 20) for _ in range(3)]
    del blocks
before = faults()
for _ in range(20):  # as a shard's batches: a few blocks of MBs, then all freed
    blocks = [bytearray(3 << 20) for _ in range(3)]
    del blocks
print(set_here, faults() - before)
"""


def _rounds(mode: str, **environment) -> tuple[str, int]:
    """The rounds in a fresh interpreter whose environment says nothing of malloc but
    `environment` (a Dask cluster's nanny, started by an earlier test, sets
    MALLOC_TRIM_THRESHOLD_ in the environment of the process that starts it)."""
    inherited = {name: value for name, value in os.environ.items()
                 if not name.startswith("MALLOC_") and name != "GLIBC_TUNABLES"}
    done = subprocess.run([sys.executable, "-c", _ROUNDS, mode], capture_output=True,
                          text=True, check=True, cwd=os.path.dirname(os.path.dirname(__file__)),
                          env={**inherited, **environment})
    set_here, faults = done.stdout.split()
    return set_here, int(faults)


def test_blocks_freed_and_allocated_again_need_no_new_pages():
    set_here, kept = _rounds("keep")
    _, plain = _rounds("plain")
    pages = 20 * 3 * (3 << 20) // 4096  # what the rounds touch: 46k pages
    assert set_here == "True"
    assert kept < pages // 20  # the blocks used again
    assert plain > pages // 2  # glibc's own thresholds give most of them back each round


@pytest.mark.parametrize("environment", [{"MALLOC_TRIM_THRESHOLD_": "131072"},
                                         {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"}])
def test_the_environments_malloc_settings_are_left_as_they_are(environment):
    set_here, faults = _rounds("keep", **environment)
    assert set_here == "False"
    assert faults > 20 * 3 * (3 << 20) // 4096 // 2


_HUGE_PAGES = """
import multiprocessing, sys
from concurrent.futures import ProcessPoolExecutor
from scanner.freed_memory import _numpy_setting, huge_pages_as_numpy_chose, no_huge_pages
def now():  # numpy's switch returns the setting it had: set it back at once
    setting = _numpy_setting()
    value = setting(True)
    setting(value)
    return value
numpys = now()
told = no_huge_pages()
with ProcessPoolExecutor(1, multiprocessing.get_context("fork"),
                         initializer=huge_pages_as_numpy_chose) as pool:
    worker = pool.submit(now).result()
print(numpys, told, now(), worker)
"""


def _huge_pages(**environment) -> list[str]:
    """numpy's huge-page setting at first, whether no_huge_pages told it, its setting then,
    and a forked worker's, in a fresh interpreter."""
    inherited = {name: value for name, value in os.environ.items()
                 if name != "NUMPY_MADVISE_HUGEPAGE"}
    done = subprocess.run([sys.executable, "-c", _HUGE_PAGES], capture_output=True,
                          text=True, check=True, cwd=os.path.dirname(os.path.dirname(__file__)),
                          env={**inherited, **environment})
    return done.stdout.split()


_no_switch = pytest.mark.skipif(_numpy_setting() is None, reason="numpy without the switch")


@_no_switch
def test_the_command_asks_for_no_huge_pages_and_its_workers_get_numpys_choice_back():
    numpys, told, here, worker = _huge_pages()
    assert told == "True" and here == "False"
    assert worker == numpys


@_no_switch
@pytest.mark.parametrize("value", ["0", "1"])
def test_numpys_setting_from_the_environment_is_left_as_it_is(value):
    numpys, told, here, worker = _huge_pages(NUMPY_MADVISE_HUGEPAGE=value)
    assert told == "False"
    assert here == worker == numpys == str(value == "1")
