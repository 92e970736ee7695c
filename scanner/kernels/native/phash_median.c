/* The bits of the perceptual hash (phash.c): each of the 64 frequencies against their
 * median. The median comes from a bitonic sorting network: 8 columns of 8 sorted across
 * the registers, transposed into 8 sorted runs, merged into two runs of 32; their
 * half-cleaner splits the 64 into the 32 smallest and the 32 largest, and the median is the
 * mean of the largest of the one and the smallest of the other (about 40 ns). */
#include "phash.h"

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

/* The hash of the 64 frequencies, each row's the highest first (lane k of row v: frequency
 * i = 8v + 7 - k): bit 63 - i set when frequency i is above the median, so that a row's
 * lanes are its bits as they come. */
AVX2 uint64_t phash_bits(const __m256 *frequencies)
{
    int nan = 0;
    for (int v = 0; v < 8; v++)
        nan |= _mm256_movemask_ps(_mm256_cmp_ps(frequencies[v], frequencies[v], _CMP_UNORD_Q));
    __m256 middle = _mm256_set1_ps(nan ? median_with_nan((const float *)frequencies)
                                       : median_of(frequencies));
    uint64_t hash = 0;
    for (int v = 0; v < 8; v++) {
        __m256 above = _mm256_cmp_ps(frequencies[v], middle, _CMP_GT_OQ);
        hash |= (uint64_t)_mm256_movemask_ps(above) << (56 - 8 * v);
    }
    return hash;
}
