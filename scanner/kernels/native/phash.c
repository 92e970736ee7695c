/* The perceptual hash (pHash) of small pictures, with AVX2 and FMA only (elsewhere numpy
 * computes it): a grey picture taken from the samples at a stride, its 8 lowest DCT
 * frequencies along the rows and then the columns by two float32 products, and each of
 * the 64 against their median. The grey pictures are phash_grey.c's, the median
 * phash_median.c's. A raw 28x28 record: 110 ns (165 before the rows went eight at a time
 * and one plain channel's rows were converted eight values at a time): 40 ns the median,
 * the rest the grey and the products. Taking a sample's bits after the next one's
 * products, so that the two overlap, measured slower (121 ns). */
#include "phash.h"

#define INLINE AVX2 static inline __attribute__((always_inline))

/* along[y] = the 8 frequencies across grid row y, for `block` rows at once (one
 * accumulator each, so that the products do not wait on each other); grey point (y, x) is
 * at grey[y * row_step + x * col_step]; each sum in the order of its terms. */
INLINE void across_rows(const float *grey, Py_ssize_t row_step, Py_ssize_t col_step,
                        Py_ssize_t cols, const float *across, float *along, const int block)
{
    __m256 sums[8];
#pragma GCC unroll 8
    for (int r = 0; r < block; r++)
        sums[r] = _mm256_setzero_ps();
    for (Py_ssize_t x = 0; x < cols; x++) {
        __m256 w = _mm256_loadu_ps(across + 8 * x);
        const float *g = grey + x * col_step;
#pragma GCC unroll 8
        for (int r = 0; r < block; r++)
            sums[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(g + r * row_step), w, sums[r]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < block; r++) /* unaligned: PyMem_Malloc gives 16 bytes */
        _mm256_storeu_ps(along + 8 * r, sums[r]);
}

/* grey (rows x cols points, at row_step and col_step floats) -> the 8 x 8 frequencies:
 * across (cols x 8) along each row, eight rows at a time, then down (8 x rows) along the
 * columns, the eight frequencies at a time. */
AVX2 static uint64_t hash_grey(const float *grey, Py_ssize_t rows, Py_ssize_t cols,
                               Py_ssize_t row_step, Py_ssize_t col_step,
                               const float *across, const float *down, float *along)
{
    Py_ssize_t y = 0;
    for (; y + 8 <= rows; y += 8)
        across_rows(grey + y * row_step, row_step, col_step, cols, across, along + 8 * y, 8);
    if (y + 4 <= rows) {
        across_rows(grey + y * row_step, row_step, col_step, cols, across, along + 8 * y, 4);
        y += 4;
    }
    if (y + 2 <= rows) {
        across_rows(grey + y * row_step, row_step, col_step, cols, across, along + 8 * y, 2);
        y += 2;
    }
    if (y < rows)
        across_rows(grey + y * row_step, row_step, col_step, cols, across, along + 8 * y, 1);
    __m256 frequencies[8];
    for (int v = 0; v < 8; v++)
        frequencies[v] = _mm256_setzero_ps();
    for (y = 0; y < rows; y++) {
        __m256 a = _mm256_loadu_ps(along + 8 * y);
        for (int v = 0; v < 8; v++)
            frequencies[v] = _mm256_fmadd_ps(_mm256_set1_ps(down[v * rows + y]), a,
                                             frequencies[v]);
    }
    return phash_bits(frequencies);
}

/* The hash of one sample of bytes at the grid's points, `grey` room for grey_room floats:
 * its grey picture (one plain channel's rows converted whole) and its frequencies. */
AVX2 uint64_t phash_of_bytes(const char *sample, const Grid *g, int plain, const float *across,
                             const float *down, float *grey, float *along)
{
    if (!plain) {
        grey_of_bytes(sample, g, grey);
        return hash_grey(grey, g->rows, g->cols, g->cols, 1, across, down, along);
    }
    grey_of_plain_rows(sample, g, grey);
    return hash_grey(grey, g->rows, g->cols, plain_span(g), g->col_stride, across, down, along);
}

/* The hash of one sample of float32 values at the grid's points (as phash takes them). */
AVX2 uint64_t phash_of_floats(const char *sample, const Grid *g, const float *across,
                              const float *down, float *grey, float *along)
{
    grey_of_floats(sample, g, grey);
    return hash_grey(grey, g->rows, g->cols, g->cols, 1, across, down, along);
}

/* The floats of the grey picture of a sample on this grid (plain: as phash_of_bytes takes
 * it). */
Py_ssize_t grey_room(const Grid *g, int plain)
{
    return g->rows * (plain ? plain_span(g) : g->cols);
}

/* phash(values, height, width, step_y, step_x, across, down, out[, weights]): values
 * (n, C, L) uint8 or float32 samples of height x width pixels; each one's grey picture at
 * every step_y-th row and step_x-th column (rows x cols points) is hashed with across
 * (cols x 8, the frequencies the highest first: phash_bits) and down (8 x rows) float32,
 * the hashes going to out (n,) uint64. weights (C float32, uint8 samples only): the grey
 * is the channels' weighted sum. */
PyObject *phash(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *objects[5] = {NULL, NULL, NULL, NULL, Py_None};
    Py_ssize_t height, width, step_y, step_x;
    if (!PyArg_ParseTuple(args, "OnnnnOOO|O:phash", &objects[0], &height, &width, &step_y,
                          &step_x, &objects[1], &objects[2], &objects[3], &objects[4]))
        return NULL;
    Held held[5];
    memset(held, 0, sizeof held);
    float *grey = NULL;
    float *along = NULL;
    if (take(objects[0], &held[0], PyBUF_RECORDS_RO) < 0 ||
            take(objects[1], &held[1], PyBUF_C_CONTIGUOUS) < 0 ||
            take(objects[2], &held[2], PyBUF_C_CONTIGUOUS) < 0 ||
            take(objects[3], &held[3], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0 ||
            (objects[4] != Py_None && take(objects[4], &held[4], PyBUF_C_CONTIGUOUS) < 0))
        goto fail;
    Py_buffer *v = &held[0].view;
    Grid g = {0, 0, 0, 0, 0, 0, held[4].held ? held[4].view.buf : NULL};
    if (grid_of(height, width, step_y, step_x, &g) < 0 || v->ndim != 3 ||
            __builtin_mul_overflow(step_y * width, v->strides[2], &g.row_stride) ||
            __builtin_mul_overflow(step_x, v->strides[2], &g.col_stride)) {
        PyErr_SetString(PyExc_ValueError, "phash: a size or a step out of range");
        goto fail;
    }
    if (!has_avx2 || (v->itemsize != 1 && v->itemsize != 4) ||
            v->shape[2] != height * width || v->shape[1] < 1 ||
            held[1].view.len != 4 * 8 * g.cols || held[2].view.len != 4 * 8 * g.rows ||
            held[3].view.len != 8 * v->shape[0] ||
            (held[4].held && (v->itemsize != 1 || held[4].view.len != 4 * v->shape[1])) ||
            !aligned(held + 1, 2, 4) || !aligned(held + 3, 1, 8) || !aligned(held + 4, 1, 4)) {
        PyErr_SetString(PyExc_ValueError, "phash: values, matrices or out of the wrong shape");
        goto fail;
    }
    g.channels = v->shape[1];
    g.channel_stride = v->strides[1];
    const int plain = plain_rows(&g, v->itemsize);
    grey = PyMem_Malloc(sizeof(float) * (size_t)grey_room(&g, plain));
    along = PyMem_Malloc(sizeof(float) * 8 * (size_t)g.rows);
    if (!grey || !along) {
        PyErr_NoMemory();
        goto fail;
    }
    const float *across = held[1].view.buf, *down = held[2].view.buf;
    uint64_t *out = held[3].view.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t n = 0; n < v->shape[0]; n++) {
        const char *sample = (const char *)v->buf + n * v->strides[0];
        if (v->itemsize == 1) {
            out[n] = phash_of_bytes(sample, &g, plain, across, down, grey, along);
            continue;
        }
        grey_of_floats(sample, &g, grey);
        out[n] = hash_grey(grey, g.rows, g.cols, g.cols, 1, across, down, along);
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(grey);
    PyMem_Free(along);
    release(held, 5);
    Py_RETURN_NONE;
fail:
    PyMem_Free(grey);
    PyMem_Free(along);
    release(held, 5);
    return NULL;
}

#define CHANNELS_MAX 4096 /* with SIDE_MAX, a sample's bytes fit a Py_ssize_t */

/* The hashing of a sequence of buffers, one sample (or picture) each. */
typedef struct {
    Py_ssize_t offset, need; /* where the first value lies; the bytes a buffer needs */
    int plain; /* pictures of one plain channel (grey_of_plain_rows) */
    const Grid *grid;
    const float *across, *down;
    float *grey, *along;
    uint64_t *out;
    uint8_t *flat; /* pictures: 1 where the grey picture is one value (hash 0), else 0 */
} EachHash;

/* each_record over the sequence with room for the grey picture and the products, freed
 * after; -2 with MemoryError set when there is none. */
static Py_ssize_t hash_each(PyObject *sequence, int (*visit)(const Py_buffer *, Py_ssize_t,
                                                             void *), EachHash *h)
{
    Py_ssize_t failed = -2;
    h->grey = PyMem_Malloc(sizeof(float) * (size_t)(h->grid->rows * h->grid->cols));
    h->along = PyMem_Malloc(sizeof(float) * 8 * (size_t)h->grid->rows);
    if (!h->grey || !h->along)
        PyErr_NoMemory();
    else
        failed = each_record(sequence, visit, h);
    PyMem_Free(h->grey);
    PyMem_Free(h->along);
    return failed;
}

static int phash_one(const Py_buffer *record, Py_ssize_t n, void *context)
{
    EachHash *t = context;
    if (record->len < t->need || record->len - t->need < t->offset)
        return 0;
    grey_of_floats((const char *)record->buf + t->offset + 1, t->grid, t->grey);
    t->out[n] = hash_grey(t->grey, t->grid->rows, t->grid->cols, t->grid->cols, 1, t->across,
                          t->down, t->along);
    return 1;
}

/* phash_tagged(records, offset, channels, height, width, step_y, step_x, across, down,
 * out): as phash, of unpacked float_data samples left in their records (a tag byte before
 * each 4-byte value, the first tag at offset). Returns the index of the first record too
 * short, or -1. */
PyObject *phash_tagged(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *records, *objects[3];
    Py_ssize_t offset, channels, height, width, step_y, step_x;
    if (!PyArg_ParseTuple(args, "OnnnnnnOOO:phash_tagged", &records, &offset, &channels,
                          &height, &width, &step_y, &step_x, &objects[0], &objects[1],
                          &objects[2]))
        return NULL;
    PyObject *sequence = PySequence_Tuple(records);
    if (sequence == NULL)
        return NULL;
    Held held[3];
    memset(held, 0, sizeof held);
    Grid g = {channels, 0, 0, 0, 0, 0, NULL};
    EachHash t = {offset, 0, 0, &g, NULL, NULL, NULL, NULL, NULL, NULL};
    Py_ssize_t failed = -2;
    if (channels > 0 && channels <= CHANNELS_MAX && offset >= 0 &&
            grid_of(height, width, step_y, step_x, &g) == 0) {
        g.channel_stride = 5 * height * width; /* at most 5 * 2**40 */
        g.row_stride = 5 * width * step_y;
        g.col_stride = 5 * step_x;
        t.need = channels * g.channel_stride;
    } else {
        g.rows = 0;
    }
    for (int i = 0; i < 3; i++)
        if (take(objects[i], &held[i], i < 2 ? PyBUF_C_CONTIGUOUS
                                              : PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
            goto done;
    if (!has_avx2 || !g.rows || held[0].view.len != 4 * 8 * g.cols ||
            held[1].view.len != 4 * 8 * g.rows ||
            held[2].view.len != 8 * PyTuple_GET_SIZE(sequence) || !aligned(held, 2, 4) ||
            !aligned(held + 2, 1, 8)) {
        PyErr_SetString(PyExc_ValueError, "phash_tagged: shape, matrices or out wrong");
        goto done;
    }
    t.across = held[0].view.buf;
    t.down = held[1].view.buf;
    t.out = held[2].view.buf;
    failed = hash_each(sequence, phash_one, &t);
done:
    release(held, 3);
    Py_DECREF(sequence);
    return failed < -1 ? NULL : PyLong_FromSsize_t(failed);
}

static int hash_picture(const Py_buffer *picture, Py_ssize_t n, void *context)
{
    EachHash *p = context;
    const Grid *g = p->grid;
    if (picture->len != p->need)
        return 0;
    if (p->plain)
        grey_of_plain_rows(picture->buf, g, p->grey);
    else
        grey_of_bytes(picture->buf, g, p->grey);
    Py_ssize_t at = 1, points = g->rows * g->cols; /* the grid's points lie side by side */
    while (at < points && p->grey[at] == p->grey[0])
        at++;
    p->flat[n] = at == points; /* no detail: its frequencies would be rounding noise */
    p->out[n] = p->flat[n] ? 0 : hash_grey(p->grey, g->rows, g->cols, g->cols, 1, p->across,
                                           p->down, p->along);
    return 1;
}

/* phash_pictures(pictures, height, width, channels, across, down, out, flat[, weights]): as
 * phash, of decoded pictures each in a buffer of its own (contiguous height x width x
 * channels bytes, the channels of a pixel side by side), no copy of them stacked; flat (n,)
 * uint8 gets 1 for a picture of one grey value (blank: its hash is left 0); weights
 * (channels float32) or None: the channels added. Returns the index of the first picture
 * of another size, or -1. */
PyObject *phash_pictures(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *pictures, *objects[5] = {NULL, NULL, NULL, NULL, Py_None};
    Py_ssize_t height, width, channels;
    if (!PyArg_ParseTuple(args, "OnnnOOOO|O:phash_pictures", &pictures, &height, &width,
                          &channels, &objects[0], &objects[1], &objects[2], &objects[3],
                          &objects[4]))
        return NULL;
    PyObject *sequence = PySequence_Tuple(pictures);
    if (sequence == NULL)
        return NULL;
    Held held[5];
    memset(held, 0, sizeof held);
    Grid g = {channels, 1, 0, channels, 0, 0, NULL};
    EachHash p = {0, 0, 0, &g, NULL, NULL, NULL, NULL, NULL, NULL};
    Py_ssize_t failed = -2;
    for (int i = 0; i < 5; i++) {
        const int written = i == 2 || i == 3; /* out and flat */
        if ((i < 4 || objects[i] != Py_None) &&
                take(objects[i], &held[i], written ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS
                                                   : PyBUF_C_CONTIGUOUS) < 0)
            goto done;
    }
    if (!has_avx2 || channels < 1 || channels > CHANNELS_MAX ||
            grid_of(height, width, 1, 1, &g) < 0 ||
            held[0].view.len != 4 * 8 * g.cols || held[1].view.len != 4 * 8 * g.rows ||
            held[2].view.len != 8 * PyTuple_GET_SIZE(sequence) ||
            held[3].view.len != PyTuple_GET_SIZE(sequence) || overlapping(held + 2, 2) ||
            (held[4].held && held[4].view.len != 4 * channels) || !aligned(held, 2, 4) ||
            !aligned(held + 2, 1, 8) || !aligned(held + 4, 1, 4)) {
        PyErr_SetString(PyExc_ValueError, "phash_pictures: sizes, matrices or outputs wrong");
        goto done;
    }
    g.weights = held[4].held ? held[4].view.buf : NULL;
    g.row_stride = width * channels; /* at most 2**52 */
    p.need = height * g.row_stride;
    p.plain = plain_rows(&g, 1);
    p.across = held[0].view.buf;
    p.down = held[1].view.buf;
    p.out = held[2].view.buf;
    p.flat = held[3].view.buf;
    failed = hash_each(sequence, hash_picture, &p);
done:
    release(held, 5);
    Py_DECREF(sequence);
    return failed < -1 ? NULL : PyLong_FromSsize_t(failed);
}
