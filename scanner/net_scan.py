"""`dscan net`: read a net definition, lint its layers, and scan every data layer's source
with the layer's own settings; then hold the transform settings against the records."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable
from datetime import datetime, timezone

from . import interrupts
from .checks import net_checks
from .checks.shape_checks import random_skip
from .config.findings import ConfigFinding, place
from .config.mean import MeanFile, read_mean
from .config.net import DATA_TYPES, OTHER_INPUTS, PHASES, Layer, Net, NetState, classes_for
from .config.prototxt import Message, read
from .config.sources import DataLayer, Resolved, locate
from .config.transform import transform_problems
from .detection.netlayer import layer_settings
from .duplicates.leakage import net_leakage
from .errors import ConfigError
from .executor import Executor
from .netshape import NetShapes
from .netshape.checking import infogain_findings, labels_against_shapes, shape_findings
from .progress import Progress
from .scan import ScanOutcome, scan
from .settings import ScanSettings
from .types import CRASH


INTERRUPTED = "the run was interrupted before this layer was scanned"


@dataclass
class NetRequest:
    path: str
    phases: tuple[str, ...] = PHASES
    level: int = 0
    stages: tuple[str, ...] = ()
    settings: ScanSettings = field(default_factory=ScanSettings)
    num_classes: int | None = None  # given on the command line: overrides the loss layers
    ignore_label: int | None = None
    jobs: int = 1
    progress: bool = False
    inline: Message | None = None  # a net written inside a solver (net_param), not in `path`
    collect: Callable | None = None  # evidence for an HTML report (see scan.scan)
    executor: Executor | None = None  # default: a local pool of `jobs` processes
    shard_count: int | None = None
    # the nets a solver builds (train_state, one TEST state per test_state); default: one
    # state per phase from phases/level/stages
    states: tuple[NetState, ...] | None = None

    def net_states(self, net: Net) -> list[NetState]:
        """The states Caffe builds the net in; the file's own `state` stages are added, as
        Net::Init merges them."""
        states = self.states or tuple(NetState(p, self.level, self.stages)
                                      for p in self.phases)
        return [NetState(s.phase, s.level, net.own_stages + tuple(s.stages)) for s in states]


@dataclass
class Section:
    """One data layer: what it reads, with which settings, and what the scan found."""

    layer: Layer
    phases: list[str]
    source: Resolved | None = None
    backend: str | None = None
    batch_size: int | None = None
    classes_from: str | None = None  # which layer gave num_classes
    outcome: ScanOutcome | None = None
    mean: MeanFile | None = None
    skipped: str | None = None  # why no scan ran
    tops: dict[str, list] | None = None  # phase -> the top shapes (inferred or declared)
    read_order: dict | None = None  # rand_skip: the range of skips, or None


@dataclass
class NetOutcome:
    path: str
    name: str
    phases: tuple[str, ...]
    sections: list[Section]
    findings: list[ConfigFinding]
    started_at: str
    duration_s: float
    shapes: dict[str, NetShapes] = field(default_factory=dict)  # phase -> blob shapes
    not_scanned: list[Section] = field(default_factory=list)  # data layers of fork types
    lint_phases: tuple[str, ...] = PHASES  # deploy nets: TEST only
    deploy: bool = False

    @property
    def partial(self) -> bool:
        return any(s.outcome is not None and s.outcome.partial for s in self.sections) or \
            any(s.skipped == INTERRUPTED for s in self.sections)

    @property
    def interrupted(self) -> bool:
        return any(s.outcome is not None and s.outcome.interrupted for s in self.sections) \
            or any(s.skipped == INTERRUPTED for s in self.sections)


def scan_net(request: NetRequest) -> NetOutcome:
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    clock = time.perf_counter()
    net = Net(request.inline if request.inline is not None else read(request.path))
    if not net.layers:
        raise ConfigError(f"{request.path}: no layer in it; is it a net definition "
                          "(train_val.prototxt)?")
    findings: list[ConfigFinding] = []
    data_layers: dict[int, DataLayer] = {}
    others: dict[int, Section] = {}
    forks: dict[int, Section] = {}
    states = request.net_states(net)
    # a deploy net runs in TEST only, unless a phase was asked for by name
    deploy = net.is_deploy and request.states is None and "TEST" in request.phases
    built = {}  # phase -> layers of the first state of that phase (the one shapes follow)
    for state in states:
        layers = net.built(state)
        built.setdefault(state.phase, layers)
        if not deploy or state.phase == "TEST":  # Caffe runs a deploy net in TEST only
            findings.extend(_lint(net.active(state), state.phase, findings))
        for layer in layers:
            if layer.type in DATA_TYPES:
                _add_phase(data_layers.setdefault(layer.index, DataLayer(layer, [])).phases,
                           state.phase)
            elif layer.type in OTHER_INPUTS:
                _add_phase(others.setdefault(layer.index, Section(layer, [], skipped=(
                    f"this {layer.type} layer reads no dataset file dscan knows"))).phases,
                    state.phase)
            elif _fork_data_type(layer.type):
                _add_phase(forks.setdefault(layer.index, Section(layer, [], skipped=(
                    f"{layer.type} is a data layer type of a Caffe fork; dscan does not "
                    "read it"))).phases, state.phase)
    sections = [_scan_layer(data, net, request, findings) for data in data_layers.values()]
    net_leakage(sections)  # DS804: TEST sources against TRAIN sources
    sections = sorted(sections + list(others.values()), key=lambda s: s.layer.index)
    shapes = shape_findings(built, sections, findings, deploy)
    infogain_findings(built, shapes, request.path, findings)
    for section in sections:
        labels_against_shapes(section, built, shapes, findings)
    wanted = [f for f in findings if request.settings.reports(f.code)]
    return NetOutcome(request.path, net.name, request.phases, sections, wanted, started_at,
                      round(time.perf_counter() - clock, 3), shapes,
                      sorted(forks.values(), key=lambda s: s.layer.index),
                      ("TEST",) if deploy else tuple(dict.fromkeys(s.phase for s in states)),
                      deploy)


def _add_phase(phases: list[str], phase: str) -> None:
    if phase not in phases:
        phases.append(phase)


def _fork_data_type(kind: str) -> bool:
    """A layer type that reads data but is none of BVLC Caffe's (VideoData, DenseImageData,
    ImageSegData...; SSD's AnnotatedData is read as a data layer)."""
    return kind.endswith("Data") and kind not in DATA_TYPES and kind not in OTHER_INPUTS


