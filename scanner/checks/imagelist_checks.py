"""Checks on the lines of an image list (ImageData's `source`, `dscan images`)."""
from __future__ import annotations

from ..types import CRASH, ERROR, GARBAGE
from .registry import Problem, register


@register("DS007", ERROR, "listed image file cannot be read", "record", CRASH,
          fix=("Fix the path in the list (or --root-folder / root_folder, with its trailing /), "
               "or remove the line."))
def unreadable_image_file(reason: str) -> Problem:
    """What it finds: a line of an image list whose file does not exist or cannot be read
    (relative to the working directory, after `root_folder`), including an empty line,
    which Caffe takes for an image named "".

    Why it matters: ImageData logs `Could not open or find file` and then dies on
    `Check failed: cv_img.data Could not load` when the prefetch thread reaches the line.

    Example: a list written on another machine with paths under `/data/imagenet/`.
    """
    return Problem("DS007", reason)


@register("DS008", ERROR, "list label is not a whole number", "record", GARBAGE,
          fix=("Put a whole-number label after the last space on the line; quote nothing, and "
               "avoid spaces in paths."))
def unclean_label(label: int) -> Problem:
    """What it finds: a list line whose text after the last space is not a plain integer
    (a float, a word, a path with spaces and no label).

    Why it matters: Caffe reads the label with atoi, so "3.7" trains as 3, "cat" as 0, and a
    path containing spaces loses its tail into the label: silently wrong labels.

    Example: `train/cat 01.jpg` with no label; Caffe opens `train/cat` with label 1.
    """
    return Problem("DS008", f"the label text is not a whole number; Caffe's atoi reads "
                   f"{label}", {"label": label})
