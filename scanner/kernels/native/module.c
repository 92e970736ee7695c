/* dscan's compiled inner loops (scanner.kernels._native): one pass over sample values for
 * the figures the value checks and the statistics need. Arrays come in and go out through
 * the buffer protocol, so the module needs no numpy headers; the Python side allocates the
 * outputs and checks shapes. Records come as any sequence of buffers.
 *
 * byte_rows(values, sums, squares, mins, maxs): values (n, C, L) uint8 with L contiguous;
 *     per row of L bytes its exact sum and sum of squares (float64) and min and max (uint8).
 * float_rows(values, sums, squares, mins, maxs): values (n, C, L) float32, L contiguous
 *     (any alignment); sums and squares in float64, min and max in float32, NaN in both
 *     when the row holds a NaN (as numpy's min and max give).
 * byte_counts(values, counts): values (n, C, L) uint8 with L contiguous; the count of each
 *     byte value per channel added to counts (C, 256) int64.
 * record_heads(records, fixed, expected, label_at, width, labels, addresses): each record a
 *     buffer whose bytes at fixed (int64) must equal expected (uint8), with a label varint
 *     of `width` bytes at label_at (-1: none); labels (int64) and the buffers' addresses
 *     (int64) go out. Returns the index of the first record that differs, or -1.
 * unpack_tagged(records, offset, channels, length, out, keys, tag, sums, squares, mins,
 *     maxs, hashes): each record a buffer holding channels * length unpacked float_data
 *     elements (tag 0x35 and 4 value bytes) from `offset`; their figures, as float_rows
 *     gives them, go to the four (n, C) outputs. With out (n, C, L) float32 the values are
 *     copied there; without (None), with keys, their exact hashes (row_hashes' of the
 *     copied values, from `tag`) go to hashes (n,) uint64, taken a hash block at a time
 *     while the values pass through L1 and are not kept. Returns the index of the first
 *     record with another tag or too short, or -1.
 * row_hashes(rows, keys, tag, out): exact hashes of byte rows (see scanner.kernels).
 * hashed_byte_rows(values, keys, tag, exact, sums, squares, mins, maxs): row_hashes of
 *     each uint8 sample and byte_rows' figures, in one pass (hashed_bytes.c).
 * hashed_float_rows(values, keys, tag, exact, sums, squares, mins, maxs): the same for
 *     float32 samples of channels of a multiple of 16 values (hashed_floats.c).
 * phash(values, height, width, step_y, step_x, across, down, out): perceptual hashes of
 *     uint8 or float32 samples (n, C, height * width), AVX2 only (see phash.c); AVX2 says
 *     whether the processor has it.
 * phash_tagged(records, offset, channels, height, width, step_y, step_x, across, down, out):
 *     the same of unpacked float_data samples left in their records.
 * phash_pictures(pictures, height, width, channels, across, down, out, flat[, weights]):
 *     the same of decoded pictures, each in a buffer of its own; flat: the blank ones.
 * joined_prints(records, length, rows, payload_at, channels, height, width, keys, tag,
 *     exact, step_y, step_x, across, down, perceptual): records of one length copied side
 *     by side, each raw payload's exact and (across not None) perceptual hash taken as it
 *     is copied (prints.c).
 * band_pairs(hashes, shifts, width, flips, distance, limit): candidate pairs of the
 *     near-duplicate search, hashes that agree on a band or differ there by one of the
 *     flips (bands.c).
 * sorted_hashes(values, rotate, passes, out): uint64 hashes rotated left by
 *     `rotate` bits, ordered by their top 8 * passes bits into out (sorts.c).
 * band_neighbours(ordered, width, distance, turn, limit): the pairs of those within
 *     distance that share their top width bits, rotated back (bands.c).
 * repeated_values(values): the uint64 values that occur twice or more, once each,
 *     ascending (repeats.c).
 * jpeg_header(data): what scanner.jpeg_markers.read_header reads of a JPEG's markers, as
 *     (sof, precision, height, width, sampling, scan_at, junk, frames).
 */
#include "native.h"

int has_avx2, has_ssse3;

