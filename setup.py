"""Build script of the Python package `datalith` (bindings/python/datalith).

`pip install .` / `pip wheel .` at the repository root: setuptools builds
the cffi extension datalith._native from bindings/python/build_ffi.py,
which compiles the C core into it.  Metadata lives in pyproject.toml; the
version comes from the generated glue (spec/api.edn's :library :version).
"""

import os
import re

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    with open(os.path.join(HERE, "bindings", "python", "datalith", "_generated.py"),
              encoding="utf-8") as f:
        return re.search(r'^LIBRARY_VERSION = "([^"]+)"', f.read(), re.M).group(1)


setup(
    version=_version(),
    package_dir={"": "bindings/python"},
    packages=["datalith"],
    package_data={"datalith": ["py.typed", "*.pyi"]},
    cffi_modules=["bindings/python/build_ffi.py:ffibuilder"],
    # The C fast path of datalith.cbor.loads (pure Python remains the fallback).
    ext_modules=[Extension("datalith._cbor_c", ["bindings/python/datalith/_cbor_c.c"])],
    zip_safe=False,
)
