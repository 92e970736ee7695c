"""`dscan net` on real prototxt files (tests/nets) over the Caffe-made fixtures: data layers
by phase, each scanned with its own batch size and classes, transform settings against the
data, lint, and path resolution."""
import json
import os
import subprocess
import sys

import jsonschema
import pytest

from scanner.checks import CATALOGUE
from scanner.net_scan import NetRequest, scan_net
from scanner.report import config_report, json_report
from scanner.settings import ScanSettings

from . import builders as b
from .scanning import net_report

TESTS = os.path.dirname(__file__)
NETS = os.path.join(TESTS, "nets")


@pytest.fixture
def in_tests(monkeypatch):
    """Run where the nets' relative paths point: tests/ plays the Caffe root."""
    monkeypatch.chdir(TESTS)


def _validate(report: dict) -> None:
    jsonschema.validate(report, config_report.load_schema())
    for section in report["sections"]:
        if section["report"]:
            jsonschema.validate(section["report"], json_report.load_schema())


def _sections(report: dict) -> dict:
    return {tuple(s["phases"]): s for s in report["sections"]}


def test_lenet_data_layers_by_phase_with_their_batch_sizes(in_tests):
    report = net_report(os.path.join(NETS, "lenet_train_test.prototxt"))
    _validate(report)
    sections = _sections(report)
    assert set(sections) == {("TRAIN",), ("TEST",)}
    train, test = sections[("TRAIN",)], sections[("TEST",)]
    assert (train["batch_size"], test["batch_size"]) == (64, 100)
    assert train["report"]["batches"]["batch_size"] == 64
    assert test["report"]["batches"]["batch_size"] == 100
    for section in (train, test):
        assert section["backend"] == "lmdb" and section["source"]["path"] == "fixtures/gray_lmdb"
        assert section["num_classes"] == 10 and section["num_classes_from"] == "ip2"
        assert section["report"]["summary"]["records"] == 1000
    assert report["verdict"]["caffe"] == "ok" and report["exit_status"] == 0


def test_one_phase_only(in_tests):
    report = net_report(os.path.join(NETS, "lenet_train_test.prototxt"), phases=("TEST",))
    assert [s["phases"] for s in report["sections"]] == [["TEST"]]


def test_mismatched_mean_file_too_large_crop_and_mean_values(in_tests):
    report = net_report(os.path.join(NETS, "cifar_mismatch.prototxt"))
    _validate(report)
    found = {(f["code"], f["layer_index"]): f for f in report["findings"]}
    mean, crop, values = found[("DS511", 0)], found[("DS513", 0)], found[("DS512", 1)]
    assert mean["detail"]["mean"] == [3, 32, 32] and mean["detail"]["data"] == [3, 64, 64]
    assert mean["detail"]["records"] == 1600 and mean["where"].endswith(":7")
    assert crop["detail"]["crop_size"] == 72 and crop["detail"]["smallest"] == [64, 64]
    assert values["detail"] == {"mean_values": 3, "channels": 1, "first_index": 0,
                                "records": 1000}
    assert report["verdict"]["caffe"] == "crashes" and report["exit_status"] == 1
    assert all(s["caffe"] == "crashes" for s in report["sections"])


def test_a_matching_mean_file_and_crop_pass(in_tests):
    report = net_report(os.path.join(NETS, "cifar_train_test.prototxt"))
    _validate(report)
    assert report["findings"] == []
    train = _sections(report)[("TRAIN",)]
    assert train["mean"]["caffe_chw"] == [3, 32, 32] and train["mean"]["loads"]
    assert report["verdict"]["caffe"] == "ok"


