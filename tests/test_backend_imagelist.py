"""Image lists (ImageData): the shared contract, and lines split the way Caffe splits them."""
import pytest

from backends.imagelist import split_line

from . import builders as b
from .backend_contract import BackendContract
from .scanning import scan_report


class TestImageListContract(BackendContract):
    backend_name = "images"

    def make_store(self, tmp_path, count):
        image = b.jpeg(8, 8)
        lines = []
        for index in range(count):
            name = f"img_{index:05d}.jpg"
            (tmp_path / name).write_bytes(image)
            lines.append(f"{tmp_path / name} {index % 3}\n")
        (tmp_path / "list.txt").write_text("".join(lines))
        return str(tmp_path / "list.txt")

    def split_small_stores(self, monkeypatch):
        monkeypatch.setattr("backends.imagelist.SMALL_STORE_RECORDS", 0)


@pytest.mark.parametrize("line, expected", [
    (b"cat/01.jpg 3", (b"cat/01.jpg", 3, True)),
    (b"a b.jpg 7", (b"a b.jpg", 7, True)),
    (b"x.jpg 3.7", (b"x.jpg", 3, False)),
    (b"x.jpg cat", (b"x.jpg", 0, False)),
    (b"x.jpg 5\r", (b"x.jpg", 5, True)),
    (b"x.jpg", (b"x.jpg", 0, False)),
    (b"", (b"", 0, False)),
    (b"x.jpg -1", (b"x.jpg", -1, True)),
])
def test_lines_split_at_the_last_space_with_atoi_labels(line, expected):
    assert split_line(line) == expected


def _list(tmp_path, files: dict, lines: list[str]) -> str:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "list.txt").write_text("".join(line + "\n" for line in lines))
    return str(tmp_path / "list.txt")


def test_colour_is_forced_so_a_grey_file_is_no_channel_outlier(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _list(tmp_path, {"a.jpg": b.jpeg(seed=1), "g.jpg": b.jpeg(seed=2, gray=True)},
                 ["a.jpg 0", "g.jpg 1"])
    colour = scan_report(path, backend="images", force_channels=3)
    assert colour["stats"]["shapes"] == {"3x48x48": 2} and "DS207" not in colour[
        "summary"]["by_code"]
    grey = scan_report(path, backend="images", force_channels=1, resize_to=(20, 10))
    assert grey["stats"]["shapes"] == {"1x20x10": 2}


def test_missing_files_and_non_images_crash_at_their_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _list(tmp_path, {"a.jpg": b.jpeg(), "notes.jpg": b"just text, no image"},
                 ["a.jpg 0", "notes.jpg 1", "gone.jpg 0"])
    report = scan_report(path, backend="images", force_channels=3)
    found = {f["key"]: f["code"] for f in report["findings"]}
    assert found == {"notes.jpg": "DS201", "gone.jpg": "DS007"}
    assert report["verdict"]["first_crash"]["index"] == 1


def test_a_missing_file_names_the_root_folder_that_finds_it(tmp_path, monkeypatch):
    (tmp_path / "img" / "cat").mkdir(parents=True)
    (tmp_path / "img" / "cat" / "1.jpg").write_bytes(b.jpeg(16, 16))
    listing = tmp_path / "img" / "list.txt"
    listing.write_text("cat/1.jpg 0\n")
    monkeypatch.chdir(tmp_path)
    [found] = scan_report(str(listing), backend="images")["findings"]
    assert found["code"] == "DS007" and "give --root-folder img/" in found["message"]
    [found] = scan_report(str(listing), backend="images", root_folder="img")["findings"]
    assert "lacks its trailing '/'" in found["message"] and "--root-folder img/" in \
        found["message"]
    assert scan_report(str(listing), backend="images", root_folder="img/")["findings"] == []


def test_few_lines_of_large_images_are_split(tmp_path):
    """Fewer lines than SMALL_STORE_RECORDS are one shard only when the images, estimated from
    a few of their sizes, hold under 16 MB: 100 lines of a 200 KB file are split, 100 small
    images and missing files are not."""
    import backends
    (tmp_path / "large.jpg").write_bytes(bytes(200_000))
    (tmp_path / "small.jpg").write_bytes(b.jpeg(8, 8))
    counts = {}
    for name in ("large.jpg", "small.jpg", "missing.jpg"):
        listed = tmp_path / f"{name}.txt"
        listed.write_text("".join(f"{tmp_path / name} {i % 3}\n" for i in range(100)))
        counts[name] = len(backends.get("images")(str(listed)).shards(4))
    assert counts == {"large.jpg": 4, "small.jpg": 1, "missing.jpg": 1}


def test_a_nul_byte_past_the_first_megabyte_is_a_finding_not_the_end(tmp_path):
    """The list's first MB is checked for binary bytes; a NUL in a later line's path must
    not end the planning (os.stat raises ValueError on it)."""
    lines = [f"{'d' * 280}/img_{i:05d}.jpg {i % 2}" for i in range(4000)]
    lines[3750] = "bad\0name.jpg 1"  # among the lines sampled for the images' sizes
    listing = tmp_path / "list.txt"
    listing.write_bytes("\n".join(lines).encode() + b"\n")
    assert listing.stat().st_size > 1 << 20
    report = scan_report(listing, backend="images", max_examples=4000)
    assert report["summary"]["records"] == 4000  # every path is missing: DS007 on each
    bad = [f for f in report["findings"] if f["index"] == 3750]
    assert bad and "holds a NUL byte" in bad[0]["message"]
