"""Parse a batch of deferred raw or float Datums by their layouts (see datum_layout).

Small records go through one (records x bytes) array per record length. Records that fill
the cache on their own (LARGE_RECORD bytes and more) are parsed one by one for their fixed
bytes and label, and their payloads are not copied: LMDB keeps a large value in overflow
pages of its own, and records written in key order lie at equal distances in the memory
map, so a run of them is one strided view of the store's pages, (n, C, H*W) as the checks
want it. Records at irregular places (or LevelDB's, which are copies anyway) are copied
once into one array. Unpacked floats (a tag before each value) are read one record at a
time, their tags checked on the way: where the compiled passes are built they stay in their
records (TaggedRows), their figures and exact hashes taken in the one read; elsewhere they
are copied out.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import kernels
from .datum_layout import LARGE_RECORD, Layout, parse_batch
from .duplicates.hashing import (joined_values, pictured, tagged_phash, values_phash,
                                 values_tag)


class TaggedRows:
    """Unpacked float_data samples (n, C, L) left in their records: the parse took their
    figures and (fingerprints on) exact hashes in one read that copied nothing (float
    3x224x224: 172 us a record against 270 to copy, sum and hash). The few samples a check
    must look at are copied out when it asks: `take`, or indexing, gives an array."""

    dtype = np.dtype(np.float32)

    def __init__(self, records: list, offset: int, channels: int, length: int,
                 exact: np.ndarray | None):
        self.records, self.offset, self.exact = records, offset, exact
        self.shape = (len(records), channels, length)
        self.nbytes = 4 * len(records) * channels * length

    def __len__(self) -> int:
        return self.shape[0]

    def take(self, rows) -> np.ndarray:
        """The values (k, C, L) float32 of the samples at `rows`."""
        chosen = [self.records[int(row)] for row in rows]
        if not chosen:
            return np.empty((0, *self.shape[1:]), np.float32)
        return kernels.gather_tagged(chosen, self.offset, *self.shape[1:])[0]

    def __getitem__(self, item) -> np.ndarray:
        """As an array's first axis: an index gives one sample (C, L), a slice or indices
        several (k, C, L)."""
        chosen = np.arange(len(self))[item]
        return self.take(chosen.reshape(-1))[0] if chosen.ndim == 0 else self.take(chosen)

    def phash(self, height: int, width: int) -> np.ndarray | None:
        """Their perceptual hashes, as values_phash gives them of the copied values."""
        if not pictured(height, width):
            return None
        hashes = tagged_phash(self.records, self.offset, self.shape[1], height, width)
        return values_phash(self[:], height, width) if hashes is None else hashes

MIN_VIEW_RUN = 4  # records at equal distances from which a run is a view rather than copied


class PayloadGroup(NamedTuple):
    """Payloads of one dtype and shape, and the positions of their records in the batch."""

    dtype: str
    shape: tuple
    positions: list | range  # a range: the whole batch, in order
    payloads: np.ndarray  # (k, C, H*W), or TaggedRows of that shape
    figures: tuple | None = None  # (sums, squares, mins, maxs), when the parse took them
    hashes: tuple | None = None  # (exact, perceptual), when the parse took them


def parse_records(layouts: dict[int, Layout], values: list, hashed: bool = False):
    """(labels (n,), [PayloadGroup]) for records whose lengths all have a layout; None if
    any record is not what its layout says. hashed: unpacked floats left in their records
    come with their exact hashes, small raw records with both their hashes (taken as the
    batch is joined, where it is compiled). A group of the whole batch has a range of
    positions."""
    labels = np.empty(len(values), np.int64)
    small: dict[tuple, tuple[list, list, list]] = {}
    large: dict[tuple, list[int]] = {}
    for length, positions in _by_length(values).items():
        layout = layouts[length]
        if length >= LARGE_RECORD:  # records of every label width together, in read order
            large.setdefault(_payload_place(layout), []).extend(positions)
            continue
        batch = values if isinstance(positions, range) else [values[p] for p in positions]
        joined = joined_values(batch, length, layout.payload_at, layout.shape) \
            if hashed and layout.dtype == "uint8" else None
        trusted, found, payloads = parse_batch(layout, batch, joined and joined[0])
        if not trusted.all():
            return None
        labels[index_of(positions)] = found
        group = small.setdefault((layout.dtype, layout.shape), ([], [], []))
        group[0].append(positions)
        group[1].append(payloads)
        group[2].append(joined and joined[1])
    groups = [PayloadGroup(dtype, shape, *_joined(places, parts), None, _joined_hashes(hashes))
              for (dtype, shape), (places, parts, hashes) in small.items()]
    for positions in large.values():
        positions.sort()
        parsed = parse_large([layouts[len(values[p])] for p in positions],
                             [values[p] for p in positions], hashed)
        if parsed is None:
            return None
        found, parts = parsed
        labels[positions] = found
        layout = layouts[len(values[positions[0]])]
        groups.extend(PayloadGroup(layout.dtype, layout.shape, [positions[row] for row in rows],
                                   payloads, figures) for rows, payloads, figures in parts)
    return labels, groups


def _by_length(values: list) -> dict[int, list[int] | range]:
    """The positions of the records by their length: one range when all have the same (the
    common batch, 33 against 100 ns a record)."""
    lengths = list(map(len, values))
    if lengths and lengths.count(lengths[0]) == len(lengths):
        return {lengths[0]: range(len(values))}
    by_length: dict[int, list[int]] = {}
    for position, length in enumerate(lengths):
        by_length.setdefault(length, []).append(position)
    return by_length


def _joined(places: list, parts: list) -> tuple:
    """(positions, payloads) of one shape's records from its lengths' parts: a single part
    as it is (a range stays one)."""
    if len(parts) == 1:
        return places[0], parts[0]
    return [p for part in places for p in part], np.concatenate(parts)


def _joined_hashes(parts: list) -> tuple | None:
    """The (exact, perceptual) hashes of one shape's records from its lengths' parts, as
    _joined joins them; None unless every part has them."""
    if any(part is None for part in parts):
        return None
    if len(parts) == 1:
        return parts[0]
    perceptual = [p for _, p in parts]
    return (np.concatenate([e for e, _ in parts]),
            None if perceptual[0] is None else np.concatenate(perceptual))


def index_of(positions: list[int] | range):
    """What indexes an array at these positions: a slice for a range, without a copy."""
    return slice(positions.start, positions.stop) if isinstance(positions, range) else positions


def _payload_place(layout: Layout) -> tuple:
    return layout.dtype, layout.shape, layout.payload_at, layout.unpacked


def parse_large(layouts: list[Layout], values: list, hashed: bool = False):
    """(labels, [(rows, payloads, figures or None)]) for large records whose payloads share
    one place and shape; None if a record's fixed bytes, label or element tags are not its
    layout's."""
    heads = _trusted_heads(layouts, values)
    if heads is None:
        return None
    labels, starts = heads
    first = layouts[0]
    if first.unpacked:
        gathered = _unpacked_values(first, values, hashed)
        return None if gathered is None else (labels, [(range(len(values)), *gathered)])
    return labels, _payload_runs(first, values, starts)


