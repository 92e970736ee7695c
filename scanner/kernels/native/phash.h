/* What the parts of the perceptual hash share (phash.c, phash_grey.c, phash_median.c). */
#ifndef DSCAN_PHASH_H
#define DSCAN_PHASH_H

#include "native.h"

#define AVX2 __attribute__((target("avx2,fma")))

#define SIDE_MAX ((Py_ssize_t)1 << 20) /* pixels a side: no product of sizes overflows */

#define PLAIN_STEP_MAX 4 /* bytes between grid columns that plain rows convert whole */

/* Where a sample's grid points lie: `rows` x `cols` points, row_stride and col_stride bytes
 * apart, each the sum of `channels` values channel_stride bytes apart. */
typedef struct {
    Py_ssize_t channels, channel_stride, row_stride, col_stride, rows, cols;
    const float *weights; /* one a channel (RGB to luma), or NULL: the channels added */
} Grid;

int grid_of(Py_ssize_t height, Py_ssize_t width, Py_ssize_t step_y, Py_ssize_t step_x,
            Grid *g);
void grey_of_bytes(const char *sample, const Grid *g, float *grey);
void grey_of_floats(const char *sample, const Grid *g, float *grey);
int plain_rows(const Grid *g, Py_ssize_t itemsize);
Py_ssize_t plain_span(const Grid *g);
AVX2 void grey_of_plain_rows(const char *sample, const Grid *g, float *grey);
AVX2 uint64_t phash_bits(const __m256 *frequencies);
AVX2 uint64_t phash_of_bytes(const char *sample, const Grid *g, int plain, const float *across,
                             const float *down, float *grey, float *along);
Py_ssize_t grey_room(const Grid *g, int plain);

AVX2 uint64_t phash_of_floats(const char *sample, const Grid *g, const float *across,
                              const float *down, float *grey, float *along);

/* Samples of bytes or float32 values hashed one at a time where they lie
 * (phash_samples.c). */
typedef struct {
    Grid grid;
    Py_ssize_t itemsize;
    int plain;
    const float *across, *down;
    float *grey, *along;
    uint64_t *out;
} SamplePictures;

int byte_pictures_open(SamplePictures *p, const Held *matrices, const Held *out,
                       Py_ssize_t records, Py_ssize_t channels, Py_ssize_t height,
                       Py_ssize_t width, Py_ssize_t step_y, Py_ssize_t step_x);
int float_pictures_open(SamplePictures *p, const Held *matrices, const Held *out,
                        Py_ssize_t records, Py_ssize_t channels, Py_ssize_t height,
                        Py_ssize_t width, Py_ssize_t step_y, Py_ssize_t step_x);
void pictures_close(SamplePictures *p);
void picture_hashed(SamplePictures *p, const char *sample, Py_ssize_t n);

#endif
