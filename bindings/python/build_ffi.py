"""cffi build script of the datalith extension (API mode, out of line).

setup.py names it in `cffi_modules`; it can also be run directly
(`python3 bindings/python/build_ffi.py`) to build the module in place.

The extension `datalith._native` contains the whole C core: every
core/*/*.c is compiled into it (core/store/store_lmdb.c only when lmdb.h is
found; set DATALITH_WITH_LMDB=0 to leave it out; the :pg store in
core/store/store_pg.c only when libpq-fe.h is found, DATALITH_WITH_PG=0
leaves it out), so no separate libdatalith is needed at run time.  It links
the system's libxxhash (and liblmdb, libpq), pthread and libm.  The cdef text is generated from the spec
(datalith/_cdef.py, by codegen/gen.py); cffi checks it against the real
header when it compiles the module.
"""

import glob
import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _rel(p):
    """setuptools wants source paths relative to the project root."""
    try:
        r = os.path.relpath(p, os.getcwd())
    except ValueError:
        return p
    return p if r.startswith("..") else r


def _cdef():
    ns = {}
    with open(os.path.join(HERE, "datalith", "_cdef.py"), encoding="utf-8") as f:
        exec(compile(f.read(), "_cdef.py", "exec"), ns)
    return ns["CDEF"]


def _have_lmdb():
    flag = os.environ.get("DATALITH_WITH_LMDB", "1")
    if flag in ("0", "OFF", "off", "no"):
        return False
    dirs = ["/usr/include", "/usr/local/include", "/opt/homebrew/include"]
    dirs += [d for d in os.environ.get("CPATH", "").split(os.pathsep) if d]
    return any(os.path.exists(os.path.join(d, "lmdb.h")) for d in dirs)


def _pq_include():
    """Directory of libpq-fe.h (the :pg store), or None without libpq.
    Set DATALITH_WITH_PG=0 to leave the :pg store out."""
    flag = os.environ.get("DATALITH_WITH_PG", "1")
    if flag in ("0", "OFF", "off", "no"):
        return None
    dirs = []
    try:
        import subprocess
        out = subprocess.run(["pkg-config", "--cflags-only-I", "libpq"],
                             capture_output=True, text=True, check=False).stdout
        dirs += [t[2:] for t in out.split() if t.startswith("-I")]
    except OSError:
        pass
    dirs += ["/usr/include/postgresql", "/usr/include", "/usr/local/include",
             "/opt/homebrew/include"]
    dirs += [d for d in os.environ.get("CPATH", "").split(os.pathsep) if d]
    for d in dirs:
        if os.path.exists(os.path.join(d, "libpq-fe.h")):
            return d
    return None


HAVE_LMDB = _have_lmdb()
PQ_INCLUDE = _pq_include()
SOURCES = sorted(glob.glob(os.path.join(ROOT, "core", "*", "*.c")))
if not HAVE_LMDB:
    SOURCES = [s for s in SOURCES if not s.endswith(os.path.join("store", "store_lmdb.c"))]

# Headers the sources include: listed so that setuptools rebuilds the module
# when only a header changed (it compares timestamps of sources + depends).
DEPENDS = sorted(glob.glob(os.path.join(ROOT, "core", "*", "*.h"))
                 + glob.glob(os.path.join(ROOT, "include", "*.h"))
                 + [os.path.join(HERE, "datalith", "_cdef.py")])

ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "datalith._native",
    '#include "datalith.h"\n',
    sources=[_rel(s) for s in SOURCES],
    depends=[_rel(d) for d in DEPENDS],
    include_dirs=[_rel(os.path.join(ROOT, "include")), _rel(os.path.join(ROOT, "core"))]
    + ([PQ_INCLUDE] if PQ_INCLUDE else []),
    define_macros=[("DATALITH_BUILDING", "1"), ("DATALITH_HAVE_LMDB", "1" if HAVE_LMDB else "0"),
                   ("DATALITH_HAVE_PG", "1" if PQ_INCLUDE else "0")],
    libraries=["xxhash"] + (["lmdb"] if HAVE_LMDB else []) + (["pq"] if PQ_INCLUDE else [])
    + ["pthread", "m"],
    extra_compile_args=["-std=gnu11", "-fvisibility=hidden", "-Wno-unused-parameter"],
)

if __name__ == "__main__":
    os.chdir(HERE)
    ffibuilder.compile(verbose=True)
