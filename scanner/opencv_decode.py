"""Ask OpenCV's `imdecode`, the decoder Caffe uses, whether it makes an image of some bytes.

OpenCV is imported once per process, when first needed, and kept single-threaded: each
worker is already one of many. Its own log lines are silenced; what the codec libraries
print on stderr (libpng, libjpeg, libtiff) is captured and becomes the finding's message.
"""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass

import numpy as np

# OpenCV's limits (imgcodecs CV_IO_MAX_IMAGE_WIDTH/HEIGHT/PIXELS): it refuses larger images.
MAX_SIDE = 1 << 20
MAX_PIXELS = 1 << 30
_MESSAGE_BYTES = 4096
_lock = threading.Lock()  # stderr is the process's: one capture at a time (Dask threads)
_state: dict = {}  # per process: the cv2 module, and the file stderr is captured into


@dataclass
class Decoded:
    """OpenCV's answer: the image (None if it made none) and what the codec said."""

    image: np.ndarray | None
    message: str = ""

    @property
    def channels(self) -> int:
        return 0 if self.image is None else 1 if self.image.ndim == 2 else self.image.shape[2]


def _cv2():
    if _state.get("pid") != os.getpid():  # a forked worker gets its own capture file
        import cv2
        cv2.setNumThreads(0)
        cv2.setLogLevel(0)  # silent: its lines carry timestamps; the codecs' are captured
        _state.update(pid=os.getpid(), cv2=cv2, capture=os.memfd_create("dscan-stderr"))
    return _state["cv2"]


def flag(channels: int | None) -> int:
    """The imdecode flag of Caffe's decode: grey or colour when the layer forces it (or
    ImageData's is_color), otherwise the image's own channels (DecodeDatumToCVMatNative)."""
    cv2 = _cv2()
    return {1: cv2.IMREAD_GRAYSCALE, 3: cv2.IMREAD_COLOR}.get(channels, cv2.IMREAD_UNCHANGED)


def imdecode(data, channels: int | None = None) -> Decoded:
    """Decode as Caffe would; an image OpenCV refuses, or throws on, is an image Caffe
    cannot decode ("Could not decode datum", or an uncaught cv::Exception)."""
    cv2 = _cv2()
    buffer = np.frombuffer(data, np.uint8)
    with _lock:
        capture = _state["capture"]
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture, 2)
        try:
            image = cv2.imdecode(buffer, flag(channels))
            error = None
        except cv2.error as exc:  # an assertion inside the codec: Caffe dies the same way
            image, error = None, str(exc).strip().splitlines()[-1]
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        said = _drain(capture)
    if error:
        said = f"{said}; {error}" if said else error
    return Decoded(image, said)


def _drain(capture: int) -> str:
    end = os.lseek(capture, 0, os.SEEK_CUR)
    os.lseek(capture, 0, os.SEEK_SET)
    text = os.read(capture, min(end, _MESSAGE_BYTES)).decode("utf-8", "replace")
    os.ftruncate(capture, 0)
    os.lseek(capture, 0, os.SEEK_SET)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    unique = list(dict.fromkeys(lines))
    return "; ".join(unique[:3]) + ("; ..." if len(unique) > 3 else "")