def test_hdf5_layer_reads_its_tops_as_datasets(tmp_path, monkeypatch):
    """The regression net over a file laid out like Caffe's own solver_data.h5."""
    os.makedirs(tmp_path / "nets")
    b.h5_list(tmp_path / "nets" / "regression_h5_list.txt",
              [b.caffe_test_layout_h5(tmp_path / "data")["solver_data.h5"]])
    monkeypatch.chdir(tmp_path)  # the net's source path is relative to the run directory
    report = net_report(os.path.join(NETS, "regression_h5.prototxt"))
    _validate(report)
    [section] = report["sections"]
    assert section["phases"] == ["TRAIN", "TEST"] and section["batch_size"] == 4
    assert section["report"]["source"]["datasets"] == ["data", "targets"]
    assert section["report"]["summary"]["records"] == 8 and section["num_classes"] is None


def _net_over(tmp_path, layer: str, store_values=None, tail: str = "") -> str:
    store = b.make_lmdb(tmp_path / "db", store_values or [b.raw_datum(seed=i, label=i % 2)
                                                           for i in range(6)])
    text = layer.replace("STORE", store) + tail
    (tmp_path / "net.prototxt").write_text(text)
    return str(tmp_path / "net.prototxt")


def test_v1_layers_and_enum_types(tmp_path):
    path = _net_over(tmp_path, '''layers { name: "d" type: DATA top: "data" top: "label"
      data_param { source: "STORE" batch_size: 3 backend: LMDB } }
    layers { name: "ip" type: INNER_PRODUCT bottom: "data" top: "ip"
      inner_product_param { num_output: 2 } }
    layers { name: "loss" type: SOFTMAX_LOSS bottom: "ip" bottom: "label" }''')
    [section] = net_report(path)["sections"]
    assert section["type"] == "Data" and section["num_classes"] == 2
    assert section["report"]["summary"]["records"] == 6


def test_include_rules_with_stages_and_levels(tmp_path):
    data = '''layer {{ name: "{name}" type: "Data" top: "data" {rule}
      data_param {{ source: "STORE" batch_size: 2 backend: LMDB }} }}\n'''
    path = _net_over(tmp_path, data.format(name="staged", rule='include { stage: "x" }')
                     + data.format(name="leveled", rule="include { min_level: 1 }")
                     + data.format(name="not_x", rule='exclude { stage: "x" }'))
    assert [s["layer"] for s in net_report(path)["sections"]] == ["not_x"]


def test_classes_come_from_the_loss_and_the_command_line_overrides(tmp_path):
    path = _net_over(tmp_path, '''layer { name: "d" type: "Data" top: "data" top: "label"
      data_param { source: "STORE" batch_size: 2 backend: LMDB } }
    layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
      inner_product_param { num_output: 5 } }
    layer { name: "drop" type: "Dropout" bottom: "ip" top: "ip" }
    layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label"
      loss_param { ignore_label: 255 } }''')
    [section] = net_report(path)["sections"]
    assert (section["num_classes"], section["ignore_label"]) == (5, 255)
    outcome = scan_net(NetRequest(path, num_classes=1,
                                  settings=ScanSettings(enabled=frozenset(CATALOGUE))))
    assert outcome.sections[0].outcome.settings.num_classes == 1
    assert "DS301" in outcome.sections[0].outcome.totals.sink.examples


def test_a_source_found_only_above_the_prototxt_is_scanned_with_a_warning(tmp_path,
                                                                          monkeypatch):
    (tmp_path / "caffe" / "models").mkdir(parents=True)
    b.make_lmdb(tmp_path / "caffe" / "data_lmdb", [b.raw_datum(seed=i) for i in range(3)])
    net = tmp_path / "caffe" / "models" / "net.prototxt"
    net.write_text('layer { name: "d" type: "Data" top: "data" '
                   'data_param { source: "data_lmdb" batch_size: 1 backend: LMDB } }')
    monkeypatch.chdir(tmp_path)
    report = net_report(str(net))
    [finding] = report["findings"]
    assert finding["code"] == "DS510" and finding["severity"] == "warning"
    assert finding["detail"]["found_at"] == str(tmp_path / "caffe")
    assert report["sections"][0]["report"]["summary"]["records"] == 3


