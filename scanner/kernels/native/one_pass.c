/* The entry of the one passes over samples (hashed_bytes.c, hashed_floats.c): the
 * arguments checked, the pictures' part set up, each sample's exact hash and figures taken
 * by its kind's pass and, while the sample is in the cache, its perceptual hash. */
#include "one_pass.h"

/* hashed_*_rows(values, keys, tag, exact, sums, squares, mins, maxs[, height, width,
 * step_y, step_x, across, down, perceptual]) for samples of `kind`: values (n, C, L), L a
 * multiple of kind->multiple, each sample's C x L values contiguous; exact (n,) uint64 as
 * row_hashes gives them for the values' bytes (keys, tag), the figures (n, C) as byte_rows
 * or float_rows gives them, and with the pictures' part (L = height x width) the
 * perceptual hashes (n,) uint64 as phash gives them. AVX2 only (the caller checks). */
PyObject *one_pass(PyObject *args, const OnePass *kind)
{
    PyObject *objects[10] = {NULL};
    unsigned long long tag;
    Py_ssize_t height = 0, width = 0, step_y = 0, step_x = 0;
    if (!PyArg_ParseTuple(args, kind->format, &objects[0], &objects[1], &tag, &objects[2],
                          &objects[3], &objects[4], &objects[5], &objects[6], &height, &width,
                          &step_y, &step_x, &objects[7], &objects[8], &objects[9]))
        return NULL;
    const int perceptual = objects[9] != NULL;
    const Py_ssize_t itemsize = kind->itemsize;
    Held held[10];
    memset(held, 0, sizeof held);
    void *figures = NULL;
    SamplePictures pictures = {.grey = NULL, .along = NULL};
    if (take_values(objects[0], &held[0], itemsize) < 0 ||
            take(objects[1], &held[1], PyBUF_C_CONTIGUOUS) < 0 ||
            take(objects[2], &held[2], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        goto fail;
    Py_buffer *v = &held[0].view;
    const Py_ssize_t samples = v->shape[0], channels = v->shape[1], length = v->shape[2];
    const Py_ssize_t sizes[4] = {8, 8, itemsize, itemsize};
    if (take_outputs(objects + 3, held + 3, samples * channels, sizes) < 0)
        goto fail;
    if (!has_avx2 || length % kind->multiple ||
            (channels > 1 && v->strides[1] != itemsize * length) ||
            held[1].view.len != 4 * (2 * HASH_PAIRS + 2) || held[2].view.len != 8 * samples ||
            !aligned(held + 1, 1, 4) || !aligned(held + 2, 1, 8)) {
        PyErr_SetString(PyExc_ValueError, "one pass: samples, keys or out wrong");
        goto fail;
    }
    if (perceptual) {
        for (int i = 7; i < 10; i++)
            if (take(objects[i], &held[i], i == 9 ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS
                                                  : PyBUF_C_CONTIGUOUS) < 0)
                goto fail;
        if (height < 1 || width < 1 || height > SIDE_MAX || width > SIDE_MAX ||
                height * width != length) {
            PyErr_SetString(PyExc_ValueError, "one pass: height x width is not L");
            goto fail;
        }
        if ((itemsize == 1 ? byte_pictures_open : float_pictures_open)(
                &pictures, held + 7, held + 9, samples, channels, height, width, step_y,
                step_x) < 0)
            goto fail;
    }
    figures = PyMem_Malloc(kind->figures_size * (size_t)(channels ? channels : 1));
    if (!figures) {
        PyErr_NoMemory();
        goto fail;
    }
    const uint32_t *keys = held[1].view.buf;
    uint64_t *exact = held[2].view.buf;
    Outputs out = {held[3].view.buf, held[4].view.buf, held[5].view.buf, held[6].view.buf};
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t n = 0; n < samples; n++) {
        const uint8_t *sample = (const uint8_t *)v->buf + n * v->strides[0];
        exact[n] = kind->sample(sample, channels, length, keys, tag, figures);
        if (perceptual) /* the sample is in the cache now */
            picture_hashed(&pictures, (const char *)sample, n);
        kind->finish(figures, channels, n * channels, &out);
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(figures);
    pictures_close(&pictures);
    release(held, 10);
    Py_RETURN_NONE;
fail:
    PyMem_Free(figures);
    pictures_close(&pictures);
    release(held, 10);
    return NULL;
}
