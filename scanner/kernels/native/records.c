/* The fixed bytes, label and address of large records. */
#include "native.h"

/* 1 when the record's bytes at fixed[] equal expected[] and its label varint of `width`
 * bytes at label_at (-1: none) ends exactly there; the label as protobuf's int32 reads it. */
static int record_head(const uint8_t *p, Py_ssize_t length, const int64_t *fixed,
                       const uint8_t *expected, Py_ssize_t fixed_n, Py_ssize_t label_at,
                       Py_ssize_t width, int64_t *label)
{
    for (Py_ssize_t i = 0; i < fixed_n; i++)
        if (fixed[i] < 0 || fixed[i] >= length || p[fixed[i]] != expected[i])
            return 0;
    *label = 0;
    if (label_at < 0)
        return 1;
    if (width < 1 || width > 10 || label_at + width > length)
        return 0;
    uint64_t value = 0;
    for (Py_ssize_t i = 0; i < width; i++) {
        if ((i < width - 1) != ((p[label_at + i] & 0x80) != 0))
            return 0;
        value |= (uint64_t)(p[label_at + i] & 0x7F) << (7 * i);
    }
    *label = (int32_t)(uint32_t)(value & 0xFFFFFFFFu);
    return 1;
}

typedef struct {
    Py_ssize_t fixed_n, label_at, width;
    Held *held;
} Heads;

static int head_one(const Py_buffer *record, Py_ssize_t n, void *context)
{
    const Heads *h = context;
    ((int64_t *)h->held[3].view.buf)[n] = (int64_t)(intptr_t)record->buf;
    return record_head(record->buf, record->len, h->held[0].view.buf, h->held[1].view.buf,
                       h->fixed_n, h->label_at, h->width, (int64_t *)h->held[2].view.buf + n);
}

PyObject *record_heads(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *records, *objects[4];
    Heads h;
    if (!PyArg_ParseTuple(args, "OOOnnOO:record_heads", &records, &objects[0], &objects[1],
                          &h.label_at, &h.width, &objects[2], &objects[3]))
        return NULL;
    PyObject *sequence = PySequence_Tuple(records); /* owns its items while the GIL is off */
    if (sequence == NULL)
        return NULL;
    Held held[4];
    memset(held, 0, sizeof held);
    h.held = held;
    Py_ssize_t records_n = PyTuple_GET_SIZE(sequence), failed = -2;
    for (int i = 0; i < 4; i++)
        if (take(objects[i], &held[i], (i >= 2 ? PyBUF_WRITABLE : 0) | PyBUF_C_CONTIGUOUS) < 0)
            goto done;
    h.fixed_n = held[0].view.len / 8;
    if (held[0].view.len % 8 || held[1].view.len != h.fixed_n ||
            held[2].view.len != 8 * records_n || held[3].view.len != 8 * records_n) {
        PyErr_SetString(PyExc_ValueError, "buffers of the wrong size");
        goto done;
    }
    failed = each_record(sequence, head_one, &h);
done:
    release(held, 4);
    Py_DECREF(sequence);
    return failed < -1 ? NULL : PyLong_FromSsize_t(failed);
}
