"""--html: one self-contained page with the loss and learning rate over the iterations
(log scale, the first NaN marked, test losses as dots) and the findings."""
from __future__ import annotations

import jinja2

from .. import __version__
from ..checks import CATALOGUE
from ..report import svg
from ..report.html_report import code_spans
from ..report.html_report import write  # noqa: F401  (one way to write a page)
from .terminal import batch_line

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("scanner.logs", "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_ENVIRONMENT.filters["code_spans"] = code_spans


def _number(value) -> float:
    return float(value)  # a number, or the report's "nan" / "inf" / "-inf"


def render(report: dict) -> str:
    loss = [(i, _number(v)) for i, v in report["series"]["loss"]]
    tests = [(t["iteration"], _number(v)) for t in report["tests"]
             for name, v in t["outputs"].items() if "loss" in name.lower()]
    first = report["diagnosis"]["first_nonfinite"]
    marks = [(first["iteration"], f"first NaN: {first['iteration']}")] if first else []
    crash = report["diagnosis"]["crash"]
    if crash and crash["last_iteration"] is not None:
        marks.append((crash["last_iteration"], "crash"))
    plots = [svg.iteration_plot([("training loss", loss, "train"), ("test loss", tests, "test")],
                                "Loss over iterations", "loss", marks)]
    lr = [(i, _number(v)) for i, v in report["series"]["lr"]]
    if lr:
        last = report["run"]["last_iteration"]
        if last is not None and lr[-1][0] < last:
            lr.append((last, lr[-1][1]))  # the rate holds until the last iteration
        plots.append(svg.iteration_plot([("learning rate", lr, "lr")], "Learning rate", "lr",
                                        marks))
    name = "stdin" if report["log"]["path"] == "-" else report["log"]["path"]
    batch = report["diagnosis"]["batch"]
    return _ENVIRONMENT.get_template("log.html").render(
        title=f"dscan log {name}", report=report, plots=[p for p in plots if p is not None],
        batch_text=batch_line(batch) if batch else None, version=__version__,
        docs=[CATALOGUE[code] for code in sorted(report["summary"]["by_code"])])
