"""The protobuf runtime, compiled from tests/proto/caffe_datum.proto: the reference Datum."""
from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import tempfile

PROTO_DIR = os.path.join(os.path.dirname(__file__), "proto")


@functools.lru_cache(maxsize=None)
def datum_pb2():
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="dscan-proto-")
    try:  # the module, once loaded, needs its file no more: nothing is left in /tmp
        status = protoc.main(["protoc", f"-I{PROTO_DIR}", f"--python_out={out}",
                              os.path.join(PROTO_DIR, "caffe_datum.proto")])
        if status != 0:
            raise RuntimeError(f"protoc failed with status {status}")
        spec = importlib.util.spec_from_file_location("caffe_datum_pb2",
                                                      os.path.join(out, "caffe_datum_pb2.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return module


def datum_bytes(packed: bool = False, **fields) -> bytes:
    """Serialize a Datum with the protobuf runtime (a fresh message every time)."""
    pb = datum_pb2()
    message = (pb.PackedDatum if packed else pb.Datum)(**fields)
    return message.SerializeToString()


def parse(value: bytes):
    message = datum_pb2().Datum()
    message.ParseFromString(value)
    return message


def blob_bytes(values, shape=None, legacy=None, double: bool = False) -> bytes:
    """Serialize a BlobProto: `shape` as BlobShape dims, or `legacy` (num, c, h, w)."""
    blob = datum_pb2().BlobProto()
    if legacy is not None:
        blob.num, blob.channels, blob.height, blob.width = legacy
    if shape is not None:
        blob.shape.dim.extend(shape)
    (blob.double_data if double else blob.data).extend(float(v) for v in values)
    return blob.SerializeToString()


def annotated_bytes(datum: dict | None, groups, type_value=0, difficult=False) -> bytes:
    """Serialize an AnnotatedDatum with the protobuf runtime. `groups` is a list of
    (group_label, boxes), a box (xmin, ymin, xmax, ymax[, difficult]) or None (an annotation
    without bbox); `type_value` None leaves the type unset, a value outside the enum is
    written as the integer it is."""
    pb = datum_pb2()
    loose = type_value not in (None, 0)
    record = (pb.LooseAnnotatedDatum if loose else pb.AnnotatedDatum)()
    if datum is not None:
        record.datum.CopyFrom(pb.Datum(**datum))
    if type_value is not None:
        record.type = type_value
    for label, boxes in groups:
        group = record.annotation_group.add(group_label=label)
        for instance, box in enumerate(boxes):
            annotation = group.annotation.add(instance_id=instance)
            if box is None:
                continue
            xmin, ymin, xmax, ymax = box[:4]
            annotation.bbox.CopyFrom(pb.NormalizedBBox(
                xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax,
                difficult=box[4] if len(box) > 4 else difficult))
    return record.SerializeToString()


def parse_annotated(value: bytes):
    message = datum_pb2().AnnotatedDatum()
    message.ParseFromString(value)
    return message
