"""The argument parser: subcommands, their own options, and a 'did you mean' for a
misspelt option, subcommand or choice."""
from __future__ import annotations

import argparse
import difflib
import os
import re

from .. import __version__
from ..errors import UsageError
from .types import hash_distance, integer, non_negative, positive, size
from .common import common_parser

SCAN_COMMANDS = {
    "lmdb": "scan a Caffe LMDB directory (data.mdb)",
    "leveldb": "scan a Caffe LevelDB directory (through a private snapshot)",
    "hdf5": "scan a Caffe HDF5Data source list (a text file of .h5 paths) or one .h5 file",
    "images": "scan an ImageData list file ('path label' lines) and the images it names",
}
CONFIG_COMMANDS = {
    "net": "scan every data source of a train_val.prototxt with its own settings",
    "solver": "check a solver.prototxt's learning-rate schedule (and its net: --with-net)",
    "mean": "check a mean file (mean.binaryproto)",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block
        raise UsageError(f"{message}{self._did_you_mean(message)} (see '{self.prog} --help')")

    def _did_you_mean(self, message: str) -> str:
        """'; did you mean --num-classes?' for a misspelt option, subcommand or choice."""
        unknown = re.search(r"unrecognized arguments: (.*)", message)
        if unknown:
            words = [w.split("=")[0] for w in unknown.group(1).split() if w.startswith("-")]
            known = self._all_options()
        else:
            choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
            if not choice:
                return ""
            words, known = [choice.group(1)], re.findall(r"'([^']*)'", choice.group(2))
        for word in words:
            close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
            if close:
                return f"; did you mean {close[0]}?"
        return ""

    def _all_options(self) -> list[str]:
        """Option strings of this parser and of its subcommands."""
        options = set(self._option_string_actions)
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    options |= set(sub._option_string_actions)
        return sorted(options)


def _scan_options(parser: argparse.ArgumentParser) -> None:
    """What a scan of records takes (store scans, dscan net, dscan solver --with-net)."""
    parser.add_argument("-j", "--jobs", type=positive, default=_cores(),
                        help="worker processes (default: all cores, %(default)s here)")
    parser.add_argument("--executor", choices=("local", "dask"), default="local",
                        help="where shards run: a local process pool (default) or a Dask "
                             "cluster (needs the dask extra and --scheduler)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        default=os.environ.get("DSCAN_DASK_SCHEDULER"),
                        help="the Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                             "(default: $DSCAN_DASK_SCHEDULER)")
    parser.add_argument("--shards", type=positive, metavar="N",
                        help="split the store into about N shards (default: 4 per local "
                             "job, 8 per Dask worker thread)")
    parser.add_argument("--num-classes", type=positive, metavar="K",
                        help="labels must lie in [0, K)")
    parser.add_argument("--ignore-label", type=integer, metavar="L",
                        help="a label value the loss ignores (allowed outside the range)")
    parser.add_argument("--batch-size", type=positive, default=64, metavar="B",
                        help="batch size of the training net (default %(default)s)")
    parser.add_argument("--solvers", type=positive, default=1, metavar="S",
                        help="solvers (GPUs) sharing the data source (default 1)")
    parser.add_argument("--imbalance-ratio", type=float, default=10.0, metavar="R",
                        help="DS306: most/least frequent class ratio to report (default 10)")
    parser.add_argument("--max-examples", type=non_negative, default=20, metavar="N",
                        help="findings kept per code (counts stay exact; default 20)")
    parser.add_argument("--max-pixels", type=positive, default=100_000_000, metavar="N",
                        help="refuse to decode images declaring more pixels (default 1e8)")
    parser.add_argument("--limit", type=non_negative, metavar="N",
                        help="scan only the first N records in read order")
    parser.add_argument("--lmdb-lock", choices=("auto", "never"), default="auto",
                        help="LMDB: auto (default) reads as a reader registered in an existing "
                             "lock.mdb, which keeps a writer off the pages being read (it "
                             "writes a reader slot there); never reads lock-free")
    parser.add_argument("--no-duplicates", action="store_true",
                        help="no fingerprints: skip the duplicate and leakage checks (DS8xx)")
    parser.add_argument("--near-distance", type=hash_distance, default=10, metavar="D",
                        help="near duplicates: at most D of 64 perceptual-hash bits differ "
                             "(0-16, default %(default)s; 0: exact copies only)")


def _store_options(parser: argparse.ArgumentParser) -> None:
    """What only the scan of one store takes."""
    parser.add_argument("--against", action="append", default=[], metavar="PATH",
                        help="a training store (any kind) to check this store's records "
                             "against for leakage (DS804; repeatable)")
    _keys_out(parser)


def _keys_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keys-out", metavar="FILE",
                        help="write the key of every record with a finding at or above "
                             "--fail-on here ('-': stdout; the summary then goes to "
                             "stderr): one line per record, '<key as a JSON string><TAB>"
                             "<codes, comma-separated>', in read order")


def _net_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--phase", type=str.upper, choices=("TRAIN", "TEST", "BOTH"),
                        default="BOTH", help="the phase whose data layers to scan "
                        "(default both)")
    parser.add_argument("--level", type=integer, default=0,
                        help="the net state's level for include/exclude rules (default 0)")
    parser.add_argument("--stage", action="append", default=[],
                        help="a net state stage for include/exclude rules (repeatable)")
    parser.add_argument("--root", metavar="DIR",
                        help="the directory caffe runs in, against which the prototxt's "
                             "paths resolve (default: the working directory)")
    _keys_out(parser)  # refused with the reason (see common)


