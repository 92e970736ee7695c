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


@register("DS005", ERROR, "record crashed the decoder", "store", CRASH)
def decoder_crash():
    """What it finds: a record on which a worker process died (segmentation fault, abort,
    killed for memory) each time it was inspected. dscan re-runs the shard without it, reports
    it here and goes on; the other records of the shard are scanned as usual.

    Why it matters: a record that kills a decoding library in dscan will very likely kill
    Caffe's reader too (the same libjpeg, libpng and protobuf code paths), with no message
    naming the record.

    Example: a crafted image whose header drives a decoder into an out-of-bounds write.
    """


@register("DS009", ERROR, "inspecting the record raised", "record", None,
          fix="report the record's bytes (see the key) to dscan's maintainers; check it by hand")
def inspection_raised():
    """What it finds: a record on which a decoding library, or one of dscan's checks, raised
    an exception instead of answering (the finding names the exception, its message and
    where it was raised; `-v` logs the traceback). The record is counted as not inspected,
    and the scan goes on with the next one.

    Why it matters: dscan cannot say what Caffe will do with this record, so the report's
    verdict does not cover it. A library that trips over its bytes is a warning sign: the
    same record may well trip a decoder in the training run too.

    Example: a JPEG whose header makes a decoding library raise `KeyError: -1`.
    """


@register("DS006", ERROR, "store holds no records", "store", CRASH)
def empty_store():
    """What it finds: a store (or every file of an HDF5 list) with no record to train on.

    Why it matters: Caffe cannot form a single batch; on an empty LMDB it dies at start-up
    with `std::bad_alloc`, which does not say that the database is empty.

    Example: a conversion job whose list file paths were all wrong wrote an empty LMDB.
    """


@register("DS010", ERROR, "store changed while it was scanned", "store", None,
          fix="scan when no writer is running, or keep lock.mdb so that dscan reads as a "
              "registered reader (--lmdb-lock auto)")
def store_changed():
    """What it finds: a writer committed to the store again and again while dscan read it,
    so the shards could not be brought to one version of the store: each read a different
    transaction, or (read lock-free) a commit landed while a shard was being read and may
    have reused its pages. The report is partial: it covers no single snapshot.

    Why it matters: the counts, the verdict and the findings would mix versions of the store
    (records deleted in one shard's version and added in another's), so a clean result would
    prove nothing about the data Caffe will read.

    Example: scanning a `train_lmdb` while `convert_imageset` is still adding records to it.
    """
