/* dscan's compiled inner loops: one pass over sample values for the figures the value checks
 * and the statistics need. Arrays come in and go out through the buffer protocol, so the
 * module needs no numpy headers; the Python side allocates the outputs and checks shapes.
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
 * gather_tagged(records, offset, channels, length, out, sums, squares, mins, maxs): each
 *     record a buffer holding channels * length unpacked float_data elements (tag 0x35 and
 *     4 value bytes) from `offset`; their values go to out (n, C, L) float32 and their
 *     figures, as float_rows gives them, to the four (n, C) outputs. Returns the index of
 *     the first record with another tag or too short, or -1.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <immintrin.h>

#define AHEAD 4096 /* bytes prefetched ahead: from memory 13 GB/s, 6.5 without */
#define SQUARE_BLOCK 8192 /* loads between widenings: 8192 * 2 * 2 * 255**2 < 2**31 */

typedef struct {
    Py_buffer view;
    int held;
} Held;

static void release(Held *held, int count)
{
    for (int i = 0; i < count; i++)
        if (held[i].held)
            PyBuffer_Release(&held[i].view);
}

static int take(PyObject *object, Held *held, int flags)
{
    if (PyObject_GetBuffer(object, &held->view, flags) < 0)
        return -1;
    held->held = 1;
    return 0;
}