def _images_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root-folder", default="", metavar="DIR",
                        help="put before every listed path, as image_data_param.root_folder")
    parser.add_argument("--gray", action="store_true",
                        help="decode as greyscale (is_color: false); default colour")
    parser.add_argument("--resize", type=size, metavar="HxW",
                        help="new_height x new_width: every image is resized to this")


def _hdf5_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="NAME",
                        help="dataset of the data top (default: with neither --data nor "
                             "--label, every root dataset whose first dimension agrees; "
                             "else data)")
    parser.add_argument("--label", metavar="NAME",
                        help="dataset of the label top ('none' for no label; default as "
                             "--data says, else label)")
    parser.add_argument("--background", type=integer, default=0, metavar="C",
                        help="segmentation: the background class (default 0)")


def _detection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--record", choices=("annotated", "datum"),
                        help="the record type: SSD's AnnotatedDatum (boxes) or a plain Datum "
                             "(default: told by sampling records)")
    parser.add_argument("--label-map", metavar="FILE",
                        help="a detection label map (labelmap.prototxt): box labels must be "
                             "in it")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dscan", description="Scan Caffe training datasets for records "
                     "that would crash a training run or silently poison it.")
    parser.add_argument("--version", action="version", version=f"dscan {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    common = [common_parser()]

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=text, description=text, parents=common)

    for name, text in SCAN_COMMANDS.items():
        scan_parser = command(name, text)
        scan_parser.add_argument("path", help="the store to scan")
        _scan_options(scan_parser)
        _store_options(scan_parser)
        {"hdf5": _hdf5_options, "images": _images_options, "lmdb": _detection_options,
         "leveldb": _detection_options}.get(name, lambda p: None)(scan_parser)
    net = command("net", CONFIG_COMMANDS["net"])
    net.add_argument("path", help="the net definition (train_val.prototxt)")
    _net_options(net)
    _scan_options(net)
    solver = command("solver", CONFIG_COMMANDS["solver"])
    solver.add_argument("path", help="the solver definition (solver.prototxt)")
    solver.add_argument("--horizon", type=positive, metavar="N",
                        help="iterations to evaluate (default: max_iter, else 10000)")
    solver.add_argument("--with-net", action="store_true",
                        help="also run 'dscan net' on the solver's net")
    solver.add_argument("--root", metavar="DIR",
                        help="the directory caffe runs in (default: the working directory)")
    _scan_options(solver)
    mean = command("mean", CONFIG_COMMANDS["mean"])
    mean.add_argument("path", help="the mean file (a BlobProto, e.g. mean.binaryproto)")
    listing = command("checks", "list every check: code, severity, title (--select and "
                      "--ignore filter the list)")
    listing.add_argument("--markdown", action="store_true",
                         help="as the Markdown table the README carries")
    from ..logs import command as log_command  # `dscan log`: options live with the command
    log_command.add_parser(commands, common)
    explain = command("explain", "print what a check finds and why it matters")
    explain.add_argument("code")
    return parser
