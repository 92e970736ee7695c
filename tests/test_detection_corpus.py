"""The SSD corpus (../shared/corpus/ssd: LMDBs made by the SSD fork's convert_annoset, and
real SSD-Caffe training runs on them): each fault is found with the verdict its run shows,
and the clean stores' statistics are their truth files'. Skipped where it is absent."""
import json
import os

import pytest

from .scanning import codes_at, net_report, scan_report

CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus", "ssd")
pytestmark = pytest.mark.skipif(not os.path.isdir(CORPUS), reason="no ../shared/corpus/ssd")
KIND_CODES = {"coord_out_of_range": {"DS354"}, "label_background": {"DS359"},
              "no_annotation_groups": {"DS358"}, "plain_datum": {"DS351"}}
FAULTS = sorted(KIND_CODES)
BATCH = 8  # the runs' net: AnnotatedData batch_size 8


def _json(*parts):
    with open(os.path.join(CORPUS, *parts)) as handle:
        return json.load(handle)


@pytest.mark.parametrize("kind", FAULTS)
def test_each_fault_is_found_with_the_verdict_of_its_run(kind):
    truth = _json(f"fault_{kind}_lmdb.truth.json")
    run = _json("runs", f"fault_{kind}", "truth.json")
    report = scan_report(os.path.join(CORPUS, f"fault_{kind}_lmdb"), batch_size=BATCH)
    [fault] = truth["faulty_records"]
    assert KIND_CODES[kind] <= codes_at(report)[fault["key"]]
    errors = {f["key"] for f in report["findings"] if f["severity"] == "error"}
    assert errors == {fault["key"]}  # nothing else in the copy is wrong
    verdict = report["verdict"]
    if run["exit_code"] == 0:  # the run completed, its loss moved: silent garbage
        assert verdict["caffe"] == "trains_on_garbage"
    else:  # aborted; the record is read in the batch of the iteration that consumes it
        assert verdict["caffe"] == "crashes"
        assert verdict["first_crash"]["key"] == fault["key"]
        assert verdict["first_crash"]["batch"] == run["faulty_record"][
            "iteration_that_consumes_it_first"] == fault["batch_index_at_batch_size_8"]


@pytest.mark.parametrize("name", ["det_train_lmdb", "det_test_lmdb"])
def test_clean_stores_give_no_error_and_their_truths_statistics(name):
    summary = _json(f"{name}.truth.json")["summary"]
    report = scan_report(os.path.join(CORPUS, name), batch_size=BATCH)
    assert report["summary"]["by_severity"]["error"] == 0
    assert report["summary"]["by_severity"]["warning"] == 0
    assert report["verdict"]["caffe"] == "ok"
    stats = report["stats"]["detection"]
    assert stats["records"] == summary["records"] and stats["boxes"] == summary["boxes"]
    assert stats["boxes_per_class"] == {k: summary["boxes_per_label"][k]
                                        for k in sorted(summary["boxes_per_label"])}
    assert stats["difficult"] == summary["difficult_boxes"]
    sizes = {"x".join(reversed(shape.split("x")[1:])): count
             for shape, count in report["stats"]["shapes"].items()}  # CxHxW -> WxH
    assert sizes == summary["image_sizes"]


def test_dscan_net_on_a_run_reads_the_layer_and_its_label_map():
    report = net_report(os.path.join(CORPUS, "runs", "fault_label_background", "net.prototxt"),
                        phases=("TRAIN",))
    [section] = report["sections"]
    data = section["report"]
    assert data["settings"]["num_classes"] == 4 and data["settings"]["label_map"]["3"]
    assert data["verdict"]["first_crash"]["code"] == "DS359"
    assert data["verdict"]["first_crash"]["batch"] == 12
