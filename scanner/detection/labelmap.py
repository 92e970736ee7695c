"""Read a label map in the SSD fork's LabelMap text format (`item { name label display_name }`,
as `labelmap_voc.prototxt`), with dscan's own prototxt reader."""
from __future__ import annotations

from ..config.prototxt import read
from ..errors import ConfigError


def read_label_map(path: str) -> tuple[tuple[int, str], ...]:
    """The (label, display name) items, in label order; ConfigError when there are none or
    two items share a label."""
    items: dict[int, str] = {}
    for item in read(path).messages("item"):
        label = item.integer("label")
        if label is None:
            raise ConfigError(f"{item.where()}: a label map item without a label")
        if label in items:
            raise ConfigError(f"{item.where()}: label {label} is defined twice in the label map")
        items[label] = item.text("display_name") or item.text("name") or str(label)
    if not items:
        raise ConfigError(f"{path}: no item in it; is it a label map (item {{ name label }})?")
    return tuple(sorted(items.items()))
