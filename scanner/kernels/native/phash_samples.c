/* The perceptual hash of samples read where they lie, one at a time (joined_prints,
 * hashed_byte_rows, hashed_float_rows): the grid, the two matrices and the room for a grey
 * picture, checked and set up once for a batch; bytes or float32 values. */
#include "phash.h"

/* Checks the matrices (across: cols x 8, down: 8 x rows float32) and `out` (records uint64)
 * for samples of channels x height x width values of `itemsize` bytes (1 or 4) at step_y
 * and step_x, and sets up `p`; -1 with an error set (`p` is closed all the same). */
static int pictures_open(SamplePictures *p, Py_ssize_t itemsize, const Held *matrices,
                         const Held *out, Py_ssize_t records, Py_ssize_t channels,
                         Py_ssize_t height, Py_ssize_t width, Py_ssize_t step_y,
                         Py_ssize_t step_x)
{
    Grid *g = &p->grid;
    *g = (Grid){channels, itemsize * height * width, itemsize * step_y * width,
                itemsize * step_x, 0, 0, NULL};
    p->itemsize = itemsize;
    p->grey = p->along = NULL;
    if (!has_avx2 || channels < 1 || grid_of(height, width, step_y, step_x, g) < 0 ||
            matrices[0].view.len != 4 * 8 * g->cols || matrices[1].view.len != 4 * 8 * g->rows ||
            out->view.len != 8 * records || !aligned(matrices, 2, 4) || !aligned(out, 1, 8)) {
        PyErr_SetString(PyExc_ValueError, "perceptual hash: grid, matrices or out wrong");
        return -1;
    }
    p->plain = itemsize == 1 && plain_rows(g, 1);
    p->across = matrices[0].view.buf;
    p->down = matrices[1].view.buf;
    p->out = out->view.buf;
    p->grey = PyMem_Malloc(sizeof(float) * (size_t)grey_room(g, p->plain));
    p->along = PyMem_Malloc(sizeof(float) * 8 * (size_t)g->rows);
    if (!p->grey || !p->along) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

int byte_pictures_open(SamplePictures *p, const Held *matrices, const Held *out,
                       Py_ssize_t records, Py_ssize_t channels, Py_ssize_t height,
                       Py_ssize_t width, Py_ssize_t step_y, Py_ssize_t step_x)
{
    return pictures_open(p, 1, matrices, out, records, channels, height, width, step_y,
                         step_x);
}

int float_pictures_open(SamplePictures *p, const Held *matrices, const Held *out,
                        Py_ssize_t records, Py_ssize_t channels, Py_ssize_t height,
                        Py_ssize_t width, Py_ssize_t step_y, Py_ssize_t step_x)
{
    return pictures_open(p, 4, matrices, out, records, channels, height, width, step_y,
                         step_x);
}

void pictures_close(SamplePictures *p)
{
    PyMem_Free(p->grey);
    PyMem_Free(p->along);
    p->grey = p->along = NULL;
}

/* Sample n's hash into out[n]. */
void picture_hashed(SamplePictures *p, const char *sample, Py_ssize_t n)
{
    p->out[n] = p->itemsize == 1 ? phash_of_bytes(sample, &p->grid, p->plain, p->across,
                                                  p->down, p->grey, p->along)
                                 : phash_of_floats(sample, &p->grid, p->across, p->down,
                                                   p->grey, p->along);
}
