/* The sorts of the duplicate join (scanner.duplicates): 64-bit hashes, each rotated left
 * by the same number of bits, sorted by their top bits with a radix sort of 8-bit digits:
 * the top digit first, then each of its runs least significant digit first. */
#include "native.h"

#define DIGITS 8

/* Scatter values[0:n) by digit d into target at the running heads (counts turned into
 * offsets), rotating them first when `rotate` is not 0. */
static void scatter(const uint64_t *values, Py_ssize_t n, int rotate, int d,
                    Py_ssize_t *heads, uint64_t *target)
{
    const int shift = 8 * d;
    if (rotate)
        for (Py_ssize_t i = 0; i < n; i++) {
            uint64_t value = rotated(values[i], rotate);
            target[heads[(value >> shift) & 0xFF]++] = value;
        }
    else
        for (Py_ssize_t i = 0; i < n; i++)
            target[heads[(values[i] >> shift) & 0xFF]++] = values[i];
}

/* Counts of each digit turned into where its values go. */
static void offsets_of(Py_ssize_t *counts)
{
    Py_ssize_t start = 0;
    for (int b = 0; b < 256; b++) {
        Py_ssize_t count = counts[b];
        counts[b] = start;
        start += count;
    }
}

/* One run of values that share their top digit, in `here`, sorted on digits first to 6
 * (lowest first) with `there` as room: it ends in `here` when it sorts on an even number
 * of digits, else in `there`. */
static void sort_run(uint64_t *here, uint64_t *there, Py_ssize_t n, int first)
{
    if (n < 48) { /* few: an insertion sort, wholly */
        for (Py_ssize_t i = 1; i < n; i++) {
            uint64_t value = here[i];
            Py_ssize_t at = i;
            for (; at > 0 && here[at - 1] > value; at--)
                here[at] = here[at - 1];
            here[at] = value;
        }
        if ((DIGITS - 1 - first) % 2)
            memcpy(there, here, sizeof(uint64_t) * (size_t)n);
        return;
    }
    Py_ssize_t counts[DIGITS][256];
    memset(counts[first], 0, sizeof(Py_ssize_t) * 256 * (size_t)(DIGITS - 1 - first));
    for (Py_ssize_t i = 0; i < n; i++)
        for (int d = first; d < DIGITS - 1; d++)
            counts[d][(here[i] >> (8 * d)) & 0xFF]++;
    for (int d = first; d < DIGITS - 1; d++) {
        offsets_of(counts[d]);
        scatter(here, n, 0, d, counts[d], there);
        uint64_t *swap = here;
        here = there;
        there = swap;
    }
}

/* values -> out, the top 8 * passes bits of each (rotated) value in ascending order. The
 * top digit first, from memory, into out: 256 runs of about n / 256 values, each small
 * enough to stay in cache while the lower digits sort it (least significant first, stable)
 * between out and a room as long as the longest run; a run that ends in the room is copied
 * back while it is in the cache. No scratch as long as the values: the measured machine's
 * fresh pages cost more than the sort (1M values wholly: 12-15 ms, against 20-25 ms with
 * such a scratch, and 26 ms for eight passes over all of them). Returns -1 when the room
 * cannot be had. */
int radix_sort(const uint64_t *values, Py_ssize_t n, int rotate, int passes, uint64_t *out)
{
    Py_ssize_t counts[256] = {0}, starts[257], longest = 1;
    const int top = DIGITS - 1, first = DIGITS - passes; /* the digits sorted on */
    for (Py_ssize_t i = 0; i < n; i++)
        counts[rotated(values[i], rotate) >> (8 * top)]++;
    for (int b = 0; b < 256; b++)
        longest = counts[b] > longest ? counts[b] : longest;
    uint64_t *room = passes > 1 ? PyMem_RawMalloc(sizeof(uint64_t) * (size_t)longest) : NULL;
    if (passes > 1 && room == NULL)
        return -1;
    offsets_of(counts);
    memcpy(starts, counts, sizeof counts);
    starts[256] = n;
    scatter(values, n, rotate, top, counts, out);
    const int in_room = (DIGITS - 1 - first) % 2; /* an odd number of lower passes */
    for (int b = 0; b < 256 && passes > 1; b++) {
        Py_ssize_t length = starts[b + 1] - starts[b];
        sort_run(out + starts[b], room, length, first);
        if (in_room)
            memcpy(out + starts[b], room, sizeof(uint64_t) * (size_t)length);
    }
    PyMem_RawFree(room);
    return 0;
}

/* sorted_hashes(values, rotate, passes, out): values (n,) uint64, rotated left by `rotate`
 * bits (0-63), into out (n,) uint64 ordered by their top 8 * passes bits (passes 1-8; 8:
 * wholly sorted). Both aligned to 8 bytes and apart: values read while out is written
 * must not change. */
PyObject *sorted_hashes(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *objects[2];
    int rotate, passes;
    if (!PyArg_ParseTuple(args, "OiiO:sorted_hashes", &objects[0], &rotate, &passes,
                          &objects[1]))
        return NULL;
    Held held[2];
    memset(held, 0, sizeof held);
    for (int i = 0; i < 2; i++)
        if (take(objects[i], &held[i], i ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS
                                          : PyBUF_C_CONTIGUOUS) < 0) {
            release(held, 2);
            return NULL;
        }
    Py_ssize_t bytes = held[0].view.len;
    if (rotate < 0 || rotate > 63 || passes < 1 || passes > DIGITS || bytes % 8 ||
        held[1].view.len != bytes || overlapping(held, 2) || !aligned(held, 2, 8)) {
        release(held, 2);
        PyErr_SetString(PyExc_ValueError, "sorted_hashes: values, rotate, passes or out "
                        "wrong");
        return NULL;
    }
    int sorted;
    Py_BEGIN_ALLOW_THREADS
    sorted = radix_sort(held[0].view.buf, bytes / 8, rotate, passes, held[1].view.buf);
    Py_END_ALLOW_THREADS
    release(held, 2);
    if (sorted < 0)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}
