"""What the run was set up with: the solver and the TRAIN data layer, read from the
parameters Caffe prints at the start of the log, or from the prototxt files given on the
command line (which win: they are what the user points at)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..config.net import DATA_TYPES, ClassCount, Net, NetState, classes_for
from ..config.prototxt import Message, parse, read
from ..config.sources import DataLayer, resolve
from ..errors import PrototxtError
from .diagnose import DATA_TYPES as INPUT_TYPES

DEFAULT_PREFETCH = 4  # DataParameter.prefetch


@dataclass
class TrainData:
    """The TRAIN phase's data layer: what it reads and how many records a pass takes."""

    layer: str
    type: str
    source: str  # as the prototxt names it
    batch_size: int
    prefetch: int  # batches the prefetch thread runs ahead (0: the layer does not prefetch)
    backend: str  # dscan's backend name (lmdb, leveldb, hdf5, images)
    shuffled: bool
    path: str | None = None  # where dscan found the source (None: not found)
    records: int | None = None  # the source's record count, read-only
    reader: DataLayer | None = None  # the layer, to scan its records with its settings
    classes: ClassCount | None = None  # what the loss says about its labels


@dataclass
class RunContext:
    base_lr: float | None = None
    iter_size: int = 1
    max_iter: int | None = None
    lr_policy: str | None = None
    debug_info: bool = False
    data: TrainData | None = None
    input_layers: list[str] = field(default_factory=list)
    solver_from: str | None = None  # "log" or the solver file
    net_from: str | None = None


def from_texts(solver_text: str | None, net_texts: list[str]) -> RunContext:
    """The context the log itself prints (solver parameters, then each net's)."""
    context = RunContext()
    if solver_text:
        solver = _parse(solver_text, "<log: solver parameters>")
        if solver is not None:
            _solver_fields(context, solver)
            context.solver_from = "log"
    for text in net_texts:
        net = _parse(text, "<log: net parameters>")
        if net is None or net.message("state").ident("phase", "TRAIN") != "TRAIN":
            continue
        _net_fields(context, Net(net), "log")
        break
    return context


def from_files(context: RunContext, solver_path: str | None, net_path: str | None) -> RunContext:
    """Override with --solver (and its net) or --net, read through the config readers."""
    if solver_path:
        solver = read(solver_path)
        _solver_fields(context, solver)
        context.solver_from = solver_path
        named = next((solver.text(n) for n in ("net", "train_net") if solver.has(n)), None)
        inline = next((solver.message(n) for n in ("net_param", "train_net_param")
                       if solver.has(n)), None)
        if named and not net_path:
            found = resolve(named, solver_path)
            net_path = found.path or named
        elif inline is not None and not net_path:
            _net_fields(context, Net(inline), solver_path)
    if net_path:
        _net_fields(context, Net(read(net_path)), net_path)
    return context


def _parse(text: str, name: str) -> Message | None:
    try:
        return parse(text, name)
    except PrototxtError:
        return None  # a block cut short or garbled: the log still reads without it


def _solver_fields(context: RunContext, solver: Message) -> None:
    context.base_lr = solver.number("base_lr", context.base_lr)
    context.iter_size = max(solver.integer("iter_size", 1) or 1, 1)
    context.max_iter = solver.integer("max_iter", context.max_iter)
    context.lr_policy = solver.text("lr_policy", context.lr_policy)
    context.debug_info = solver.flag("debug_info", False)


def _net_fields(context: RunContext, net: Net, origin: str) -> None:
    active = net.active(NetState("TRAIN"))
    context.input_layers = [layer.name for layer in active if layer.type in INPUT_TYPES]
    data = next((DataLayer(layer, ["TRAIN"]) for layer in active
                 if layer.type in DATA_TYPES), None)
    context.net_from = origin
    if data is None:
        context.data = None
        return
    prefetch = 0 if data.layer.type == "HDF5Data" else \
        data.layer.params.message("data_param").integer("prefetch", DEFAULT_PREFETCH)
    path = None
    if origin != "log" and data.source:
        path = resolve(data.source, origin).path
    classes = classes_for(data.layer.tops[1], active) if len(data.layer.tops) > 1 else None
    context.data = TrainData(data.layer.name, data.layer.type, data.source,
                             data.batch_size or 1, prefetch, data.backend, data.shuffled,
                             os.path.abspath(path) if path else None, reader=data,
                             classes=classes)
