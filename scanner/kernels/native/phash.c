/* The perceptual hash (pHash) of small pictures, with AVX2 and FMA only (elsewhere numpy
 * computes it): a grey picture taken from the samples at a stride, its 8 lowest DCT
 * frequencies along the rows and then the columns by two float32 products, and each of
 * the 64 against their median. The median comes from a bitonic sorting network: 8 columns
 * of 8 sorted across the registers, transposed into 8 sorted runs, merged into two runs
 * of 32; their half-cleaner splits the 64 into the 32 smallest and the 32 largest, and the
 * median is the mean of the largest of the one and the smallest of the other.
 * A raw 28x28 record: 110 ns (165 before the rows went eight at a time and one plain
 * channel's rows were converted eight values at a time): 40 ns the median, the rest the
 * grey and the products. */
#include "native.h"

#define AVX2 __attribute__((target("avx2,fma")))

#define INLINE AVX2 static inline __attribute__((always_inline))

INLINE void exchange(__m256 *a, __m256 *b)
{
    __m256 low = _mm256_min_ps(*a, *b);
    *b = _mm256_max_ps(*a, *b);
    *a = low;
}

INLINE __m256 reversed(__m256 x)
{
    return _mm256_permutevar8x32_ps(x, _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0));
}

/* A bitonic sequence of 8 lanes, sorted ascending: half-cleaners at distances 4, 2, 1. */
INLINE __m256 sort_bitonic(__m256 x)
{
    __m256 y = _mm256_permute2f128_ps(x, x, 0x01);
    x = _mm256_blend_ps(_mm256_min_ps(x, y), _mm256_max_ps(x, y), 0xF0);
    y = _mm256_permute_ps(x, _MM_SHUFFLE(1, 0, 3, 2));
    x = _mm256_blend_ps(_mm256_min_ps(x, y), _mm256_max_ps(x, y), 0xCC);
    y = _mm256_permute_ps(x, _MM_SHUFFLE(2, 3, 0, 1));
    return _mm256_blend_ps(_mm256_min_ps(x, y), _mm256_max_ps(x, y), 0xAA);
}

/* Lane by lane, r[0] <= ... <= r[7] (Batcher's odd-even merge network, 19 exchanges). */
INLINE void sort_columns(__m256 *r)
{
#define X(a, b) exchange(&r[a], &r[b])
    X(0, 1); X(2, 3); X(4, 5); X(6, 7); X(0, 2); X(1, 3); X(4, 6); X(5, 7); X(1, 2); X(5, 6);
    X(0, 4); X(1, 5); X(2, 6); X(3, 7); X(2, 4); X(3, 5); X(1, 2); X(3, 4); X(5, 6);
#undef X
}

INLINE void transpose(__m256 *r)
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* Two sorted runs of 8 (a, b) into one of 16: b reversed against a (the half-cleaner of a
 * bitonic sequence), then each half, bitonic, sorted. */
INLINE void merge8(__m256 *a, __m256 *b)
{
    __m256 other = reversed(*b);
    *b = sort_bitonic(_mm256_max_ps(*a, other));
    *a = sort_bitonic(_mm256_min_ps(*a, other));
}

/* Two sorted runs of 16 (r[0], r[1]; r[2], r[3]) into one of 32, as merge8. */
INLINE void merge16(__m256 *r)
{
    __m256 b0 = reversed(r[3]), b1 = reversed(r[2]);
    __m256 low0 = _mm256_min_ps(r[0], b0), low1 = _mm256_min_ps(r[1], b1);
    __m256 high0 = _mm256_max_ps(r[0], b0), high1 = _mm256_max_ps(r[1], b1);
    exchange(&low0, &low1);
    exchange(&high0, &high1);
    r[0] = sort_bitonic(low0);
    r[1] = sort_bitonic(low1);
    r[2] = sort_bitonic(high0);
    r[3] = sort_bitonic(high1);
}

