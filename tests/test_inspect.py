"""The per-record flow on hostile values: it never raises, every record is accounted for."""
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.checks import CATALOGUE
from scanner.inspect import DatumInspector
from scanner.settings import ScanSettings

from . import builders as b

SETTINGS = ScanSettings(enabled=frozenset(CATALOGUE), max_pixels=4_000_000)
SEEDS = [b.encoded_datum(b.jpeg(24, 24)), b.encoded_datum(b.png(16, 16)),
         b.raw_datum(shape=(3, 4, 4)), b.float_datum([0.5, 1.5, 2.5], (1, 1, 3)),
         b.datum_bytes(encoded=True, float_data=[1.0, 2.0])]  # found by the long fuzz run


def test_an_encoded_datum_with_only_floats_is_no_image():
    inspector = _inspect_all([SEEDS[-1]])
    assert [code for code, _ in inspector.sink.counts] == ["DS206"]


def _inspect_all(values) -> DatumInspector:
    inspector = DatumInspector(SETTINGS)
    for number, value in enumerate(values):
        inspector.inspect(b"key-%d" % number, memoryview(value))
    inspector.finish()
    result = inspector.result(0)
    assert result.records == len(values) == len(result.labels) == len(result.shape_ids)
    return inspector


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=8))
def test_arbitrary_values_become_findings_or_clean_records(values):
    _inspect_all(values)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_datums_with_real_images_never_raise(seed, data):
    value = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(value) - 1))
        value[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(value)))
    _inspect_all([bytes(value[:cut]), seed])
