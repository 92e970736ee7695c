/* Byte samples' exact hashes and figures in one pass: each 32-byte load feeds both the
 * exact hash (row_hash's NH blocks, hashes.c) and the sums, squares and extremes of the
 * channel it lies in (byte_row's, bytes.c), so that a large sample comes from memory once
 * and no second pass finds it in the cache. The results are the two passes' own: integer
 * sums in any order, the same NH terms. */
#include "phash.h"

#define SQUARE_LOADS 8192 /* loads between widenings: 8192 * 2 * 2 * 255**2 < 2**31 */

typedef struct {
    uint64_t sum, square;
    uint8_t low, high;
} ByteFigures;

/* One channel's vector accumulators: byte extremes, 64-bit sums, 32-bit squares. */
typedef struct {
    __m256i low, high, sums, squares;
    int loads;
} Lanes;

/* Where the pass is in the sample: the channel its lanes gather and that channel's end. */
typedef struct {
    const uint8_t *sample;
    Py_ssize_t length, channel, channel_end;
    ByteFigures *figures;
    Lanes lanes;
} Pass;

__attribute__((target("avx2")))
static void lanes_clear(Lanes *l)
{
    l->low = _mm256_set1_epi8(-1);
    l->high = l->sums = l->squares = _mm256_setzero_si256();
    l->loads = 0;
}

__attribute__((target("avx2")))
static void lanes_fold(Lanes *l, ByteFigures *f)
{
    uint64_t sums[4];
    uint32_t squares[8];
    uint8_t lows[32], highs[32];
    _mm256_storeu_si256((__m256i *)sums, l->sums);
    _mm256_storeu_si256((__m256i *)squares, l->squares);
    _mm256_storeu_si256((__m256i *)lows, l->low);
    _mm256_storeu_si256((__m256i *)highs, l->high);
    f->sum += sums[0] + sums[1] + sums[2] + sums[3];
    for (int j = 0; j < 8; j++)
        f->square += squares[j];
    for (int j = 0; j < 32; j++) {
        f->low = lows[j] < f->low ? lows[j] : f->low;
        f->high = highs[j] > f->high ? highs[j] : f->high;
    }
    lanes_clear(l);
}

/* The lanes' channel moved on to the one holding byte `at` of the sample. */
__attribute__((target("avx2")))
static void reach(Pass *s, Py_ssize_t at)
{
    while (at >= s->channel_end) {
        lanes_fold(&s->lanes, s->figures + s->channel);
        s->channel++;
        s->channel_end += s->length;
    }
}

/* Bytes [from, to) of the sample, one at a time, into their channels' figures. */
__attribute__((target("avx2")))
static void bytes_one_by_one(Pass *s, Py_ssize_t from, Py_ssize_t to)
{
    for (Py_ssize_t at = from; at < to; at++) {
        reach(s, at);
        ByteFigures *f = s->figures + s->channel;
        uint32_t x = s->sample[at];
        f->sum += x;
        f->square += x * x;
        f->low = x < f->low ? (uint8_t)x : f->low;
        f->high = x > f->high ? (uint8_t)x : f->high;
    }
}

#define INLINE static inline __attribute__((always_inline, target("avx2")))

/* `vectors` loads of one channel into the NH sums and the channel's lanes, the
 * accumulators held in registers for the run. */
INLINE void run_with_figures(const uint8_t *q, const uint32_t *k, Py_ssize_t vectors,
                             __m256i *sa, __m256i *sb, Lanes *l)
{
    const __m256i zero = _mm256_setzero_si256();
    __m256i a = *sa, b = *sb, low = l->low, high = l->high, sums = l->sums,
            squares = l->squares;
    for (Py_ssize_t v = 0; v < vectors; v++, q += 32, k += 8) {
        __builtin_prefetch(q + AHEAD);
        __m256i m = nh_step(q, k, &a, &b);
        low = _mm256_min_epu8(low, m);
        high = _mm256_max_epu8(high, m);
        sums = _mm256_add_epi64(sums, _mm256_sad_epu8(m, zero));
        __m256i lo = _mm256_unpacklo_epi8(m, zero), hi = _mm256_unpackhi_epi8(m, zero);
        squares = _mm256_add_epi32(squares, _mm256_add_epi32(_mm256_madd_epi16(lo, lo),
                                                             _mm256_madd_epi16(hi, hi)));
    }
    *sa = a;
    *sb = b;
    l->low = low;
    l->high = high;
    l->sums = sums;
    l->squares = squares;
    l->loads += (int)vectors;
}

