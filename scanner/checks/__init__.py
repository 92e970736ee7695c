"""Every check dscan runs, registered by code; importing this package fills the catalogue."""
from . import (dataset_checks, datum_checks, hdf5_checks, label_checks,  # noqa: F401
               infogain_checks, shape_checks,
               imagelist_checks, mean_checks, net_checks, solver_checks, store_checks,
               value_checks)
from .registry import CATALOGUE, Check, get, matching
from ..detection import checks as _detection_checks  # noqa: F401,E402  (DS350-DS379)

__all__ = ["CATALOGUE", "Check", "get", "matching"]
