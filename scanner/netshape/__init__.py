"""Shape inference through a Caffe net: the blob shapes each layer's Reshape gives, from
the data layers' real record shapes (or an Input layer's), the set-up errors Caffe would
stop on, pooling windows that see no input, and the memory every blob takes."""
from .walk import NetShapes, infer

__all__ = ["NetShapes", "infer"]
