"""Compatibility layers: code written for another Datahike binding runs on
datalith after changing its import.

    datalith.compat.datahike        pydatahike (``from datahike import ...``)
    datalith.compat.datahike.edn    pydatahike's ``datahike.edn`` helpers

The modules live in datalith/_datahike.py and datalith/_datahike_edn.py
(the package is installed as the single package ``datalith``) and are
registered here under their public names, so ``import
datalith.compat.datahike`` and ``from datalith.compat.datahike import q``
both work.
"""

import sys as _sys

from . import _datahike as datahike
from . import _datahike_edn

_sys.modules[__name__ + ".datahike"] = datahike
_sys.modules[__name__ + ".datahike.edn"] = _datahike_edn

__all__ = ["datahike"]
