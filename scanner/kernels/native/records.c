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

PyObject *record_heads(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *records, *objects[4];
    Py_ssize_t label_at, width;
    if (!PyArg_ParseTuple(args, "OOOnnOO:record_heads", &records, &objects[0], &objects[1],
                          &label_at, &width, &objects[2], &objects[3]))
        return NULL;
    PyObject *sequence = PySequence_Fast(records, "records must be a sequence");
    if (sequence == NULL)
        return NULL;
    Held held[4];
    memset(held, 0, sizeof held);
    Py_ssize_t records_n = PySequence_Fast_GET_SIZE(sequence), failed = -1;
    for (int i = 0; i < 4; i++)
        if (take(objects[i], &held[i], (i >= 2 ? PyBUF_WRITABLE : 0) | PyBUF_C_CONTIGUOUS) < 0)
            goto done;
    Py_ssize_t fixed_n = held[0].view.len / 8;
    if (held[1].view.len != fixed_n || held[2].view.len != 8 * records_n ||
            held[3].view.len != 8 * records_n) {
        PyErr_SetString(PyExc_ValueError, "buffers of the wrong size");
        goto done;
    }
    for (Py_ssize_t n = 0; n < records_n && failed < 0; n++) {
        Held record;
        memset(&record, 0, sizeof record);
        if (take(PySequence_Fast_GET_ITEM(sequence, n), &record, PyBUF_SIMPLE) < 0)
            goto done;
        if (!record_head(record.view.buf, record.view.len, held[0].view.buf,
                         held[1].view.buf, fixed_n, label_at, width,
                         (int64_t *)held[2].view.buf + n))
            failed = n;
        ((int64_t *)held[3].view.buf)[n] = (int64_t)(intptr_t)record.view.buf;
        release(&record, 1);
    }
    release(held, 4);
    Py_DECREF(sequence);
    return PyLong_FromSsize_t(failed);
done:
    release(held, 4);
    Py_DECREF(sequence);
    return NULL;
}
