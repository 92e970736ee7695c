"""Plan an LMDB store from its B-tree pages: how many records each leaf page holds, read from
the pages' headers, and the keys at the cuts, read from their nodes. A keys-only walk through
liblmdb costs a Python object a key and, for values on overflow pages (raw 3x256x256
datums), a page fault a key for the first overflow page it touches; the tree gives the same
cuts from the leaves alone (10k such records: 1 ms against 85 ms; 1M small records: 0.16 s
against 0.31-0.39 s, and 0.065 s where a whole store of many leaves is cut from a sample).

Only the layout of liblmdb 0.9 on 64-bit machines is read (little-endian, 8-byte page
numbers), and only after the meta page agrees with what liblmdb itself says of the same
version: page size, depth, page and entry counts. Anything else (another layout, a page that
is not what its parent says, a count that does not add up) is `TreeUnreadable`, and the
caller walks the keys through liblmdb instead. Pages are read through a read-only map with
numpy's bounds-checked indexing: a garbled page cannot crash this process (a file cut short
while mapped would, as it would liblmdb's own readers: LMDB never shrinks its file)."""
from __future__ import annotations

import mmap
import os
import struct

import numpy as np

PAGE_HEADER = 16  # mp_pgno (8), mp_pad (2), mp_flags (2), mp_lower (2), mp_upper (2)
NODE_HEADER = 8  # mn_lo, mn_hi, mn_flags, mn_ksize (2 each), then the key
P_BRANCH, P_LEAF, P_LEAF2 = 0x01, 0x02, 0x20
META_MAGIC, DATA_VERSION = 0xBEEFC0DE, 1
_META = struct.Struct("<IIQQ" "IHHQQQQQ" "IHHQQQQQ" "QQ")  # MDB_meta: two MDB_db, then
_DUPLICATE_FLAGS = 0x04 | 0x10 | 0x20 | 0x40  # DUPSORT, DUPFIXED, INTEGERDUP, REVERSEDUP
_MAX_DEPTH = 64
SAMPLED_FROM = 1 << 17  # leaves: from here a whole-store plan reads SAMPLES of them
SAMPLES = 4096
SAMPLED_ERROR = 0.03  # the relative error of a shard's records that sampling may make
_MAX_LEAVES = 1 << 22  # 16 GiB of 4 KiB leaves: beyond, the arrays would outgrow a walk's


class TreeUnreadable(Exception):
    """The pages are not the B-tree this reader knows; plan through liblmdb instead."""


