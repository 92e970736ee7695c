"""Pictures of detection records for the HTML report: the image with its boxes drawn as the
data layer meets them (kept, clipped, dropped), and SVG plots of box sizes and classes."""
from __future__ import annotations

import numpy as np
from markupsafe import Markup
from PIL import Image, ImageDraw

from ..report import svg
from ..report.pictures import data_uri, lenient_picture
from .boxes import CLIPPED, KEPT, fate
from .record import AnnotatedDecodeError, decode_annotated

SIDE = 160
COLOURS = {KEPT: (46, 158, 68), CLIPPED: (208, 138, 28)}  # anything else: dropped, red
DROPPED = (220, 30, 30)


def record_picture(value) -> tuple[bytes, list] | None:
    """The image bytes and (label, coords, fate) of every box of an AnnotatedDatum value."""
    from ..datum import DatumDecodeError, decode_datum
    try:
        record = decode_annotated(value)
        datum = decode_datum(record.datum) if record.datum is not None else None
    except (AnnotatedDecodeError, DatumDecodeError):
        return None
    if datum is None or datum.data is None or not datum.encoded:
        return None
    boxes = [(group.label, box.coords, fate(box)) for group in record.groups
             for box in group.boxes]
    return bytes(datum.data), boxes


def boxed_thumbnail(data: bytes, boxes: list) -> str | None:
    """The image (decoded leniently, as OpenCV would), with each box outlined: green kept,
    orange clipped (drawn as written, past the edge where it reaches), red dropped."""
    picture = lenient_picture(data)
    if picture is None:
        return None
    scale = SIDE / max(picture.size)
    picture = picture.resize((max(1, round(picture.width * scale)),
                              max(1, round(picture.height * scale))))
    margin = SIDE // 8  # room to show the part of a clipped box outside the image
    canvas = Image.new("RGB", (picture.width + 2 * margin, picture.height + 2 * margin),
                       (238, 238, 238))
    canvas.paste(picture, (margin, margin))
    draw = ImageDraw.Draw(canvas)
    for label, coords, outcome in boxes:
        points = _pixels(coords, picture.size, margin)
        if points is None:
            continue
        draw.rectangle(points, outline=COLOURS.get(outcome, DROPPED), width=2)
        draw.text((points[0] + 3, points[1] + 1), str(label), fill=COLOURS.get(outcome, DROPPED))
    return data_uri(canvas)


def _pixels(coords: tuple, size: tuple, margin: int):
    if not all(np.isfinite(coords)):
        return None
    width, height = size
    xmin, ymin, xmax, ymax = coords
    xs = sorted((xmin * width + margin, xmax * width + margin))
    ys = sorted((ymin * height + margin, ymax * height + margin))
    limit = lambda v, top: min(max(v, -1.0), top + 1.0)  # noqa: E731
    return (limit(xs[0], width + 2 * margin), limit(ys[0], height + 2 * margin),
            limit(xs[1], width + 2 * margin), limit(ys[1], height + 2 * margin))


def size_scatter(widths: np.ndarray, heights: np.ndarray) -> Markup | None:
    """Normalised width against height of the boxes that reach the loss (up to 2000)."""
    if not len(widths):
        return None
    step = max(1, len(widths) // 2000)
    left, right, top, bottom = svg.LEFT, svg.WIDTH - svg.RIGHT, svg.TOP, svg.HEIGHT - svg.BOTTOM
    body = [Markup('<circle cx="{:.1f}" cy="{:.1f}" r="1.8" class="dot" fill-opacity="0.5"/>')
            .format(svg._scale(w, 0, 1, left, right), svg._scale(h, 0, 1, bottom, top))
            for w, h in zip(widths[::step].tolist(), heights[::step].tolist())]
    body += svg._ticks(0, 1, vertical=True) + svg._ticks(0, 1, vertical=False)
    return svg._frame(body, f"Box sizes ({len(widths[::step])} of {len(widths)} boxes)",
                      "width (share of the image)", "height")


def class_bars(per_class: dict[str, int], difficult: dict[str, int]) -> Markup | None:
    """Boxes per class; the difficult ones as the lighter top of each bar."""
    if not per_class:
        return None
    labels = sorted(per_class, key=int)
    top = max(per_class.values())
    slot = (svg.WIDTH - svg.LEFT - svg.RIGHT) / len(labels)
    floor = svg.HEIGHT - svg.BOTTOM
    body = []
    for position, label in enumerate(labels):
        count, hard = per_class[label], difficult.get(label, 0)
        x = svg.LEFT + position * slot + slot * 0.1
        height = svg._scale(count, 0, top, 0, svg.HEIGHT - svg.TOP - svg.BOTTOM)
        hard_height = svg._scale(hard, 0, top, 0, svg.HEIGHT - svg.TOP - svg.BOTTOM)
        body.append(Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" '
                           'class="bar"><title>class {}: {} boxes, {} difficult</title></rect>')
                    .format(x, floor - height, max(slot * 0.8, 0.5), height, label, count, hard))
        if hard:
            body.append(Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" '
                               'fill="#9bb8e6"/>').format(x, floor - height,
                                                          max(slot * 0.8, 0.5), hard_height))
        body.append(Markup('<text x="{:.1f}" y="{}" class="tick" text-anchor="middle">{}'
                           '</text>').format(x + slot * 0.4, floor + 12, label))
    body += svg._ticks(0, top, vertical=True, whole=True)
    return svg._frame(body, "Boxes per class", "class (lighter: difficult)", "boxes")


def plots(totals, report: dict) -> list[dict]:
    """The detection plots of a store's part of the HTML page."""
    stats = totals.detection
    if stats is None:
        return []
    found = report["stats"]["detection"]
    made = [{"title": "Boxes per class (lighter: difficult)",
             "svg": class_bars(found["boxes_per_class"], found["difficult_per_class"])},
            {"title": "Box sizes: width against height, as a share of the image (boxes that "
                      "reach the loss)", "svg": size_scatter(*stats.sizes())}]
    batches = found["batches"]
    if batches:
        classes = sorted(set(stats.present_classes))
        settings = totals.sink.settings
        distinct = stats.distinct_per_batch(totals.records, settings.batch_size,
                                            settings.solvers, classes)
        made.append({"title": f"Box classes per batch of {settings.batch_size}, in Caffe's "
                              "read order (dashed: a shuffled epoch)",
                     "svg": svg.classes_per_batch(distinct, batches["distinct_classes_per_batch"]
                                                  ["expected_if_shuffled"], len(classes))})
    return [plot for plot in made if plot["svg"] is not None]
