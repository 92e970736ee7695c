/* The exact hash of value rows. */
#include "native.h"

/* Exact hashes of value rows (see scanner.kernels.row_hashes for the definition, which
 * numpy computes alike): per block of HASH_PAIRS pairs of 32-bit words, two NH sums
 * (sum of (m[2i] + k[2i]) * (m[2i+1] + k[2i+1]) mod 2**64, the second with the keys two
 * words on), each folded into the running hash by the splitmix64 finaliser. */

uint64_t mix64(uint64_t z)
{
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ull;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void nh_pair(const uint32_t *m, const uint32_t *k, uint64_t *a, uint64_t *b)
{
    *a += (uint64_t)(uint32_t)(m[0] + k[0]) * (uint32_t)(m[1] + k[1]);
    *b += (uint64_t)(uint32_t)(m[0] + k[2]) * (uint32_t)(m[1] + k[3]);
}

__attribute__((target("avx2")))
static Py_ssize_t nh_avx2(const char *p, const uint32_t *k, Py_ssize_t pairs, uint64_t *a,
                          uint64_t *b)
{
    __m256i sa = _mm256_setzero_si256(), sb = sa;
    Py_ssize_t i = 0;
    for (; i + 4 <= pairs; i += 4) {
        __builtin_prefetch(p + 8 * i + AHEAD);
        nh_step((const uint8_t *)p + 8 * i, k + 2 * i, &sa, &sb);
    }
    *a += nh_total(sa);
    *b += nh_total(sb);
    return i;
}

/* One block of at most 8 * HASH_PAIRS bytes (its last pair zero-padded) folded into h. */
uint64_t hash_block(const char *q, Py_ssize_t bytes, const uint32_t *k, uint64_t h)
{
    Py_ssize_t full = bytes / 8;
    uint64_t a = 0, b = 0;
    Py_ssize_t i = has_avx2 ? nh_avx2(q, k, full, &a, &b) : 0;
    for (; i < full; i++) {
        uint32_t m[2];
        memcpy(m, q + 8 * i, 8);
        nh_pair(m, k + 2 * i, &a, &b);
    }
    if (bytes % 8) {
        uint32_t m[2] = {0, 0};
        memcpy(m, q + 8 * full, (size_t)(bytes % 8));
        nh_pair(m, k + 2 * full, &a, &b);
    }
    return mix64(mix64(h ^ a) ^ b);
}

uint64_t hash_end(uint64_t h, Py_ssize_t width)
{
    return mix64(h ^ (uint64_t)width);
}

uint64_t row_hash(const char *p, Py_ssize_t width, const uint32_t *k, uint64_t tag)
{
    uint64_t h = tag;
    for (Py_ssize_t start = 0; start < width; start += 8 * HASH_PAIRS) {
        Py_ssize_t bytes = width - start < 8 * HASH_PAIRS ? width - start : 8 * HASH_PAIRS;
        h = hash_block(p + start, bytes, k, h);
    }
    return hash_end(h, width);
}

PyObject *row_hashes(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *objects[3];
    unsigned long long tag;
    if (!PyArg_ParseTuple(args, "OOKO:row_hashes", &objects[0], &objects[1], &tag, &objects[2]))
        return NULL;
    Held held[3];
    memset(held, 0, sizeof held);
    if (take(objects[0], &held[0], PyBUF_RECORDS_RO) < 0 ||
            take(objects[1], &held[1], PyBUF_C_CONTIGUOUS) < 0 ||
            take(objects[2], &held[2], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        goto fail;
    Py_buffer *v = &held[0].view;
    if (v->ndim != 2 || v->itemsize != 1 || (v->shape[1] > 1 && v->strides[1] != 1) ||
            held[1].view.len != 4 * (2 * HASH_PAIRS + 2) || held[2].view.len != 8 * v->shape[0]) {
        PyErr_SetString(PyExc_ValueError, "rows (n, W) bytes, keys and out of the wrong shape");
        goto fail;
    }
    const uint32_t *keys = held[1].view.buf;
    uint64_t *out = held[2].view.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t n = 0; n < v->shape[0]; n++)
        out[n] = row_hash((const char *)v->buf + n * v->strides[0], v->shape[1], keys, tag);
    Py_END_ALLOW_THREADS
    release(held, 3);
    Py_RETURN_NONE;
fail:
    release(held, 3);
    return NULL;
}