def _trusted_heads(layouts: list[Layout], values: list):
    """(labels (0 without a label field), addresses) of the records, checked a layout at a
    time as the batch parse checks its rows; None if a record's fixed bytes differ from its
    layout's or its label varint does not end where the layout's does."""
    labels = np.zeros(len(values), np.int64)
    starts = np.zeros(len(values), np.int64)
    by_length: dict[int, list[int]] = {}
    for row, layout in enumerate(layouts):
        by_length.setdefault(layout.length, []).append(row)
    for rows in by_length.values():
        layout = layouts[rows[0]]
        heads = kernels.record_heads([values[row] for row in rows], layout.fixed,
                                     layout.expected, layout.label_at, layout.label_width)
        if heads is None:
            return None
        labels[rows], starts[rows] = heads
    return labels, starts


def _payload_runs(layout: Layout, values: list, starts: np.ndarray) -> list[tuple]:
    """The payloads (k, C, H*W) of runs of records at equal distances in memory (`starts`:
    their addresses), as views; the records in no such run copied together."""
    channels, height, width = layout.shape
    itemsize = 1 if layout.dtype == "uint8" else 4
    size = layout.count * itemsize
    place = slice(layout.payload_at, layout.payload_at + size)
    parts, loose = [], []
    for first, stop in _equal_steps(starts, min_step=max(len(v) for v in values)):
        step = int(starts[first + 1] - starts[first]) if stop - first > 1 else 0
        aligned = (starts[first] + layout.payload_at) % itemsize == 0 and step % itemsize == 0
        if stop - first < MIN_VIEW_RUN or not aligned:  # packed floats at odd addresses
            loose.extend(range(first, stop))
            continue
        payload = np.frombuffer(values[first], np.uint8)[place]
        view = np.lib.stride_tricks.as_strided(payload, (stop - first, size), (step, 1),
                                               writeable=False)
        parts.append((range(first, stop), _shaped(view, layout.dtype, channels,
                                                   height * width), None))
    if loose:
        copied = np.empty((len(loose), size), np.uint8)
        for row, position in enumerate(loose):
            copied[row] = np.frombuffer(values[position], np.uint8)[place]
        parts.append((loose, _shaped(copied, layout.dtype, channels, height * width), None))
    return parts


def _shaped(rows: np.ndarray, dtype: str, channels: int, length: int) -> np.ndarray:
    values = rows if dtype == "uint8" else rows.view("<f4")
    return values.reshape(len(rows), channels, length)


def _equal_steps(starts: np.ndarray, min_step: int) -> list[tuple[int, int]]:
    """(first, stop) of maximal runs of positions whose starts go up by one same step of at
    least `min_step` bytes (so the rows of a view never overlap)."""
    if len(starts) < 2:
        return [(0, len(starts))]
    steps = np.diff(starts)
    runs, first = [], 0
    for at in range(1, len(starts)):
        step = steps[at - 1]
        if step < min_step or (at - first > 1 and step != steps[first]):
            runs.append((first, at))
            first = at
    runs.append((first, len(starts)))
    return runs


def _unpacked_values(layout: Layout, values: list, hashed: bool) -> tuple | None:
    """(float values (n, C, H*W) or TaggedRows, their figures) of records of unpacked floats,
    each read once straight from its buffer and summed on the way; None if an element's
    tag is not a float tag."""
    channels, height, width = layout.shape
    offset, length = layout.payload_at - 1, height * width
    if kernels.native is None or not length:
        return kernels.gather_tagged(values, offset, channels, length)
    tag = values_tag(TaggedRows.dtype, layout.shape) if hashed else None
    prints = kernels.tagged_prints(values, offset, channels, length, tag)
    if prints is None:
        return None
    figures, exact = prints
    return TaggedRows(values, offset, channels, length, exact), figures
