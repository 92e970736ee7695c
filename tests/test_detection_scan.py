"""Scans of AnnotatedDatum stores (written with the protobuf runtime): statistics, the
verdict, record-type detection, the command line, dscan net, and a store left untouched."""
import json
import os

import jsonschema
import pytest

from scanner.cli import main
from scanner.detection.labelmap import read_label_map
from scanner.errors import ConfigError
from scanner.report import config_report
from scanner.report.json_report import load_schema

from . import builders as b
from .scanning import codes_at, net_report, scan_report

BOX = (0.2, 0.2, 0.4, 0.4)


def _store(tmp_path, faults=None, count=8):
    return b.make_lmdb(tmp_path / "db", b.annotated_store(count, faults))


def test_statistics_count_every_box_as_written(tmp_path):
    faults = {2: b.annotated([(1, [BOX, (0.5, 0.5, 0.9, 0.9, True)]), (3, [(0.1, 0.1, 0.2, 0.6)])],
                             size=(40, 80))}
    report = scan_report(_store(tmp_path, faults), batch_size=4)
    jsonschema.validate(report, load_schema())
    stats = report["stats"]["detection"]
    assert stats["records"] == 8 and stats["boxes"] == 17 and stats["difficult"] == 1
    assert stats["boxes_per_class"] == {"1": 6, "2": 6, "3": 5}
    assert stats["boxes_per_image"] == {"2": 7, "3": 1}
    assert stats["boxes_reaching_loss"] == 17 and stats["boxes_dropped"] == 0
    # the 0.1 x 0.5 box of an 80x40 image is 8 x 20 pixels: aspect 0.4
    assert stats["aspect_ratio_quantiles"]["p0"] == pytest.approx(0.4, rel=1e-5)
    assert stats["batches"]["count"] == 2 and stats["batches"]["classes"] == 3
    assert report["verdict"]["caffe"] == "ok" and report["summary"]["by_code"] == {}


def test_dropped_boxes_are_lost_objects_and_garbage_not_a_crash(tmp_path):
    faults = {1: b.annotated([(1, [(0.6, 0.1, 0.2, 0.5), BOX])]),
              5: b.annotated([(2, [(0.3, float("nan"), 0.5, 0.5)])])}
    report = scan_report(_store(tmp_path, faults))
    json.dumps(report, allow_nan=False)  # a NaN coordinate is written as text
    assert codes_at(report)["00000001_img_1.jpg"] == {"DS355"}
    assert codes_at(report)["00000005_img_5.jpg"] == {"DS356"}
    assert report["verdict"]["caffe"] == "trains_on_garbage"
    assert report["verdict"]["lost_objects"] == {"whole_run": False, "boxes": 2, "records": 2,
                                                 "records_without_boxes": 1,
                                                 "boxes_clipped": 0}


def test_background_boxes_that_are_all_dropped_never_reach_the_loss(tmp_path):
    report = scan_report(_store(tmp_path, {3: b.annotated([(0, [(1.2, 0.1, 1.4, 0.3)])])}))
    [finding] = [f for f in report["findings"] if f["code"] == "DS359"]
    assert finding["severity"] == "warning"
    assert report["verdict"]["caffe"] == "trains_on_garbage"  # the lost box, no crash


def test_a_later_record_without_type_crashes_at_its_batch(tmp_path):
    faults = {9: b.annotated([(1, [BOX])], type_value=None)}
    report = scan_report(_store(tmp_path, faults, count=12), batch_size=4)
    crash = report["verdict"]["first_crash"]
    assert (crash["index"], crash["code"], crash["batch"]) == (9, "DS353", 2)


def test_a_first_record_without_type_trains_the_whole_run_without_boxes(tmp_path):
    faults = {0: b.annotated([(1, [BOX])], type_value=None),
              4: b.annotated([(1, [BOX])], type_value=None)}
    report = scan_report(_store(tmp_path, faults), batch_size=4)
    assert report["verdict"]["caffe"] == "trains_on_garbage"
    assert report["verdict"]["lost_objects"]["whole_run"] is True
    assert {f["severity"] for f in report["findings"] if f["code"] == "DS353"} == {"error"}
    assert all(not f["detail"].get("first_record_has_type", True)
               for f in report["findings"] if f["code"] == "DS353")