INLINE float lane_max(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_permute2f128_ps(x, x, 0x01));
    x = _mm256_max_ps(x, _mm256_permute_ps(x, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm_cvtss_f32(_mm256_castps256_ps128(
        _mm256_max_ps(x, _mm256_permute_ps(x, _MM_SHUFFLE(2, 3, 0, 1)))));
}

INLINE float lane_min(__m256 x)
{
    x = _mm256_min_ps(x, _mm256_permute2f128_ps(x, x, 0x01));
    x = _mm256_min_ps(x, _mm256_permute_ps(x, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm_cvtss_f32(_mm256_castps256_ps128(
        _mm256_min_ps(x, _mm256_permute_ps(x, _MM_SHUFFLE(2, 3, 0, 1)))));
}

/* The median of 64 values without NaN: (32nd + 33rd smallest) / 2, as numpy's sort gives.
 * The two sorted runs of 32 need no last merge: its half-cleaner alone splits the 32
 * smallest from the 32 largest. */
AVX2 static float median_of(const __m256 *values)
{
    __m256 r[8];
    for (int i = 0; i < 8; i++)
        r[i] = values[i];
    sort_columns(r);
    transpose(r);
    merge8(&r[0], &r[1]);
    merge8(&r[2], &r[3]);
    merge8(&r[4], &r[5]);
    merge8(&r[6], &r[7]);
    merge16(r);
    merge16(r + 4);
    __m256 low = _mm256_min_ps(r[0], reversed(r[7])), high = _mm256_max_ps(r[0], reversed(r[7]));
    for (int i = 1; i < 4; i++) {
        __m256 other = reversed(r[7 - i]);
        low = _mm256_max_ps(low, _mm256_min_ps(r[i], other));
        high = _mm256_min_ps(high, _mm256_max_ps(r[i], other));
    }
    return (lane_max(low) + lane_min(high)) / 2.0f;
}

/* With a NaN among the values: numpy sorts them last, so the median is NaN (and no value is
 * above it) unless 33 or more are numbers. */
static float median_with_nan(const float *values)
{
    float numbers[64];
    int count = 0;
    for (int i = 0; i < 64; i++)
        if (values[i] == values[i]) {
            int at = count++;
            for (; at > 0 && numbers[at - 1] > values[i]; at--)
                numbers[at] = numbers[at - 1];
            numbers[at] = values[i];
        }
    return count < 33 ? NAN : (numbers[31] + numbers[32]) / 2.0f;
}

/* The hash of the 64 frequencies: bit 63 - i set when frequency i is above the median. */
AVX2 static uint64_t bits_of(const __m256 *frequencies)
{
    int nan = 0;
    for (int v = 0; v < 8; v++)
        nan |= _mm256_movemask_ps(_mm256_cmp_ps(frequencies[v], frequencies[v], _CMP_UNORD_Q));
    __m256 middle = _mm256_set1_ps(nan ? median_with_nan((const float *)frequencies)
                                       : median_of(frequencies));
    uint64_t hash = 0;
    for (int v = 0; v < 8; v++) {
        __m256 above = _mm256_cmp_ps(reversed(frequencies[v]), middle, _CMP_GT_OQ);
        hash |= (uint64_t)_mm256_movemask_ps(above) << (56 - 8 * v);
    }
    return hash;
}

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
    return bits_of(frequencies);
}

typedef struct {
    Py_ssize_t channels, channel_stride, row_stride, col_stride, rows, cols;
    const float *weights; /* one a channel (RGB to luma), or NULL: the channels added */
} Grid;

/* The luma of RGB pixels side by side (channel_stride 1, col_stride 3), eight at a time
 * where sixteen bytes from each of two loads lie in the row: each product rounded, then
 * each sum, in grey_of_bytes's order (no fused multiply-add, so the same bits). Returns
 * the points of each row done (the rest is grey_of_bytes's). */
__attribute__((target("avx2"), optimize("fp-contract=off")))
static Py_ssize_t grey_of_rgb(const char *sample, const Grid *g, float *grey)
{
    const Py_ssize_t done = g->cols >= 10 ? ((g->cols - 10) / 8 + 1) * 8 : 0;
    if (!done)
        return 0;
    const __m256i red = _mm256_setr_epi8(0, -1, -1, -1, 3, -1, -1, -1, 6, -1, -1, -1, 9, -1,
                                         -1, -1, 0, -1, -1, -1, 3, -1, -1, -1, 6, -1, -1, -1,
                                         9, -1, -1, -1);
    const __m256i one = _mm256_setr_epi8(1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                                         0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0);
    const __m256i green = _mm256_add_epi8(red, one), blue = _mm256_add_epi8(green, one);
    const __m256 w0 = _mm256_set1_ps(g->weights[0]), w1 = _mm256_set1_ps(g->weights[1]),
                 w2 = _mm256_set1_ps(g->weights[2]);
    const uint8_t *row = (const uint8_t *)sample;
    for (Py_ssize_t y = 0; y < g->rows; y++, row += g->row_stride, grey += g->cols)
        for (Py_ssize_t x = 0; x < done; x += 8) { /* bytes 3x to 3x + 27: in the row */
            __m256i pixels = _mm256_inserti128_si256(
                _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(row + 3 * x))),
                _mm_loadu_si128((const __m128i *)(row + 3 * x + 12)), 1);
            __m256 r = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(pixels, red));
            __m256 gr = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(pixels, green));
            __m256 b = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(pixels, blue));
            __m256 sum = _mm256_add_ps(_mm256_mul_ps(r, w0), _mm256_mul_ps(gr, w1));
            _mm256_storeu_ps(grey + x, _mm256_add_ps(sum, _mm256_mul_ps(b, w2)));
        }
    return done;
}

