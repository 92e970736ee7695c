"""The data layers' top shapes from what dscan read of their sources: the first record in
Caffe's read order (DataLayerSetUp shapes the batch from it), and HDF5 datasets' rows."""
from __future__ import annotations

import os

from .inputs import data_tops
from .shapes import Shape


def first_record_shape(totals) -> Shape | None:
    """(C, H, W) of record 0 in read order, as the scan decoded it; None if unknown."""
    if totals is None or not len(totals.shape_ids) or totals.shape_ids[0] < 0:
        return None
    return tuple(int(v) for v in totals.shapes[int(totals.shape_ids[0])])


def hdf5_rows(source: str | None, tops: list[str]) -> dict[str, Shape]:
    """Row shapes of the named datasets in the first file of an HDF5Data source list
    (Caffe opens list entries relative to its working directory)."""
    if not source:
        return {}
    try:
        import h5py
        if h5py.is_hdf5(source):
            first = source
        else:
            with open(source, encoding="utf-8", errors="replace") as handle:
                entries = handle.read(1 << 20).split()
            if not entries:
                return {}
            first = entries[0]
            if not os.path.exists(first):
                first = os.path.join(os.path.dirname(os.path.abspath(source)), first)
        with h5py.File(first, "r", locking=False) as handle:
            return {top: tuple(handle[top].shape[1:]) for top in tops
                    if top in handle and hasattr(handle[top], "shape")}
    except (OSError, ValueError, KeyError, TypeError):  # unreadable: the scan reports it
        return {}


def section_tops(section) -> list[Shape | None] | None:
    """A scanned data layer section's top shapes, or None when its data was not read."""
    layer, batch = section.layer, section.batch_size or 0
    if layer.type not in ("Data", "ImageData", "HDF5Data"):  # AnnotatedData resizes, and
        return None  # its label blob holds boxes: not modelled
    if layer.type == "HDF5Data":
        path = section.source.path if section.source else None
        return data_tops(layer, batch, None, 0, hdf5_rows(path, layer.tops)) if path else None
    if section.outcome is None:
        return None
    crop = layer.params.message("transform_param").integer("crop_size", 0)
    return data_tops(layer, batch, first_record_shape(section.outcome.totals), crop)
