"""The AnnotatedDatum inspector never raises on what a store may hold: arbitrary bytes,
and real records cut anywhere or with bytes flipped in their wire structure (the image's
own bytes are the image checks' business)."""
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.checks import CATALOGUE
from scanner.detection.inspector import AnnotatedInspector
from scanner.settings import ScanSettings

from . import builders as b

SETTINGS = ScanSettings(enabled=frozenset(CATALOGUE), record="annotated",
                        label_map=((0, "bg"), (1, "a"), (2, "b")))
IMAGE = b.jpeg(16, 16)
RECORD = b.annotated([(1, [(0.1, 0.2, 0.5, 0.6), (0.1, 0.2, 0.5, 0.61, True)]),
                      (2, [(0.3, 0.3, 1.2, 0.9)])], image=IMAGE, size=(16, 16))
IMAGE_AT = RECORD.index(IMAGE)
STRUCTURE = list(range(IMAGE_AT)) + list(range(IMAGE_AT + len(IMAGE), len(RECORD)))


def _inspect(values) -> int:
    inspector = AnnotatedInspector(SETTINGS)
    for index, value in enumerate(values):
        inspector.inspect(b"%08d" % index, value)
    inspector.finish()
    result = inspector.result(0)
    assert result.records == len(values)
    return result.detection.records


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_findings(value):
    _inspect([value])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(STRUCTURE), st.integers(1, 255), st.integers(0, len(RECORD)))
def test_flipped_or_cut_records_are_findings(position, flip, cut):
    damaged = bytearray(RECORD)
    damaged[position] ^= flip
    _inspect([bytes(damaged), RECORD[:cut]])


def test_a_clean_record_is_read_with_its_boxes():
    assert _inspect([RECORD, RECORD]) == 2
