"""Store backends, looked up by name and imported only when used, so a missing optional
library gives an install hint instead of an ImportError at start-up."""
from __future__ import annotations

import importlib

from scanner.errors import MissingDependencyError, UsageError

from .base import Backend, PlanningFinding

# name -> (module, class, the distribution that provides its library)
REGISTRY = {
    "lmdb": ("backends.lmdb", "LmdbBackend", "lmdb"),
    "leveldb": ("backends.leveldb", "LevelDbBackend", "plyvel"),
    "hdf5": ("backends.hdf5", "Hdf5Backend", "h5py"),
    "images": ("backends.imagelist", "ImageListBackend", "pillow"),
}


def get(name: str) -> type[Backend]:
    try:
        module_name, class_name, package = REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown backend {name!r}; known: {', '.join(REGISTRY)}") from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MissingDependencyError(
            f"dscan {name} needs the Python package '{package}' ({exc}); "
            f"install it with: pip install {package}") from exc
    return getattr(module, class_name)


__all__ = ["Backend", "PlanningFinding", "REGISTRY", "get"]