/* The grey picture of one sample: its channels (each times its weight) added in float32,
 * in order, at the grid's points. */
static void grey_of_bytes(const char *sample, const Grid *g, float *grey)
{
    if (g->weights && g->channels == 3 && g->channel_stride == 1) { /* RGB pixels: at once */
        const Py_ssize_t done = has_avx2 && g->col_stride == 3 ? grey_of_rgb(sample, g, grey)
                                                               : 0;
        const float w0 = g->weights[0], w1 = g->weights[1], w2 = g->weights[2];
        const uint8_t *row = (const uint8_t *)sample;
        for (Py_ssize_t y = 0; y < g->rows; y++, row += g->row_stride)
            for (Py_ssize_t x = done; x < g->cols; x++) {
                const uint8_t *pixel = row + x * g->col_stride;
                float sum = (float)pixel[0] * w0;
                sum = sum + (float)pixel[1] * w1;
                grey[y * g->cols + x] = sum + (float)pixel[2] * w2;
            }
        return;
    }
    for (Py_ssize_t c = 0; c < g->channels; c++) {
        const uint8_t *plane = (const uint8_t *)sample + c * g->channel_stride;
        float *out = grey, weight = g->weights ? g->weights[c] : 1.0f;
        for (Py_ssize_t y = 0; y < g->rows; y++, plane += g->row_stride)
            for (Py_ssize_t x = 0; x < g->cols; x++, out++) {
                float value = g->weights ? (float)plane[x * g->col_stride] * weight
                                         : (float)plane[x * g->col_stride];
                *out = c ? *out + value : value;
            }
    }
}

#define PLAIN_STEP_MAX 4 /* bytes between grid columns that plain rows convert whole */

/* Does the grey picture of these samples come from whole rows of one plain channel (one
 * byte a value, no weights, the grid's columns at most PLAIN_STEP_MAX bytes apart)? */
static int plain_rows(const Grid *g, Py_ssize_t itemsize)
{
    return itemsize == 1 && g->channels == 1 && !g->weights && g->col_stride >= 1 &&
           g->col_stride <= PLAIN_STEP_MAX;
}

/* The span of a grid row that plain_rows converts: its first to its last point. */
static Py_ssize_t plain_span(const Grid *g)
{
    return (g->cols - 1) * g->col_stride + 1;
}

/* The grey picture of one sample of one plain channel: each grid row's span converted
 * whole, eight values at a time (the grid's points: every col_stride-th of a span). */