def test_a_missing_source_is_an_error_and_the_layer_is_not_scanned(tmp_path):
    path = _net_over(tmp_path, 'layer { name: "d" type: "Data" top: "data" '
                     'data_param { source: "nowhere_lmdb" batch_size: 1 backend: LMDB } }')
    report = net_report(path)
    assert [f["code"] for f in report["findings"]] == ["DS510"]
    assert report["sections"][0]["skipped"] == "the source does not exist"
    assert report["verdict"]["caffe"] == "crashes"


def test_image_data_layer_reads_its_list_with_root_folder_and_resize(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.jpg").write_bytes(b.jpeg(40, 30, seed=1))
    (tmp_path / "img" / "g.jpg").write_bytes(b.jpeg(50, 20, seed=2, gray=True))
    (tmp_path / "list.txt").write_text("a.jpg 0\ng.jpg 1\n")
    net = tmp_path / "net.prototxt"
    net.write_text(f'''layer {{ name: "img" type: "ImageData" top: "data" top: "label"
      transform_param {{ crop_size: 24 }}
      image_data_param {{ source: "{tmp_path}/list.txt" root_folder: "{tmp_path}/img/"
                         batch_size: 2 new_height: 32 new_width: 32 }} }}''')
    report = net_report(str(net))
    [section] = report["sections"]
    assert section["backend"] == "images"
    assert section["report"]["stats"]["shapes"] == {"3x32x32": 2}  # resized, colour forced
    # the tops Caffe gives the layer: resized, then cropped (DataTransformer::InferBlobShape)
    assert section["top_shapes"]["TRAIN"] == [[2, 3, 24, 24], [2]]
    assert report["findings"] == [] and report["verdict"]["caffe"] == "ok"


def test_layers_without_a_dataset_file_are_listed_as_not_scanned(tmp_path):
    path = _net_over(tmp_path, 'layer { name: "in" type: "Input" top: "data" '
                     'input_param { shape { dim: 1 dim: 3 } } }')
    [section] = net_report(path)["sections"]
    assert section["caffe"] == "not scanned" and "Input" in section["skipped"]


def test_the_data_is_left_untouched(in_tests):
    before = b.tree_state(os.path.join(TESTS, "fixtures", "gray_lmdb"))
    net_report(os.path.join(NETS, "lenet_train_test.prototxt"), jobs=2)  # lock-free
    assert b.tree_state(os.path.join(TESTS, "fixtures", "gray_lmdb")) == before


def test_cli_net_with_root_json_and_exit_code(tmp_path):
    out = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "scanner", "net",
                          os.path.join(NETS, "cifar_mismatch.prototxt"), "--root", TESTS,
                          "--json", str(out), "--no-progress", "-j", "2",
                          "--lmdb-lock", "never"],  # the checkout's fixtures, in place
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert "Caffe: CRASHES" in run.stdout and "DS511" in run.stdout
    report = json.loads(out.read_text())
    _validate(report)
    assert report["summary"]["by_code"]["DS511"] == 1


def test_legacy_input_fields_are_the_input_layer_caffe_makes(tmp_path):
    # UpgradeNetInput: "input" of type Input, first, in every phase, with the declared shape
    net = tmp_path / "deploy.prototxt"
    net.write_text('name: "tiny" input: "data" input_dim: 2 input_dim: 3 input_dim: 9 '
                   'input_dim: 9\nlayer { name: "conv" type: "Convolution" bottom: "data" '
                   'top: "conv" convolution_param { num_output: 4 kernel_size: 3 } }\n'
                   'layer { name: "prob" type: "Softmax" bottom: "conv" top: "prob" }\n')
    report = net_report(str(net))
    _validate(report)
    [section] = report["sections"]
    assert (section["layer"], section["type"], section["phases"]) == ("input", "Input",
                                                                      ["TRAIN", "TEST"])
    assert section["top_shapes"] == {"TEST": [[2, 3, 9, 9]]}  # a deploy net: TEST only
    [conv] = [item for item in report["shapes"]["TEST"]["layers"] if item["layer"] == "conv"]
    assert conv["tops"] == {"conv": [2, 4, 7, 7]}