/* The outputs: four C-contiguous buffers of `rows` items of the given sizes. */
static int take_outputs(PyObject **objects, Held *held, Py_ssize_t rows, const Py_ssize_t *sizes)
{
    for (int i = 0; i < 4; i++) {
        if (take(objects[i], &held[i], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
            return -1;
        if (held[i].view.len != rows * sizes[i]) {
            PyErr_SetString(PyExc_ValueError, "output buffer of the wrong size");
            return -1;
        }
    }
    return 0;
}

/* values: a 3-d buffer of `itemsize` items whose last axis is contiguous. */
static int take_values(PyObject *object, Held *held, Py_ssize_t itemsize)
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

/* Bytes, 16 or 32 at a time: min and max per byte lane, the sum by _sad_epu8 against zero
 * (two or four 64-bit sums), the squares by _madd_epi16 of the bytes widened to 16 bits
 * (int32 lanes, widened to 64 bits every SQUARE_BLOCK loads). */
static void byte_tail(const uint8_t *p, Py_ssize_t length, uint64_t *sum, uint64_t *square,
                      uint8_t *low, uint8_t *high)
{
    for (Py_ssize_t at = 0; at < length; at++) {
        uint32_t x = p[at];
        *sum += x;
        *square += x * x;
        *low = p[at] < *low ? p[at] : *low;
        *high = p[at] > *high ? p[at] : *high;
    }
}

static void fold_bytes(const uint8_t *lanes_low, const uint8_t *lanes_high, int width,
                       uint8_t *low, uint8_t *high)
{
    for (int j = 0; j < width; j++) {
        *low = lanes_low[j] < *low ? lanes_low[j] : *low;
        *high = lanes_high[j] > *high ? lanes_high[j] : *high;
    }
}

static Py_ssize_t byte_body_sse2(const uint8_t *p, Py_ssize_t length, uint64_t *sum,
                                 uint64_t *square, uint8_t *low, uint8_t *high)
{
    const __m128i zero = _mm_setzero_si128();
    __m128i lo = _mm_set1_epi8(-1), hi = zero, sums = zero;
    Py_ssize_t at = 0;
    while (at + 16 <= length) {
        __m128i squares = zero;
        for (int step = 0; step < SQUARE_BLOCK && at + 16 <= length; step++, at += 16) {
            __builtin_prefetch(p + at + AHEAD);
            __m128i x = _mm_loadu_si128((const __m128i *)(p + at));
            lo = _mm_min_epu8(lo, x);
            hi = _mm_max_epu8(hi, x);
            sums = _mm_add_epi64(sums, _mm_sad_epu8(x, zero));
            __m128i a = _mm_unpacklo_epi8(x, zero), b = _mm_unpackhi_epi8(x, zero);
            squares = _mm_add_epi32(squares, _mm_add_epi32(_mm_madd_epi16(a, a),
                                                           _mm_madd_epi16(b, b)));
        }
        uint32_t part[4];
        _mm_storeu_si128((__m128i *)part, squares);
        *square += (uint64_t)part[0] + part[1] + part[2] + part[3];
    }
    uint64_t total[2];
    uint8_t lanes_low[16], lanes_high[16];
    _mm_storeu_si128((__m128i *)total, sums);
    _mm_storeu_si128((__m128i *)lanes_low, lo);
    _mm_storeu_si128((__m128i *)lanes_high, hi);
    *sum += total[0] + total[1];
    fold_bytes(lanes_low, lanes_high, 16, low, high);
    return at;
}

__attribute__((target("avx2")))
static Py_ssize_t byte_body_avx2(const uint8_t *p, Py_ssize_t length, uint64_t *sum,
                                 uint64_t *square, uint8_t *low, uint8_t *high)
{
    const __m256i zero = _mm256_setzero_si256();
    __m256i lo = _mm256_set1_epi8(-1), hi = zero, sums = zero;
    Py_ssize_t at = 0;
    while (at + 32 <= length) {
        __m256i squares = zero;
        for (int step = 0; step < SQUARE_BLOCK && at + 32 <= length; step++, at += 32) {
            __builtin_prefetch(p + at + AHEAD);
            __m256i x = _mm256_loadu_si256((const __m256i *)(p + at));
            lo = _mm256_min_epu8(lo, x);
            hi = _mm256_max_epu8(hi, x);
            sums = _mm256_add_epi64(sums, _mm256_sad_epu8(x, zero));
            __m256i a = _mm256_unpacklo_epi8(x, zero), b = _mm256_unpackhi_epi8(x, zero);
            squares = _mm256_add_epi32(squares, _mm256_add_epi32(_mm256_madd_epi16(a, a),
                                                                 _mm256_madd_epi16(b, b)));
        }
        uint32_t part[8];
        _mm256_storeu_si256((__m256i *)part, squares);
        for (int j = 0; j < 8; j++)
            *square += part[j];
    }
    uint64_t total[4];
    uint8_t lanes_low[32], lanes_high[32];
    _mm256_storeu_si256((__m256i *)total, sums);
    _mm256_storeu_si256((__m256i *)lanes_low, lo);
    _mm256_storeu_si256((__m256i *)lanes_high, hi);
    *sum += total[0] + total[1] + total[2] + total[3];
    fold_bytes(lanes_low, lanes_high, 32, low, high);
    return at;
}

static int has_avx2;

static void byte_row(const uint8_t *p, Py_ssize_t length, double *sum, double *square,
                     uint8_t *low, uint8_t *high)
{
    uint64_t total = 0, total_sq = 0;
    uint8_t mn = 255, mx = 0;
    Py_ssize_t done = has_avx2 ? byte_body_avx2(p, length, &total, &total_sq, &mn, &mx)
                               : byte_body_sse2(p, length, &total, &total_sq, &mn, &mx);
    byte_tail(p + done, length - done, &total, &total_sq, &mn, &mx);
    *sum = (double)total;
    *square = (double)total_sq;
    *low = mn;
    *high = mx;
}

/* Floats: min and max in float32 lanes (a NaN lane is remembered apart, as min_ps passes
 * its second operand on a NaN), sums and squares in float64 lanes. */
typedef struct {
    double sum, square;
    float low, high;
    int nan;
} FloatFigures;

static void float_tail(const char *p, Py_ssize_t length, FloatFigures *f)
{
    for (Py_ssize_t at = 0; at < length; at++) {
        float x;
        memcpy(&x, p + 4 * at, sizeof x);
        f->sum += x;
        f->square += (double)x * x;
        f->low = x < f->low ? x : f->low;
        f->high = x > f->high ? x : f->high;
        f->nan |= x != x;
    }
}

static void fold_floats(const double *sums, const double *squares, const float *lows,
                        const float *highs, const float *nans, int width, FloatFigures *f)
{
    for (int j = 0; j < width; j++) {
        f->sum += sums[j];
        f->square += squares[j];
    }
    for (int j = 0; j < 2 * width; j++) {
        f->low = lows[j] < f->low ? lows[j] : f->low;
        f->high = highs[j] > f->high ? highs[j] : f->high;
        f->nan |= nans[j] != 0;
    }
}

static Py_ssize_t float_body_sse2(const char *p, Py_ssize_t length, FloatFigures *f)
{
    __m128d s0 = _mm_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
    __m128 lo = _mm_set1_ps(INFINITY), hi = _mm_set1_ps(-INFINITY), nan = _mm_setzero_ps();
    Py_ssize_t at = 0;
    for (; at + 4 <= length; at += 4) {
        __m128 x = _mm_loadu_ps((const float *)(p + 4 * at));
        lo = _mm_min_ps(x, lo);
        hi = _mm_max_ps(x, hi);
        nan = _mm_or_ps(nan, _mm_cmpunord_ps(x, x));
        __m128d d0 = _mm_cvtps_pd(x), d1 = _mm_cvtps_pd(_mm_movehl_ps(x, x));
        s0 = _mm_add_pd(s0, d0);
        s1 = _mm_add_pd(s1, d1);
        q0 = _mm_add_pd(q0, _mm_mul_pd(d0, d0));
        q1 = _mm_add_pd(q1, _mm_mul_pd(d1, d1));
    }
    double sums[2], squares[2];
    float lows[4], highs[4], nans[4];
    _mm_storeu_pd(sums, _mm_add_pd(s0, s1));
    _mm_storeu_pd(squares, _mm_add_pd(q0, q1));
    _mm_storeu_ps(lows, lo);
    _mm_storeu_ps(highs, hi);
    _mm_storeu_ps(nans, nan);
    fold_floats(sums, squares, lows, highs, nans, 2, f);
    return at;
}

/* Sixteen floats a step into two sets of accumulators: the float64 additions' latency,
 * not their throughput, would otherwise set the pace. */
__attribute__((target("avx2,fma")))
static Py_ssize_t float_body_avx2(const char *p, Py_ssize_t length, FloatFigures *f)
{
    __m256d s[4], q[4];
    for (int k = 0; k < 4; k++)
        s[k] = q[k] = _mm256_setzero_pd();
    __m256 lo[2], hi[2], nan[2];
    for (int k = 0; k < 2; k++) {
        lo[k] = _mm256_set1_ps(INFINITY);
        hi[k] = _mm256_set1_ps(-INFINITY);
        nan[k] = _mm256_setzero_ps();
    }
    Py_ssize_t at = 0;
    for (; at + 16 <= length; at += 16) {
        __builtin_prefetch(p + 4 * at + AHEAD);
        for (int half = 0; half < 2; half++) {
            __m256 x = _mm256_loadu_ps((const float *)(p + 4 * (at + 8 * half)));
            lo[half] = _mm256_min_ps(x, lo[half]);
            hi[half] = _mm256_max_ps(x, hi[half]);
            nan[half] = _mm256_or_ps(nan[half], _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
            __m256d d0 = _mm256_cvtps_pd(_mm256_castps256_ps128(x));
            __m256d d1 = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));
            s[2 * half] = _mm256_add_pd(s[2 * half], d0);
            s[2 * half + 1] = _mm256_add_pd(s[2 * half + 1], d1);
            q[2 * half] = _mm256_fmadd_pd(d0, d0, q[2 * half]);
            q[2 * half + 1] = _mm256_fmadd_pd(d1, d1, q[2 * half + 1]);
        }
    }
    double sums[4], squares[4];
    float lows[8], highs[8], nans[8];
    _mm256_storeu_pd(sums, _mm256_add_pd(_mm256_add_pd(s[0], s[1]), _mm256_add_pd(s[2], s[3])));
    _mm256_storeu_pd(squares, _mm256_add_pd(_mm256_add_pd(q[0], q[1]),
                                            _mm256_add_pd(q[2], q[3])));
    /* min_ps passes its second operand on a NaN: the NaN lanes are in `nans` anyway */
    _mm256_storeu_ps(lows, _mm256_min_ps(lo[0], lo[1]));
    _mm256_storeu_ps(highs, _mm256_max_ps(hi[0], hi[1]));
    _mm256_storeu_ps(nans, _mm256_or_ps(nan[0], nan[1]));
    fold_floats(sums, squares, lows, highs, nans, 4, f);
    return at;
}

static void float_accumulate(const char *p, Py_ssize_t length, FloatFigures *f)
{
    Py_ssize_t done = has_avx2 ? float_body_avx2(p, length, f) : float_body_sse2(p, length, f);
    float_tail(p + 4 * done, length - done, f);
}

static const FloatFigures no_floats = {0.0, 0.0, INFINITY, -INFINITY, 0};

static void float_finish(const FloatFigures *f, double *sum, double *square, float *low,
                         float *high)
{
    *sum = f->sum;
    *square = f->square;
    *low = f->nan ? NAN : f->low;
    *high = f->nan ? NAN : f->high;
}

static void float_row(const char *p, Py_ssize_t length, double *sum, double *square,
                      float *low, float *high)
{
    FloatFigures f = no_floats;
    float_accumulate(p, length, &f);
    float_finish(&f, sum, square, low, high);
}

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

/* Counts of each byte value of a row, added to counts[256]: four tables in turn, so that
 * runs of one value do not wait on the same counter. */
static void count_row(const uint8_t *p, Py_ssize_t length, int64_t *counts)
{
    uint32_t tables[4][256];
    memset(tables, 0, sizeof tables);
    Py_ssize_t at = 0;
    while (at < length) { /* flushed before a uint32 counter can overflow */
        Py_ssize_t stop = length - at > ((Py_ssize_t)1 << 30) ? at + ((Py_ssize_t)1 << 30)
                                                                : length;
        for (; at + 4 <= stop; at += 4) {
            tables[0][p[at]]++;
            tables[1][p[at + 1]]++;
            tables[2][p[at + 2]]++;
            tables[3][p[at + 3]]++;
        }
        for (; at < stop; at++)
            tables[0][p[at]]++;
        for (int v = 0; v < 256; v++) {
            counts[v] += (int64_t)tables[0][v] + tables[1][v] + tables[2][v] + tables[3][v];
            tables[0][v] = tables[1][v] = tables[2][v] = tables[3][v] = 0;
        }
    }
}

static PyObject *byte_counts(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *objects[2];
    if (!PyArg_UnpackTuple(args, "byte_counts", 2, 2, &objects[0], &objects[1]))
        return NULL;
    Held held[2];
    memset(held, 0, sizeof held);
    if (take_values(objects[0], &held[0], 1) < 0)
        goto fail;
    Py_buffer *v = &held[0].view;
    Py_ssize_t samples = v->shape[0], channels = v->shape[1], length = v->shape[2];
    if (take(objects[1], &held[1], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        goto fail;
    if (held[1].view.len != channels * 256 * 8) {
        PyErr_SetString(PyExc_ValueError, "counts must be (C, 256) int64");
        goto fail;
    }
    int64_t *counts = held[1].view.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t n = 0; n < samples; n++)
        for (Py_ssize_t c = 0; c < channels; c++)
            count_row((const uint8_t *)v->buf + n * v->strides[0] + c * v->strides[1], length,
                      counts + 256 * c);
    Py_END_ALLOW_THREADS
    release(held, 2);
    Py_RETURN_NONE;
fail:
    release(held, 2);
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

/* The `count` elements from p copied to out; 1 when all carry the fixed32 tag of field 6.
 * SSSE3: a 16-byte load holds three elements (and the next tag): one shuffle puts their 12
 * value bytes together, the tags are compared under a mask. */
static int unpack_tail(const unsigned char *p, Py_ssize_t count, char *out)
{
    unsigned char bad = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        bad |= p[5 * i] ^ 0x35;
        memcpy(out + 4 * i, p + 5 * i + 1, 4);
    }
    return bad == 0;
}

__attribute__((target("ssse3")))
static int unpack_ssse3(const unsigned char *p, Py_ssize_t count, char *out)
{
    const __m128i pick = _mm_setr_epi8(1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, -1, -1, -1, -1);
    const __m128i mask = _mm_setr_epi8(-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0);
    const __m128i tag = _mm_set1_epi8(0x35);
    __m128i bad = _mm_setzero_si128();
    Py_ssize_t i = 0;
    for (; i + 4 <= count; i += 3) { /* reads and writes stay within element i + 3 */
        __builtin_prefetch(p + 5 * i + AHEAD);
        __m128i x = _mm_loadu_si128((const __m128i *)(p + 5 * i));
        bad = _mm_or_si128(bad, _mm_and_si128(_mm_xor_si128(x, tag), mask));
        _mm_storeu_si128((__m128i *)(out + 4 * i), _mm_shuffle_epi8(x, pick));
    }
    int clean = _mm_movemask_epi8(_mm_cmpeq_epi8(bad, _mm_setzero_si128())) == 0xFFFF;
    return unpack_tail(p + 5 * i, count - i, out + 4 * i) && clean;
}

/* AVX2: two 16-byte loads, 15 bytes apart, hold six elements; one shuffle per lane puts
 * their values together, and one permutation closes the gap between the lanes. */
__attribute__((target("avx2")))
static int unpack_avx2(const unsigned char *p, Py_ssize_t count, char *out)
{
    const __m256i pick = _mm256_setr_epi8(1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, -1, -1, -1, -1,
                                          1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, -1, -1, -1, -1);
    const __m256i mask = _mm256_setr_epi8(-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0,
                                          -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0);
    const __m256i close_up = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
    const __m256i tag = _mm256_set1_epi8(0x35);
    __m256i bad = _mm256_setzero_si256();
    Py_ssize_t i = 0;
    for (; i + 8 <= count; i += 6) { /* reads and writes stay within element i + 7 */
        __builtin_prefetch(p + 5 * i + AHEAD);
        __m256i x = _mm256_loadu2_m128i((const __m128i *)(p + 5 * i + 15),
                                        (const __m128i *)(p + 5 * i));
        bad = _mm256_or_si256(bad, _mm256_and_si256(_mm256_xor_si256(x, tag), mask));
        __m256i values = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(x, pick), close_up);
        _mm256_storeu_si256((__m256i *)(out + 4 * i), values);
    }
    int clean = _mm256_testz_si256(bad, bad);
    return unpack_tail(p + 5 * i, count - i, out + 4 * i) && clean;
}

/* unpack_avx2 with the figures taken from the registers: the permutation repeats element
 * five in the last two lanes (min and max cannot change by it) and a mask takes them out of
 * the sums. */
__attribute__((target("avx2,fma")))
static int unpack_sum_avx2(const unsigned char *p, Py_ssize_t count, char *out,
                           FloatFigures *f)
{
    const __m256i pick = _mm256_setr_epi8(1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, -1, -1, -1, -1,
                                          1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14, -1, -1, -1, -1);
    const __m256i mask = _mm256_setr_epi8(-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0,
                                          -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0);
    const __m256i close_up = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 6, 6);
    const __m256 six = _mm256_castsi256_ps(_mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0));
    const __m256i tag = _mm256_set1_epi8(0x35);
    __m256i bad = _mm256_setzero_si256();
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
    __m256 lo = _mm256_set1_ps(INFINITY), hi = _mm256_set1_ps(-INFINITY);
    __m256 nan = _mm256_setzero_ps();
    Py_ssize_t i = 0;
    for (; i + 8 <= count; i += 6) { /* reads and writes stay within element i + 7 */
        __builtin_prefetch(p + 5 * i + AHEAD);
        __m256i x = _mm256_loadu2_m128i((const __m128i *)(p + 5 * i + 15),
                                        (const __m128i *)(p + 5 * i));
        bad = _mm256_or_si256(bad, _mm256_and_si256(_mm256_xor_si256(x, tag), mask));
        __m256 v = _mm256_castsi256_ps(
            _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(x, pick), close_up));
        _mm256_storeu_ps((float *)(out + 4 * i), v);
        lo = _mm256_min_ps(v, lo);
        hi = _mm256_max_ps(v, hi);
        nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        __m256 w = _mm256_and_ps(v, six);
        __m256d d0 = _mm256_cvtps_pd(_mm256_castps256_ps128(w));
        __m256d d1 = _mm256_cvtps_pd(_mm256_extractf128_ps(w, 1));
        s0 = _mm256_add_pd(s0, d0);
        s1 = _mm256_add_pd(s1, d1);
        q0 = _mm256_fmadd_pd(d0, d0, q0);
        q1 = _mm256_fmadd_pd(d1, d1, q1);
    }
    double sums[4], squares[4];
    float lows[8], highs[8], nans[8];
    _mm256_storeu_pd(sums, _mm256_add_pd(s0, s1));
    _mm256_storeu_pd(squares, _mm256_add_pd(q0, q1));
    _mm256_storeu_ps(lows, lo);
    _mm256_storeu_ps(highs, hi);
    _mm256_storeu_ps(nans, nan);
    fold_floats(sums, squares, lows, highs, nans, 4, f);
    int clean = _mm256_testz_si256(bad, bad);
    int tail = unpack_tail(p + 5 * i, count - i, out + 4 * i);
    float_tail(out + 4 * i, count - i, f);
    return tail && clean;
}