AVX2 static void grey_of_plain_rows(const char *sample, const Grid *g, float *grey)
{
    const Py_ssize_t span = plain_span(g);
    const uint8_t *row = (const uint8_t *)sample;
    for (Py_ssize_t y = 0; y < g->rows; y++, row += g->row_stride, grey += span) {
        if (span < 8) {
            for (Py_ssize_t x = 0; x < span; x++)
                grey[x] = (float)row[x];
            continue;
        }
        for (Py_ssize_t x = 0;; x += 8) { /* the last eight end the span (again, in part) */
            if (x > span - 8)
                x = span - 8;
            __m128i bytes = _mm_loadl_epi64((const __m128i *)(row + x));
            _mm256_storeu_ps(grey + x, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)));
            if (x == span - 8)
                break;
        }
    }
}

/* As grey_of_bytes, of float32 samples; a sum that is not finite counts as 0. */
static void grey_of_floats(const char *sample, const Grid *g, float *grey)
{
    for (Py_ssize_t c = 0; c < g->channels; c++) {
        const char *plane = sample + c * g->channel_stride;
        float *out = grey;
        for (Py_ssize_t y = 0; y < g->rows; y++, plane += g->row_stride)
            for (Py_ssize_t x = 0; x < g->cols; x++, out++) {
                float value;
                memcpy(&value, plane + x * g->col_stride, 4);
                *out = c ? *out + value : value;
            }
    }
    for (Py_ssize_t i = 0; i < g->rows * g->cols; i++)
        grey[i] = isfinite(grey[i]) ? grey[i] : 0.0f;
}

#define SIDE_MAX ((Py_ssize_t)1 << 20) /* pixels a side: no product of sizes overflows */

/* The grid's rows and cols for these sizes and steps; -1 when one is out of range. */
static int grid_of(Py_ssize_t height, Py_ssize_t width, Py_ssize_t step_y, Py_ssize_t step_x,
                   Grid *g)
{
    if (height < 1 || width < 1 || height > SIDE_MAX || width > SIDE_MAX || step_y < 1 ||
            step_x < 1 || step_y > height || step_x > width)
        return -1;
    g->rows = (height + step_y - 1) / step_y;
    g->cols = (width + step_x - 1) / step_x;
    return 0;
}

/* phash(values, height, width, step_y, step_x, across, down, out[, weights]): values
 * (n, C, L) uint8 or float32 samples of height x width pixels; each one's grey picture at
 * every step_y-th row and step_x-th column (rows x cols points) is hashed with across
 * (cols x 8) and down (8 x rows) float32, the hashes going to out (n,) uint64. weights
 * (C float32, uint8 samples only): the grey is the channels' weighted sum. */
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
            (held[4].held && (v->itemsize != 1 || held[4].view.len != 4 * v->shape[1]))) {
        PyErr_SetString(PyExc_ValueError, "phash: values, matrices or out of the wrong shape");
        goto fail;
    }
    g.channels = v->shape[1];
    g.channel_stride = v->strides[1];
    const int plain = plain_rows(&g, v->itemsize);
    /* grid point (y, x) at grey[y * row_step + x * col_step] */
    const Py_ssize_t row_step = plain ? plain_span(&g) : g.cols, col_step = plain ? g.col_stride : 1;
    grey = PyMem_Malloc(sizeof(float) * (size_t)(g.rows * row_step));
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
        if (plain)
            grey_of_plain_rows(sample, &g, grey);
        else if (v->itemsize == 1)
            grey_of_bytes(sample, &g, grey);
        else
            grey_of_floats(sample, &g, grey);
        out[n] = hash_grey(grey, g.rows, g.cols, row_step, col_step, across, down, along);
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

typedef struct {
    Py_ssize_t offset, need;
    const Grid *grid;
    const float *across, *down;
    float *grey, *along;
    uint64_t *out;
} TaggedHash;

static int phash_one(const Py_buffer *record, Py_ssize_t n, void *context)
{
    TaggedHash *t = context;
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
    TaggedHash t = {offset, 0, &g, NULL, NULL, NULL, NULL, NULL};
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
            held[2].view.len != 8 * PyTuple_GET_SIZE(sequence)) {
        PyErr_SetString(PyExc_ValueError, "phash_tagged: shape, matrices or out wrong");
        goto done;
    }
    t.across = held[0].view.buf;
    t.down = held[1].view.buf;
    t.out = held[2].view.buf;
    t.grey = PyMem_Malloc(sizeof(float) * (size_t)(g.rows * g.cols));
    t.along = PyMem_Malloc(sizeof(float) * 8 * (size_t)g.rows);
    if (!t.grey || !t.along) {
        PyErr_NoMemory();
        goto done;
    }
    failed = each_record(sequence, phash_one, &t);