def _lint(active: list[Layer], phase: str, seen: list[ConfigFinding]) -> list[ConfigFinding]:
    """Layer checks; a layer shared by both phases is reported once per code."""
    found = []
    for layer in active:
        problems = [net_checks.pooling_stride(layer), net_checks.batchnorm_eps(layer),
                    net_checks.batchnorm_phase(layer, phase),
                    *net_checks.refused_settings(layer)]
        found += [place(p, layer.where, layer) for p in problems if p is not None]
    losses = [layer for layer in active if layer.is_loss]
    found += [place(p, layer.where, layer)
              for layer, p in net_checks.large_loss_weights(losses)]
    known = {(f.code, f.layer_index, f.message) for f in seen}
    return [f for f in found if (f.code, f.layer_index, f.message) not in known]


def _scan_layer(data: DataLayer, net: Net, request: NetRequest,
                findings: list[ConfigFinding]) -> Section:
    layer = data.layer
    section = Section(layer, data.phases, backend=data.backend, batch_size=data.batch_size)
    where = data.params.where("source")
    section.source = locate("data source", data.source, request.path, where, findings, layer)
    if section.source.path is None:
        section.skipped = "the source does not exist" if data.source else \
            "the layer names no source"
        return section
    section.mean = _mean_file(data, request.path, layer, findings)
    classes = None
    if len(layer.tops) > 1:  # the phase with the most layers names the losses best
        phase_layers = net.active(NetState(data.phases[0], request.level, request.stages))
        classes = classes_for(layer.tops[1], phase_layers)
    section.classes_from = classes.layer if classes and classes.num_classes else None
    settings = data.settings(request.settings, classes, request.num_classes,
                             request.ignore_label)
    if interrupts.received() is not None:  # an earlier layer's scan was interrupted
        section.skipped = INTERRUPTED
        return section
    if layer.type == "AnnotatedData":  # SSD: boxes, label map, MultiBoxLoss settings
        settings = layer_settings(data, net, request, settings, findings)
    section.outcome = scan(data.backend, section.source.path, settings, request.jobs,
                           Progress(enabled=request.progress), request.collect,
                           request.executor, request.shard_count)
    skip = data.params.integer("rand_skip", 0) if layer.type != "HDF5Data" else 0
    if skip > 0:
        problem = random_skip(layer.type, skip, section.outcome.totals.records)
        findings.append(place(problem, data.params.where("rand_skip"), layer))
        section.read_order = {"rand_skip": skip, "skip": [0, skip - 1],
                              "determined": False,
                              "caffe_1_0": "ignored" if layer.type == "Data" else "applied"}
    for problem in transform_problems(layer.type, data.transform, section.outcome.totals,
                                      section.mean):
        findings.append(place(problem, data.transform.where(), layer))
    return section


def _mean_file(data: DataLayer, net_path: str, layer: Layer,
               findings: list[ConfigFinding]) -> MeanFile | None:
    given = data.transform.text("mean_file")
    if given is None or data.layer.type == "HDF5Data":
        return None
    where = data.transform.where("mean_file")
    resolved = locate("mean file", given, net_path, where, findings, layer)
    if resolved.path is None or os.path.isdir(resolved.path):
        return None
    mean = read_mean(resolved.path, where)
    for finding in mean.findings:
        finding.layer, finding.layer_index = layer.name, layer.index
    findings.extend(mean.findings)
    return mean


def crashes(outcome: NetOutcome, section: Section) -> bool:
    """Would Caffe stop on this layer: its data, or a setting it refuses?"""
    if section.outcome is not None and section.outcome.verdict.get("caffe") == "crashes":
        return True
    return any(f.layer_index == section.layer.index and f.effect == CRASH and
               f.severity == "error" for f in outcome.findings)