static int has_ssse3;

static int unpack_row(const unsigned char *p, Py_ssize_t count, char *out)
{
    if (has_avx2)
        return unpack_avx2(p, count, out);
    return has_ssse3 ? unpack_ssse3(p, count, out) : unpack_tail(p, count, out);
}

#define GATHER_PIECE 4096 /* elements unpacked, then summed while they are in L1 */

/* One record: its channels unpacked a piece at a time into out, each piece's figures taken
 * at once. 1 when every tag is float_data's. */
static int gather_record(const unsigned char *p, Py_ssize_t channels, Py_ssize_t length,
                         char *out, double *sums, double *squares, float *lows, float *highs)
{
    int ok = 1;
    for (Py_ssize_t c = 0; c < channels; c++) {
        FloatFigures f = no_floats;
        if (has_avx2) { /* one pass */
            ok &= unpack_sum_avx2(p + 5 * c * length, length, out + 4 * c * length, &f);
            float_finish(&f, sums + c, squares + c, lows + c, highs + c);
            continue;
        }
        for (Py_ssize_t at = 0; at < length; at += GATHER_PIECE) {
            Py_ssize_t piece = length - at < GATHER_PIECE ? length - at : GATHER_PIECE;
            Py_ssize_t element = c * length + at;
            ok &= unpack_row(p + 5 * element, piece, out + 4 * element);
            float_accumulate(out + 4 * element, piece, &f);
        }
        float_finish(&f, sums + c, squares + c, lows + c, highs + c);
    }
    return ok;
}

