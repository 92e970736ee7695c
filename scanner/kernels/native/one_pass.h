/* What the one passes over samples share (one_pass.c, hashed_bytes.c, hashed_floats.c). */
#ifndef DSCAN_ONE_PASS_H
#define DSCAN_ONE_PASS_H

#include "phash.h"

/* The figures' outputs, (n, C) each: sums and squares float64, extremes of the values'
 * type. */
typedef struct {
    double *sums, *squares;
    char *lows, *highs;
} Outputs;

/* One kind of samples: its values, the pass over one sample (its exact hash returned, its
 * channels' figures into `figures`) and the figures written out from `at` on. */
typedef struct {
    const char *format; /* the arguments, for PyArg_ParseTuple */
    Py_ssize_t itemsize, multiple; /* bytes a value; L a multiple of this */
    size_t figures_size; /* bytes of one channel's figures */
    uint64_t (*sample)(const uint8_t *sample, Py_ssize_t channels, Py_ssize_t length,
                       const uint32_t *keys, uint64_t tag, void *figures);
    void (*finish)(const void *figures, Py_ssize_t channels, Py_ssize_t at,
                   const Outputs *out);
} OnePass;

PyObject *one_pass(PyObject *args, const OnePass *kind);

#endif
