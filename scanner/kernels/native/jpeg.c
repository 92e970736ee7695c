/* A JPEG's header markers walked as scanner.jpeg_markers.read_header walks them (the
 * reference, which also keeps the segments junk must be cut from). */
#include "native.h"

static int stands_alone(unsigned char marker)
{
    return marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7); /* TEM, RSTn */
}

static int is_frame(unsigned char marker)
{
    return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
           marker != 0xCC; /* DHT, JPG and DAC share the SOF range */
}

typedef struct {
    int sof, precision, height, width, count; /* sof -1: none; count -1: no sampling */
    Py_ssize_t scan_at, junk, frames, sampling_at;
} Header;

static void read_frame(Header *h, const unsigned char *d, unsigned char marker,
                       Py_ssize_t pos, Py_ssize_t length)
{
    if (length < 8)
        return;
    h->sof = marker;
    h->precision = d[pos + 2];
    h->height = d[pos + 3] << 8 | d[pos + 4];
    h->width = d[pos + 5] << 8 | d[pos + 6];
    int count = d[pos + 7];
    if (length < 8 + 3 * count) {
        h->sof = -1; /* a frame header cut short: nothing to judge with */
        return;
    }
    h->count = count;
    h->sampling_at = pos + 9;
}

static void walk(const unsigned char *d, Py_ssize_t end, Header *h)
{
    Py_ssize_t pos = 2;
    while (pos < end) {
        Py_ssize_t start = pos;
        while (pos < end && d[pos] != 0xFF)
            pos++;
        Py_ssize_t skipped = pos - start; /* libjpeg: "extraneous bytes before marker" */
        while (pos < end && d[pos] == 0xFF) /* fill bytes */
            pos++;
        if (pos >= end)
            break;
        h->junk += skipped;
        unsigned char marker = d[pos];
        Py_ssize_t marker_at = pos - 1;
        pos++;
        if (stands_alone(marker))
            continue;
        if (marker == 0xD9 || marker == 0xD8 || pos + 2 > end)
            break;
        Py_ssize_t length = d[pos] << 8 | d[pos + 1];
        if (marker == 0xDA) {
            h->scan_at = marker_at;
            break;
        }
        if (length < 2 || pos + length > end)
            break;
        if (is_frame(marker) && ++h->frames == 1)
            read_frame(h, d, marker, pos, length);
        pos += length;
    }
}

/* jpeg_header(data) -> (sof, precision, height, width, sampling, scan_at, junk, frames):
 * sof and scan_at None when absent, sampling a list of (h, v) per component. */
PyObject *jpeg_header(PyObject *Py_UNUSED(self), PyObject *data)
{
    Held held;
    memset(&held, 0, sizeof held);
    if (take(data, &held, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *d = held.view.buf;
    Header h = {-1, 0, 0, 0, -1, -1, 0, 0, 0};
    walk(d, held.view.len, &h);
    PyObject *result = NULL, *sof = NULL, *scan = NULL;
    PyObject *sampling = PyList_New(h.count > 0 ? h.count : 0);
    if (sampling == NULL)
        goto done;
    for (int i = 0; i < h.count; i++) {
        unsigned char byte = d[h.sampling_at + 3 * i];
        PyObject *pair = Py_BuildValue("(ii)", byte >> 4, byte & 0x0F);
        if (pair == NULL)
            goto done;
        PyList_SET_ITEM(sampling, i, pair);
    }
    if (h.sof < 0) {
        Py_INCREF(Py_None);
        sof = Py_None;
    } else {
        sof = PyLong_FromLong(h.sof);
    }
    if (h.scan_at < 0) {
        Py_INCREF(Py_None);
        scan = Py_None;
    } else {
        scan = PyLong_FromSsize_t(h.scan_at);
    }
    if (sof != NULL && scan != NULL)
        result = Py_BuildValue("(OiiiOOnn)", sof, h.precision, h.height, h.width, sampling,
                               scan, h.junk, h.frames);
done:
    Py_XDECREF(sof);
    Py_XDECREF(scan);
    Py_XDECREF(sampling);
    release(&held, 1);
    return result;
}