def test_the_inner_datum_gets_every_image_check(tmp_path):
    faults = {2: b.annotated(image=b.truncate(b.jpeg(64, 48, progressive=True))),
              4: b.annotated(image=b.corrupt_scan(b.jpeg(64, 48, seed=9)))}
    found = codes_at(scan_report(_store(tmp_path, faults)))
    assert "DS201" in found["00000002_img_2.jpg"] and "DS202" in found["00000004_img_4.jpg"]


def test_sampling_tells_the_record_type_and_record_datum_forces_it(tmp_path):
    path = _store(tmp_path)
    assert scan_report(path)["settings"]["record"] == "annotated"
    forced = scan_report(path, record="datum")
    assert forced["summary"]["by_code"] == {"DS003": 8}  # what a Datum reader makes of it
    plain = b.make_lmdb(tmp_path / "plain", [b.encoded_datum(b.jpeg(seed=i)) for i in range(4)])
    report = scan_report(plain)
    assert report["settings"]["record"] == "datum" and report["stats"]["detection"] is None


def test_two_workers_report_what_one_does(tmp_path):
    image = b.jpeg(16, 16)
    values = [b.annotated([(1 + i % 3, [(0.1, 0.1, 0.5 + (i % 5) / 20, 0.6)])], image=image,
                          size=(16, 16)) for i in range(4200)]
    values[4100] = b.annotated([(0, [BOX])], image=image, size=(16, 16))
    path = b.make_lmdb(tmp_path / "db", values)
    one, two = scan_report(path, jobs=1), scan_report(path, jobs=2)
    assert one["stats"]["detection"] == two["stats"]["detection"]
    assert one["verdict"] == two["verdict"] and one["verdict"]["first_crash"]["index"] == 4100


