/* Unpacked float_data (a tag byte before each value): gathered, tags checked, summed. */
#include "native.h"

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

/* AVX2, the figures taken on the way: two 16-byte loads, 15 bytes apart, hold six elements;
 * one shuffle per lane puts their values together and one permutation closes the gap
 * between the lanes, repeating element five in the last two (min and max cannot change by
 * it; a mask takes them out of the sums). */
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
    fold_avx2(_mm256_add_pd(s0, s1), _mm256_add_pd(q0, q1), lo, hi, nan, f);
    int clean = _mm256_testz_si256(bad, bad);
    int tail = unpack_tail(p + 5 * i, count - i, out + 4 * i);
    float_tail(out + 4 * i, count - i, f);
    return tail && clean;
}

static int unpack_row(const unsigned char *p, Py_ssize_t count, char *out)
{
    return has_ssse3 ? unpack_ssse3(p, count, out) : unpack_tail(p, count, out);
}

#define GATHER_PIECE 4096 /* elements unpacked, then summed while they are in L1 */

/* `count` elements unpacked to out with their figures added to f: in one AVX2 pass, or
 * unpacked and then summed. 1 when every tag is float_data's. */
static int unpack_piece(const unsigned char *p, Py_ssize_t count, char *out, FloatFigures *f)
{
    if (has_avx2)
        return unpack_sum_avx2(p, count, out, f);
    int ok = unpack_row(p, count, out);
    float_accumulate(out, count, f);
    return ok;
}

/* One record: its channels unpacked into out, each channel's figures taken on the way (in
 * pieces that stay in L1 where there is no AVX2 pass). 1 when every tag is float_data's. */
static int gather_record(const unsigned char *p, Py_ssize_t channels, Py_ssize_t length,
                         char *out, double *sums, double *squares, float *lows, float *highs)
{
    const Py_ssize_t step = has_avx2 ? length : GATHER_PIECE;
    int ok = 1;
    for (Py_ssize_t c = 0; c < channels; c++) {
        FloatFigures f = no_floats;
        for (Py_ssize_t at = 0; at < length; at += step) {
            Py_ssize_t piece = length - at < step ? length - at : step;
            Py_ssize_t element = c * length + at;
            ok &= unpack_piece(p + 5 * element, piece, out + 4 * element, &f);
        }
        float_finish(&f, sums + c, squares + c, lows + c, highs + c);
    }
    return ok;
}

/* One record's figures and exact hash without its values kept: they are unpacked into
 * `block` (one hash block of floats, in L1) a piece at a time, each piece summed on the way
 * and each full block hashed at once, so that the record is read once and nothing is
 * written out. The hash is row_hashes' of the values as gather_tagged lays them out; no
 * hash without keys. */
static int prints_record(const unsigned char *p, Py_ssize_t channels, Py_ssize_t length,
                         float *block, const uint32_t *keys, uint64_t tag, double *sums,
                         double *squares, float *lows, float *highs, uint64_t *hash)
{
    const Py_ssize_t per_block = 2 * HASH_PAIRS, total = channels * length;
    uint64_t h = tag;
    Py_ssize_t element = 0;
    int ok = 1;
    for (Py_ssize_t c = 0; c < channels; c++) {
        FloatFigures f = no_floats;
        for (Py_ssize_t end = (c + 1) * length; element < end;) {
            Py_ssize_t in_block = element % per_block;
            Py_ssize_t piece = end - element < per_block - in_block ? end - element
                                                                    : per_block - in_block;
            ok &= unpack_piece(p + 5 * element, piece, (char *)(block + in_block), &f);
            element += piece;
            if (keys && (in_block + piece == per_block || element == total))
                h = hash_block((const char *)block, 4 * (in_block + piece), keys, h);
        }
        float_finish(&f, sums + c, squares + c, lows + c, highs + c);
    }
    *hash = hash_end(h, 4 * total);
    return ok;
}

