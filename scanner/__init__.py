"""dscan: scan Caffe training datasets for what would break or poison a training run."""

__version__ = "0.1.0"
