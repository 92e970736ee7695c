/* The grey pictures the perceptual hash is taken of (phash.c): a sample's grid points,
 * its channels added (or weighted to luma) in float32 in channel order. */
#include "phash.h"

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
void grey_of_bytes(const char *sample, const Grid *g, float *grey)
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

/* Does the grey picture of these samples come from whole rows of one plain channel (one
 * byte a value, no weights, the grid's columns at most PLAIN_STEP_MAX bytes apart)? */
int plain_rows(const Grid *g, Py_ssize_t itemsize)
{
    return itemsize == 1 && g->channels == 1 && !g->weights && g->col_stride >= 1 &&
           g->col_stride <= PLAIN_STEP_MAX;
}

/* The span of a grid row that plain_rows converts: its first to its last point. */
Py_ssize_t plain_span(const Grid *g)
{
    return (g->cols - 1) * g->col_stride + 1;
}

/* The grey picture of one sample of one plain channel: each grid row's span converted
 * whole, eight values at a time (the grid's points: every col_stride-th of a span). */
AVX2 void grey_of_plain_rows(const char *sample, const Grid *g, float *grey)
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
void grey_of_floats(const char *sample, const Grid *g, float *grey)
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

/* The grid's rows and cols for these sizes and steps; -1 when one is out of range. */
int grid_of(Py_ssize_t height, Py_ssize_t width, Py_ssize_t step_y, Py_ssize_t step_x,
                   Grid *g)
{
    if (height < 1 || width < 1 || height > SIDE_MAX || width > SIDE_MAX || step_y < 1 ||
            step_x < 1 || step_y > height || step_x > width)
        return -1;
    g->rows = (height + step_y - 1) / step_y;
    g->cols = (width + step_x - 1) / step_x;
    return 0;
}
