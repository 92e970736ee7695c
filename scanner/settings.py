"""What a scan was asked to do; sent to every worker with its shard."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ScanSettings:
    num_classes: int | None = None
    ignore_label: int | None = None
    batch_size: int = 64
    solvers: int = 1
    max_examples: int = 20
    enabled: frozenset[str] = field(default_factory=frozenset)  # codes to report
    max_pixels: int = 100_000_000
    limit: int | None = None
    start: int = 0  # records skipped in read order before the scan begins; limit counts on
    fail_on: str = "error"
    chunk_records: int = 2048  # records whose values are checked together
    data_top: str = "data"  # HDF5: dataset names, as the layer's top blobs
    label_top: str | None = "label"
    find_tops: bool = False  # HDF5, no top named: the backend takes the root datasets
    background: int = 0  # segmentation: the class that is not foreground
    imbalance_ratio: float = 10.0  # DS306: most / least frequent class
    # How the data layer decodes images: force_color/force_gray or ImageData's is_color
    # fix the channels; ImageData's new_height/new_width resize every image.
    force_channels: int | None = None
    resize_to: tuple[int, int] | None = None
    root_folder: str = ""  # ImageData: prefix of every listed path
    lmdb_lock: str = "auto"  # auto: register as a reader when lock.mdb exists; never
    # Detection (SSD's AnnotatedDatum): the record type (None: found by sampling), the label
    # map's (label, name) items, MultiBoxLoss's use_difficult_gt, and whether the first
    # record in read order has a type (the data layer decides from it).
    record: str | None = None
    label_map: tuple[tuple[int, str], ...] | None = None
    use_difficult_gt: bool = True
    first_has_type: bool = True
    layer_anno_type: bool = False  # annotated_data_param.anno_type set: the type is expected
    # transform_param.emit_constraint: ("CENTER",) or ("MIN_OVERLAP", overlap); None: none
    emit: tuple | None = None
    # The AnnotatedData layer's resize_param: True/False as the net says, None when no net
    # is known (then the images are taken to be resized, as every SSD net does).
    resizes: bool | None = None
    duplicates: bool = True  # fingerprint every record for the DS8xx checks
    near_distance: int = 10  # DS802-DS804: most differing bits of two near-duplicate hashes
    flag_keys: bool = False  # --keys-out: keep the key of every record at or above fail_on

    def reports(self, code: str) -> bool:
        return code in self.enabled

    def as_report(self) -> dict:
        return {"num_classes": self.num_classes, "ignore_label": self.ignore_label,
                "batch_size": self.batch_size, "solvers": self.solvers,
                "max_examples": self.max_examples, "checks": sorted(self.enabled),
                "max_pixels": self.max_pixels, "limit": self.limit, "start": self.start, "fail_on": self.fail_on,
                "data_top": self.data_top, "label_top": self.label_top,
                "background": self.background, "imbalance_ratio": self.imbalance_ratio,
                "force_channels": self.force_channels,
                "resize_to": list(self.resize_to) if self.resize_to else None,
                "root_folder": self.root_folder, "lmdb_lock": self.lmdb_lock,
                "record": self.record,
                "label_map": None if self.label_map is None else
                {str(label): name for label, name in self.label_map},
                "use_difficult_gt": self.use_difficult_gt, "duplicates": self.duplicates,
                "near_distance": self.near_distance}
