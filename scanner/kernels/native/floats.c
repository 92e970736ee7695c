/* Float32 rows: sums and squares in float64, extremes, NaN. */
#include "native.h"

void float_tail(const char *p, Py_ssize_t length, FloatFigures *f)
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

void fold_floats(const double *sums, const double *squares, const float *lows,
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

__attribute__((target("avx2")))
void fold_avx2(__m256d sums, __m256d squares, __m256 lows, __m256 highs, __m256 nans,
               FloatFigures *f)
{
    double sum[4], square[4];
    float low[8], high[8], nan[8];
    _mm256_storeu_pd(sum, sums);
    _mm256_storeu_pd(square, squares);
    _mm256_storeu_ps(low, lows);
    _mm256_storeu_ps(high, highs);
    _mm256_storeu_ps(nan, nans);
    fold_floats(sum, square, low, high, nan, 4, f);
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
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++)
            float_figures_step(_mm256_loadu_ps((const float *)(p + 4 * (at + 8 * half))),
                               &lo[half], &hi[half], &nan[half], s + 2 * half, q + 2 * half);
    }
    fold_float_lanes(s, q, lo, hi, nan, f);
    return at;
}

/* min_ps passes its second operand on a NaN: the NaN lanes are in `nan` anyway */
__attribute__((target("avx2")))
void fold_float_lanes(const __m256d *s, const __m256d *q, const __m256 *lo, const __m256 *hi,
                      const __m256 *nan, FloatFigures *f)
{
    fold_avx2(_mm256_add_pd(_mm256_add_pd(s[0], s[1]), _mm256_add_pd(s[2], s[3])),
              _mm256_add_pd(_mm256_add_pd(q[0], q[1]), _mm256_add_pd(q[2], q[3])),
              _mm256_min_ps(lo[0], lo[1]), _mm256_max_ps(hi[0], hi[1]),
              _mm256_or_ps(nan[0], nan[1]), f);
}

void float_accumulate(const char *p, Py_ssize_t length, FloatFigures *f)
{
    Py_ssize_t done = has_avx2 ? float_body_avx2(p, length, f) : float_body_sse2(p, length, f);
    float_tail(p + 4 * done, length - done, f);
}

const FloatFigures no_floats = {0.0, 0.0, INFINITY, -INFINITY, 0};

void float_finish(const FloatFigures *f, double *sum, double *square, float *low,
                         float *high)
{
    *sum = f->sum;
    *square = f->square;
    *low = f->nan ? NAN : f->low;
    *high = f->nan ? NAN : f->high;
}

void float_row(const char *p, Py_ssize_t length, double *sum, double *square,
                      float *low, float *high)
{
    FloatFigures f = no_floats;
    float_accumulate(p, length, &f);
    float_finish(&f, sum, square, low, high);
}
