/* Pairs of the near-duplicate search (scanner.duplicates.search). band_pairs: hashes that
 * agree on a band of their bits, or differ there only by one of the given flips; one
 * counting sort a band puts the hashes of each band value together, no table of pairs.
 * band_neighbours: the hashes that share the top band of an order sorted_hashes made. */
#include "native.h"

typedef struct {
    uint64_t *items; /* pairs of 8-byte words: positions or hashes */
    Py_ssize_t count, room, limit; /* limit: most pairs kept (-1: any number) */
} Pairs;

/* 0, or -1 when out of memory, -2 past the limit. */
static int add_pair(Pairs *p, uint64_t first, uint64_t second)
{
    if (p->limit >= 0 && p->count / 2 >= p->limit)
        return -2;
    if (p->count + 2 > p->room) {
        Py_ssize_t room = p->room ? 2 * p->room : 4096;
        /* the raw allocator: this runs with the GIL released */
        uint64_t *grown = PyMem_RawRealloc(p->items, sizeof(uint64_t) * (size_t)room);
        if (grown == NULL)
            return -1;
        p->items = grown;
        p->room = room;
    }
    p->items[p->count++] = first;
    p->items[p->count++] = second;
    return 0;
}

/* i < j by position, within `distance` bits (a negative distance: any). */
static int offer(Pairs *p, const uint64_t *hashes, int64_t a, int64_t b, int distance)
{
    if (a == b)
        return 0;
    int64_t first = a < b ? a : b, second = a < b ? b : a;
    if (distance >= 0 && __builtin_popcountll(hashes[first] ^ hashes[second]) > distance)
        return 0;
    return add_pair(p, (uint64_t)first, (uint64_t)second);
}

/* What a search returns after `failed` (add_pair's code): the pairs' bytes, None past the
 * limit, or NULL with MemoryError. Frees the pairs. */
static PyObject *pairs_result(Pairs *p, int failed)
{
    PyObject *result;
    if (failed == -1) {
        result = PyErr_NoMemory();
    } else if (failed == -2) {
        Py_INCREF(Py_None);
        result = Py_None;
    } else {
        result = PyBytes_FromStringAndSize((const char *)p->items,
                                           (Py_ssize_t)(sizeof(uint64_t) * (size_t)p->count));
    }
    PyMem_RawFree(p->items);
    p->items = NULL;
    return result;
}

/* One band: the hashes in band-value order (a counting sort), then each hash against the
 * hashes of its own value (each pair once) and of its value under each flip. */
static int one_band(const uint64_t *hashes, Py_ssize_t n, int shift, int width,
                    const int64_t *flips, Py_ssize_t flip_count, int distance,
                    uint32_t *starts, uint32_t *order, uint32_t *values, Pairs *p)
{
    const uint64_t mask = (1ull << width) - 1; /* width at most 24: checked */
    const size_t table = (size_t)1 << width;
    memset(starts, 0, sizeof(uint32_t) * (table + 1));
    for (Py_ssize_t k = 0; k < n; k++) {
        values[k] = (uint32_t)((hashes[k] >> shift) & mask);
        starts[values[k] + 1]++;
    }
    for (size_t v = 0; v < table; v++)
        starts[v + 1] += starts[v];
    for (Py_ssize_t k = 0; k < n; k++) /* stable: positions ascend within a value */
        order[starts[values[k]]++] = (uint32_t)k;
    for (size_t v = table; v > 0; v--) /* back to the run starts */
        starts[v] = starts[v - 1];
    starts[0] = 0;
    for (size_t v = 0; v < table; v++)
        for (uint32_t a = starts[v]; a < starts[v + 1]; a++)
            for (uint32_t b = a + 1; b < starts[v + 1]; b++) {
                int failed = offer(p, hashes, order[a], order[b], distance);
                if (failed)
                    return failed;
            }
    for (Py_ssize_t k = 0; k < n; k++)
        for (Py_ssize_t f = 0; f < flip_count; f++) {
            uint32_t probe = values[k] ^ (uint32_t)flips[f];
            for (uint32_t at = starts[probe]; at < starts[probe + 1]; at++) {
                int failed = (int64_t)order[at] > k ? offer(p, hashes, k, order[at], distance)
                                                    : 0;
                if (failed)
                    return failed;
            }
        }
    return 0;
}

/* band_pairs(hashes, shifts, width, flips, distance, limit) -> bytes of int64 (first,
 * second) pairs: hashes (n,) uint64; for each shift, the band is (hash >> shift) &
 * (2**width - 1); flips (int64) are XORed into a band value to find its neighbours; pairs
 * further apart than distance bits are left out (distance < 0: none). Pairs found on two
 * bands come twice. None when there are more than `limit` (-1: no limit). */
