"""What a scan read and what it did not: the shards finished, the key or row ranges left
out, and the read-order results that need every record (verdict, batches)."""
from __future__ import annotations

from .aggregate import ScanTotals
from .report.keys import key_text
from .verdict import verdict


def coverage(shards: list | None, results: list) -> dict:
    """The report's `coverage` section. `exact_records`: records 0..n-1 in read order
    were all read, so their indices are exact; records of finished shards after a range
    not read keep their keys but have no index."""
    done = {result.number: result.records for result in results}
    if shards is None:  # planning did not finish: nothing is known, nothing was read
        return {"complete": False, "shards": None, "shards_finished": 0,
                "exact_records": 0, "not_covered": [_range(None)]}
    exact = 0
    for shard in sorted(shards, key=lambda s: s.number):
        if shard.number not in done:
            break
        exact += done[shard.number]
    missing = [_range(shard) for shard in shards if shard.number not in done]
    return {"complete": not missing, "shards": len(shards), "shards_finished": len(done),
            "exact_records": exact, "not_covered": missing}


def _range(shard) -> dict:
    """A shard's bounds: keys as text (start inclusive, stop exclusive), rows as numbers;
    null means the start or the end of the store."""
    if shard is None:
        return {"shard": None, "name": None, "start": None, "stop": None}
    return {"shard": shard.number, "name": shard.name, "start": _bound(shard.start),
            "stop": _bound(shard.stop)}


def _bound(value):
    return key_text(value) if isinstance(value, (bytes, bytearray)) else value


def partial_verdict(totals: ScanTotals, covered: dict) -> dict:
    """The verdict of a scan that did not read everything: a crash found at an exact index
    is where the run dies (nothing before it was left out); one found only past a range not
    read proves a crash but not the first; nothing found proves nothing ("unknown")."""
    found = verdict(totals, complete=False)
    crash = found.get("first_crash")
    if crash is not None and crash["index"] >= covered["exact_records"]:
        found["first_crash"] = None
    for example in found["garbage_examples"]:  # past a range not read, the index is unknown
        if example["index"] >= covered["exact_records"]:
            example["index"] = None
    found["complete"] = False
    return found
