/* What the parts of scanner.kernels._native share: the buffers taken from Python, the
 * processor's features, and the float figures that the gather of unpacked floats takes too.
 * Built with -fvisibility=hidden: only the module's init is seen from outside. */
#ifndef DSCAN_NATIVE_H
#define DSCAN_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <immintrin.h>

#define HASH_PAIRS 1024 /* pairs of 32-bit words in a block of the exact hash */
#define AHEAD 4096 /* bytes prefetched ahead: from memory 13 GB/s, 6.5 without */

extern int has_avx2, has_ssse3; /* set when the module is loaded */

typedef struct {
    Py_buffer view;
    int held;
} Held;

void release(Held *held, int count);
int take(PyObject *object, Held *held, int flags);
int take_sized(PyObject **objects, Held *held, int count, const Py_ssize_t *lengths);
int overlapping(const Held *held, int count);

/* A 64-bit value rotated left by `bits` (0-63). */
static inline uint64_t rotated(uint64_t value, int bits)
{
    return bits ? (value << bits) | (value >> (64 - bits)) : value;
}
int aligned(const Held *held, int count, size_t alignment);
int take_outputs(PyObject **objects, Held *held, Py_ssize_t rows, const Py_ssize_t *sizes);
int valid_elements(Py_ssize_t offset, Py_ssize_t records, Py_ssize_t channels,
                   Py_ssize_t length);
int take_values(PyObject *object, Held *held, Py_ssize_t itemsize);
Py_ssize_t each_record(PyObject *sequence, int (*visit)(const Py_buffer *, Py_ssize_t, void *),
                       void *context);

/* Floats: min and max in float32 lanes (a NaN lane is remembered apart, as min_ps passes
 * its second operand on a NaN), sums and squares in float64 lanes. */
typedef struct {
    double sum, square;
    float low, high;
    int nan;
} FloatFigures;

extern const FloatFigures no_floats;
void float_tail(const char *p, Py_ssize_t length, FloatFigures *f);
void fold_floats(const double *sums, const double *squares, const float *lows,
                 const float *highs, const float *nans, int width, FloatFigures *f);
/* AVX2 accumulators (four float64 sums and squares, eight float32 extremes and NaN marks)
 * folded into f. */
__attribute__((target("avx2")))
void fold_avx2(__m256d sums, __m256d squares, __m256 lows, __m256 highs, __m256 nans,
               FloatFigures *f);
void float_accumulate(const char *p, Py_ssize_t length, FloatFigures *f);
void float_finish(const FloatFigures *f, double *sum, double *square, float *low, float *high);
void float_row(const char *p, Py_ssize_t length, double *sum, double *square, float *low,
               float *high);
void byte_row(const uint8_t *p, Py_ssize_t length, double *sum, double *square, uint8_t *low,
              uint8_t *high);

/* The exact hash of value rows (hashes.c): blocks of at most 8 * HASH_PAIRS bytes folded in
 * turn, from the tag; then the row's width. */
uint64_t hash_block(const char *q, Py_ssize_t bytes, const uint32_t *keys, uint64_t h);
/* A block's parts: one pair of 32-bit words into the two NH sums, the splitmix64 finaliser
 * that folds them in. */
void nh_pair(const uint32_t *m, const uint32_t *k, uint64_t *a, uint64_t *b);
uint64_t mix64(uint64_t z);

/* One 32-byte load into a block's two NH sums (four pairs of words, as hashes.c's
 * nh_avx2 takes them); the load itself, for the figures taken in the same pass. */
static inline __attribute__((always_inline, target("avx2")))
__m256i nh_step(const uint8_t *q, const uint32_t *k, __m256i *sa, __m256i *sb)
{
    __m256i m = _mm256_loadu_si256((const __m256i *)q);
    __m256i x = _mm256_add_epi32(m, _mm256_loadu_si256((const __m256i *)k));
    __m256i y = _mm256_add_epi32(m, _mm256_loadu_si256((const __m256i *)(k + 2)));
    *sa = _mm256_add_epi64(*sa, _mm256_mul_epu32(x, _mm256_srli_epi64(x, 32)));
    *sb = _mm256_add_epi64(*sb, _mm256_mul_epu32(y, _mm256_srli_epi64(y, 32)));
    return m;
}