def test_a_deploy_net_is_linted_as_the_test_net_it_is(tmp_path):
    text = ('layer { name: "in" type: "Input" top: "data" input_param { shape { dim: 1 '
            'dim: 3 dim: 4 dim: 4 } } }\nlayer { name: "bn" type: "BatchNorm" bottom: "data" '
            'top: "data" batch_norm_param { use_global_stats: true } }\n')
    (tmp_path / "deploy.prototxt").write_text(text)
    report = net_report(str(tmp_path / "deploy.prototxt"))
    assert report["deploy"] and report["lint_phases"] == ["TEST"]
    assert report["findings"] == []
    asked = net_report(str(tmp_path / "deploy.prototxt"), phases=("TRAIN",))  # by name
    assert not asked["deploy"] and [f["code"] for f in asked["findings"]] == ["DS502"]
    # the same layer in a net that trains (it has a loss) is still a TRAIN-phase warning
    (tmp_path / "train.prototxt").write_text(text + 'layer { name: "loss" type: '
                                             '"EuclideanLoss" bottom: "data" bottom: "data" }')
    report = net_report(str(tmp_path / "train.prototxt"))
    assert not report["deploy"]
    assert [f["message"] for f in report["findings"]] == ["use_global_stats: true in phase TRAIN"]


def test_fork_data_layer_types_are_listed_as_not_scanned_with_their_type(tmp_path):
    (tmp_path / "ssd.prototxt").write_text(
        'layer { name: "data" type: "VideoData" top: "data" top: "label" '
        'include { phase: TRAIN } data_param { source: "x_lmdb" batch_size: 2 } }\n'
        'layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" '
        'convolution_param { num_output: 2 kernel_size: 1 } }\n')
    report = net_report(str(tmp_path / "ssd.prototxt"))
    _validate(report)
    assert report["sections"] == []
    [item] = report["not_scanned"]
    assert (item["layer"], item["type"], item["phases"]) == ("data", "VideoData", ["TRAIN"])
    assert "VideoData" in item["skipped"]
    assert report["shapes"]["TRAIN"]["data_not_read"] == ["data"]


def test_rand_skip_makes_the_read_order_a_range(tmp_path):
    layer = ('layer {{ name: "d" type: "Data" top: "data" top: "label" data_param {{ '
             'source: "STORE" batch_size: 2 backend: LMDB rand_skip: {skip} }} }}')
    path = _net_over(tmp_path, layer.format(skip=4))
    report = net_report(path)
    _validate(report)
    [section] = report["sections"]
    assert section["read_order"] == {"rand_skip": 4, "skip": [0, 3], "determined": False,
                                     "caffe_1_0": "ignored"}
    [finding] = [f for f in report["findings"] if f["code"] == "DS518"]
    assert finding["severity"] == "warning" and "ignored by Caffe 1.0" in finding["message"]


def test_image_data_rand_skip_beyond_the_list_is_a_crash(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b.jpeg(8, 8, seed=1))
    (tmp_path / "list.txt").write_text("a.jpg 0\na.jpg 1\n")
    net = tmp_path / "net.prototxt"
    for skip, severity in ((5, "error"), (2, "warning")):
        net.write_text(f'''layer {{ name: "img" type: "ImageData" top: "data" top: "label"
          image_data_param {{ source: "{tmp_path}/list.txt" root_folder: "{tmp_path}/"
                             batch_size: 1 rand_skip: {skip} }} }}''')
        [finding] = [f for f in net_report(str(net))["findings"] if f["code"] == "DS518"]
        assert finding["severity"] == severity, finding


