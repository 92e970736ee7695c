"""What a data layer reads and how: its source resolved the way Caffe resolves it, and the
scan settings that reproduce the layer (batch size, tops, decoding, label range)."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from ..checks.net_checks import missing_file
from ..settings import ScanSettings
from .findings import place
from .net import DATA_TYPES, DB_TYPES, ClassCount, Layer
from .prototxt import Message

BACKENDS = {"LMDB": "lmdb", "LEVELDB": "leveldb"}


@dataclass
class Resolved:
    given: str
    path: str | None  # what dscan reads; None when the file is nowhere
    found_at: str | None  # set when only a folder other than the run directory has it


def resolve(given: str, prototxt: str) -> Resolved:
    """Caffe opens `given` relative to its working directory. When it is not there, look
    relative to the prototxt's folder and each folder above it (Caffe's examples name
    paths from the Caffe root), and say where it was found."""
    if os.path.isabs(given) or os.path.exists(given):
        return Resolved(given, given if os.path.exists(given) else None, None)
    folder = os.path.dirname(os.path.abspath(prototxt))
    while True:
        candidate = os.path.join(folder, given)
        if os.path.exists(candidate):
            return Resolved(given, candidate, folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            return Resolved(given, None, None)
        folder = parent


def locate(what: str, given: str, prototxt: str, where: str, findings: list,
           layer=None) -> Resolved:
    """Resolve a path a prototxt names; add a DS510 finding when Caffe, started in the run
    directory, would not find it there."""
    resolved = resolve(given, prototxt)
    if resolved.path is None or resolved.found_at:
        findings.append(place(missing_file(what, given, resolved.found_at), where, layer))
    return resolved


@dataclass
class DataLayer:
    """One data layer of the net and the phases that use it."""

    layer: Layer
    phases: list[str]

    @property
    def params(self) -> Message:
        return self.layer.params.message(DATA_TYPES[self.layer.type])

    @property
    def transform(self) -> Message:
        return self.layer.params.message("transform_param")

    @property
    def backend(self) -> str:
        if self.layer.type in DB_TYPES:
            return BACKENDS.get(self.params.word("backend", "LEVELDB"), "leveldb")
        return {"HDF5Data": "hdf5", "ImageData": "images"}[self.layer.type]

    @property
    def source(self) -> str:
        return self.params.text("source", "") or ""

    @property
    def batch_size(self) -> int:
        default = 1 if self.layer.type == "ImageData" else 0
        return self.params.integer("batch_size", default)

    @property
    def shuffled(self) -> bool:
        """HDF5Data and ImageData can shuffle: then no read order is known in advance."""
        return self.layer.type not in DB_TYPES and self.params.flag("shuffle")

    def settings(self, base: ScanSettings, classes: ClassCount | None,
                 given_classes: int | None, given_ignore: int | None) -> ScanSettings:
        """The scan settings that reproduce this layer, from the command's settings."""
        changes: dict = {"batch_size": self.batch_size if self.batch_size > 0
                         else base.batch_size}
        changes["num_classes"] = given_classes if given_classes is not None else \
            classes.num_classes if classes else None
        changes["ignore_label"] = given_ignore if given_ignore is not None else \
            classes.ignore_label if classes else None
        if self.shuffled:  # batch composition is random: order checks would mislead
            changes["enabled"] = base.enabled - {"DS304", "DS305"}
        tops = self.layer.tops
        if self.layer.type == "HDF5Data" and tops:
            changes.update(data_top=tops[0], label_top=tops[1] if len(tops) > 1 else None)
        changes.update(self._decoding())
        return dataclasses.replace(base, **changes)

    def _decoding(self) -> dict:
        if self.layer.type == "ImageData":
            params = self.params
            size = (params.integer("new_height", 0), params.integer("new_width", 0))
            return {"force_channels": 3 if params.flag("is_color", True) else 1,
                    "resize_to": size if min(size) > 0 else None,
                    "root_folder": params.text("root_folder", "") or ""}
        if self.layer.type in DB_TYPES:
            transform = self.transform
            if transform.flag("force_color") != transform.flag("force_gray"):
                return {"force_channels": 3 if transform.flag("force_color") else 1}
        return {}
