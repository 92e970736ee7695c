"""Every check dscan runs, registered by code; importing this package fills the catalogue."""
from . import (dataset_checks, datum_checks, duplicate_checks,  # noqa: F401
               hdf5_checks, imagelist_checks, infogain_checks, label_checks, log_checks,
               mean_checks, net_checks, shape_checks, solver_checks, store_checks,
               value_checks)
from .registry import CATALOGUE, Check, get, matching, selected
from ..detection import checks as _detection_checks  # noqa: F401,E402  (DS350-DS379)

__all__ = ["CATALOGUE", "Check", "get", "matching", "selected"]