PyObject *band_pairs(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *objects[3];
    int width, distance;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "OOiOin:band_pairs", &objects[0], &objects[1], &width,
                          &objects[2], &distance, &limit))
        return NULL;
    Held held[3];
    memset(held, 0, sizeof held);
    Pairs p = {NULL, 0, 0, limit < 0 ? -1 : limit};
    uint32_t *starts = NULL, *order = NULL, *values = NULL;
    PyObject *result = NULL;
    for (int i = 0; i < 3; i++)
        if (take(objects[i], &held[i], PyBUF_C_CONTIGUOUS) < 0)
            goto done;
    Py_ssize_t n = held[0].view.len / 8, bands = held[1].view.len / 8;
    Py_ssize_t flip_count = held[2].view.len / 8;
    const int64_t *shifts = held[1].view.buf, *flips = held[2].view.buf;
    int valid = width >= 1 && width <= 24 && n < ((Py_ssize_t)1 << 32) &&
                held[0].view.len % 8 == 0 && held[1].view.len % 8 == 0 &&
                held[2].view.len % 8 == 0 && aligned(held, 3, 8);
    for (Py_ssize_t b = 0; valid && b < bands; b++)
        valid = shifts[b] >= 0 && shifts[b] <= 64 - width; /* no sum to overflow */
    for (Py_ssize_t f = 0; valid && f < flip_count; f++)
        valid = flips[f] > 0 && flips[f] < ((int64_t)1 << width);
    if (!valid) {
        PyErr_SetString(PyExc_ValueError, "band_pairs: hashes, shifts, width or flips wrong");
        goto done;
    }
    starts = PyMem_Malloc(sizeof(uint32_t) * (((size_t)1 << width) + 1));
    order = PyMem_Malloc(sizeof(uint32_t) * (size_t)(n ? n : 1));
    values = PyMem_Malloc(sizeof(uint32_t) * (size_t)(n ? n : 1));
    if (!starts || !order || !values) {
        PyErr_NoMemory();
        goto done;
    }
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t b = 0; b < bands && !failed; b++)
        failed = one_band(held[0].view.buf, n, (int)shifts[b], width, flips, flip_count,
                          distance, starts, order, values, &p);
    Py_END_ALLOW_THREADS
    result = pairs_result(&p, failed);
done:
    PyMem_RawFree(p.items);
    PyMem_Free(starts);
    PyMem_Free(order);
    PyMem_Free(values);
    release(held, 3);
    return result;
}

/* band_neighbours(ordered, width, distance, turn, limit) -> bytes of uint64 (low, high)
 * pairs: ordered (n,) uint64, hashes rotated left by `turn` bits and ordered so that those
 * with the same top `width` bits (1-63) adjoin (sorted_hashes); every two of one run within
 * `distance` bits (0-64), each pair as the hashes themselves (rotated back), the lower
 * first. None when there are more than `limit` (-1: no limit). */
PyObject *band_neighbours(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *object;
    int width, distance, turn;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "Oiiin:band_neighbours", &object, &width, &distance, &turn,
                          &limit))
        return NULL;
    Held held;
    memset(&held, 0, sizeof held);
    if (take(object, &held, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    if (width < 1 || width > 63 || distance < 0 || distance > 64 || turn < 0 || turn > 63 ||
            held.view.len % 8 || !aligned(&held, 1, 8)) {
        release(&held, 1);
        PyErr_SetString(PyExc_ValueError, "band_neighbours: hashes, width, distance or turn "
                        "wrong");
        return NULL;
    }
    const uint64_t *ordered = held.view.buf;
    const Py_ssize_t n = held.view.len / 8;
    const int back = turn ? 64 - turn : 0, shift = 64 - width;
    Pairs p = {NULL, 0, 0, limit < 0 ? -1 : limit};
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t start = 0, end; start < n && !failed; start = end) {
        const uint64_t band = ordered[start] >> shift;
        for (end = start + 1; end < n && ordered[end] >> shift == band; end++)
            ;
        for (Py_ssize_t a = start; a < end && !failed; a++)
            for (Py_ssize_t b = a + 1; b < end && !failed; b++) {
                if (__builtin_popcountll(ordered[a] ^ ordered[b]) > distance)
                    continue;
                uint64_t x = rotated(ordered[a], back), y = rotated(ordered[b], back);
                failed = add_pair(&p, x < y ? x : y, x < y ? y : x);
            }
    }
    Py_END_ALLOW_THREADS
    release(&held, 1);
    return pairs_result(&p, failed);
}
