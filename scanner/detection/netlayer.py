"""An SSD `AnnotatedData` layer as `dscan net` reads it: its label map
(`annotated_data_param.label_map_file`), what the MultiBoxLoss reading its label top says
(num_classes, background_label_id, use_difficult_gt), and whether it resizes."""
from __future__ import annotations

import dataclasses
import os

from ..config.net import Layer, Net, NetState
from ..config.sources import DataLayer, locate
from ..settings import ScanSettings
from .labelmap import read_label_map
from .sampling import ANNOTATED


def layer_settings(data: DataLayer, net: Net, request, settings: ScanSettings,
                   findings: list) -> ScanSettings:
    """The scan settings that reproduce an AnnotatedData layer (command-line values win)."""
    layer = data.layer
    params = layer.params.message("annotated_data_param")
    changes: dict = {"record": ANNOTATED, "layer_anno_type": params.has("anno_type")}
    given = params.text("label_map_file")
    if given:
        found = locate("label map", given, request.path, params.where("label_map_file"),
                       findings, layer)
        if found.path is not None and os.path.isfile(found.path):
            changes["label_map"] = read_label_map(found.path)
    phase_layers = net.active(NetState(data.phases[0], request.level, request.stages))
    loss = _multibox_loss(layer, phase_layers)
    if loss is not None:
        section = loss.params.message("multibox_loss_param")
        if request.num_classes is None and section.integer("num_classes") is not None:
            changes["num_classes"] = section.integer("num_classes")
        changes["background"] = section.integer("background_label_id", 0)
        changes["use_difficult_gt"] = section.flag("use_difficult_gt", True)
    transform = data.transform
    if transform.has("emit_constraint"):
        emit = transform.message("emit_constraint")
        kind = emit.word("emit_type", "CENTER")
        changes["emit"] = (kind,) if kind == "CENTER" else \
            (kind, emit.number("emit_overlap", 0.0))
    changes["resizes"] = transform.has("resize_param")
    if changes["resizes"]:
        resize = transform.message("resize_param")
        size = (resize.integer("height", 0), resize.integer("width", 0))
        if min(size) > 0:
            changes["resize_to"] = size
    return dataclasses.replace(settings, **changes)


def _multibox_loss(data: Layer, layers: list[Layer]) -> Layer | None:
    if len(data.tops) < 2:
        return None
    for layer in layers:
        if layer.type == "MultiBoxLoss" and data.tops[1] in layer.bottoms:
            return layer
    return None
