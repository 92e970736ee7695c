"""Firing and passing cases for the detection checks (DS350-DS379): small AnnotatedDatum
LMDBs written with the protobuf runtime, one record changed."""
from __future__ import annotations

from . import builders as b
from .reference import datum_bytes

MAP = ((0, "background"), (1, "circle"), (2, "square"), (3, "triangle"))
GAP_MAP = MAP + ((5, "star"),)  # no class 4


def _store(faults: dict | None = None, **settings):
    def build(tmp_path):
        return b.make_lmdb(tmp_path / "db", b.annotated_store(8, faults)), settings, {}
    return build


def _boxes(*groups, **options) -> dict:
    """A store whose record 3 carries these groups."""
    return {3: b.annotated(list(groups), **options)}


PLAIN = datum_bytes(channels=3, height=48, width=64, label=-1, encoded=True, data=b.jpeg(64, 48))
NO_DATUM = b.annotated(datum={})  # the datum field present but empty
CUT = b.annotated()[:-7]
DETECTION_CASES = {
    "DS350": (_store({3: CUT}), _store()),
    "DS351": (_store({3: PLAIN}), _store()),
    "DS352": (_store({3: NO_DATUM}), _store()),
    "DS353": (_store(_boxes((1, [(0.1, 0.1, 0.5, 0.5)]), type_value=None)),
              _store(_boxes((1, [(0.1, 0.1, 0.5, 0.5)])))),
    "DS354": (_store(_boxes((1, [(0.1, 0.1, 1.3, 0.5)]))),
              _store(_boxes((1, [(0.1, 0.1, 1.0, 0.5)])))),
    "DS355": (_store(_boxes((1, [(0.6, 0.1, 0.2, 0.5)]))),
              _store(_boxes((1, [(0.2, 0.1, 0.6, 0.5)])))),
    "DS356": (_store(_boxes((1, [(0.3, 0.1, 0.3, 0.5)]))),
              _store(_boxes((1, [(0.3, 0.1, 0.31, 0.5)])))),
    "DS357": (_store(_boxes((1, [(1.2, 0.1, 1.5, 0.5)]))),
              _store(_boxes((1, [(0.9, 0.1, 1.0, 0.5)])))),
    "DS358": (_store(_boxes()), _store(_boxes((2, [(0.2, 0.2, 0.4, 0.4)])))),
    "DS359": (_store(_boxes((0, [(0.2, 0.2, 0.4, 0.4)]))),
              _store(_boxes((3, [(0.2, 0.2, 0.4, 0.4)])))),
    "DS360": (_store(_boxes((4, [(0.2, 0.2, 0.4, 0.4)])), label_map=MAP),
              _store(_boxes((3, [(0.2, 0.2, 0.4, 0.4)])), label_map=MAP)),
    "DS361": (_store(_boxes((4, [(0.2, 0.2, 0.4, 0.4)])), label_map=GAP_MAP),
              _store(_boxes((5, [(0.2, 0.2, 0.4, 0.4)])), label_map=GAP_MAP)),
    "DS362": (_store({3: b.annotated(datum={"channels": 3, "height": 96, "width": 128,
                                            "label": -1, "encoded": True,
                                            "data": b.jpeg(64, 48)})}),
              _store({3: b.annotated(size=(96, 128))})),
    "DS363": (_store({3: b.annotated(datum={"label": -1, "encoded": True,
                                            "data": b.jpeg(64, 48)})}),
              _store()),
    "DS364": (_store(_boxes((1, [(0.2, 0.2, 0.4, 0.4, True)]))),
              _store(_boxes((1, [(0.2, 0.2, 0.4, 0.4, True), (0.5, 0.5, 0.7, 0.7)])))),
    "DS365": (_store(_boxes((1, [(0.2, 0.2, 0.4, 0.4), (0.201, 0.2, 0.4, 0.401)]))),
              _store(_boxes((1, [(0.2, 0.2, 0.4, 0.4)]), (2, [(0.2, 0.2, 0.4, 0.4)])))),
}
