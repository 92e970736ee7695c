/* The buffers the module takes from Python, released on every way out. */
#include "native.h"

void release(Held *held, int count)
{
    for (int i = 0; i < count; i++)
        if (held[i].held)
            PyBuffer_Release(&held[i].view);
}

int take(PyObject *object, Held *held, int flags)
{
    if (PyObject_GetBuffer(object, &held->view, flags) < 0)
        return -1;
    held->held = 1;
    return 0;
}

/* Does any of the `count` buffers share a byte with another? */
int overlapping(const Held *held, int count)
{
    for (int i = 0; i < count; i++)
        for (int j = i + 1; j < count; j++) {
            const char *a = held[i].view.buf, *b = held[j].view.buf;
            if (held[i].view.len && held[j].view.len && a < b + held[j].view.len &&
                    b < a + held[i].view.len)
                return 1;
        }
    return 0;
}

/* Are all `count` buffers at addresses that are multiples of `alignment`? */
int aligned(const Held *held, int count, size_t alignment)
{
    for (int i = 0; i < count; i++)
        if ((uintptr_t)held[i].view.buf % alignment)
            return 0;
    return 1;
}

/* Outputs: `count` writable C-contiguous buffers of exactly lengths[i] bytes. */
int take_sized(PyObject **objects, Held *held, int count, const Py_ssize_t *lengths)
{
    for (int i = 0; i < count; i++) {
        if (take(objects[i], &held[i], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
            return -1;
        if (held[i].view.len != lengths[i]) {
            PyErr_SetString(PyExc_ValueError, "output buffer of the wrong size");
            return -1;
        }
    }
    return 0;
}

/* The outputs: four C-contiguous buffers of `rows` items of the given sizes. */
int take_outputs(PyObject **objects, Held *held, Py_ssize_t rows, const Py_ssize_t *sizes)
{
    const Py_ssize_t lengths[4] = {rows * sizes[0], rows * sizes[1], rows * sizes[2],
                                   rows * sizes[3]};
    return take_sized(objects, held, 4, lengths);
}

/* An error set unless offset and shape are not negative and every size the float_data
 * passes compute from them fits a Py_ssize_t: records * channels rows of 8-byte figures,
 * channels * length elements of 5 bytes, and records of those elements copied out as
 * 4-byte values. */
int valid_elements(Py_ssize_t offset, Py_ssize_t records, Py_ssize_t channels,
                   Py_ssize_t length)
{
    Py_ssize_t rows, figures, elements, element_bytes, values, value_bytes;
    if (offset < 0 || records < 0 || channels < 0 || length < 0 ||
            __builtin_mul_overflow(records, channels, &rows) ||
            __builtin_mul_overflow(rows, (Py_ssize_t)8, &figures) ||
            __builtin_mul_overflow(channels, length, &elements) ||
            __builtin_mul_overflow(elements, (Py_ssize_t)5, &element_bytes) ||
            __builtin_mul_overflow(records, elements, &values) ||
            __builtin_mul_overflow(values, (Py_ssize_t)4, &value_bytes)) {
        PyErr_SetString(PyExc_ValueError, "negative or too large offset or shape");
        return -1;
    }
    return 0;
}

/* values: a 3-d buffer of `itemsize` items whose last axis is contiguous. */
int take_values(PyObject *object, Held *held, Py_ssize_t itemsize)
{
    if (take(object, held, PyBUF_RECORDS_RO) < 0)
        return -1;
    Py_buffer *v = &held->view;
    if (v->ndim != 3 || v->itemsize != itemsize || v->strides[2] != itemsize) {
        PyErr_SetString(PyExc_ValueError, "values must be 3-d with a contiguous last axis");
        return -1;
    }
    return 0;
}

/* visit(buffer, n, context) on each record of a tuple of buffers, in turn, until one
 * returns 0: that record's index; -1 when every one passed; -2 (a Python error set) when
 * a record is no buffer. */
Py_ssize_t each_record(PyObject *sequence, int (*visit)(const Py_buffer *, Py_ssize_t, void *),
                       void *context)
{
    Py_ssize_t records_n = PyTuple_GET_SIZE(sequence);
    for (Py_ssize_t n = 0; n < records_n; n++) {
        Held record;
        memset(&record, 0, sizeof record);
        if (take(PyTuple_GET_ITEM(sequence, n), &record, PyBUF_SIMPLE) < 0)
            return -2;
        int passed = visit(&record.view, n, context);
        release(&record, 1);
        if (!passed)
            return n;
    }
    return -1;
}
