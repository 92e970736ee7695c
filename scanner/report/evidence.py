"""Read back the records an HTML report shows: the bytes of damaged images (DS201/DS202),
the image of a record whose channel count differs (DS207) and the values of samples with
NaN or Inf (DS101). Runs in the parent after the scan, while
the store can still be read, and only for the few examples the report keeps."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..aggregate import ScanTotals
from ..datum import decode_datum
from ..detection.pictures import record_picture
from ..errors import DscanError
from ..types import Shard

IMAGE_CODES = ("DS201", "DS202")
CHANNEL_CODES = ("DS207",)  # the odd record's picture: encoded bytes or raw pixels
BOX_CODES = tuple(f"DS{n}" for n in range(353, 366))  # detection records: image and boxes
VALUE_CODES = ("DS101",)
PER_CODE = 12  # records read back per code


@dataclass
class Evidence:
    code: str
    image: bytes | None = None  # encoded image bytes
    values: np.ndarray | None = None  # one sample's values (C, H, W) or its row's shape
    pixels: np.ndarray | None = None  # a raw sample to show as a picture (C, H, W)
    boxes: list | None = None  # detection records: (label, coords, fate) of every box


def collect(backend_class, shards: dict[int, Shard], totals: ScanTotals) -> dict[int, Evidence]:
    """Evidence for the first examples of each code, by record index."""
    wanted: dict[int, str] = {}
    per_code: dict[str, int] = {}
    for finding in totals.findings():
        code = finding.code
        if (code in IMAGE_CODES + VALUE_CODES + CHANNEL_CODES or code in BOX_CODES) and \
                finding.index is not None and \
                per_code.get(code, 0) < PER_CODE and finding.index not in wanted:
            wanted[finding.index] = code
            per_code[code] = per_code.get(code, 0) + 1
    found: dict[int, Evidence] = {}
    for (number, offset), indices in totals.locate(wanted).items():
        positions = {index - offset: index for index in indices}
        try:
            for position, kind, payload in _records(backend_class, shards[number], positions):
                index = positions[position]
                found[index] = _evidence(wanted[index], kind, payload)
        except (DscanError, OSError):
            continue  # a store that fails now only costs the pictures
    return {index: evidence for index, evidence in found.items() if evidence is not None}


def _records(backend_class, shard: Shard, positions: dict[int, int]):
    """(position, kind, payload) for the wanted positions of one shard, in order; kind is
    "row" (an array), "image" (file bytes) or "datum" (Datum bytes)."""
    kind = {"rows": "row", "image": "image"}.get(backend_class.record_format, "datum")
    if kind == "row":
        yield from _rows(shard, positions)
        return
    last = max(positions)
    with backend_class.read(shard) as records:
        for position, (_, value) in enumerate(records):
            if position in positions:
                yield position, kind, value[2] if kind == "image" else bytes(value)
            if position >= last:
                return


def _rows(shard: Shard, positions: dict[int, int]):
    import h5py
    with h5py.File(shard.path, "r", locking=False) as handle:
        data = handle[shard.datasets[0]]
        for position in sorted(positions):
            yield position, "row", np.asarray(data[shard.start + position])


def _evidence(code: str, kind: str, payload) -> Evidence | None:
    if payload is None:
        return None
    if kind == "row":
        if code in CHANNEL_CODES:
            return Evidence(code, pixels=np.asarray(payload)) if np.ndim(payload) == 3 \
                else None
        return Evidence(code, values=payload)
    if kind == "image":
        return Evidence(code, image=payload)
    pictured = record_picture(payload)  # an AnnotatedDatum: its image and boxes
    if pictured is not None:
        return Evidence(code, image=pictured[0], boxes=pictured[1])
    try:
        datum = decode_datum(payload)
    except DscanError:
        return None
    if code in IMAGE_CODES and datum.data is not None:
        return Evidence(code, image=bytes(datum.data))
    if code in CHANNEL_CODES and datum.data is not None:
        if datum.encoded:
            return Evidence(code, image=bytes(datum.data))
        shape = (datum.channels, datum.height, datum.width)
        if min(shape) > 0 and np.prod(shape) == datum.data_len:
            return Evidence(code, pixels=np.frombuffer(datum.data, np.uint8).reshape(shape))
    if code in VALUE_CODES and datum.float_data is not None:
        values = np.array(datum.float_data, np.float32)
        shape = (datum.channels, datum.height, datum.width)
        if min(shape) > 0 and np.prod(shape) == len(values):
            values = values.reshape(shape)
        return Evidence(code, values=values)
    return None

