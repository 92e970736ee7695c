"""Caffe configuration files: prototxt text, nets, solvers and mean files."""
