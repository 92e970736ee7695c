"""Inspect the image files an image list names (ImageData), as encoded datums are."""
from __future__ import annotations

from .checks.imagelist_checks import unclean_label, unreadable_image_file
from .inspect import DatumInspector


class ImageFileInspector(DatumInspector):
    """Image files named by a list (ImageData): (path, (label, label is clean, bytes, error))."""

    def take(self, key, value) -> bool:
        return False  # every file is decoded now, where a crash can be told apart

    def inspect(self, key, value) -> None:
        label, clean, payload, error = value
        index = self.records
        if error is not None:
            self.skip(key, unreadable_image_file(error), "unreadable")
            return
        self.records += 1
        self.labels.append(label)
        if not clean:
            self.sink.add(index, key, unclean_label(label))
        self.shape_ids.append(self.shape_id(self._image(index, key, payload, in_datum=False)))
