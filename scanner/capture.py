"""What libraries print in a worker (libjpeg, libtiff, liblmdb on fd 2; Pillow and numpy
warnings) is no output of dscan: it is captured and goes to the -v log, named by shard."""
from __future__ import annotations

import logging
import os
import tempfile
import warnings

log = logging.getLogger("dscan")
MOST_LOGGED = 4000  # characters of library output logged per shard


class LibraryOutput:
    """fd 2 of this process, redirected into an unlinked temporary file."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()
        os.dup2(self.file.fileno(), 2)
        warnings.showwarning = _log_warning

    def drain(self, shard_number: int) -> None:
        """Log what was printed since the last drain, and start afresh."""
        size = os.fstat(self.file.fileno()).st_size
        if not size:
            return
        text = os.pread(self.file.fileno(), min(size, MOST_LOGGED), 0).decode(
            "utf-8", "replace").strip()
        os.ftruncate(self.file.fileno(), 0)
        os.lseek(2, 0, os.SEEK_SET)  # fd 2 shares the offset: write from the start again
        if text:
            more = f" ... ({size - MOST_LOGGED} more bytes)" if size > MOST_LOGGED else ""
            log.debug("shard %d: library output: %s%s", shard_number, text, more)


def _log_warning(message, category, filename, lineno, file=None, line=None) -> None:
    log.debug("%s (%s:%d): %s", category.__name__, os.path.basename(filename), lineno,
              message)