def test_the_solvers_test_states_build_one_test_net_each(tmp_path):
    store = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i, label=i % 2) for i in range(4)])
    data = ('layer {name} type: "Data" top: "data" {rule} data_param {{ source: "STORE" '
            'batch_size: 2 backend: LMDB }} }}\n').replace("STORE", store)
    data = data.replace("layer {name}", 'layer {{ name: "{name}"')
    (tmp_path / "net.prototxt").write_text(
        data.format(name="train", rule="include { phase: TRAIN }")
        + data.format(name="test_a", rule='include { phase: TEST stage: "a" }')
        + data.format(name="test_b", rule='include { phase: TEST stage: "b" }')
        + data.format(name="test_plain", rule='include { phase: TEST not_stage: "a" '
                      'not_stage: "b" }'))
    (tmp_path / "solver.prototxt").write_text(
        'net: "net.prototxt" base_lr: 0.1 lr_policy: "fixed" max_iter: 10 test_iter: 1 '
        'test_iter: 1 test_state { stage: "a" } test_state { stage: "b" }')
    from scanner.solver_scan import check_solver
    enabled = frozenset(CATALOGUE)
    outcome = check_solver(str(tmp_path / "solver.prototxt"), enabled, None,
                           NetRequest("", settings=ScanSettings(enabled=enabled)))
    assert [(s.layer.name, s.phases) for s in outcome.net.sections] == [
        ("train", ["TRAIN"]), ("test_a", ["TEST"]), ("test_b", ["TEST"])]
    assert [s.layer.name for s in net_report_sections(tmp_path / "net.prototxt")] == [
        "train", "test_plain"]  # `dscan net` alone: the plain TEST net


def net_report_sections(path):
    return scan_net(NetRequest(str(path), settings=ScanSettings(
        enabled=frozenset(CATALOGUE)))).sections


def test_num_classes_through_an_input_reshape_path_for_infogain(tmp_path):
    from .reference import blob_bytes
    (tmp_path / "H.binaryproto").write_bytes(blob_bytes([1.0] * 16, shape=(1, 1, 4, 4)))
    (tmp_path / "net.prototxt").write_text(
        'layer { name: "in" type: "Input" top: "x" top: "label" input_param { '
        'shape { dim: 2 dim: 12 } shape { dim: 2 } } }\n'
        'layer { name: "r" type: "Reshape" bottom: "x" top: "r" reshape_param { '
        'shape { dim: 0 dim: 3 dim: -1 } } }\n'
        'layer { name: "loss" type: "InfogainLoss" bottom: "r" bottom: "label" top: "loss" '
        f'infogain_loss_param {{ source: "{tmp_path}/H.binaryproto" }} }}\n')
    report = net_report(str(tmp_path / "net.prototxt"))
    # Reshape gives 2x3x4: 3 classes on axis 1, so a 4x4 H fails Caffe's count CHECK ...
    [finding] = [f for f in report["findings"] if f["code"] == "DS519"]
    assert "3 classes" in finding["message"] and finding["effect"] == "crash"


def test_batch_findings_say_the_skip_makes_them_one_possibility(tmp_path):
    # an ImageData list ordered by label: DS305 (long runs) and DS304 (batches missing classes)
    for i in range(32):
        (tmp_path / f"{i}.jpg").write_bytes(b.jpeg(8, 8, seed=i))
    (tmp_path / "list.txt").write_text("".join(f"{i}.jpg {i // 8}\n" for i in range(32)))
    (tmp_path / "net.prototxt").write_text(
        'layer { name: "d" type: "ImageData" top: "data" top: "label" image_data_param { '
        f'source: "{tmp_path}/list.txt" root_folder: "{tmp_path}/" batch_size: 4 '
        'rand_skip: 3 } }')
    report = net_report(str(tmp_path / "net.prototxt"))
    _validate(report)
    [section] = report["sections"]
    batch_findings = [f for f in section["report"]["findings"] if f["code"] in ("DS304", "DS305")]
    assert batch_findings and all("not determined" in f["message"] and
                                  f["detail"]["rand_skip"] == 3 for f in batch_findings)


