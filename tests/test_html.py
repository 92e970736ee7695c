"""The HTML report: self-contained, escaped, and checked in a real headless Chromium."""
import base64
import io
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from scanner.cli import main
from scanner.report import svg
from scanner.report.pictures import thumbnail, value_map

from . import builders as b

HOSTILE = "<script>alert(1)</script>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRE_BROWSER = os.environ.get("DSCAN_REQUIRE_BROWSER") == "1"  # set by .ci/run


def _faulty_store(tmp_path) -> str:
    values = [b.encoded_datum(b.jpeg(64, 64, seed=i), label=i % 3) for i in range(6)]
    values += [b.encoded_datum(b.truncate(b.jpeg(64, 64, seed=9)), label=1),
               b.encoded_datum(b"\xff\xd8 not really a JPEG", label=2),
               b.encoded_datum(b.jpeg(64, 64, seed=3), label=7)]
    names = [f"img_{i}.jpg" for i in range(6)] + ["cut.jpg", HOSTILE, "label7.jpg"]
    return b.make_lmdb(tmp_path / "db", values, names)


def _report(tmp_path, capsys) -> tuple[str, dict]:
    path = _faulty_store(tmp_path)
    html, report = tmp_path / "report.html", tmp_path / "report.json"
    status = main(["lmdb", path, "--num-classes", "4", "--html", str(html), "--json",
                   str(report), "--no-progress", "-j", "1"])
    capsys.readouterr()
    assert status == 1
    return str(html), json.loads(report.read_text())


def test_every_string_from_the_data_is_escaped(tmp_path, capsys):
    html, report = _report(tmp_path, capsys)
    text = open(html, encoding="utf-8").read()
    assert HOSTILE not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert text.count("<script") == 1  # the page's own filter script only
    for outside in ("http://", "https://", "src=\"//", "@import"):
        assert outside not in text.replace("http://www.w3.org/2000/svg", "")


def test_damaged_images_get_a_lenient_thumbnail_with_the_damage_visible():
    uri = thumbnail(b.truncate(b.jpeg(64, 64, seed=4)))
    picture = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("L")
    pixels = np.asarray(picture)
    assert pixels.shape[0] > 16 and np.ptp(pixels[-4:]) == 0  # a flat grey bottom
    assert thumbnail(b"\xff\xd8 not an image") is None


def test_value_map_marks_where_the_non_finite_values_are():
    values = np.zeros((3, 4, 5), np.float32)
    values[2, 1, 3] = np.nan
    _, facts = value_map(values)
    assert facts == {"non_finite": 1, "values": 60, "first": [(2, 1, 3)]}


def test_plots_are_static_svg():
    bars = svg.class_histogram({"0": 5, "1": 7, "10": 1})
    assert bars.startswith("<svg") and bars.count("<rect") == 3
    line = svg.classes_per_batch(np.array([1, 1, 2, 1]), 3.5, 4)
    assert "class=\"reference\"" in line and "<script" not in line


@pytest.mark.skipif(CHROMIUM is None and not REQUIRE_BROWSER,
                    reason="Chromium is not installed (.ci/run installs it)")
def test_the_page_in_headless_chromium(tmp_path, capsys):
    from playwright.sync_api import sync_playwright

    html, report = _report(tmp_path, capsys)
    problems, requests, dialogs = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto("file://" + html)
            page.wait_for_load_state("load")
            rows = page.locator("table.findings tr.finding")
            assert rows.count() == len(report["summary"]["by_code"])
            assert page.get_by_text(HOSTILE, exact=False).count() >= 1
            assert page.locator("figure img").count() >= 1  # the truncated JPEG's thumbnail
            assert page.locator("svg.plot").count() >= 2
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
            warnings = page.locator("table.findings tr.finding[data-severity=warning]")
            assert 0 < warnings.count() < rows.count()  # DS303: class 3 never present
            page.locator(".filters input[data-severity=error]").uncheck()
            visible = [row.is_visible() for row in rows.all()]
            assert sum(visible) == warnings.count()
        finally:
            browser.close()
    assert problems == [] and dialogs == []
    assert [url for url in requests if url != "file://" + html] == []
    assert os.path.getsize(tmp_path / "report.png") > 10_000


def test_explanations_show_code_spans_and_fixes_not_backticks(tmp_path, capsys):
    from scanner.checks import CATALOGUE

    html, report = _report(tmp_path, capsys)
    text = open(html, encoding="utf-8").read()
    docs = text[text.index("What the codes mean"):]
    assert "`" not in docs and "<code>" in docs
    for code in report["summary"]["by_code"]:
        assert f"Fix:</b> {CATALOGUE[code].fix}"[:60] in docs
