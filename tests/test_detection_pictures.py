"""The HTML report of a detection store: per-class bars, the box-size scatter, and the
flagged records' images with their boxes drawn in the colour of what the data layer does."""
import base64
import io
import re

import numpy as np
from PIL import Image

from scanner.cli import main
from scanner.detection.pictures import COLOURS, DROPPED, boxed_thumbnail, class_bars

from . import builders as b


def _image(uri: str) -> np.ndarray:
    data = base64.b64decode(uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _has(picture: np.ndarray, colour) -> bool:
    return bool(np.all(picture == np.array(colour, np.uint8), axis=-1).any())


def test_boxes_are_drawn_in_the_colour_of_their_fate():
    image = b.jpeg(64, 48)
    picture = _image(boxed_thumbnail(image, [(1, (0.1, 0.1, 0.4, 0.4), "kept")]))
    assert _has(picture, COLOURS["kept"]) and not _has(picture, DROPPED)
    picture = _image(boxed_thumbnail(image, [(2, (0.5, 0.5, 1.3, 0.9), "clipped"),
                                             (3, (0.6, 0.1, 0.2, 0.5), "inverted")]))
    assert _has(picture, COLOURS["clipped"]) and _has(picture, DROPPED)
    assert boxed_thumbnail(b"not an image", []) is None


def test_class_bars_tell_boxes_and_difficult_per_class():
    plot = str(class_bars({"1": 10, "3": 4}, {"3": 2}))
    assert "class 1: 10 boxes, 0 difficult" in plot and "class 3: 4 boxes, 2 difficult" in plot


def test_the_html_report_of_a_detection_store(tmp_path, capsys):
    faults = {2: b.annotated([(1, [(0.5, 0.2, 1.3, 0.6)])]),
              5: b.annotated([(2, [(0.6, 0.1, 0.2, 0.5)])])}
    path = b.make_lmdb(tmp_path / "db", b.annotated_store(8, faults))
    html = tmp_path / "report.html"
    assert main(["lmdb", path, "--html", str(html), "--no-progress", "-j", "1"]) == 1
    capsys.readouterr()
    text = html.read_text(encoding="utf-8")
    assert "Boxes per class" in text and "Box sizes" in text and "Box classes per batch" in text
    assert text.count("<figcaption>boxes: green kept, orange clipped, red dropped") == 2
    pictures = [_image(uri) for uri in re.findall(r'src="(data:image/png;base64,[^"]+)"', text)]
    assert any(_has(p, COLOURS["clipped"]) for p in pictures)
    assert any(_has(p, DROPPED) for p in pictures)
