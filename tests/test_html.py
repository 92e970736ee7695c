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


# What a person reads on the page: explanations without backticks, the fix hints, the
# shapes and encodings, DS207's picture, the class limit and the records feeding garbage.

def _mixed_store(tmp_path) -> str:
    values = [b.encoded_datum(b.jpeg(48, 48, seed=i), label=i % 3) for i in range(8)]
    values += [b.encoded_datum(b.jpeg(48, 48, seed=30, gray=True), label=1),  # DS207
               b.encoded_datum(b.truncate(b.jpeg(48, 48, seed=31)), label=2),  # DS202
               b.encoded_datum(b.jpeg(48, 48, seed=32), label=12),  # DS301
               b.raw_datum(label=0, shape=(1, 48, 48), seed=33),  # DS207, raw pixels
               b.datum_bytes(channels=3, height=8, width=8, data=b.jpeg(), label=0)]  # DS206
    return b.make_lmdb(tmp_path / "mixed", values)


def _mixed_page(tmp_path, capsys, *options) -> tuple[str, dict]:
    html, report = tmp_path / "mixed.html", tmp_path / "mixed.json"
    main(["lmdb", _mixed_store(tmp_path), "--html", str(html), "--json", str(report),
          "--no-progress", "-j", "1", *options])
    capsys.readouterr()
    return str(html), json.loads(report.read_text())


@pytest.fixture(scope="module")
def chromium():
    if CHROMIUM is None and not REQUIRE_BROWSER:
        pytest.skip("Chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu",
                                            "--disable-background-networking"])
        try:
            yield browser
        finally:
            browser.close()


def _open(browser, html: str):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto("file://" + html)
    page.wait_for_load_state("load")
    return page


def test_no_literal_backtick_on_any_page(tmp_path, capsys, chromium):
    from tests import log_builders as lb

    store_page, report = _mixed_page(tmp_path, capsys, "--num-classes", "4")
    assert "DS206" in report["summary"]["by_code"]  # its title is "`encoded` flag ..."
    log_page = tmp_path / "log.html"
    main(["log", lb.write_log(tmp_path, "b_blowup_lr0.05", name="b.log"), "--html",
          str(log_page), "-q"])
    capsys.readouterr()
    for html in (store_page, str(log_page)):
        page = _open(chromium, html)
        assert "`" not in page.inner_text("body"), html
        assert page.locator("code").count() > 0  # the spans are shown as code instead
        page.close()


def test_every_finding_row_shows_its_fix_hint(tmp_path, capsys, chromium):
    from scanner.checks import CATALOGUE

    html, report = _mixed_page(tmp_path, capsys, "--num-classes", "4")
    page = _open(chromium, html)
    rows = page.locator("table.findings tr.finding")
    assert rows.count() == len(report["summary"]["by_code"])
    for row in rows.all():
        code = row.locator("td").first.inner_text()
        fix = " ".join(CATALOGUE[code].fix.replace("`", "").split())
        assert " ".join(row.locator(".fix").inner_text().split()) == f"fix: {fix}"
    page.close()


def test_the_page_counts_records_per_shape_and_per_encoding(tmp_path, capsys, chromium):
    html, report = _mixed_page(tmp_path, capsys)
    page = _open(chromium, html)
    for kind in ("shapes", "encodings"):
        rows = page.locator(f"table.counts.{kind} tbody tr")
        shown = {r.locator("td").nth(0).inner_text(): int(r.locator("td").nth(1).inner_text())
                 for r in rows.all()}
        assert shown == report["stats"][kind] and len(shown) >= 2
        assert rows.first.is_visible()
    assert page.locator("table.counts.shapes").inner_text().count("%") == \
        len(report["stats"]["shapes"])
    page.close()


def _picture(uri: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_ds207_findings_show_the_odd_record(tmp_path, capsys, chromium):
    html, report = _mixed_page(tmp_path, capsys)
    odd = [f for f in report["findings"] if f["code"] == "DS207"]
    assert len(odd) == 2  # the grey JPEG and the 1-channel raw datum
    page = _open(chromium, html)
    row = page.locator("table.findings tr.finding", has=page.locator("a", has_text="DS207"))
    pictures = row.locator("figure img")
    assert pictures.count() == 2
    for number in range(2):
        picture = _picture(pictures.nth(number).get_attribute("src"))
        assert picture.mode == "L" and min(picture.size) >= 48  # grey, as the record is
        assert pictures.nth(number).is_visible()
    assert row.locator("figcaption").first.inner_text() == \
        "this record: 1 channel(s), the dataset's: 3"
    page.close()


def test_the_class_histogram_marks_num_classes_and_the_labels_beyond(tmp_path, capsys,
                                                                    chromium):
    html, report = _mixed_page(tmp_path, capsys, "--num-classes", "4")
    assert report["stats"]["labels"]["out_of_range"] == {"12": 1}
    page = _open(chromium, html)
    histogram = page.locator("svg.plot", has=page.locator("title", has_text="Records per class"))
    limit = histogram.locator("rect.limit")
    assert limit.count() == 1 and limit.is_visible()
    assert histogram.locator("rect.bar.outside").count() == 1
    assert "class 12" in histogram.locator("rect.bar.outside title").text_content()
    label = histogram.locator("text.limit-label")
    assert label.text_content() == "num_classes 4: 1 record beyond" and label.is_visible()
    bars = histogram.locator("rect.bar")  # the marker lies between class 2 and class 12
    x = float(limit.get_attribute("x"))
    assert float(bars.nth(2).get_attribute("x")) < x < float(bars.nth(3).get_attribute("x"))
    page.close()
    unbounded, _ = _mixed_page(tmp_path, capsys)
    page = _open(chromium, unbounded)
    assert page.locator(".limit").count() == 0 and page.locator("rect.outside").count() == 0
    page.close()


def test_the_verdict_lists_the_records_that_feed_garbage(tmp_path, capsys, chromium):
    html, report = _mixed_page(tmp_path, capsys, "--num-classes", "4")
    listed = report["verdict"]["garbage_examples"]
    assert listed and len(listed) == report["verdict"]["garbage_records"]
    page = _open(chromium, html)
    page.locator("details.garbage summary").click()
    items = page.locator("ul.garbage-keys li")
    assert [i.locator(".keytext").inner_text() for i in items.all()] == \
        [g["key"] for g in listed]
    page.close()


def test_the_batch_plot_says_what_its_counts_mean(tmp_path, capsys, chromium):
    html, report = _mixed_page(tmp_path, capsys, "--batch-size", "2")  # 2 of 3 classes at most
    page = _open(chromium, html)
    caption = " ".join(page.locator("p.plot-caption").first.inner_text().split())
    lacking = report["batches"]["batches_missing_classes"]
    assert lacking == report["batches"]["count"] == 7
    assert caption.startswith(f"Batches of 2: {report['batches']['count']} per epoch; "
                              f"{lacking} lack at least one of the 3 classes present")
    assert "(DS304 counts these)" in caption
    page.close()


def test_a_class_histogram_of_many_labels_keeps_the_limit_between_runs():
    histogram = {str(label): 2 for label in range(1000)}
    histogram.update({"1500": 1, "-3": 4})
    plot = str(svg.class_histogram(histogram, 900))
    assert plot.count('class="bar') == svg.MAX_POINTS
    # 540 runs below the limit (the first holds -3), 60 from 900 on (1500 alone at the end)
    assert plot.count('class="bar outside"') == 1 + 60
    assert "class -3..0: 6 records" in plot and "class 1500: 1 record (outside" in plot
    assert "num_classes 900: 201 records beyond" in plot  # 100 classes x 2 + 1
