/* Byte samples' exact hashes and figures in one pass: each 32-byte load feeds both the
 * exact hash (row_hash's NH blocks, hashes.c) and the sums, squares and extremes of the
 * channel it lies in (byte_row's, bytes.c), so that a large sample comes from memory once
 * and no second pass finds it in the cache. The results are the two passes' own: integer
 * sums in any order, the same NH terms. */
#include "one_pass.h"

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
    __m256i a = *sa, b = *sb, low = l->low, high = l->high, sums = l->sums,
            squares = l->squares;
    for (Py_ssize_t v = 0; v < vectors; v++, q += 32, k += 8) {
        __builtin_prefetch(q + AHEAD);
        byte_figures_step(nh_step(q, k, &a, &b), &low, &high, &sums, &squares);
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
        Py_ssize_t room = 32 * (Py_ssize_t)(BYTE_SQUARE_LOADS - s->lanes.loads);
        run = run < room ? run : room;
        if (run == 0) {  /* this load runs into the next channel */
            nh_step(q + at, k + at / 4, &sa, &sb);
            bytes_one_by_one(s, start + at, start + at + 32);
            at += 32;
            continue;
        }
        run_with_figures(q + at, k + at / 4, run / 32, &sa, &sb, &s->lanes);
        if (s->lanes.loads == BYTE_SQUARE_LOADS)
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
                              const uint32_t *keys, uint64_t tag, void *figures_room)
{
    ByteFigures *figures = figures_room;
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

static void bytes_finish(const void *figures_room, Py_ssize_t channels, Py_ssize_t at,
                         const Outputs *out)
{
    const ByteFigures *figures = figures_room;
    for (Py_ssize_t c = 0; c < channels; c++, at++) {
        out->sums[at] = (double)figures[c].sum;
        out->squares[at] = (double)figures[c].square;
        out->lows[at] = (char)figures[c].low;
        out->highs[at] = (char)figures[c].high;
    }
}

static const OnePass bytes_pass = {"OOKOOOOO|nnnnOOO:hashed_byte_rows", 1, 1,
                                   sizeof(ByteFigures), hashed_sample, bytes_finish};

/* hashed_byte_rows(values, ...): one_pass for uint8 samples of any length. */
PyObject *hashed_byte_rows(PyObject *Py_UNUSED(self), PyObject *args)
{
    return one_pass(args, &bytes_pass);
}
