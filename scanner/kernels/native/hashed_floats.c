/* Float32 samples' exact hashes and figures in one pass, as hashed_bytes.c does for bytes:
 * each 64-byte step feeds the exact hash's NH sums (row_hash's blocks, hashes.c) and the
 * float64 sums and squares, extremes and NaN marks of its channel (float_row's,
 * floats.c). Only for channels of a multiple of 16 values: then each channel starts on a
 * step of the sample as float_row's steps start on the channel's, the hash blocks hold
 * whole steps, and the sums are float_row's, in its order, bit for bit. */
#include "one_pass.h"

typedef struct {
    __m256d s[4], q[4];
    __m256 lo[2], hi[2], nan[2];
} FloatLanes;

__attribute__((target("avx2")))
static void float_lanes_clear(FloatLanes *l)
{
    for (int k = 0; k < 4; k++)
        l->s[k] = l->q[k] = _mm256_setzero_pd();
    for (int k = 0; k < 2; k++) {
        l->lo[k] = _mm256_set1_ps(INFINITY);
        l->hi[k] = _mm256_set1_ps(-INFINITY);
        l->nan[k] = _mm256_setzero_ps();
    }
}

/* A channel's lanes into its figures, as float_body_avx2 folds its own. */
__attribute__((target("avx2")))
static void float_lanes_fold(FloatLanes *l, FloatFigures *f)
{
    fold_float_lanes(l->s, l->q, l->lo, l->hi, l->nan, f);
    float_lanes_clear(l);
}

/* `steps` 64-byte steps of one channel (float_body_avx2's sixteen floats) into the NH sums
 * and the channel's lanes, the accumulators in registers for the run. */
static inline __attribute__((always_inline, target("avx2,fma")))
void float_run(const uint8_t *q, const uint32_t *k, Py_ssize_t steps, __m256i *sa,
               __m256i *sb, FloatLanes *l)
{
    __m256i a = *sa, b = *sb;
    FloatLanes r = *l;
    for (Py_ssize_t step = 0; step < steps; step++, q += 64, k += 16) {
        __builtin_prefetch(q + AHEAD);
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++)
            float_figures_step(_mm256_castsi256_ps(nh_step(q + 32 * half, k + 8 * half, &a,
                                                           &b)),
                               &r.lo[half], &r.hi[half], &r.nan[half], r.s + 2 * half,
                               r.q + 2 * half);
    }
    *sa = a;
    *sb = b;
    *l = r;
}

/* The sample's exact hash (row_hash's of its channels x length floats' bytes) and its
 * channels' figures into figures[channels]; length a multiple of 16. */
__attribute__((target("avx2,fma")))
static uint64_t float_sample(const uint8_t *sample, Py_ssize_t channels, Py_ssize_t length,
                             const uint32_t *keys, uint64_t tag, void *figures_room)
{
    FloatFigures *figures = figures_room;
    FloatLanes lanes;
    float_lanes_clear(&lanes);
    for (Py_ssize_t c = 0; c < channels; c++)
        figures[c] = no_floats;
    const Py_ssize_t width = 4 * channels * length, channel_bytes = 4 * length;
    Py_ssize_t channel = 0, channel_end = channel_bytes;
    uint64_t h = tag;
    for (Py_ssize_t start = 0; start < width; start += 8 * HASH_PAIRS) {
        Py_ssize_t bytes = width - start < 8 * HASH_PAIRS ? width - start : 8 * HASH_PAIRS;
        __m256i sa = _mm256_setzero_si256(), sb = sa;
        for (Py_ssize_t at = 0; at < bytes;) {
            while (start + at >= channel_end) {
                float_lanes_fold(&lanes, figures + channel++);
                channel_end += channel_bytes;
            }
            Py_ssize_t run = bytes - at < channel_end - (start + at) ? bytes - at
                                                                     : channel_end - (start + at);
            float_run(sample + start + at, keys + at / 4, run / 64, &sa, &sb, &lanes);
            at += run;
        }
        h = mix64(mix64(h ^ nh_total(sa)) ^ nh_total(sb));
    }
    float_lanes_fold(&lanes, figures + channel);
    return hash_end(h, width);
}

static void floats_finish(const void *figures_room, Py_ssize_t channels, Py_ssize_t at,
                          const Outputs *out)
{
    const FloatFigures *figures = figures_room;
    for (Py_ssize_t c = 0; c < channels; c++, at++)
        float_finish(figures + c, out->sums + at, out->squares + at,
                     (float *)out->lows + at, (float *)out->highs + at);
}

static const OnePass floats_pass = {"OOKOOOOO|nnnnOOO:hashed_float_rows", 4, 16,
                                    sizeof(FloatFigures), float_sample, floats_finish};

/* hashed_float_rows(values, ...): one_pass for float32 samples, L a multiple of 16. */
PyObject *hashed_float_rows(PyObject *Py_UNUSED(self), PyObject *args)
{
    return one_pass(args, &floats_pass);
}