def test_the_command_line_with_a_label_map(tmp_path, capsys):
    path = _store(tmp_path, {6: b.annotated([(7, [BOX])])})
    labels = b.label_map(tmp_path / "labelmap.prototxt")
    before = b.tree_state(path, reader_table=True)  # every byte but lock.mdb's reader slots
    assert main(["lmdb", path, "--label-map", labels, "--no-progress", "-j", "1"]) == 1
    out = capsys.readouterr().out
    assert "DS360" in out and "label map" in out and "Boxes: 15 in 8 images" in out
    assert b.tree_state(path, reader_table=True) == before  # read, never written
    assert main(["lmdb", path, "--label-map", str(tmp_path / "gone.prototxt")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_label_map_reader(tmp_path):
    path = b.label_map(tmp_path / "map.prototxt", ((3, "c"), (0, "bg")))
    assert read_label_map(path) == ((0, "bg"), (3, "c"))
    (tmp_path / "twice.prototxt").write_text("item { name: 'a' label: 1 }\n"
                                             "item { name: 'b' label: 1 }\n")
    with pytest.raises(ConfigError, match="twice"):
        read_label_map(str(tmp_path / "twice.prototxt"))
    (tmp_path / "empty.prototxt").write_text("# nothing\n")
    with pytest.raises(ConfigError, match="no item"):
        read_label_map(str(tmp_path / "empty.prototxt"))


NET = '''layer {{ name: "data" type: "AnnotatedData" top: "data" top: "label"
  transform_param {{ resize_param {{ resize_mode: WARP height: 32 width: 32 }} }}
  data_param {{ source: "{source}" batch_size: 4 backend: LMDB }}
  annotated_data_param {{ label_map_file: "{labels}" }} }}
layer {{ name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param {{ num_output: 8 kernel_size: 3 }} }}
layer {{ name: "loss" type: "MultiBoxLoss" bottom: "conv" bottom: "conv" bottom: "conv"
  bottom: "label" top: "loss"
  multibox_loss_param {{ num_classes: {classes} background_label_id: 0
                         use_difficult_gt: {difficult} }} }}
'''


def _net(tmp_path, classes=4, difficult="true", labels=None, faults=None):
    store = _store(tmp_path, faults)
    labels = labels or b.label_map(tmp_path / "labelmap.prototxt")
    (tmp_path / "net.prototxt").write_text(NET.format(source=store, labels=labels,
                                                      classes=classes, difficult=difficult))
    return str(tmp_path / "net.prototxt")


def test_dscan_net_takes_classes_label_map_and_difficult_from_the_net(tmp_path):
    report = net_report(_net(tmp_path, classes=3, difficult="false",
                             faults={2: b.annotated([(1, [(*BOX, True)])])}))
    jsonschema.validate(report, config_report.load_schema())
    [section] = report["sections"]
    data = section["report"]
    jsonschema.validate(data, load_schema())
    assert data["settings"]["record"] == "annotated"
    assert data["settings"]["num_classes"] == 3 and data["settings"]["use_difficult_gt"] is False
    assert data["settings"]["label_map"] == {"0": "background", "1": "circle", "2": "square",
                                             "3": "triangle"}
    found = codes_at(data)
    assert "DS360" in found["00000001_img_1.jpg"]  # class 3 with num_classes 3
    assert [f["severity"] for f in data["findings"] if f["code"] == "DS364"] == ["error"]
    assert "DS205" not in data["summary"]["by_code"]  # resize_param: one shape per batch


def test_dscan_net_names_a_missing_label_map(tmp_path):
    report = net_report(_net(tmp_path, labels=str(tmp_path / "gone.prototxt")))
    assert any(f["code"] == "DS510" for f in report["findings"])


SAMPLE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "sample_data")


def test_the_bundled_sample_reports_what_the_readme_says():
    report = scan_report(os.path.join(SAMPLE, "detection_lmdb"), batch_size=8,
                         label_map=read_label_map(os.path.join(SAMPLE, "labelmap.prototxt")))
    assert set(report["summary"]["by_code"]) == {"DS351", "DS353", "DS354", "DS355", "DS356",
                                                 "DS357", "DS358", "DS359", "DS360", "DS362",
                                                 "DS364", "DS365"}
    assert all(count == 1 for count in report["summary"]["by_code"].values())
    crash = report["verdict"]["first_crash"]
    assert (crash["index"], crash["code"], crash["batch"]) == (35, "DS360", 4)
    assert report["verdict"]["lost_objects"]["boxes"] == 3


def test_a_leveldb_detection_store(tmp_path):
    values = b.annotated_store(8, {3: b.annotated([(0, [BOX])])})
    path = b.make_leveldb(tmp_path / "ldb", values, log_only=True)
    report = scan_report(path, backend="leveldb", batch_size=4)
    assert report["settings"]["record"] == "annotated"
    assert report["verdict"]["first_crash"]["code"] == "DS359"
    assert report["stats"]["detection"]["boxes"] == 15  # record 3 holds one box, not two


def test_a_layer_that_sets_anno_type_still_aborts_on_a_first_record_without_one(tmp_path):
    path = _net(tmp_path, faults={0: b.annotated([(1, [BOX])], type_value=None)})
    text = open(path).read().replace('annotated_data_param {', 'annotated_data_param { '
                                     'anno_type: BBOX')
    open(path, "w").write(text)
    data = net_report(path)["sections"][0]["report"]
    assert data["verdict"]["first_crash"]["code"] == "DS353"
    assert data["verdict"]["first_crash"]["index"] == 0


def test_emit_constraint_center_drops_a_box_whose_centre_is_outside(tmp_path):
    faults = {2: b.annotated([(1, [(0.8, 0.2, 1.5, 0.5)])]),  # centre x 1.15: dropped
              4: b.annotated([(1, [(0.6, 0.2, 1.3, 0.5)])])}  # centre x 0.95: clipped
    path = _net(tmp_path, faults=faults)
    text = open(path).read().replace("transform_param {", "transform_param { "
                                     "emit_constraint { emit_type: CENTER }")
    open(path, "w").write(text)
    data = net_report(path)["sections"][0]["report"]
    found = codes_at(data)
    assert found["00000002_img_2.jpg"] == {"DS357"} and found["00000004_img_4.jpg"] == {"DS354"}
    assert data["verdict"]["lost_objects"]["boxes"] == 1
