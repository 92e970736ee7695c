"""What the inferred shapes tell `dscan net`: findings for empty pooling windows, shapes
Caffe refuses and INT_MAX blobs; InfogainLoss H files against the classes; labels against
the classes a loss's input has when no num_output names them."""
from __future__ import annotations

import os

import numpy as np

from ..checks import infogain_checks, shape_checks
from ..checks.registry import Problem
from ..config.findings import ConfigFinding, place
from ..config.infogain import infogain_problems
from ..config.net import CLASS_LOSSES, DATA_TYPES, Layer, classes_for_input
from ..config.sources import locate
from ..types import MISSING_LABEL
from .starts import section_tops
from .walk import NetShapes, infer


def shape_findings(built: dict[str, list[Layer]], sections: list,
            findings: list[ConfigFinding], deploy: bool) -> dict[str, NetShapes]:
    """Blob shapes per phase from the scanned records, and the findings they give."""
    starts = {s.layer.index: tops for s in sections if s.layer.type in DATA_TYPES
              for tops in [section_tops(s)] if tops is not None}
    result = {}
    for phase, layers in built.items():
        if deploy and phase != "TEST":
            continue
        result[phase] = infer(layers, phase, starts)
        for section in sections:
            shown = [item for item in result[phase].layers if item.layer is section.layer]
            if shown and phase in section.phases:
                section.tops = {**(section.tops or {}), phase: [
                    list(t) if t is not None else None for t in shown[0].tops]}
        known = {(f.code, f.layer_index, f.message) for f in findings}
        findings.extend(f for f in _trouble_findings(result[phase])
                        if (f.code, f.layer_index, f.message) not in known)
    return result


def infogain_findings(built: dict[str, list[Layer]], shapes: dict[str, NetShapes], net_path: str,
              findings: list[ConfigFinding]) -> None:
    """InfogainLoss layers that read H from a file: the file, against the classes their
    input has (its shape along the infogain axis, else the classifier's num_output)."""
    done = set()
    for phase, layers in built.items():
        for position, layer in enumerate(layers):
            if layer.type != "InfogainLoss" or len(layer.bottoms) > 2 or layer.index in done:
                continue
            done.add(layer.index)
            params = layer.params.message("infogain_loss_param")
            if not params.text("source"):
                findings.append(place(infogain_checks.infogain_unusable(
                    "no infogain_loss_param.source and no third input: crashes at set-up "
                    "(Infogain matrix source must be specified)", {}, True), layer.where, layer))
                continue
            where = params.where("source")
            resolved = locate("infogain matrix", params.text("source"), net_path, where,
                              findings, layer)
            if resolved.path is None or os.path.isdir(resolved.path):
                continue
            classes = _classes_at(layer, layers[:position], shapes.get(phase),
                                  params.integer("axis", 1))
            findings.extend(place(p, where, layer)
                            for p in infogain_problems(resolved.path, classes))


def _classes_at(layer: Layer, earlier: list[Layer], shapes: NetShapes | None,
                axis: int) -> int | None:
    """The number of classes a loss's first input has: its inferred shape along `axis`, or
    the num_output of the layer that makes it."""
    shape = shapes.shape(layer.bottoms[0]) if shapes and layer.bottoms else None
    if shape is not None and -len(shape) <= axis < len(shape):
        return shape[axis]
    found = classes_for_input(layer.bottoms[0], earlier) if layer.bottoms else None
    return found


def labels_against_shapes(section, built: dict[str, list[Layer]],
                           shapes: dict[str, NetShapes], findings: list[ConfigFinding]) -> None:
    """When no layer's num_output named the classes (an Input or Reshape path), the
    inferred shape of the loss's input does: hold the labels the scan read against it."""
    scan = section.outcome
    if scan is None or scan.settings.num_classes is not None or len(section.layer.tops) < 2:
        return
    label_top = section.layer.tops[1]
    for phase in section.phases:
        layers = built.get(phase, [])
        loss = next((l for l in layers if l.type in CLASS_LOSSES and len(l.bottoms) > 1
                     and l.bottoms[1] == label_top), None)
        if loss is None or phase not in shapes:
            continue
        axis = loss.params.message("softmax_param" if loss.type == "SoftmaxWithLoss" else
                                   CLASS_LOSSES[loss.type]).integer("axis", 1)
        classes = _classes_at(loss, [], shapes[phase], axis)
        if not classes:
            continue
        section.classes_from = f"the shape of '{loss.bottoms[0]}'"
        ignore = loss.params.message("loss_param").integer("ignore_label")
        labels = scan.totals.labels[scan.totals.labels != MISSING_LABEL]
        bad = (labels < 0) | (labels >= classes)
        if ignore is not None:
            bad &= labels != ignore
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            findings.append(place(Problem(
                "DS301", f"{int(bad.sum())} label(s) outside [0, {classes}), the classes "
                f"of {loss.type} '{loss.name}' by the inferred shape of '{loss.bottoms[0]}' "
                f"(first: {int(labels[first])})", {"num_classes": classes,
                                                    "records": int(bad.sum())}),
                section.layer.where, section.layer))
        return


def _trouble_findings(shapes: NetShapes) -> list[ConfigFinding]:
    found = []
    for trouble in shapes.troubles:
        layer = trouble.layer
        if trouble.kind == "empty_window":
            problem = shape_checks.empty_pooling_window(trouble.message, trouble.detail)
        elif trouble.kind == "int_max":
            problem = shape_checks.blob_over_int_max(trouble.message, trouble.detail)
        else:
            problem = shape_checks.refused_shapes(layer.type, trouble.message,
                                                  trouble.detail.get("shapes", []))
        found.append(place(problem, layer.where, layer))
    return found
