"""Inspect the records of one shard: decode each Datum, run the record checks, and batch
sample values so the value checks run on many samples at once."""
from __future__ import annotations

from array import array
from collections import Counter

import numpy as np

from .aggregate import FindingSink, ShardResult
from .boundary import guarded, raised
from .checks.datum_checks import (both_payloads, encoded_flag_mismatch, encoded_image,
                                  invalid_datum, length_mismatch, no_data, non_positive_shape)
from .checks.registry import Problem
from .checks.value_checks import value_problems
from .datum import Datum, DatumDecodeError, decode_datum
from .datum_layout import LARGE_RECORD, Layout
from .duplicates.fingerprints import FingerprintSink
from .hashed_summary import hashed_summary
from .record_batches import index_of, parse_records
from .settings import ScanSettings
from .stats import ChannelStats
from .types import MISSING_LABEL


_CHUNK_BYTES = 2 << 20  # a group's values are checked together: sized to stay in the CPU cache
# ... unless its records are large: then the cost of each group's calls, not the cache, sets
# the pace (raw 3x256x256, best of 5: 0.52 s of CPU a GB in 8 MiB groups, 0.61 s in 2 MiB)
_LARGE_CHUNK_BYTES = 8 << 20
_MAX_LAYOUTS = 8  # record lengths with a learnt layout (label widths, a few shapes)


class _ValueGroup:
    """Samples of one dtype and shape waiting to be checked together."""

    def __init__(self) -> None:
        self.indices: list[int] = []
        self.keys: list = []
        self.payloads: list = []
        self.nbytes = 0


class ShardInspector:
    """State every kind of record adds to: counts, labels, shapes, value statistics."""

    def __init__(self, settings: ScanSettings):
        self.settings = settings
        self.sink = FindingSink(settings)
        self.records = 0
        self.labels = array("q")
        self.shape_ids = array("i")
        self.shapes: dict[tuple, int] = {}
        self.encodings: Counter = Counter()
        self.stats: dict[tuple[str, int], ChannelStats] = {}
        self.prints = FingerprintSink(settings.duplicates)

    def shape_id(self, shape: tuple | None) -> int:
        return -1 if shape is None else self.shapes.setdefault(shape, len(self.shapes))

    def skip(self, key, problem: Problem, encoding: str = "not-inspected") -> None:
        """Count a record that cannot be looked into, reporting why."""
        self.sink.add(self.records, key, problem)
        self.records += 1
        self.encodings[encoding] += 1
        self.labels.append(MISSING_LABEL)
        self.shape_ids.append(-1)

    def checkpoint(self) -> tuple:
        """The per-record state, to be put back when inspecting a record raises."""
        return self.records, len(self.labels), len(self.shape_ids), dict(self.encodings)

    def restore(self, checkpoint: tuple) -> None:
        """Undo what the records inspected since the checkpoint added to the counts."""
        self.records, labels, shape_ids, encodings = checkpoint
        del self.labels[labels:]
        del self.shape_ids[shape_ids:]
        self.encodings = Counter(encodings)

    def abandon(self, checkpoint: tuple, key, exc: Exception) -> None:
        """A record whose inspection raised: undo what it had added and count it as not
        inspected (DS009); findings it had already earned stay."""
        self.restore(checkpoint)
        ShardInspector.skip(self, key, raised(exc, key), "raised")

    def check_values(self, values: np.ndarray, indices, keys, stats_group,
                     shape: tuple | None = None, figures: tuple | None = None,
                     hashes: tuple | None = None) -> None:
        """Run the value checks on samples (n, C, L) of shape C, H, W (None: not known) and
        fingerprint them, each group inside the record boundary: if checking the group
        raises, each sample is checked alone, and one that raises again gets finding DS009.
        figures: the samples' (sums, squares, mins, maxs), hashes their (exact, perceptual)
        fingerprints, where the parse took them."""
        def one_by_one(_: Exception) -> None:
            for row in range(len(values)):
                guarded(self._check_values_of, lambda exc: self.sink.add(
                    indices[row], keys[row], raised(exc, keys[row], "its values not checked")),
                    values[row:row + 1], indices[row:row + 1], keys[row:row + 1], stats_group,
                    shape)
        guarded(self._check_values_of, one_by_one, values, indices, keys, stats_group, shape,
                figures, hashes)

    def _check_values_of(self, values: np.ndarray, indices, keys, stats_group,
                         shape: tuple | None, figures: tuple | None = None,
                         hashes: tuple | None = None) -> None:
        """Add finite rows to the statistics; findings and fingerprints are added only once
        all checks and the fingerprints ran, so that a group checked again sample by sample
        is not counted twice and a sample whose checks raise is not fingerprinted."""
        stats = self.stats.get(stats_group) if stats_group is not None else None
        hashed, summary = hashed_summary(self.prints, indices, values, shape,
                                         extremes=stats is None or not stats.spans_bytes,
                                         figures=figures, hashes=hashes)
        found = value_problems(values, summary)
        if hashed is not None:  # fingerprints on: the samples of one value in each channel
            self.prints.keep(hashed, (summary.mins == summary.maxs).all(axis=1))
        if stats_group is not None:
            usable = summary.finite_rows if values.dtype.kind == "f" else None
            if stats is None:
                stats = self.stats[stats_group] = ChannelStats(values.shape[1])
            stats.add(values, summary, usable)
        for row, problem in found:
            self.sink.add(indices[row], keys[row], problem)

    def finish(self) -> None:
        """Check whatever is still queued; runs while the store's buffers are valid."""

    def result(self, number: int, store_error: dict | None = None) -> ShardResult:
        marked = np.fromiter(self.sink.marks.keys(), np.int64, len(self.sink.marks))
        marks = np.fromiter(self.sink.marks.values(), np.uint8, len(self.sink.marks))
        return ShardResult(
            number=number, records=self.records, counts=self.sink.counts,
            examples=self.sink.examples, marked=marked, marks=marks,
            crashes=self.sink.crashes, fingerprints=self.prints.result(self.records),
            labels=np.frombuffer(self.labels, np.int64).copy(),
            shape_ids=np.frombuffer(self.shape_ids, np.int32).copy(),
            shapes=list(self.shapes), encodings=self.encodings, stats=self.stats,
            store_error=store_error, flagged=self.sink.flagged)


