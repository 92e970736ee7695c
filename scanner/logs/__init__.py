"""`dscan log`: read a Caffe training log, say why the loss went NaN, and name the records
of the batch that did it. parser -> run -> diagnose -> batch/culprits -> report."""