/* One 32-byte load of bytes into byte_row's lanes: extremes per byte lane, 64-bit sums,
 * 32-bit squares (to be widened every BYTE_SQUARE_LOADS loads). */
#define BYTE_SQUARE_LOADS 8192 /* 8192 * 2 * 2 * 255**2 < 2**31 */
static inline __attribute__((always_inline, target("avx2")))
void byte_figures_step(__m256i x, __m256i *low, __m256i *high, __m256i *sums,
                       __m256i *squares)
{
    const __m256i zero = _mm256_setzero_si256();
    *low = _mm256_min_epu8(*low, x);
    *high = _mm256_max_epu8(*high, x);
    *sums = _mm256_add_epi64(*sums, _mm256_sad_epu8(x, zero));
    __m256i a = _mm256_unpacklo_epi8(x, zero), b = _mm256_unpackhi_epi8(x, zero);
    *squares = _mm256_add_epi32(*squares, _mm256_add_epi32(_mm256_madd_epi16(a, a),
                                                           _mm256_madd_epi16(b, b)));
}

/* Eight float32 values into float_row's lanes: extremes and NaN marks in float32, the
 * sums and squares of the two halves in float64 (s[0], s[1]; q[0], q[1]). */
static inline __attribute__((always_inline, target("avx2,fma")))
void float_figures_step(__m256 x, __m256 *low, __m256 *high, __m256 *nan, __m256d *s,
                        __m256d *q)
{
    *low = _mm256_min_ps(x, *low);
    *high = _mm256_max_ps(x, *high);
    *nan = _mm256_or_ps(*nan, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    __m256d d0 = _mm256_cvtps_pd(_mm256_castps256_ps128(x));
    __m256d d1 = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));
    s[0] = _mm256_add_pd(s[0], d0);
    s[1] = _mm256_add_pd(s[1], d1);
    q[0] = _mm256_fmadd_pd(d0, d0, q[0]);
    q[1] = _mm256_fmadd_pd(d1, d1, q[1]);
}

/* float_row's two sets of lanes (s[4], q[4], lo[2], hi[2], nan[2]) into f, in its order. */
__attribute__((target("avx2")))
void fold_float_lanes(const __m256d *s, const __m256d *q, const __m256 *lo, const __m256 *hi,
                      const __m256 *nan, FloatFigures *f);

/* The four 64-bit lanes of an NH sum added. */
static inline __attribute__((always_inline, target("avx2")))
uint64_t nh_total(__m256i s)
{
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, s);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
uint64_t hash_end(uint64_t h, Py_ssize_t width);
/* A whole row's exact hash: its blocks from the tag, then its width. */
uint64_t row_hash(const char *p, Py_ssize_t width, const uint32_t *keys, uint64_t tag);

PyObject *byte_counts(PyObject *self, PyObject *args);
PyObject *record_heads(PyObject *self, PyObject *args);
PyObject *row_hashes(PyObject *self, PyObject *args);
PyObject *hashed_byte_rows(PyObject *self, PyObject *args);
PyObject *hashed_float_rows(PyObject *self, PyObject *args);
PyObject *phash(PyObject *self, PyObject *args);
PyObject *phash_tagged(PyObject *self, PyObject *args);
PyObject *phash_pictures(PyObject *self, PyObject *args);
PyObject *joined_prints(PyObject *self, PyObject *args);
PyObject *jpeg_header(PyObject *self, PyObject *data);
PyObject *band_pairs(PyObject *self, PyObject *args);
PyObject *unpack_tagged(PyObject *self, PyObject *args);
PyObject *sorted_hashes(PyObject *self, PyObject *args);
PyObject *band_neighbours(PyObject *self, PyObject *args);
PyObject *repeated_values(PyObject *self, PyObject *values);

/* values -> out, ordered by the top 8 * passes bits of each value rotated left by `rotate`
 * (sorts.c); -1 when its room cannot be had. */
int radix_sort(const uint64_t *values, Py_ssize_t n, int rotate, int passes, uint64_t *out);

#endif