class DatumInspector(ShardInspector):
    """Turns (key, Datum bytes) pairs, in read order, into one shard's result."""

    def __init__(self, settings: ScanSettings):
        super().__init__(settings)
        self.groups: dict[tuple, _ValueGroup] = {}
        self.layouts: dict[int, Layout] = {}  # record length -> the layout learnt for it
        self.batch_keys: list = []
        self.batch_values: list = []
        self.batch_bytes = 0
        # the pipeline's crash tracker: told 2*i + 1 while record i is inspected, 2*i while
        # record i is fetched (see pipeline.scan_shard)
        self.track = None

    def take(self, key, value) -> bool:
        """Defer a record whose length has a known layout (see datum_layout); False: the
        record must go through `inspect` now. Deferred records are plain bytes checked with
        numpy later, nothing that could crash a worker."""
        if len(value) not in self.layouts:
            return False
        self.batch_keys.append(key)
        self.batch_values.append(value)
        self.batch_bytes += len(value)
        if len(self.batch_keys) >= self.settings.chunk_records or self.batch_bytes >= (
                _LARGE_CHUNK_BYTES if len(value) >= LARGE_RECORD else _CHUNK_BYTES):
            self.flush()
        return True

    def inspect(self, key, value) -> None:
        if self.batch_keys:
            self.flush()
            if self.track:
                self.track(2 * self.records + 1)
        try:
            datum = decode_datum(value)
        except DatumDecodeError as exc:
            self.skip(key, invalid_datum(str(exc)), "invalid")
            return
        index = self.records
        self.records += 1
        self.labels.append(datum.label)
        shape = self._structure(index, key, datum)
        self.shape_ids.append(self.shape_id(shape))
        if len(value) not in self.layouts and len(self.layouts) < _MAX_LAYOUTS:
            layout = Layout.derive(value, datum)
            if layout is not None:
                self.layouts[len(value)] = layout

    def skip(self, key, problem: Problem, encoding: str = "not-inspected") -> None:
        self.flush()
        super().skip(key, problem, encoding)

    def flush(self) -> None:
        """Parse and check the deferred records, in read order."""
        if not self.batch_keys:
            return
        keys, values = self.batch_keys, self.batch_values
        self.batch_keys, self.batch_values, self.batch_bytes = [], [], 0
        # a record that does not fit its layout, or a parse that raised: the full decoder
        # decides, one record at a time, each inside the record boundary
        parsed = guarded(parse_records, lambda exc: None, self.layouts, values,
                         self.prints.enabled)
        if parsed is None:
            for key, value in zip(keys, values):
                self._inspect_deferred(key, value)
            if self.track:
                self.track(2 * self.records)  # back to fetching the next record
            return
        base = self.records
        labels, groups = parsed
        shape_ids = np.empty(len(keys), np.int32)
        for group in groups:
            shape_ids[index_of(group.positions)] = self.shape_id(group.shape)
        self.records += len(keys)
        self.labels.frombytes(labels.tobytes())
        self.shape_ids.frombytes(shape_ids.tobytes())
        for dtype, shape, positions, payloads, figures, hashes in groups:
            self.encodings["raw" if dtype == "uint8" else "float"] += len(positions)
            if isinstance(positions, range):  # the whole batch: no list a record
                indices, group_keys = range(base, base + len(keys)), keys
            else:
                indices, group_keys = [base + p for p in positions], [keys[p] for p in positions]
            self.check_values(payloads, indices, group_keys, (dtype, payloads.shape[1]), shape,
                              figures, hashes)

    def _inspect_deferred(self, key, value) -> None:
        """The full decoder on a deferred record (its layout did not hold)."""
        layouts, self.layouts = self.layouts, {}  # no new layout from a suspect batch
        if self.track:
            self.track(2 * self.records + 1)
        checkpoint = self.checkpoint()
        try:
            guarded(self.inspect, lambda exc: self.abandon(checkpoint, key, exc), key, value)
        finally:
            self.layouts = layouts

    def _report(self, index: int, key, problem: Problem | None) -> bool:
        if problem is not None:
            self.sink.add(index, key, problem)
        return problem is not None

    def _structure(self, index: int, key, datum: Datum) -> tuple | None:
        """Run the record checks in the order Caffe would trip on them; return C, H, W."""
        shape = (datum.channels, datum.height, datum.width)
        if not datum.encoded and min(shape) > 0:
            # The usual record: a positive shape and exactly the payload it asks for. Every
            # structural check below would pass it (DS003/203/204/206/208), so skip to values.
            size, data_len, float_count = shape[0] * shape[1] * shape[2], datum.data_len, \
                datum.float_count
            if data_len == size and not float_count:
                self.encodings["raw"] += 1
                self._queue("uint8", shape, index, key, datum.data)
                return shape
            if float_count == size and not data_len:
                self.encodings["float"] += 1
                self._queue("float32", shape, index, key, datum.float_data)
                return shape
        if self._report(index, key, no_data(datum)):
            self.encodings["empty"] += 1
            return None
        self._report(index, key, both_payloads(datum))
        if datum.encoded:
            return self._image(index, key, datum.data)
        if self._report(index, key, encoded_flag_mismatch(datum)):
            self.encodings["image-flagged-raw"] += 1
            return None
        if self._report(index, key, non_positive_shape(datum)):
            self.encodings["raw" if datum.data_len else "float"] += 1
            return None
        mismatch = self._report(index, key, length_mismatch(datum))
        if datum.data_len:
            self.encodings["raw"] += 1
            if not mismatch:
                self._queue("uint8", shape, index, key, datum.data)
        else:
            self.encodings["float"] += 1
            count = datum.float_count
            self._queue("float32", (1, 1, count) if mismatch else shape, index, key,
                        datum.float_data, shaped=not mismatch)
        return shape

    def _image(self, index: int, key, data, in_datum: bool = True) -> tuple | None:
        """Check an encoded image; its shape as the data layer decodes it."""
        image = self._check_image(index, key, data, in_datum)
        if not image.height:
            return None
        height, width = self.settings.resize_to or (image.height, image.width)
        return self.settings.force_channels or image.channels, height, width

    def _check_image(self, index: int, key, data, in_datum: bool):
        """Verify the image bytes as the data layer decodes them; report what is wrong."""
        image, problem = encoded_image(data, self.settings.max_pixels, in_datum,
                                       self.settings.force_channels)
        self.prints.add_image(index, data, image.pixels, image.pixel_order)
        self.encodings[image.format or "not-an-image"] += 1
        self._report(index, key, problem)
        return image

    def _queue(self, dtype: str, shape: tuple, index: int, key, payload,
               shaped: bool = True) -> None:
        group_key = (dtype, shape[0], shape[1] * shape[2], shaped, shape)
        group = self.groups.setdefault(group_key, _ValueGroup())
        group.indices.append(index)
        group.keys.append(key)
        group.payloads.append(payload)
        group.nbytes += payload.nbytes
        if len(group.indices) >= self.settings.chunk_records or group.nbytes >= _CHUNK_BYTES:
            self._check_values(group_key, self.groups.pop(group_key))

    def _check_values(self, group_key: tuple, group: _ValueGroup) -> None:
        dtype, channels, length, shaped, shape = group_key
        if dtype == "uint8":
            flat = np.frombuffer(b"".join(group.payloads), np.uint8)
        else:
            flat = np.stack(group.payloads) if len(group.payloads) > 1 else \
                np.asarray(group.payloads[0])[None]
        values = flat.reshape(len(group.indices), channels, length)
        # a float count that does not match the shape is no basis for statistics
        self.check_values(values, group.indices, group.keys,
                          (dtype, channels) if shaped else None, shape if shaped else None)

    def finish(self) -> None:
        self.flush()
        for group_key in list(self.groups):
            self._check_values(group_key, self.groups.pop(group_key))