/* One block of the exact hash (hash_block's), its bytes' figures taken from the same
 * loads; `start`: the block's first byte in the sample. Whole loads inside one channel go
 * in runs (at most the lanes' room for squares); a load across two channels, and the
 * block's last bytes, are counted one by one. */
__attribute__((target("avx2")))
static uint64_t block_with_figures(Pass *s, Py_ssize_t start, Py_ssize_t bytes,
                                   const uint32_t *k, uint64_t h)
{
    const uint8_t *q = s->sample + start;
    __m256i sa = _mm256_setzero_si256(), sb = sa;
    const Py_ssize_t whole = bytes - bytes % 32;
    Py_ssize_t at = 0;
    while (at < whole) {
        reach(s, start + at);
        Py_ssize_t left = s->channel_end - (start + at), run = whole - at;
        run = run < left - left % 32 ? run : left - left % 32;
        Py_ssize_t room = 32 * (Py_ssize_t)(SQUARE_LOADS - s->lanes.loads);
        run = run < room ? run : room;
        if (run == 0) {  /* this load runs into the next channel */
            nh_step(q + at, k + at / 4, &sa, &sb);
            bytes_one_by_one(s, start + at, start + at + 32);
            at += 32;
            continue;
        }
        run_with_figures(q + at, k + at / 4, run / 32, &sa, &sb, &s->lanes);
        if (s->lanes.loads == SQUARE_LOADS)
            lanes_fold(&s->lanes, s->figures + s->channel);
        at += run;
    }
    uint64_t a = nh_total(sa), b = nh_total(sb);
    for (Py_ssize_t i = at / 8; i < bytes / 8; i++) {
        uint32_t m[2];
        memcpy(m, q + 8 * i, 8);
        nh_pair(m, k + 2 * i, &a, &b);
    }
    if (bytes % 8) {
        uint32_t m[2] = {0, 0};
        memcpy(m, q + 8 * (bytes / 8), (size_t)(bytes % 8));
        nh_pair(m, k + 2 * (bytes / 8), &a, &b);
    }
    bytes_one_by_one(s, start + at, start + bytes);
    return mix64(mix64(h ^ a) ^ b);
}

/* The sample's exact hash (row_hash's of its channels x length bytes) and its channels'
 * figures into figures[channels]. */
__attribute__((target("avx2")))
static uint64_t hashed_sample(const uint8_t *sample, Py_ssize_t channels, Py_ssize_t length,
                              const uint32_t *keys, uint64_t tag, ByteFigures *figures)
{
    Pass s = {.sample = sample, .length = length, .channel = 0, .channel_end = length,
              .figures = figures};
    lanes_clear(&s.lanes);
    for (Py_ssize_t c = 0; c < channels; c++)
        figures[c] = (ByteFigures){0, 0, 255, 0};
    const Py_ssize_t width = channels * length;
    uint64_t h = tag;
    for (Py_ssize_t start = 0; start < width; start += 8 * HASH_PAIRS) {
        Py_ssize_t bytes = width - start < 8 * HASH_PAIRS ? width - start : 8 * HASH_PAIRS;
        h = block_with_figures(&s, start, bytes, keys, h);
    }
    lanes_fold(&s.lanes, figures + s.channel);
    return hash_end(h, width);
}

