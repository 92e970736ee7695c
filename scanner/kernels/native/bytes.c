/* Byte rows: sums, squares, extremes and value counts. */
#include "native.h"

/* Bytes, 16 or 32 at a time: min and max per byte lane, the sum by _sad_epu8 against zero
 * (two or four 64-bit sums), the squares by _madd_epi16 of the bytes widened to 16 bits
 * (int32 lanes, widened to 64 bits every BYTE_SQUARE_LOADS loads). */
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
        for (int step = 0; step < BYTE_SQUARE_LOADS && at + 16 <= length; step++, at += 16) {
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
        for (int step = 0; step < BYTE_SQUARE_LOADS && at + 32 <= length; step++, at += 32) {
            __builtin_prefetch(p + at + AHEAD);
            byte_figures_step(_mm256_loadu_si256((const __m256i *)(p + at)), &lo, &hi, &sums,
                              &squares);
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

void byte_row(const uint8_t *p, Py_ssize_t length, double *sum, double *square,
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

PyObject *byte_counts(PyObject *Py_UNUSED(self), PyObject *args)
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
