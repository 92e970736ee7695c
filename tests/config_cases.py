"""Firing and passing cases for the checks on image lists, nets, mean files and solvers:
each builds real files in a temporary folder and names the command that reads them."""
from __future__ import annotations

from . import builders as b
from .reference import blob_bytes

RAW = [b.raw_datum(seed=i, label=i % 3) for i in range(4)]  # 3x8x8
DATA = '''layer {{ name: "data" type: "Data" top: "data" top: "label" {include}
  transform_param {{ {transform} }}
  data_param {{ source: "{source}" batch_size: 2 backend: LMDB }} }}
'''
HEAD = '''layer {{ name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
  inner_product_param {{ num_output: 3 }} }}
{body}
layer {{ name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss"
  {loss} }}
'''


def _net(body: str = "", transform: str = "", loss: str = "", include: str = "",
         values=None, source: str | None = None, mean=None):
    """A one-data-layer net over a small LMDB (raw 3x8x8 unless `values`)."""
    def build(tmp_path):
        store = b.make_lmdb(tmp_path / "db", values or RAW)
        if mean is not None:
            (tmp_path / "mean.binaryproto").write_bytes(mean)
        text = DATA.format(include=include, source=source or store,
                           transform=transform.replace("MEAN", str(tmp_path / "mean.binaryproto")))
        text += HEAD.format(body=body, loss=loss)
        (tmp_path / "net.prototxt").write_text(text)
        return str(tmp_path / "net.prototxt"), {"command": "net"}, {}
    return build


def _with_file(body: str, content: bytes | None = None, data_param: str = ""):
    """A `_net` whose body names a file (FILE) written with `content`, and whose data
    layer has extra data_param fields."""
    def build(tmp_path):
        store = b.make_lmdb(tmp_path / "db", RAW)
        if content is not None:
            (tmp_path / "file.bin").write_bytes(content)
        text = DATA.format(include="", source=store, transform="").replace(
            "backend: LMDB", "backend: LMDB " + data_param)
        text += HEAD.format(body=body.replace("FILE", str(tmp_path / "file.bin")), loss="")
        (tmp_path / "net.prototxt").write_text(text)
        return str(tmp_path / "net.prototxt"), {"command": "net"}, {}
    return build


def _layer(kind: str, bottoms: str, params: str = "") -> str:
    tops = f'top: "{kind.lower()}_out"'
    inputs = " ".join(f'bottom: "{name}"' for name in bottoms.split())
    return f'layer {{ name: "{kind.lower()}" type: "{kind}" {inputs} {tops} {params} }}'


def _big_input(dims: str) -> str:
    return (f'layer {{ name: "big" type: "Input" top: "big" input_param {{ shape {{ {dims} }} '
            '} }')


def _infogain(matrix) -> bytes:
    return blob_bytes([float(v) for row in matrix for v in row], shape=(1, 1, 3, 3))


def _solver(text: str):
    def build(tmp_path):
        (tmp_path / "solver.prototxt").write_text(text)
        return str(tmp_path / "solver.prototxt"), {"command": "solver"}, {}
    return build


def _mean(values, legacy=(1, 3, 2, 2)):
    def build(tmp_path):
        (tmp_path / "mean.binaryproto").write_bytes(blob_bytes(values, legacy=legacy))
        return str(tmp_path / "mean.binaryproto"), {"command": "mean"}, {}
    return build


def _images(lines: list[str]):
    def build(tmp_path):
        for name in ("a.jpg", "b.jpg"):
            (tmp_path / name).write_bytes(b.jpeg(seed=len(name)))
        (tmp_path / "list.txt").write_text("".join(line + "\n" for line in lines))
        return str(tmp_path / "list.txt"), {"backend": "images",
                                            "root_folder": str(tmp_path) + "/"}, {}
    return build


def _pool(kernel: int, stride: int) -> str:
    return (f'layer {{ name: "pool" type: "Pooling" bottom: "ip" top: "pool" '
            f'pooling_param {{ pool: MAX kernel_size: {kernel} stride: {stride} }} }}')


def _bn(params: str, include: str = "") -> str:
    return (f'layer {{ name: "bn" type: "BatchNorm" bottom: "ip" top: "ip" {include} '
            f'batch_norm_param {{ {params} }} }}')


def _aux_loss(weight: float) -> str:
    return (f'layer {{ name: "aux" type: "EuclideanLoss" bottom: "ip" bottom: "label" '
            f'top: "aux" loss_weight: {weight} }}')