static PyObject *rows_of(PyObject *args, Py_ssize_t itemsize, int bytes)
{
    PyObject *objects[5];
    if (!PyArg_UnpackTuple(args, bytes ? "byte_rows" : "float_rows", 5, 5, &objects[0],
                           &objects[1], &objects[2], &objects[3], &objects[4]))
        return NULL;
    Held held[5];
    memset(held, 0, sizeof held);
    if (take_values(objects[0], &held[0], itemsize) < 0)
        goto fail;
    Py_buffer *v = &held[0].view;
    Py_ssize_t samples = v->shape[0], channels = v->shape[1], length = v->shape[2];
    const Py_ssize_t sizes[4] = {8, 8, itemsize, itemsize};
    if (take_outputs(objects + 1, held + 1, samples * channels, sizes) < 0)
        goto fail;
    double *sums = held[1].view.buf, *squares = held[2].view.buf;
    char *lows = held[3].view.buf, *highs = held[4].view.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t n = 0; n < samples; n++)
        for (Py_ssize_t c = 0; c < channels; c++) {
            const char *row = (const char *)v->buf + n * v->strides[0] + c * v->strides[1];
            Py_ssize_t at = n * channels + c;
            if (bytes)
                byte_row((const uint8_t *)row, length, sums + at, squares + at,
                         (uint8_t *)lows + at, (uint8_t *)highs + at);
            else
                float_row(row, length, sums + at, squares + at, (float *)lows + at,
                          (float *)highs + at);
        }
    Py_END_ALLOW_THREADS
    release(held, 5);
    Py_RETURN_NONE;
fail:
    release(held, 5);
    return NULL;
}

static PyObject *byte_rows(PyObject *Py_UNUSED(self), PyObject *args)
{
    return rows_of(args, 1, 1);
}

static PyObject *float_rows(PyObject *Py_UNUSED(self), PyObject *args)
{
    return rows_of(args, 4, 0);
}

static PyMethodDef methods[] = {
    {"byte_rows", byte_rows, METH_VARARGS, "Sums, squares, mins and maxs of uint8 rows."},
    {"float_rows", float_rows, METH_VARARGS, "Sums, squares, mins and maxs of float32 rows."},
    {"byte_counts", byte_counts, METH_VARARGS, "Counts of each byte value, per channel."},
    {"row_hashes", row_hashes, METH_VARARGS, "Exact hashes of value rows."},
    {"hashed_byte_rows", hashed_byte_rows, METH_VARARGS, "Byte rows' hashes and figures."},
    {"hashed_float_rows", hashed_float_rows, METH_VARARGS, "Float rows' hashes and figures."},
    {"record_heads", record_heads, METH_VARARGS, "Fixed bytes, labels and addresses."},
    {"phash", phash, METH_VARARGS, "Perceptual hashes of samples' grey pictures."},
    {"band_pairs", band_pairs, METH_VARARGS, "Pairs of hashes sharing a band."},
    {"jpeg_header", jpeg_header, METH_O, "A JPEG's header markers, walked."},
    {"phash_tagged", phash_tagged, METH_VARARGS, "Perceptual hashes of unpacked floats."},
    {"phash_pictures", phash_pictures, METH_VARARGS, "Perceptual hashes of pictures."},
    {"joined_prints", joined_prints, METH_VARARGS, "Records joined, their payloads hashed."},
    {"unpack_tagged", unpack_tagged, METH_VARARGS, "float_data: figures, values, hashes."},
    {"sorted_hashes", sorted_hashes, METH_VARARGS, "64-bit hashes rotated, radix-sorted."},
    {"band_neighbours", band_neighbours, METH_VARARGS, "Close pairs sharing a top band."},
    {"repeated_values", repeated_values, METH_O, "64-bit values that occur twice or more."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__native(void)
{
    __builtin_cpu_init();
    has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    has_ssse3 = __builtin_cpu_supports("ssse3");
    PyObject *created = PyModule_Create(&module);
    if (created && PyModule_AddIntConstant(created, "AVX2", has_avx2) < 0) {
        Py_DECREF(created);
        return NULL;
    }
    return created;
}