/* hashed_byte_rows(values, keys, tag, exact, sums, squares, mins, maxs[, height, width,
 * step_y, step_x, across, down, perceptual]): values (n, C, L) uint8, each sample's C x L
 * bytes contiguous; exact (n,) uint64 as row_hashes gives them (keys, tag) and the figures
 * (n, C) as byte_rows does; with the pictures' part (L = height x width), the perceptual
 * hashes (n,) uint64 as phash gives them, each taken while its sample is in the cache. AVX2
 * only (the caller checks). */
PyObject *hashed_byte_rows(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *objects[10] = {NULL};
    unsigned long long tag;
    Py_ssize_t height = 0, width = 0, step_y = 0, step_x = 0;
    if (!PyArg_ParseTuple(args, "OOKOOOOO|nnnnOOO:hashed_byte_rows", &objects[0], &objects[1],
                          &tag, &objects[2], &objects[3], &objects[4], &objects[5],
                          &objects[6], &height, &width, &step_y, &step_x, &objects[7],
                          &objects[8], &objects[9]))
        return NULL;
    const int perceptual = objects[9] != NULL;
    Held held[10];
    memset(held, 0, sizeof held);
    ByteFigures *figures = NULL;
    BytePictures pictures = {.grey = NULL, .along = NULL};
    if (take_values(objects[0], &held[0], 1) < 0 ||
            take(objects[1], &held[1], PyBUF_C_CONTIGUOUS) < 0 ||
            take(objects[2], &held[2], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        goto fail;
    Py_buffer *v = &held[0].view;
    const Py_ssize_t samples = v->shape[0], channels = v->shape[1], length = v->shape[2];
    const Py_ssize_t sizes[4] = {8, 8, 1, 1};
    if (take_outputs(objects + 3, held + 3, samples * channels, sizes) < 0)
        goto fail;
    if (!has_avx2 || (channels > 1 && v->strides[1] != length) ||
            held[1].view.len != 4 * (2 * HASH_PAIRS + 2) || held[2].view.len != 8 * samples ||
            !aligned(held + 1, 1, 4) || !aligned(held + 2, 1, 8)) {
        PyErr_SetString(PyExc_ValueError, "hashed_byte_rows: samples, keys or out wrong");
        goto fail;
    }
    if (perceptual) {
        for (int i = 7; i < 10; i++)
            if (take(objects[i], &held[i], i == 9 ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS
                                                  : PyBUF_C_CONTIGUOUS) < 0)
                goto fail;
        if (height < 1 || width < 1 || height > SIDE_MAX || width > SIDE_MAX ||
                height * width != length) {
            PyErr_SetString(PyExc_ValueError, "hashed_byte_rows: height x width is not L");
            goto fail;
        }
        if (byte_pictures_open(&pictures, held + 7, held + 9, samples, channels, height,
                               width, step_y, step_x) < 0)
            goto fail;
    }
    figures = PyMem_Malloc(sizeof(ByteFigures) * (size_t)(channels ? channels : 1));
    if (!figures) {
        PyErr_NoMemory();
        goto fail;
    }
    const uint32_t *keys = held[1].view.buf;
    uint64_t *exact = held[2].view.buf;
    double *sums = held[3].view.buf, *squares = held[4].view.buf;
    uint8_t *lows = held[5].view.buf, *highs = held[6].view.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t n = 0; n < samples; n++) {
        const uint8_t *sample = (const uint8_t *)v->buf + n * v->strides[0];
        exact[n] = hashed_sample(sample, channels, length, keys, tag, figures);
        if (perceptual) /* the sample is in the cache now */
            byte_picture_hashed(&pictures, (const char *)sample, n);
        for (Py_ssize_t c = 0; c < channels; c++) {
            Py_ssize_t at = n * channels + c;
            sums[at] = (double)figures[c].sum;
            squares[at] = (double)figures[c].square;
            lows[at] = figures[c].low;
            highs[at] = figures[c].high;
        }
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(figures);
    byte_pictures_close(&pictures);
    release(held, 10);
    Py_RETURN_NONE;
fail:
    PyMem_Free(figures);
    byte_pictures_close(&pictures);
    release(held, 10);
    return NULL;
}
