"""Group the few records a join found (values that repeat, pairs within the distance) into
stars: every member lies within the distance of its group's first record, so chains of
similar pictures do not join unlike ones.

Records with the same perceptual hash (or, without a picture, the same bytes) form one node;
records with the same bytes always share a group. Near links are taken shortest first, and
two groups merge only if every member stays within the distance of the merged group's first
record: a copy close to its own original is not taken by an earlier picture that it merely
resembles at the edge of the distance."""
from __future__ import annotations

import numpy as np

from .fingerprints import Fingerprints
from .hashing import NO_PICTURE, hamming

Link = tuple  # (kind, hashes a, hashes b, distances): pairs of distinct perceptual hashes


def clusters(prints: Fingerprints, positions: np.ndarray, links: list[Link],
             distance: int) -> list[tuple[np.ndarray, bool, np.ndarray]]:
    """(members, same bytes, distances to the first member) of each group of two or more
    among the records at `positions` (ascending), in the order of their first records."""
    if len(positions) < 2:
        return []
    kinds, exact = prints.kind[positions], prints.exact[positions]
    perceptual = prints.perceptual[positions]
    same_bytes = _run_heads(exact)  # per record: the first record with its bytes
    keys = np.where(kinds & NO_PICTURE, exact, perceptual)
    node_order = np.lexsort((keys, kinds))
    starts = np.flatnonzero(np.r_[True, (np.diff(keys[node_order]) != 0) |
                                  (np.diff(kinds[node_order]) != 0)])
    node_of = np.empty(len(positions), np.int64)
    node_of[node_order] = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts,
                                                                          len(positions)]))
    first = node_order[starts]  # each node's first record (lexsort keeps the index order)
    stars = _Stars(perceptual[first], first, distance)
    apart = np.flatnonzero(node_of != node_of[same_bytes])  # the same bytes, unequal pictures
    for record in apart.tolist():
        stars.merge(int(node_of[record]), int(node_of[same_bytes[record]]), forced=True)
    node_kinds, node_keys = kinds[node_order[starts]], keys[node_order[starts]]
    for a, b in _ordered_links(links, node_kinds, node_keys, first):
        stars.merge(a, b)
    return _groups(positions, node_of, stars, same_bytes, perceptual)


def _run_heads(values: np.ndarray) -> np.ndarray:
    """For each position, the first position holding the same value."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    heads = np.empty(len(values), np.int64)
    heads[order] = np.repeat(order[starts], np.diff(np.r_[starts, len(values)]))
    return heads


def _ordered_links(links: list[Link], node_kinds: np.ndarray, node_keys: np.ndarray,
                   first: np.ndarray) -> list[tuple[int, int]]:
    """Node pairs of the near links, shortest first (ties: by their first records)."""
    parts = []
    for kind, a, b, dists in links:
        if not len(a):
            continue
        lo, hi = np.searchsorted(node_kinds, kind), np.searchsorted(node_kinds, kind, "right")
        nodes_a = lo + np.searchsorted(node_keys[lo:hi], a)
        nodes_b = lo + np.searchsorted(node_keys[lo:hi], b)
        parts.append((np.asarray(dists, np.int64), nodes_a, nodes_b))
    if not parts:
        return []
    dists, nodes_a, nodes_b = (np.concatenate(p) for p in zip(*parts))
    earlier = np.minimum(first[nodes_a], first[nodes_b])
    later = np.maximum(first[nodes_a], first[nodes_b])
    order = np.lexsort((later, earlier, dists))
    return list(zip(nodes_a[order].tolist(), nodes_b[order].tolist()))


class _Stars:
    """Union-find over nodes whose sets remember their nodes and their first node."""

    def __init__(self, hashes: np.ndarray, first: np.ndarray, distance: int):
        self.hashes, self.first, self.distance = hashes, first, distance
        self.parent = list(range(len(first)))
        self.nodes: dict[int, list[int]] = {}  # root -> its nodes, where more than one

    def find(self, node: int) -> int:
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def merge(self, a: int, b: int, forced: bool = False) -> None:
        """Join the sets of a and b; unless forced, only if every node of the set whose
        first record comes later lies within the distance of the other set's first node."""
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return
        if self.first[root_b] < self.first[root_a]:
            root_a, root_b = root_b, root_a  # the head stays root_a's: its first is earlier
        joining = self.nodes.get(root_b, [root_b])
        if not forced and (hamming(self.hashes[joining], self.hashes[root_a]) >
                           self.distance).any():
            return
        self.parent[root_b] = root_a
        # in place: a group that grows one record at a time costs what its checks cost
        self.nodes.setdefault(root_a, [root_a]).extend(self.nodes.pop(root_b, [root_b]))


def _groups(positions: np.ndarray, node_of: np.ndarray, stars: _Stars, same_bytes: np.ndarray,
            perceptual: np.ndarray) -> list[tuple[np.ndarray, bool, np.ndarray]]:
    roots = np.array([stars.find(node) for node in range(len(stars.first))], np.int64)
    group_of = roots[node_of]
    order = np.lexsort((np.arange(len(positions)), group_of))
    bounds = np.flatnonzero(np.diff(group_of[order])) + 1
    found = []
    for records in np.split(order, bounds):
        if len(records) < 2:
            continue
        head = records[0]
        same = same_bytes[records] == same_bytes[head]
        gaps = hamming(perceptual[records], perceptual[head])
        found.append((positions[records], bool(same.all()), np.where(same, 0, gaps)))
    found.sort(key=lambda group: int(group[0][0]))
    return found
