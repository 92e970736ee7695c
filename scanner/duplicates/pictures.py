"""Thumbnails of the members of the duplicate groups an HTML report shows: the records are
read again from their stores (opened anew), only for the members shown."""
from __future__ import annotations

import numpy as np
from PIL import Image

import backends

from ..datum import decode_datum
from ..errors import DscanError
from ..report.pictures import THUMBNAIL_SIDE, data_uri, thumbnail
from .keys import sniff_kind

CODES = ("DS801", "DS802", "DS803", "DS804")
GROUPS_SHOWN = 12  # groups per code with pictures
MEMBERS_SHOWN = 6  # pictures per side of a group


def group_pictures(findings: list[dict], backend_name: str, path: str, settings) -> dict:
    """finding position in `findings` -> {"members": [...], "train_members": [...]}, each
    member {"key", "label", "distance", "picture"} (picture None when it cannot be shown)."""
    shown = _shown(findings)
    wanted: dict[tuple[str, str], set[int]] = {}
    for position in shown:
        group = findings[position]["detail"]["group"]
        wanted.setdefault((backend_name, path), set()).update(
            m["index"] for m in group["members"][:MEMBERS_SHOWN])
        if group.get("train_members"):
            store = group["train_store"]
            wanted.setdefault((sniff_kind(store), store), set()).update(
                m["index"] for m in group["train_members"][:MEMBERS_SHOWN])
    pictures = {side: _read(side[0], side[1], settings, indices)
                for side, indices in wanted.items()}
    out = {}
    for position in shown:
        group = findings[position]["detail"]["group"]
        own = pictures.get((backend_name, path), {})
        entry = {"members": _with(group["members"], own), "train_members": []}
        if group.get("train_members"):
            store = group["train_store"]
            entry["train_members"] = _with(group["train_members"],
                                           pictures.get((sniff_kind(store), store), {}))
        out[position] = entry
    return out


def _shown(findings: list[dict]) -> list[int]:
    per_code: dict[str, int] = {}
    shown = []
    for position, finding in enumerate(findings):
        code = finding["code"]
        if code in CODES and finding["detail"].get("group", {}).get("members") and \
                per_code.get(code, 0) < GROUPS_SHOWN:
            per_code[code] = per_code.get(code, 0) + 1
            shown.append(position)
    return shown


def _with(members: list[dict], pictures: dict[int, str | None]) -> list[dict]:
    return [{**m, "picture": pictures.get(m["index"])} for m in members[:MEMBERS_SHOWN]]


def _read(kind: str, path: str, settings, indices: set[int]) -> dict[int, str | None]:
    """Thumbnails of the records at these read-order indices of one store."""
    backend_class = backends.get(kind)
    found: dict[int, str | None] = {}
    try:
        store = backend_class(path, settings)
    except (DscanError, OSError):
        return found
    try:
        shards = store.shards(1, settings.limit)
        store.close()
        offset = 0
        for shard in shards:
            size = shard.stop - shard.start if isinstance(shard.start, int) and \
                isinstance(shard.stop, int) else None
            local = {i - offset for i in indices if i >= offset and
                     (size is None or i < offset + size)}
            if local and backend_class.record_format != "rows":  # HDF5 rows: no pictures
                for position, payload in _payloads(backend_class, shard, local):
                    found[position + offset] = _picture(payload, backend_class.record_format)
            if size is None:
                break
            offset += size
    except (DscanError, OSError):
        pass  # a store that fails now only costs the pictures
    finally:
        store.cleanup()
    return found


def _payloads(backend_class, shard, positions: set[int]):
    last = max(positions)
    with backend_class.read(shard) as records:
        for position, (_, value) in enumerate(records):
            if position in positions:
                yield position, value[2] if backend_class.record_format == "image" \
                    else bytes(value)
            if position >= last:
                return


def _picture(payload, record_format: str) -> str | None:
    if payload is None:
        return None
    if record_format == "image":  # an image file's bytes
        return thumbnail(payload)
    try:
        datum = decode_datum(payload)
    except DscanError:
        return None
    if datum.encoded and datum.data is not None:
        return thumbnail(bytes(datum.data))
    shape = (datum.channels, datum.height, datum.width)
    if datum.data is not None and min(shape) > 0 and len(datum.data) == np.prod(shape):
        planes = np.frombuffer(bytes(datum.data), np.uint8).reshape(shape)
        picture = Image.fromarray(planes[0] if shape[0] != 3 else
                                  planes[::-1].transpose(1, 2, 0))  # Caffe stores BGR
        scale = max(1, THUMBNAIL_SIDE // max(shape[1:]))
        return data_uri(picture.resize((shape[2] * scale, shape[1] * scale), Image.NEAREST))
    return None
