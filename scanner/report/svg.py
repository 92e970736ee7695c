"""Static SVG plots for the HTML report, written by hand (no plotting library, no script):
class histogram, distinct classes per batch along the epoch, values per channel.
Every text that comes from data goes through markupsafe's escaping."""
from __future__ import annotations

import numpy as np
from markupsafe import Markup, escape

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
        values, shown_as = np.unique(np.round(values)), (lambda v: str(int(v)))
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


def class_histogram(histogram: dict[str, int]) -> Markup | None:
    if not histogram:
        return None
    labels = sorted(histogram, key=int)
    counts = [histogram[label] for label in labels]
    if len(labels) > MAX_POINTS:  # one bar per run of neighbouring classes
        runs = np.array_split(np.arange(len(labels)), MAX_POINTS)
        counts = [sum(counts[i] for i in run) for run in runs]
        labels = [f"{labels[run[0]]}..{labels[run[-1]]}" if len(run) > 1 else labels[run[0]]
                  for run in runs]
    top = max(counts)
    slot = (WIDTH - LEFT - RIGHT) / len(labels)
    bars = []
    for position, (label, count) in enumerate(zip(labels, counts)):
        height = _scale(count, 0, top, 0, HEIGHT - TOP - BOTTOM)
        bars.append(Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" '
                           'class="bar"><title>class {}: {} records</title></rect>').format(
                               LEFT + position * slot + slot * 0.1, HEIGHT - BOTTOM - height,
                               max(slot * 0.8, 0.5), height, label, count))
    step = max(1, len(labels) // 12)
    for position in range(0, len(labels), step):
        bars.append(Markup('<text x="{:.1f}" y="{}" class="tick" text-anchor="middle">{}'
                           '</text>').format(LEFT + (position + 0.5) * slot,
                                             HEIGHT - BOTTOM + 12, labels[position]))
    return _frame(bars + _ticks(0, top, vertical=True, whole=True), "Records per class", "class",
                  "records")


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


def _figure(value: float | None) -> str:
    return "n/a (overflowed)" if value is None else f"{value:.4g}"
