"""Static SVG plots for the HTML report, written by hand (no plotting library, no script):
class histogram, distinct classes per batch along the epoch, values per channel.
Every text that comes from data goes through markupsafe's escaping."""
from __future__ import annotations

import numpy as np
from markupsafe import Markup, escape

from ..arrays import distinct

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 14, 30
MARKED = 60  # series this short get a dot per point
MAX_POINTS = 600  # a long epoch is drawn as per-bin minimum and mean
CHANNEL_COLOURS = ("#1f5fbf", "#2e9e44", "#c8322d", "#8a5cc2", "#d08a1c")


def _frame(body: list, title: str, x_label: str, y_label: str) -> Markup:
    parts = [Markup('<svg xmlns="http://www.w3.org/2000/svg" class="plot" role="img" '
                    'viewBox="0 0 {} {}" width="{}" height="{}"><title>{}</title>').format(
                        WIDTH, HEIGHT, WIDTH, HEIGHT, title),
             Markup('<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" class="axis"/>').format(
                 LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT),
             Markup('<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" class="axis"/>').format(
                 LEFT, TOP, HEIGHT - BOTTOM),
             Markup('<text x="{}" y="{}" class="label" text-anchor="middle">{}</text>').format(
                 (LEFT + WIDTH - RIGHT) // 2, HEIGHT - 4, x_label),
             Markup('<text x="12" y="{}" class="label" text-anchor="middle" '
                    'transform="rotate(-90 12 {})">{}</text>').format(
                        HEIGHT // 2, HEIGHT // 2, y_label)]
    return Markup("").join(parts + body + [Markup("</svg>")])


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    """Where `value` lies between `low` and `high`, mapped onto [start, end]. Halved first,
    so that a span beyond float64 (-1e308..1e308) still maps; never NaN for finite input."""
    span = high / 2 - low / 2
    share = (value / 2 - low / 2) / span if span else 0.0
    return start + share * (end - start)


def _ticks(low: float, high: float, vertical: bool, shown_as=lambda v: f"{v:.3g}",
           whole: bool = False) -> list:
    """Five ticks along an axis; `whole`: only whole numbers (counts, indices)."""
    values = np.array([low * (1 - t) + high * t for t in np.linspace(0, 1, 5)]) \
        if high > low else np.array([low])
    if whole:
        values, shown_as = distinct(np.round(values)), (lambda v: str(int(v)))
    marks = []
    for value in values:
        shown = shown_as(value)
        if vertical:
            y = _scale(value, low, high, HEIGHT - BOTTOM, TOP)
            marks.append(Markup('<text x="{}" y="{:.1f}" class="tick" text-anchor="end">{}'
                                '</text>').format(LEFT - 4, y + 3, shown))
        else:
            x = _scale(value, low, high, LEFT, WIDTH - RIGHT)
            marks.append(Markup('<text x="{:.1f}" y="{}" class="tick" text-anchor="middle">'
                                '{}</text>').format(x, HEIGHT - BOTTOM + 12, shown))
    return marks


def class_histogram(histogram: dict[str, int], num_classes: int | None = None,
                    ignore_label: int | None = None) -> Markup | None:
    """Records per label value. With `num_classes`, a marked line where the classes end
    (between the labels below it and those at or beyond it), and every label outside
    [0, num_classes) other than the ignore label drawn as an outsider."""
    if not histogram:
        return None
    values = sorted(int(label) for label in histogram)
    counts = [histogram[str(value)] for value in values]
    outside = [num_classes is not None and value != ignore_label and
               (value < 0 or value >= num_classes) for value in values]
    boundary = sum(1 for value in values if value < num_classes) \
        if num_classes is not None else None
    slots = _histogram_slots(values, counts, outside, boundary)
    top = max(count for _, count, _ in slots)
    slot = (WIDTH - LEFT - RIGHT) / len(slots)
    bars = []
    for position, (label, count, beyond) in enumerate(slots):
        height = _scale(count, 0, top, 0, HEIGHT - TOP - BOTTOM)
        bars.append(Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" '
                           'class="{}"><title>class {}: {} record{}{}</title></rect>').format(
                               LEFT + position * slot + slot * 0.1, HEIGHT - BOTTOM - height,
                               max(slot * 0.8, 0.5), height, "bar outside" if beyond else "bar",
                               label, count, "s" if count != 1 else "",
                               f" (outside [0, {num_classes}))" if beyond else ""))
    step = max(1, len(slots) // 12)
    for position in range(0, len(slots), step):
        bars.append(Markup('<text x="{:.1f}" y="{}" class="tick" text-anchor="middle">{}'
                           '</text>').format(LEFT + (position + 0.5) * slot,
                                             HEIGHT - BOTTOM + 12, slots[position][0]))
    if num_classes is not None:
        below = sum(1 for label, _, _ in slots if _first_value(label) < num_classes)
        x = LEFT + below * slot
        beyond = sum(c for v, c, o in zip(values, counts, outside) if o and v >= num_classes)
        text = f"num_classes {num_classes}" + (
            f": {beyond} record{'s' if beyond != 1 else ''} beyond" if beyond else "")
        anchor = "end" if below > len(slots) / 2 else "start"
        bars.append(Markup('<rect x="{0:.1f}" y="{1}" width="2" height="{2}" class="limit">'
                           '<title>{3}</title></rect><text x="{4:.1f}" y="{5}" '
                           'class="tick limit-label" fill="#c8322d" text-anchor="{6}">{3}</text>'
                           ).format(
                               x - 1, TOP, HEIGHT - BOTTOM - TOP, text,
                               x - 3 if anchor == "end" else x + 3, TOP - 3, anchor))
    return _frame(bars + _ticks(0, top, vertical=True, whole=True), "Records per class", "class",
                  "records")


def _first_value(label: str) -> int:
    """The first label value a slot holds ("12", or "12..40" for a run)."""
    return int(label.split("..")[0])


def _histogram_slots(values: list[int], counts: list[int], outside: list[bool],
                     boundary: int | None) -> list[tuple[str, int, bool]]:
    """(label, records, outside?) per bar: one per value, or, past MAX_POINTS values, one
    per run of neighbouring values; a run never straddles the class limit."""
    if len(values) <= MAX_POINTS:
        return [(str(v), c, o) for v, c, o in zip(values, counts, outside)]
    parts = [(0, len(values))] if boundary in (None, 0, len(values)) else \
        [(0, boundary), (boundary, len(values))]
    slots = []
    for start, stop in parts:
        bins = max(1, round(MAX_POINTS * (stop - start) / len(values)))
        for run in np.array_split(np.arange(start, stop), min(bins, stop - start)):
            first, last = values[run[0]], values[run[-1]]
            slots.append((f"{first}..{last}" if len(run) > 1 else str(first),
                          sum(counts[i] for i in run), any(outside[i] for i in run)))
    return slots


def classes_per_batch(distinct: np.ndarray, expected: float, classes: int) -> Markup | None:
    """Distinct classes in each batch of the epoch, with what a shuffle would give."""
    if distinct is None or not len(distinct):
        return None
    bins = np.array_split(np.asarray(distinct, np.float64), min(len(distinct), MAX_POINTS))
    means = [b.mean() for b in bins]
    lows = [b.min() for b in bins]
    top = max(classes, float(np.max(distinct)), expected, 1)

    def points(series):
        last = max(len(series) - 1, 1)
        return " ".join(f"{_scale(i, 0, last, LEFT, WIDTH - RIGHT):.1f},"
                        f"{_scale(v, 0, top, HEIGHT - BOTTOM, TOP):.1f}"
                        for i, v in enumerate(series))
    y_expected = _scale(expected, 0, top, HEIGHT - BOTTOM, TOP)
    body = [Markup('<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" class="reference">'
                   '<title>a shuffled epoch: {:.2f} classes per batch</title></line>').format(
                       LEFT, y_expected, WIDTH - RIGHT, y_expected, expected),
            Markup('<polyline points="{}" class="series"/>').format(points(means))]
    if len(distinct) > MAX_POINTS:
        body.append(Markup('<polyline points="{}" class="series-low"/>').format(points(lows)))
    if len(distinct) <= MARKED:
        for pair in points(means).split():
            x, y = pair.split(",")
            body.append(Markup('<circle cx="{}" cy="{}" r="3" class="dot"/>').format(x, y))
    body += _ticks(0, top, vertical=True, whole=True) + \
        _ticks(0, len(distinct) - 1, vertical=False, whole=True)
    return _frame(body, "Distinct classes per batch", "batch (Caffe's read order)",
                  "classes in batch")


def channel_values(stats, dtype: str) -> Markup | None:
    """uint8: each channel's value histogram; float: min, mean +- std and max per channel."""
    if stats is None or not stats.samples:
        return None
    if stats.histogram is not None:
        return _histograms(stats.histogram)
    return _ranges(stats.as_report(), dtype)


def _histograms(histogram: np.ndarray) -> Markup:
    """Share of each value per channel; a lone peak (all-black images) is clipped so the
    rest of the distribution stays visible."""
    shares = histogram / np.maximum(histogram.sum(axis=1, keepdims=True), 1)
    top = float(np.percentile(shares, 99.5)) * 1.2 or float(shares.max()) or 1.0
    clipped = bool(shares.max() > top)
    shares = np.minimum(shares, top)
    body = []
    for channel, share in enumerate(shares):
        points = " ".join(f"{_scale(v, 0, 255, LEFT, WIDTH - RIGHT):.1f},"
                          f"{_scale(s, 0, top, HEIGHT - BOTTOM, TOP):.1f}"
                          for v, s in enumerate(share))
        body.append(Markup('<polyline points="{}" class="channel" stroke="{}">'
                           '<title>channel {}</title></polyline>').format(
                               points, CHANNEL_COLOURS[channel % len(CHANNEL_COLOURS)], channel))
    body += _ticks(0, 255, vertical=False, whole=True) + \
        _ticks(0, top, vertical=True, shown_as=lambda v: f"{v * 100:.2g}%") + \
        _legend(len(shares))
    return _frame(body, "Value distribution per channel", "value (uint8)",
                  "share of values" + (" (peaks clipped)" if clipped else ""))


def _legend(channels: int) -> list:
    names = ("B", "G", "R") if channels == 3 else tuple(f"c{i}" for i in range(channels))
    return [Markup('<text x="{}" y="{}" class="tick" fill="{}">{}</text>').format(
        WIDTH - RIGHT - 16 * (channels - i), TOP + 8,
        CHANNEL_COLOURS[i % len(CHANNEL_COLOURS)], name) for i, name in enumerate(names)]


def _ranges(channels: list[dict], dtype: str) -> Markup | None:
    """Per channel: a line from min to max, a box of mean +- std. A figure the statistics
    could not give (None: it overflowed) is left out, never drawn at NaN."""
    shown = [c for c in channels if c["min"] is not None and c["max"] is not None]
    if not shown:
        return None
    low = min(c["min"] for c in shown)
    high = max(c["max"] for c in shown)
    slot = (HEIGHT - TOP - BOTTOM) / len(channels)
    body = []
    for number, channel in enumerate(channels):
        if channel["min"] is None or channel["max"] is None:
            continue
        y = TOP + (number + 0.5) * slot
        colour = CHANNEL_COLOURS[number % len(CHANNEL_COLOURS)]
        x = {k: _scale(channel[k], low, high, LEFT, WIDTH - RIGHT) for k in ("min", "max")}
        body.append(Markup('<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" '
                           'class="range"/>').format(x["min"], y, x["max"], y, colour))
        mean, std = channel["mean"], channel["std"]
        if mean is not None:
            centre = _scale(mean, low, high, LEFT, WIDTH - RIGHT)
            spread = 0.0
            if std is not None and high > low:
                spread = min(_scale(low + std, low, high, 0, WIDTH - LEFT - RIGHT), WIDTH)
            body.append(Markup(
                '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}" '
                'class="spread"><title>channel {}: mean {}, std {}, min {:.4g}, max {:.4g}'
                '</title></rect>').format(centre - spread, y - slot * 0.25,
                                          max(2 * spread, 1.5), slot * 0.5, colour, number,
                                          _figure(mean), _figure(std), channel["min"],
                                          channel["max"]))
        body.append(Markup('<text x="{}" y="{:.1f}" class="tick" text-anchor="end">c{}</text>')
                    .format(LEFT - 4, y + 3, number))
    body += _ticks(low, high, vertical=False)
    return _frame(body, "Value range per channel", f"value ({escape(dtype)})", "channel")


def iteration_plot(lines: list[tuple[str, list[tuple[int, float]], str]], title: str,
                   y_label: str, marks: list[tuple[int, str]] = ()) -> Markup | None:
    """Values over iterations on a log scale: each line is (name, points, css class);
    `marks` are iterations drawn as labelled vertical lines (the first NaN). Points that are
    not finite or not positive are left out of the line and drawn as ticks at the top."""
    drawn = [(n, [(i, v) for i, v in p if np.isfinite(v) and v > 0], c) for n, p, c in lines]
    values = [v for _, points, _ in drawn for _, v in points]
    iterations = [i for _, points, _ in lines for i, _ in points] + [i for i, _ in marks]
    if not iterations:
        return None
    low_x, high_x = min(iterations), max(max(iterations), min(iterations) + 1)
    low_y, high_y = (np.log10(min(values)), np.log10(max(values))) if values else (0.0, 1.0)
    if high_y - low_y < 1e-9:
        low_y, high_y = low_y - 0.5, high_y + 0.5

    def x(i):
        return _scale(i, low_x, high_x, LEFT, WIDTH - RIGHT)

    def y(v):
        return _scale(np.log10(v), low_y, high_y, HEIGHT - BOTTOM, TOP)
    body = []
    for name, points, css in drawn:
        if len(points) > 1:
            body.append(Markup('<polyline points="{}" class="{}"><title>{}</title></polyline>')
                        .format(" ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points), css,
                                name))
        if len(points) <= MARKED or css == "test":
            for i, v in points:
                body.append(Markup('<circle cx="{:.1f}" cy="{:.1f}" r="2.5" class="dot {}">'
                                   '<title>{} at {}: {:.6g}</title></circle>').format(
                                       x(i), y(v), css, name, i, v))
    for name, points, css in lines:
        bad = [i for i, v in points if not np.isfinite(v)]
        for i in bad[:MAX_POINTS]:
            body.append(Markup('<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" '
                               'class="nonfinite"><title>{3} at {4}: not finite</title></line>')
                        .format(x(i), TOP, TOP + 6, name, i))
    for i, label in marks:
        body.append(Markup('<line x1="{0:.1f}" y1="{1}" x2="{0:.1f}" y2="{2}" class="mark"/>'
                           '<text x="{3:.1f}" y="{4}" class="tick mark-label">{5}</text>').format(
                               x(i), TOP, HEIGHT - BOTTOM, x(i) + 3, TOP + 16, label))
    body += [Markup('<text x="{}" y="{:.1f}" class="tick" text-anchor="end">{}</text>').format(
        LEFT - 4, y(10 ** e) + 3, f"{10 ** e:.3g}")
        for e in np.linspace(low_y, high_y, 5)]
    body += _ticks(low_x, high_x, vertical=False, whole=True)
    return _frame(body, title, "iteration", y_label + " (log scale)")


def _figure(value: float | None) -> str:
    return "n/a (overflowed)" if value is None else f"{value:.4g}"
