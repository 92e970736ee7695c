"""Fuzzing the record flows with real payloads: every record is accounted for, nothing raises,
and the verdict on encoded images agrees with OpenCV's imdecode (Caffe's decoder).

The normal run takes a few hundred cases; DSCAN_FUZZ_LONG=1 takes every prefix length and
hundreds of byte flips per payload (tens of thousands of cases)."""
from __future__ import annotations

import os
import random
from collections import Counter

import cv2
import numpy as np
import pytest

from . import builders as b
from . import image_builders as ib
from .scanning import scan_report

LONG = bool(os.environ.get("DSCAN_FUZZ_LONG"))
PREFIXES = 12  # prefix lengths per payload in the normal run (all of them in the long run)
FLIPS = 4 if not LONG else 150  # byte flips per payload, in the header and in the data
DECODES = {"DS201": False, "DS206": False, "DS202": True}  # codes that say whether it decodes
FLAGS = {None: cv2.IMREAD_UNCHANGED, 3: cv2.IMREAD_COLOR, 1: cv2.IMREAD_GRAYSCALE}
# Disagreements with OpenCV that are accepted (README, "Agreement with OpenCV"): none so far.
ACCEPTED: dict[str, str] = {}


def _prefix_lengths(size: int) -> list[int]:
    if LONG:
        return list(range(size))
    spread = np.linspace(1, size - 1, PREFIXES).astype(int).tolist()
    return sorted(set(spread) | {2, 3, 5, 11, 40})


def _flips(payload: bytes, rng: random.Random) -> list[bytes]:
    header = min(len(payload), 160)
    found = []
    for region in ((2, header), (header, len(payload))):
        if region[0] >= region[1]:
            continue
        for _ in range(FLIPS):
            mutated = bytearray(payload)
            position = rng.randrange(*region)
            mutated[position] ^= 1 << rng.randrange(8)
            found.append(bytes(mutated))
    return found


def _cases() -> list[tuple[str, bytes]]:
    rng = random.Random(13)
    cases = []
    for name, payload in ib.payloads().items():
        cases.append((f"{name} whole", payload))
        cases += [(f"{name} cut at {n}", payload[:n]) for n in _prefix_lengths(len(payload))]
        cases += [(f"{name} flipped", data) for data in _flips(payload, rng)]
    return [(name, data) for name, data in cases if data]  # empty data is DS003, no image


CASES = _cases()


def _opencv_decodes(data: bytes, flag: int) -> bool:
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), flag) is not None
    except cv2.error:
        return False


@pytest.mark.parametrize("channels", [None, 3, 1] if LONG else [None],
                         ids=["native", "color", "gray"] if LONG else ["native"])
def test_image_verdicts_agree_with_opencv(tmp_path, channels, capsys):
    path = b.make_lmdb(tmp_path / "db", [b.encoded_datum(data) for _, data in CASES])
    report = scan_report(path, max_examples=len(CASES), force_channels=channels)
    assert report["summary"]["records"] == len(CASES)
    codes = report["summary"]["by_code"]
    assert "DS009" not in codes and "DS005" not in codes, codes
    verdicts = {f["index"]: DECODES[f["code"]] for f in report["findings"] if f["code"] in DECODES}
    skipped = {f["index"] for f in report["findings"] if f["code"] == "DS209"}
    disagreements, compared = Counter(), 0
    for index, (name, data) in enumerate(CASES):
        if index in skipped:
            continue
        compared += 1
        ours = verdicts.get(index, True)
        if ours != _opencv_decodes(data, FLAGS[channels]):
            kind = name.split(" ")[0] + (" decodes" if ours else " refused")
            disagreements[kind if kind in ACCEPTED else f"{kind}: {name}"] += 1
    agreement = 1 - sum(disagreements.values()) / compared
    refused = sum(1 for ours in verdicts.values() if not ours)
    with capsys.disabled():
        print(f"\n{compared} encoded cases ({channels or 'native'} channels; {refused} refused, "
              f"{codes.get('DS202', 0)} damaged): agreement with OpenCV {agreement:.2%}; "
              f"disagreements {dict(disagreements) or 'none'}")
    assert agreement >= 0.99
    assert all(kind in ACCEPTED for kind in disagreements), disagreements


def test_datum_wire_mutations_are_all_accounted_for(tmp_path):
    rng = random.Random(5)
    seeds = [b.encoded_datum(ib.pillow("JPEG")), b.encoded_datum(ib.pillow("PNG")),
             b.raw_datum(shape=(3, 4, 4)), b.float_datum([0.5, 1.5, 2.5], (1, 1, 3)),
             b.float_datum([0.5, 1.5, 2.5], (1, 1, 3), packed=True)]
    values = []
    for _ in range(40 if not LONG else 2000):
        value = bytearray(rng.choice(seeds))
        kind = rng.randrange(4)
        if kind == 0:  # flip bits
            for _ in range(rng.randint(1, 4)):
                value[rng.randrange(len(value))] ^= 1 << rng.randrange(8)
        elif kind == 1:  # cut short
            del value[rng.randrange(len(value)):]
        elif kind == 2:  # insert bytes
            at = rng.randrange(len(value) + 1)
            value[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
        else:  # a tag re-encoded in more bytes than it needs
            value[0:1] = bytes([value[0] | 0x80]) + b"\x80" * rng.randint(0, 9) + b"\x00"
        values.append(bytes(value))
    report = scan_report(b.make_lmdb(tmp_path / "db", values), jobs=2)
    assert report["summary"]["records"] == len(values)
    assert "DS009" not in report["summary"]["by_code"]
    assert sum(report["stats"]["encodings"].values()) == len(values)


def test_listed_image_files_are_all_accounted_for(tmp_path):
    """The ImageData flow: damaged files of every format are findings, none is lost."""
    chosen = CASES[:: max(1, len(CASES) // 60)]
    lines = []
    for number, (_, data) in enumerate(chosen):
        (tmp_path / f"{number}.img").write_bytes(data)
        lines.append(f"{number}.img {number % 3}")
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    report = scan_report(str(tmp_path / "list.txt"), backend="images",
                         root_folder=str(tmp_path) + "/", force_channels=3)
    assert report["summary"]["records"] == len(chosen)
    assert "DS009" not in report["summary"]["by_code"]
