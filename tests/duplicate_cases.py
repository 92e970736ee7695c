"""Firing and passing cases for the duplicate checks (DS801-DS804): natural photos from the
corpus fixtures, with copies planted."""
from __future__ import annotations

from scanner.checks import CATALOGUE

from . import builders as b
from .planted import encode, fixture_pictures

EVERY = frozenset(CATALOGUE)


def _photos(count: int = 6, label_of=lambda i: i % 3) -> list[bytes]:
    return [b.encoded_datum(encode(p), label=label_of(i))
            for i, p in enumerate(fixture_pictures()[:count])]


def _store(extra):
    def build(tmp_path):
        pictures = fixture_pictures()
        values = _photos() + extra(pictures)
        return b.make_lmdb(tmp_path / "db", values), {"enabled": EVERY}, {}
    return build


def _net(leak: bool):
    def build(tmp_path):
        pictures = fixture_pictures()
        train = b.make_lmdb(tmp_path / "train", _photos(8))
        shown = pictures[:2] if leak else pictures[20:22]
        test = b.make_lmdb(tmp_path / "test", [b.encoded_datum(encode(p, 60), label=0)
                                               for p in shown])
        layers = "".join(
            f'layer {{ name: "{phase}" type: "Data" top: "data" top: "label" '
            f'include {{ phase: {phase} }} data_param {{ source: "{source}" batch_size: 2 '
            f'backend: LMDB }} }}\n' for phase, source in (("TRAIN", train), ("TEST", test)))
        (tmp_path / "net.prototxt").write_text(layers)
        return str(tmp_path / "net.prototxt"), {"command": "net", "enabled": EVERY}, {}
    return build


DUPLICATE_CASES = {
    "DS801": (_store(lambda p: [b.encoded_datum(encode(p[0]), label=0)]),
              _store(lambda p: [b.encoded_datum(encode(p[10]), label=0)])),
    "DS802": (_store(lambda p: [b.encoded_datum(encode(p[1], 60), label=1)]),
              _store(lambda p: [b.encoded_datum(encode(p[11], 60), label=1)])),
    "DS803": (_store(lambda p: [b.encoded_datum(encode(p[2], 70), label=1)]),
              _store(lambda p: [b.encoded_datum(encode(p[2], 70), label=2)])),
    "DS804": (_net(True), _net(False)),
}
