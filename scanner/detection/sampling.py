"""Tell an AnnotatedDatum store from a plain Datum one by reading a few records, and learn
what SSD's data layer learns from the first record it reads (whether it has a type)."""
from __future__ import annotations

import dataclasses

from ..datum import DatumDecodeError, decode_datum
from ..errors import DscanError
from ..settings import ScanSettings
from ..types import Shard
from .record import AnnotatedDecodeError, decode_annotated

ANNOTATED, DATUM = "annotated", "datum"
SHARDS_SAMPLED = 8
PER_SHARD = 8
# ... but no more than these bytes of one shard's records once one is read: 64 records of
# 3x224x224 float_data (600 KB each) took 18-30 ms, a tenth of the scan of a 1.5 GB store
PER_SHARD_BYTES = 1 << 20
# Record checks about a record's single label: an AnnotatedDatum's classes are its boxes.
# DS205 (sizes in one batch) is left out when no net says whether the layer resizes.
LABEL_CODES = frozenset({"DS301", "DS303", "DS304", "DS305", "DS306"})


def record_kind(value) -> str | None:
    """ANNOTATED, DATUM, or None when the bytes are neither with an image or values in it."""
    try:
        record = decode_annotated(value)
    except AnnotatedDecodeError:
        record = None
    if record is not None and record.datum is not None:
        try:
            inner = decode_datum(record.datum)
            if inner.data_len or inner.float_count:
                return ANNOTATED
        except DatumDecodeError:
            pass
    try:
        plain = decode_datum(value)
    except DatumDecodeError:
        return None
    return DATUM if plain.data_len or plain.float_count else None


def sample(backend_class, shards: list[Shard]) -> tuple[list[str | None], bool | None]:
    """The kinds of the first records (PER_SHARD, or fewer large ones) of the first
    shards, and whether the store's first record (in read order) parses as an
    AnnotatedDatum with a type."""
    kinds: list[str | None] = []
    first_has_type = None
    for shard in shards[:SHARDS_SAMPLED]:
        try:
            with backend_class.read(shard) as records:
                read = 0
                for position, (_, value) in enumerate(records):
                    kinds.append(record_kind(value))
                    if shard is shards[0] and position == 0:
                        first_has_type = _has_type(value)
                    read += len(value)
                    if position + 1 >= PER_SHARD or read >= PER_SHARD_BYTES:
                        break
        except DscanError:
            continue  # the scan itself reports what cannot be read
    return kinds, first_has_type


def _has_type(value) -> bool:
    try:
        return decode_annotated(value).type is not None
    except AnnotatedDecodeError:
        return False


def resolve(backend_class, shards: list[Shard], settings: ScanSettings) -> ScanSettings:
    """The settings with the record type decided: as forced by `--record`, else by sampling
    (annotated when most sampled records are AnnotatedDatums)."""
    if getattr(backend_class, "record_format", None) != "datum" or settings.record == DATUM \
            or not shards:
        return settings
    kinds, first_has_type = sample(backend_class, shards)
    if settings.record is None:
        annotated = kinds.count(ANNOTATED)
        if not annotated or annotated < kinds.count(DATUM):
            return dataclasses.replace(settings, record=DATUM)
    ignored = LABEL_CODES | ({"DS205"} if settings.resizes is None else set())
    return dataclasses.replace(settings, record=ANNOTATED,
                               first_has_type=first_has_type is not False or
                               settings.layer_anno_type,
                               enabled=settings.enabled - ignored)