typedef struct {
    Py_ssize_t offset, channels, length;
    uint64_t tag, unhashed;
    const uint32_t *keys; /* NULL: no hashes */
    char *out;            /* NULL: the values are not kept */
    Held *held;           /* sums, squares, mins, maxs, then hashes */
} Unpack;

static int unpack_one(const Py_buffer *record, Py_ssize_t n, void *context)
{
    Unpack *g = context;
    Py_ssize_t count = g->channels * g->length, at = n * g->channels;
    if (record->len < g->offset || (record->len - g->offset) / 5 < count)
        return 0;
    const unsigned char *p = (const unsigned char *)record->buf + g->offset;
    double *sums = (double *)g->held[0].view.buf + at;
    double *squares = (double *)g->held[1].view.buf + at;
    float *lows = (float *)g->held[2].view.buf + at, *highs = (float *)g->held[3].view.buf + at;
    uint64_t *hash = g->keys ? (uint64_t *)g->held[4].view.buf + n : &g->unhashed;
    float block[2 * HASH_PAIRS];
    int ok;
    Py_BEGIN_ALLOW_THREADS
    if (g->out)
        ok = gather_record(p, g->channels, g->length, g->out + n * count * 4, sums, squares,
                           lows, highs);
    else
        ok = prints_record(p, g->channels, g->length, block, g->keys, g->tag, sums, squares,
                           lows, highs, hash);
    Py_END_ALLOW_THREADS
    return ok;
}

/* unpack_tagged(records, offset, channels, length, out, keys, tag, sums, squares, mins,
 * maxs, hashes): see module.c. */
PyObject *unpack_tagged(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *records, *out_object, *key_object, *objects[5];
    unsigned long long tag;
    Unpack g = {0, 0, 0, 0, 0, NULL, NULL, NULL};
    if (!PyArg_ParseTuple(args, "OnnnOOKOOOOO:unpack_tagged", &records, &g.offset,
                          &g.channels, &g.length, &out_object, &key_object, &tag,
                          &objects[0], &objects[1], &objects[2], &objects[3], &objects[4]))
        return NULL;
    g.tag = tag;
    int kept = out_object != Py_None, hashed = key_object != Py_None;
    PyObject *sequence = PySequence_Tuple(records); /* owns its items while the GIL is off */
    if (sequence == NULL)
        return NULL;
    Held held[7]; /* the five outputs, the values, the keys */
    memset(held, 0, sizeof held);
    g.held = held;
    Py_ssize_t records_n = PyTuple_GET_SIZE(sequence), failed = -2;
    if (valid_elements(g.offset, records_n, g.channels, g.length) < 0)
        goto done;
    if (kept && hashed) {
        PyErr_SetString(PyExc_ValueError, "values kept are hashed apart: no keys with out");
        goto done;
    }
    Py_ssize_t rows = records_n * g.channels;
    const Py_ssize_t lengths[6] = {8 * rows, 8 * rows, 4 * rows, 4 * rows, 8 * records_n,
                                   records_n * 4 * g.channels * g.length};
    if (take_sized(objects, held, 4 + hashed, lengths) < 0 ||
            (kept && take_sized(&out_object, &held[5], 1, &lengths[5]) < 0))
        goto done;
    if (hashed) {
        if (take(key_object, &held[6], PyBUF_C_CONTIGUOUS) < 0)
            goto done;
        if (held[6].view.len != 4 * (2 * HASH_PAIRS + 2)) {
            PyErr_SetString(PyExc_ValueError, "hash keys of the wrong size");
            goto done;
        }
        g.keys = held[6].view.buf;
    }
    g.out = kept ? held[5].view.buf : NULL;
    failed = each_record(sequence, unpack_one, &g);
done:
    release(held, 7);
    Py_DECREF(sequence);
    return failed < -1 ? NULL : PyLong_FromSsize_t(failed);
}