class Tree:
    """The leaf pages of the main database of one version, in key order; counted(), how
    many records each holds. Use as a context manager: the map is closed at the end."""

    def __init__(self, data_path: str, version: dict):
        """`version`: liblmdb's own figures for the version read, as `version_figures`
        gives them (txnid, psize, depth, entries, branch/leaf/overflow page counts)."""
        with open(data_path, "rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            self.psize, self.entries = version["psize"], version["entries"]
            self._words = np.frombuffer(self._map, np.uint16)
            self._numbers = np.frombuffer(self._map, np.uint64)
            root, depth = self._meta(version)
            self.leaves = self._leaves(root, depth, version)
        except BaseException:
            self.close()
            raise
        self.counts = self.ends = None  # counted()

    def counted(self) -> "Tree":
        """Every leaf's records, from its header: the records' exact positions."""
        self._check_pages(self.leaves, P_LEAF)
        self.counts = self._counts(self.leaves, empty=False)
        if int(self.counts.sum()) != self.entries:
            raise TreeUnreadable("the leaves' records do not add up to the entries")
        self.ends = np.cumsum(self.counts)
        return self

    def leaf_cuts(self, parts: int) -> list[bytes] | None:
        """The first keys of the leaves that cut the store into `parts` of about equal
        records, from the records of every `stride`-th leaf (SAMPLES of them): a page
        fault maps 16 neighbouring pages, so reading every leaf costs as many faults as
        reading every 16th, and 1M small records' 333k leaves took 0.13 s. None when the
        sampled leaves hold too unequal counts (values of many sizes kept in the leaves)
        for the shards to come out within a few percent: then count every leaf."""
        stride = max(1, len(self.leaves) // SAMPLES)
        sampled = self.leaves[::stride]
        self._check_pages(sampled, P_LEAF)
        counts = self._counts(sampled, empty=False).astype(np.float64)
        spread = counts.std() / max(counts.mean(), 1.0)
        if (spread / SAMPLED_ERROR) ** 2 * parts > len(sampled):
            return None  # a shard's estimate would err by more than SAMPLED_ERROR
        estimate = np.repeat(counts, stride)
        ends = np.cumsum(estimate[:len(self.leaves)])
        if not 0.5 * self.entries <= ends[-1] <= 2 * self.entries:
            raise TreeUnreadable("the sampled leaves are far from the entries")
        ends *= self.entries / ends[-1]
        targets = [self.entries * part / parts for part in range(1, parts)]
        at = np.searchsorted(ends, targets, side="right")  # the leaf holding each target
        if len(at) and (at[0] < 1 or np.any(np.diff(at) <= 0) or at[-1] >= len(self.leaves)):
            raise TreeUnreadable("too few leaves for the parts")
        self._check_pages(self.leaves[at], P_LEAF)
        nodes = self._counts(self.leaves[at], empty=False)
        return [self._node_key(leaf, 0, count) for leaf, count in zip(at.tolist(),
                                                                        nodes.tolist())]

    def __enter__(self) -> "Tree":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._words = self._numbers = None  # the views first: the map refuses to close
        self._map.close()

    def keys_at(self, positions: list[int]) -> list[bytes | None]:
        """The keys at read-order positions (None past the last record)."""
        return [self._key_at(position) for position in positions]

    def _key_at(self, position: int) -> bytes | None:
        if position < 0 or not len(self.ends) or position >= int(self.ends[-1]):
            return None
        leaf = int(np.searchsorted(self.ends, position, side="right"))
        return self._node_key(leaf, position - int(self.ends[leaf] - self.counts[leaf]),
                              int(self.counts[leaf]))

    def _node_key(self, leaf: int, index: int, count: int) -> bytes:
        """The key of node `index` of leaf `leaf` (of `count` nodes)."""
        if not 0 <= index < count:
            raise TreeUnreadable(f"no node {index} on page {self.leaves[leaf]}")
        base = int(self.leaves[leaf]) * self.psize
        node = base + int(self._words[(base + PAGE_HEADER) // 2 + index])
        if node % 2 or node < base + PAGE_HEADER + 2 * count or \
                node + NODE_HEADER > base + self.psize:
            raise TreeUnreadable(f"a node outside its page {self.leaves[leaf]}")
        size = int(self._words[node // 2 + 3])
        if node + NODE_HEADER + size > base + self.psize:
            raise TreeUnreadable(f"a key past the end of its page {self.leaves[leaf]}")
        return bytes(self._map[node + NODE_HEADER:node + NODE_HEADER + size])

    def _meta(self, version: dict) -> tuple[int, int]:
        """The root and depth of the main database in the meta page of the version read."""
        psize = self.psize
        if psize < 512 or psize & (psize - 1) or len(self._map) < 2 * psize:
            raise TreeUnreadable(f"page size {psize}")
        metas = [_META.unpack_from(self._map, page * psize + PAGE_HEADER) for page in (0, 1)]
        for fields in metas:
            magic, data_version, free_pad = fields[0], fields[1], fields[4]
            if magic != META_MAGIC or data_version != DATA_VERSION or free_pad != psize:
                raise TreeUnreadable("not the meta page layout of liblmdb 0.9 (64-bit)")
        # liblmdb reads version t from meta page t & 1 (the two take turns); both pages of
        # one version would leave it to choose by how the store was opened
        fields, txnid = metas[version["txnid"] & 1], version["txnid"]
        if fields[21] != txnid or metas[0][21] == metas[1][21]:
            raise TreeUnreadable("no meta page holds the version read, or both do")
        flags, depth, branch, leaf, overflow, entries, root = fields[13:20]
        if flags & _DUPLICATE_FLAGS:
            raise TreeUnreadable("a database with duplicate keys")
        if (depth, branch, leaf, overflow, entries) != tuple(
                version[name] for name in ("depth", "branch_pages", "leaf_pages",
                                           "overflow_pages", "entries")):
            raise TreeUnreadable("the meta page disagrees with liblmdb's figures")
        if not 1 <= depth <= _MAX_DEPTH:
            raise TreeUnreadable(f"depth {depth}")
        if branch + leaf + overflow > len(self._map) // psize - 2:  # liblmdb never checks
            raise TreeUnreadable("the meta page counts more pages than the file holds")
        return root, depth

    def _leaves(self, root: int, depth: int, version: dict) -> np.ndarray:
        """The leaf page numbers in key order: the branch pages read level by level."""
        if version["leaf_pages"] > _MAX_LEAVES:
            raise TreeUnreadable(f"{version['leaf_pages']} leaf pages: walked instead")
        level, branches = np.array([root], np.int64), 0
        for _ in range(depth - 1):
            self._check_pages(level, P_BRANCH)
            branches += len(level)
            level = self._children(level, version["branch_pages"] + version["leaf_pages"]
                                   - branches)
        if branches != version["branch_pages"]:
            raise TreeUnreadable(f"{branches} branch pages reached of "
                                 f"{version['branch_pages']}")
        if len(level) != version["leaf_pages"]:
            raise TreeUnreadable(f"{len(level)} leaf pages reached of {version['leaf_pages']}")
        return level

    def _check_pages(self, pages: np.ndarray, kind: int) -> None:
        file_pages = len(self._map) // self.psize
        if len(pages) and (pages.min() < 2 or pages.max() >= file_pages):
            raise TreeUnreadable("a page number outside the file")
        if not np.array_equal(self._numbers[pages * (self.psize // 8)].astype(np.int64),
                              pages):
            raise TreeUnreadable("a page that does not carry its own number")
        flags = self._words[(pages * self.psize + 10) // 2]
        if np.any((flags & (P_BRANCH | P_LEAF | P_LEAF2)) != kind):
            raise TreeUnreadable("a page of another kind than its parent says")

    def _counts(self, pages: np.ndarray, empty: bool = True) -> np.ndarray:
        """Nodes a page: (mp_lower - header) / 2, with mp_lower <= mp_upper <= page size.
        empty=False refuses pages without a node: liblmdb writes no empty leaf, and its
        cursor would still take node 0 of one (a record the counts would miss)."""
        base = pages * self.psize // 2
        lower = self._words[base + 6].astype(np.int64)
        upper = self._words[base + 7].astype(np.int64)
        if np.any((lower < PAGE_HEADER + (0 if empty else 2)) | (lower > upper) |
                  (upper > self.psize) | (lower % 2)):
            raise TreeUnreadable("a page header out of bounds, or a page without a node")
        return (lower - PAGE_HEADER) // 2

    def _children(self, pages: np.ndarray, most: int) -> np.ndarray:
        """The child page numbers of branch pages, in order: each node's mn_lo, mn_hi and
        mn_flags words are the child's number (low to high). More than `most` children
        (the pages left in the store) are refused before any array of them is made."""
        counts = self._counts(pages, empty=False)
        total = int(counts.sum())
        if total > most:
            raise TreeUnreadable("more pages than the store has")
        owner = np.repeat(np.arange(len(pages)), counts)
        index = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        base = pages[owner] * self.psize
        node = base + self._words[(base + PAGE_HEADER) // 2 + index].astype(np.int64)
        if np.any((node % 2) | (node < base + PAGE_HEADER + 2 * counts[owner]) |
                  (node + NODE_HEADER > base + self.psize)):
            raise TreeUnreadable("a branch node outside its page")
        words = [self._words[node // 2 + k].astype(np.int64) for k in range(3)]
        return words[0] | (words[1] << 16) | (words[2] << 32)


def version_figures(env, txn) -> dict:
    """liblmdb's figures for the version `txn` reads, to check the meta page against."""
    stat = txn.stat(env.open_db(txn=txn))
    return {"txnid": txn.id(), **{name: stat[name] for name in (
        "psize", "depth", "branch_pages", "leaf_pages", "overflow_pages", "entries")}}


def plan(path: str, env, txn, wanted: int, parts: int, start: int = 0):
    """walk_splits' answer from the tree: the first key of parts 2..`parts` of the `wanted`
    records from position `start`, the key just beyond them (None at the end), and the key at
    `start` (None when `start` is 0). The whole of a store of SAMPLED_FROM leaves or more
    is cut at leaf boundaries instead (Tree.leaf_cuts), about as evenly. TreeUnreadable
    when the pages cannot be read."""
    if not 0 <= start or not 1 <= parts <= max(wanted, 1):
        raise TreeUnreadable(f"{parts} parts of {wanted} records from {start}")
    try:
        with Tree(os.path.join(path, "data.mdb"), version_figures(env, txn)) as tree:
            cuts = tree.leaf_cuts(parts) if not start and wanted == tree.entries and \
                len(tree.leaves) >= SAMPLED_FROM else None
            if cuts is not None:
                return cuts, None, None  # the whole of a large store
            cuts = [start + wanted * part // parts for part in range(1, parts)]
            *splits, beyond, first = tree.counted().keys_at(cuts + [start + wanted, start])
    except (IndexError, ValueError, OverflowError, MemoryError, struct.error, OSError) as exc:
        raise TreeUnreadable(f"{type(exc).__name__}: {exc}") from None
    if None in splits:
        raise TreeUnreadable("a cut past the last record")
    return splits, beyond, first if start else None
