/* Records of one length joined side by side, as b"".join would, and the fingerprints of
 * their raw payloads taken as each record is copied: the exact hash (hashes.c) and the
 * perceptual one (phash.c) then read the record from the cache, not from memory again.
 * They read the record itself, not its copy just stored, which measured faster (200k raw
 * 28x28 records of an LMDB, batches of 2048: 0.43-0.55 us a record for the copy and both
 * hashes, against 0.50-0.71 reading the copy, and 0.26 for b"".join alone; that the loads
 * of the copy waited on its stores is a guess). In one process, batches in memory: 0.36 us
 * against 0.43 for b"".join and the two hashes over the joined batch. */
#include "phash.h"

typedef struct {
    Py_ssize_t length, payload_at, payload; /* bytes: a record, its payload's start, size */
    char *rows;
    const uint32_t *keys;
    uint64_t tag;
    uint64_t *exact;
    SamplePictures *pictures; /* NULL: no perceptual hash (the samples are no pictures) */
} Joining;

static int join_one(const Py_buffer *record, Py_ssize_t n, void *context)
{
    Joining *j = context;
    if (record->len != j->length)
        return 0;
    char *row = j->rows + n * j->length;
    memcpy(row, record->buf, (size_t)j->length);
    const char *payload = (const char *)record->buf + j->payload_at; /* not row: see above */
    j->exact[n] = row_hash(payload, j->payload, j->keys, j->tag);
    if (j->pictures)
        picture_hashed(j->pictures, payload, n);
    return 1;
}

/* joined_prints(records, length, rows, payload_at, channels, height, width, keys, tag,
 * exact, step_y, step_x, across, down, perceptual): records (buffers of `length` bytes)
 * copied into rows (n * length bytes); each one's payload, channels x height x width bytes
 * at payload_at, hashed as row_hashes would (keys, tag) into exact (n,) uint64 and, when
 * across is not None, as phash would the samples (n, channels, height * width) into
 * perceptual (n,) uint64 (AVX2 only). Returns the index of the first record of another
 * length (the rows before it are done), or -1. */
PyObject *joined_prints(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *records, *objects[6];
    Py_ssize_t length, payload_at, channels, height, width, step_y, step_x;
    unsigned long long tag;
    if (!PyArg_ParseTuple(args, "OnOnnnnOKOnnOOO:joined_prints", &records, &length,
                          &objects[0], &payload_at, &channels, &height, &width, &objects[1],
                          &tag, &objects[2], &step_y, &step_x, &objects[3], &objects[4],
                          &objects[5]))
        return NULL;
    PyObject *sequence = PySequence_Tuple(records); /* owns its items while they are read */
    if (sequence == NULL)
        return NULL;
    const Py_ssize_t n = PyTuple_GET_SIZE(sequence);
    const int perceptual = objects[3] != Py_None;
    Held held[6];
    memset(held, 0, sizeof held);
    SamplePictures pictures = {.grey = NULL, .along = NULL};
    Joining j = {length, payload_at, 0, NULL, NULL, tag, NULL, NULL};
    Py_ssize_t failed = -2;
    for (int i = 0; i < (perceptual ? 6 : 3); i++) {
        const int written = i == 0 || i == 2 || i == 5;
        if (take(objects[i], &held[i], written ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS
                                               : PyBUF_C_CONTIGUOUS) < 0)
            goto done;
    }
    if (channels < 1 || height < 1 || width < 1 || height > SIDE_MAX || width > SIDE_MAX ||
            __builtin_mul_overflow(channels, height * width, &j.payload) ||
            payload_at < 0 || payload_at > length - j.payload ||
            __builtin_mul_overflow(n, length, &(Py_ssize_t){0}) ||
            held[0].view.len != n * length || held[2].view.len != 8 * n ||
            held[1].view.len != 4 * (2 * HASH_PAIRS + 2) || !aligned(held + 1, 1, 4) ||
            !aligned(held + 2, 1, 8)) {
        PyErr_SetString(PyExc_ValueError, "joined_prints: sizes, keys or out wrong");
        goto done;
    }
    j.rows = held[0].view.buf;
    j.keys = held[1].view.buf;
    j.exact = held[2].view.buf;
    if (perceptual) {
        if (byte_pictures_open(&pictures, held + 3, held + 5, n, channels, height, width,
                               step_y, step_x) < 0)
            goto done;
        j.pictures = &pictures;
    }
    failed = each_record(sequence, join_one, &j);
done:
    pictures_close(&pictures);
    release(held, 6);
    Py_DECREF(sequence);
    return failed < -1 ? NULL : PyLong_FromSsize_t(failed);
}