static PyObject *gather_tagged(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *records, *objects[5];
    Py_ssize_t offset, channels, length;
    if (!PyArg_ParseTuple(args, "OnnnOOOOO:gather_tagged", &records, &offset, &channels,
                          &length, &objects[0], &objects[1], &objects[2], &objects[3],
                          &objects[4]))
        return NULL;
    PyObject *sequence = PySequence_Fast(records, "records must be a sequence");
    if (sequence == NULL)
        return NULL;
    Held held[5];
    memset(held, 0, sizeof held);
    Py_ssize_t records_n = PySequence_Fast_GET_SIZE(sequence), failed = -1;
    Py_ssize_t count = channels * length;
    const Py_ssize_t sizes[5] = {4 * count, 8, 8, 4, 4};
    if (offset < 0 || channels < 0 || length < 0) {
        PyErr_SetString(PyExc_ValueError, "negative offset or shape");
        goto done;
    }
    for (int i = 0; i < 5; i++) {
        if (take(objects[i], &held[i], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
            goto done;
        if (held[i].view.len != records_n * (i ? channels : 1) * sizes[i]) {
            PyErr_SetString(PyExc_ValueError, "output buffer of the wrong size");
            goto done;
        }
    }
    for (Py_ssize_t n = 0; n < records_n && failed < 0; n++) {
        Held record;
        memset(&record, 0, sizeof record);
        if (take(PySequence_Fast_GET_ITEM(sequence, n), &record, PyBUF_SIMPLE) < 0)
            goto done;
        int ok = record.view.len >= offset && (record.view.len - offset) / 5 >= count;
        if (ok) {
            Py_ssize_t at = n * channels;
            Py_BEGIN_ALLOW_THREADS
            ok = gather_record((const unsigned char *)record.view.buf + offset, channels,
                               length, (char *)held[0].view.buf + n * count * 4,
                               (double *)held[1].view.buf + at, (double *)held[2].view.buf + at,
                               (float *)held[3].view.buf + at, (float *)held[4].view.buf + at);
            Py_END_ALLOW_THREADS
        }
        release(&record, 1);
        if (!ok)
            failed = n;
    }
    release(held, 5);
    Py_DECREF(sequence);
    return PyLong_FromSsize_t(failed);
done:
    release(held, 5);
    Py_DECREF(sequence);
    return NULL;
}

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

static PyObject *record_heads(PyObject *Py_UNUSED(self), PyObject *args)
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

/* Exact hashes of value rows (see scanner.kernels.row_hashes for the definition, which
 * numpy computes alike): per block of HASH_PAIRS pairs of 32-bit words, two NH sums
 * (sum of (m[2i] + k[2i]) * (m[2i+1] + k[2i+1]) mod 2**64, the second with the keys two
 * words on), each folded into the running hash by the splitmix64 finaliser. */
#define HASH_PAIRS 1024

static uint64_t mix64(uint64_t z)
{
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ull;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void nh_pair(const uint32_t *m, const uint32_t *k, uint64_t *a, uint64_t *b)
{
    *a += (uint64_t)(uint32_t)(m[0] + k[0]) * (uint32_t)(m[1] + k[1]);
    *b += (uint64_t)(uint32_t)(m[0] + k[2]) * (uint32_t)(m[1] + k[3]);
}

__attribute__((target("avx2")))
static Py_ssize_t nh_avx2(const char *p, const uint32_t *k, Py_ssize_t pairs, uint64_t *a,
                          uint64_t *b)
{
    __m256i sa = _mm256_setzero_si256(), sb = sa;
    Py_ssize_t i = 0;
    for (; i + 4 <= pairs; i += 4) {
        __builtin_prefetch(p + 8 * i + AHEAD);
        __m256i m = _mm256_loadu_si256((const __m256i *)(p + 8 * i));
        __m256i x = _mm256_add_epi32(m, _mm256_loadu_si256((const __m256i *)(k + 2 * i)));
        __m256i y = _mm256_add_epi32(m, _mm256_loadu_si256((const __m256i *)(k + 2 * i + 2)));
        sa = _mm256_add_epi64(sa, _mm256_mul_epu32(x, _mm256_srli_epi64(x, 32)));
        sb = _mm256_add_epi64(sb, _mm256_mul_epu32(y, _mm256_srli_epi64(y, 32)));
    }
    uint64_t la[4], lb[4];
    _mm256_storeu_si256((__m256i *)la, sa);
    _mm256_storeu_si256((__m256i *)lb, sb);
    *a += la[0] + la[1] + la[2] + la[3];
    *b += lb[0] + lb[1] + lb[2] + lb[3];
    return i;
}

static uint64_t row_hash(const char *p, Py_ssize_t width, const uint32_t *k, uint64_t tag)
{
    uint64_t h = tag;
    Py_ssize_t whole = width / 8, pairs = (width + 7) / 8; /* the last one zero-padded */
    for (Py_ssize_t start = 0; start < pairs; start += HASH_PAIRS) {
        Py_ssize_t block = pairs - start < HASH_PAIRS ? pairs - start : HASH_PAIRS;
        Py_ssize_t full = whole - start < block ? whole - start : block;
        const char *q = p + 8 * start;
        uint64_t a = 0, b = 0;
        Py_ssize_t i = has_avx2 ? nh_avx2(q, k, full, &a, &b) : 0;
        for (; i < full; i++) {
            uint32_t m[2];
            memcpy(m, q + 8 * i, 8);
            nh_pair(m, k + 2 * i, &a, &b);
        }
        if (full < block) {
            uint32_t m[2] = {0, 0};
            memcpy(m, q + 8 * full, (size_t)(width % 8));
            nh_pair(m, k + 2 * full, &a, &b);
        }
        h = mix64(mix64(h ^ a) ^ b);
    }
    return mix64(h ^ (uint64_t)width);
}

static PyObject *row_hashes(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *objects[3];
    unsigned long long tag;
    if (!PyArg_ParseTuple(args, "OOKO:row_hashes", &objects[0], &objects[1], &tag, &objects[2]))
        return NULL;
    Held held[3];
    memset(held, 0, sizeof held);
    if (take(objects[0], &held[0], PyBUF_RECORDS_RO) < 0 ||
            take(objects[1], &held[1], PyBUF_C_CONTIGUOUS) < 0 ||
            take(objects[2], &held[2], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        goto fail;
    Py_buffer *v = &held[0].view;
    if (v->ndim != 2 || v->itemsize != 1 || (v->shape[1] > 1 && v->strides[1] != 1) ||
            held[1].view.len != 4 * (2 * HASH_PAIRS + 2) || held[2].view.len != 8 * v->shape[0]) {
        PyErr_SetString(PyExc_ValueError, "rows (n, W) bytes, keys and out of the wrong shape");
        goto fail;
    }
    const uint32_t *keys = held[1].view.buf;
    uint64_t *out = held[2].view.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t n = 0; n < v->shape[0]; n++)
        out[n] = row_hash((const char *)v->buf + n * v->strides[0], v->shape[1], keys, tag);
    Py_END_ALLOW_THREADS
    release(held, 3);
    Py_RETURN_NONE;
fail:
    release(held, 3);
    return NULL;
}

static PyMethodDef methods[] = {
    {"byte_rows", byte_rows, METH_VARARGS, "Sums, squares, mins and maxs of uint8 rows."},
    {"float_rows", float_rows, METH_VARARGS, "Sums, squares, mins and maxs of float32 rows."},
    {"byte_counts", byte_counts, METH_VARARGS, "Counts of each byte value, per channel."},
    {"row_hashes", row_hashes, METH_VARARGS, "Exact hashes of value rows."},
    {"record_heads", record_heads, METH_VARARGS, "Fixed bytes, labels and addresses."},
    {"gather_tagged", gather_tagged, METH_VARARGS, "Unpacked float_data values, tags checked."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__native(void)
{
    __builtin_cpu_init();
    has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    has_ssse3 = __builtin_cpu_supports("ssse3");
    return PyModule_Create(&module);
}