def test_labels_are_held_against_the_classes_an_input_path_gives_the_loss(tmp_path):
    # no layer's num_output feeds the loss: the scores come from an Input layer (2 x 3),
    # so the loss has 3 classes by shape and labels 3 and 4 are out of range
    path = _net_over(tmp_path, '''layer { name: "d" type: "Data" top: "data" top: "label"
      data_param { source: "STORE" batch_size: 2 backend: LMDB } }
    layer { name: "scores" type: "Input" top: "score" input_param { shape { dim: 2 dim: 3 } } }
    layer { name: "loss" type: "SoftmaxWithLoss" bottom: "score" bottom: "label" }''',
                     [b.raw_datum(seed=i, label=i) for i in range(5)])
    report = net_report(path)
    section = report["sections"][0]  # the Input layer is listed too, as not scanned
    assert section["num_classes"] is None and "score" in section["num_classes_from"]
    [finding] = [f for f in report["findings"] if f["code"] == "DS301"]
    assert finding["message"].startswith("2 label(s) outside [0, 3)")


ORACLE = os.path.join(TESTS, "..", "..", "shared", "corpus", "prototxt", "oracle.json.gz")


@pytest.mark.skipif(not os.path.exists(ORACLE), reason="the prototxt corpus is not here")
def test_the_nets_caffe_builds_equal_filternet_over_the_corpus():
    """Every parsed corpus net (protobuf's text-format parser over each project's caffe.proto
    is the oracle): the layers of the net Caffe builds per phase, legacy input upgraded,
    equal FilterNet's on the oracle's message. DSCAN_FULL_CORPUS=1: every net, else a
    sample of one in ten."""
    import gzip

    from scanner.config.net import Net, NetState
    from scanner.config.prototxt import read
    with gzip.open(ORACLE, "rt") as handle:
        results = json.load(handle)["results"]
    root = os.path.dirname(ORACLE)
    files = sorted(f for f, r in results.items() if r.get("net"))
    step = 1 if os.environ.get("DSCAN_FULL_CORPUS") else 10
    checked = 0
    for file in files[::step]:
        want = results[file]["net"]
        try:
            net = Net(read(os.path.join(root, file)))
        except Exception as exc:  # what the oracle reads, dscan reads
            pytest.fail(f"{file}: {exc}")
        for phase in ("TRAIN", "TEST"):
            got = net.built(NetState(phase, 0, net.own_stages))
            expected = [layer for i, layer in enumerate(want["layers"])
                        if i in want["active"][phase]]
            assert [(l.type, l.tops) for l in got] == \
                [(l["type"], l["top"]) for l in expected], (file, phase)
            assert all(l["name"] in ("", mine.name) for mine, l in zip(got, expected))
        checked += 1
    assert checked >= len(files) // step


def test_the_terminal_names_fork_layers_and_the_shapes(tmp_path, capsys):
    from scanner.cli import main
    (tmp_path / "ssd.prototxt").write_text(
        'layer { name: "data" type: "VideoData" top: "data" data_param { source: "x" '
        'batch_size: 2 } }\nlayer { name: "in" type: "Input" top: "im" input_param { shape { '
        'dim: 1 dim: 3 dim: 10 dim: 10 } } }\nlayer { name: "pool" type: "Pooling" '
        'bottom: "im" top: "pool" pooling_param { pool: AVE kernel_size: 2 stride: 6 } }\n')
    assert main(["net", str(tmp_path / "ssd.prototxt"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "1 data layer(s) and 1 of a fork's type, not scanned" in out  # Input, VideoData
    assert "not scanned: VideoData is a data layer type of a Caffe fork" in out
    # 10 with k2 s6: starts 0, 6, 12: the third window is past the end, AVE gives 0 there
    assert "DS515 warning" in out and "pool 1x3x3x3" in out