MEAN_8 = blob_bytes([100.0] * 192, legacy=(1, 3, 8, 8))
MEAN_32 = blob_bytes([100.0] * 3072, legacy=(1, 3, 32, 32))
POLY = 'base_lr: 0.01 lr_policy: "poly" power: 0.9 '
CONFIG_CASES = {
    "DS007": (_images(["a.jpg 0", "gone.jpg 1"]), _images(["a.jpg 0", "b.jpg 1"])),
    "DS008": (_images(["a.jpg 0", "b.jpg cat"]), _images(["a.jpg 0", "b.jpg 1"])),
    "DS501": (_net(_pool(2, 3)), _net(_pool(3, 2))),
    "DS502": (_net(_bn("use_global_stats: true", "include { phase: TRAIN }")),
              _net(_bn("", "include { phase: TRAIN }"))),
    "DS503": (_net(_bn("eps: 0")), _net(_bn("eps: 0.00001"))),
    "DS504": (_net(_aux_loss(100)), _net(_aux_loss(0.3))),
    "DS505": (_net(transform='mean_file: "MEAN" mean_value: 104', mean=MEAN_8),
              _net(transform='mean_file: "MEAN"', mean=MEAN_8)),
    "DS510": (_net(source="no_such_lmdb"), _net()),
    "DS511": (_net(transform='mean_file: "MEAN"', mean=MEAN_32),
              _net(transform='mean_file: "MEAN"', mean=MEAN_8)),
    "DS512": (_net(transform="mean_value: 1 mean_value: 2"),
              _net(transform="mean_value: 1 mean_value: 2 mean_value: 3")),
    "DS513": (_net(transform="crop_size: 9"), _net(transform="crop_size: 8")),
    "DS514": (_net(transform="force_gray: true"),
              _net(transform="force_gray: true",
                   values=[b.encoded_datum(b.jpeg(seed=i), label=i % 3) for i in range(4)])),
    "DS515": (_net(_layer("Pooling", "data", "pooling_param { pool: AVE kernel_size: 2 stride: 4 }")),
              _net(_layer("Pooling", "data",
                          "pooling_param { pool: AVE kernel_size: 2 stride: 4 pad: 1 }"))),
    "DS516": (_net(_layer("Eltwise", "data ip")), _net(_layer("Eltwise", "data data"))),
    "DS517": (_net(_big_input("dim: 64 dim: 512 dim: 256 dim: 256")),
              _net(_big_input("dim: 64 dim: 512 dim: 25 dim: 25"))),
    "DS518": (_with_file("", data_param="rand_skip: 100"), _with_file("")),
    "DS519": (_with_file(_layer("InfogainLoss", "ip label", 'infogain_loss_param { source: "FILE" }'),
                         blob_bytes([1.0, 0.0, 0.0, 1.0], shape=(1, 1, 2, 2))),
              _with_file(_layer("InfogainLoss", "ip label", 'infogain_loss_param { source: "FILE" }'),
                         _infogain([[1, 0, 0], [0, 1, 0], [0, 0, 1]]))),
    "DS520": (_with_file(_layer("InfogainLoss", "ip label", 'infogain_loss_param { source: "FILE" }'),
                         _infogain([[1, 0, 0], [0, 2, 0], [0, 0, 1]])),
              _with_file(_layer("InfogainLoss", "ip label", 'infogain_loss_param { source: "FILE" }'),
                         _infogain([[0.5, 0.5, 0], [0, 1, 0], [0, 0, 1]]))),
    "DS601": (_mean([1, 2, float("nan"), 4] * 3), _mean([1, 2, 3, 4] * 3)),
    "DS602": (_mean([1, 2, 3] * 3), _mean([1, 2, 3, 4] * 3)),
    "DS701": (_solver('base_lr: 0.01 lr_policy: "exp" gamma: 1.5 max_iter: 400'),
              _solver(POLY + "max_iter: 1000")),
    "DS702": (_solver('base_lr: -0.01 lr_policy: "fixed" max_iter: 10'),
              _solver('base_lr: 0.01 lr_policy: "fixed" max_iter: 10')),
    "DS703": (_solver('base_lr: 0.1 lr_policy: "exp" gamma: 0.5 max_iter: 400'),
              _solver('base_lr: 0.1 lr_policy: "exp" gamma: 0.999 max_iter: 400')),
    "DS704": (_solver('base_lr: 0.1 lr_policy: "step" gamma: 0.1 max_iter: 100'),
              _solver('base_lr: 0.1 lr_policy: "step" gamma: 0.1 stepsize: 10 max_iter: 100')),
    "DS705": (_solver('base_lr: 0.1 lr_policy: "cosine" max_iter: 100'),
              _solver('base_lr: 0.1 lr_policy: "fixed" max_iter: 100')),
    "DS706": (_solver('base_lr: 0.01 lr_policy: "inv" gamma: 0.1 power: -0.75 max_iter: 200'),
              _solver('base_lr: 0.01 lr_policy: "inv" gamma: 0.1 power: 0.75 max_iter: 200')),
}