done:
    PyMem_Free(t.grey);
    PyMem_Free(t.along);
    release(held, 3);
    Py_DECREF(sequence);
    return failed < -1 ? NULL : PyLong_FromSsize_t(failed);
}

typedef struct {
    Py_ssize_t need; /* bytes a picture */
    int plain;
    const Grid *grid;
    const float *across, *down;
    float *grey, *along;
    uint64_t *out;
} PictureHash;

static int hash_picture(const Py_buffer *picture, Py_ssize_t n, void *context)
{
    PictureHash *p = context;
    const Grid *g = p->grid;
    if (picture->len != p->need)
        return 0;
    if (p->plain)
        grey_of_plain_rows(picture->buf, g, p->grey);
    else
        grey_of_bytes(picture->buf, g, p->grey);
    p->out[n] = hash_grey(p->grey, g->rows, g->cols, p->plain ? plain_span(g) : g->cols,
                          p->plain ? g->col_stride : 1, p->across, p->down, p->along);
    return 1;
}

/* phash_pictures(pictures, height, width, channels, across, down, out[, weights]): as
 * phash, of decoded pictures each in a buffer of its own (contiguous height x width x
 * channels bytes, the channels of a pixel side by side), no copy of them stacked; weights
 * (channels float32) or None: the channels added. Returns the index of the first picture
 * of another size, or -1. */
PyObject *phash_pictures(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *pictures, *objects[4] = {NULL, NULL, NULL, Py_None};
    Py_ssize_t height, width, channels;
    if (!PyArg_ParseTuple(args, "OnnnOOO|O:phash_pictures", &pictures, &height, &width,
                          &channels, &objects[0], &objects[1], &objects[2], &objects[3]))
        return NULL;
    PyObject *sequence = PySequence_Tuple(pictures);
    if (sequence == NULL)
        return NULL;
    Held held[4];
    memset(held, 0, sizeof held);
    Grid g = {channels, 1, 0, channels, 0, 0, NULL};
    PictureHash p = {0, 0, &g, NULL, NULL, NULL, NULL, NULL};
    Py_ssize_t failed = -2;
    for (int i = 0; i < 4; i++)
        if ((i < 3 || objects[i] != Py_None) &&
                take(objects[i], &held[i], i == 2 ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS
                                                  : PyBUF_C_CONTIGUOUS) < 0)
            goto done;
    if (!has_avx2 || channels < 1 || channels > CHANNELS_MAX ||
            grid_of(height, width, 1, 1, &g) < 0 ||
            held[0].view.len != 4 * 8 * g.cols || held[1].view.len != 4 * 8 * g.rows ||
            held[2].view.len != 8 * PyTuple_GET_SIZE(sequence) ||
            (held[3].held && held[3].view.len != 4 * channels)) {
        PyErr_SetString(PyExc_ValueError, "phash_pictures: sizes, matrices or out wrong");
        goto done;
    }
    g.weights = held[3].held ? held[3].view.buf : NULL;
    g.row_stride = width * channels; /* at most 2**52 */
    p.need = height * g.row_stride;
    p.plain = plain_rows(&g, 1);
    p.across = held[0].view.buf;
    p.down = held[1].view.buf;
    p.out = held[2].view.buf;
    p.grey = PyMem_Malloc(sizeof(float) * (size_t)(g.rows * g.cols));
    p.along = PyMem_Malloc(sizeof(float) * 8 * (size_t)g.rows);
    if (!p.grey || !p.along) {
        PyErr_NoMemory();
        goto done;
    }
    failed = each_record(sequence, hash_picture, &p);
done:
    PyMem_Free(p.grey);
    PyMem_Free(p.along);
    release(held, 4);
    Py_DECREF(sequence);
    return failed < -1 ? NULL : PyLong_FromSsize_t(failed);
}
