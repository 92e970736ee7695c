"""Checks raised by the reading machinery itself rather than by looking at a record."""
from ..types import CRASH, ERROR
from .registry import register


@register("DS001", ERROR, "record cannot be read from the store", "store", CRASH)
def store_read_error():
    """What it finds: the store reported an error while dscan iterated it, e.g. a corrupt
    LMDB page (MDB_CORRUPTED) or a damaged LevelDB block. The finding names the last key
    read successfully and how many records could not be reached after it.

    Why it matters: Caffe's data layer checks every cursor operation; the same error kills
    the training run when its cursor reaches that page, possibly hours into the run.

    Example: `data.mdb` copied while being written, with pages in the middle overwritten.
    """
