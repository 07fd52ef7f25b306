"""Micro-benchmarks of the Python value path (run against an installed
package):  python bindings/python/bench_values.py

Prints the per-call cost of a small edn.loads/dumps broken into its parts
(the raw cffi call, the generated glue, the Python CBOR decode) and the
CBOR encode/decode speed for 10k-element values next to the engine's own
CBOR -> CBOR conversion of the same bytes.
"""

import timeit

import datalith
from datalith import Keyword, cbor, edn
from datalith._native import ffi, lib


def per_call(n=100000):
    s = b"{:a 1}"
    cb = datalith.value_convert(s, datalith.FORMAT_EDN, datalith.FORMAT_CBOR)

    def raw():
        out = ffi.new("char **")
        n_ = ffi.new("size_t *")
        lib.datalith_value_convert(s, len(s), 0, 2, out, n_)
        lib.datalith_free(out[0])

    for name, f in [("raw cffi: ffi.new x2 + convert + free", raw),
                    ("datalith.value_convert (generated glue)",
                     lambda: datalith.value_convert(s, 0, 2)),
                    ("cbor.loads of the 5-byte result", lambda: cbor.loads(cb)),
                    ("datalith.edn.loads('{:a 1}')", lambda: edn.loads(s)),
                    ("datalith.edn.dumps({:a 1})", lambda: edn.dumps({Keyword("a"): 1}))]:
        t = min(timeit.repeat(f, number=n, repeat=5)) / n
        print("%-45s %7.0f ns/call" % (name, t * 1e9))


def bulk():
    ints = list(range(10000))
    maps = [{Keyword("db/id"): i, Keyword("name"): "n%d" % i, Keyword("tags"): {Keyword("t")}}
            for i in range(10000)]
    for label, v in [("10k ints", ints), ("10k maps {:db/id :name :tags #{:t}}", maps)]:
        b = cbor.dumps(v)
        n = 20
        td = min(timeit.repeat(lambda: cbor.loads(b), number=n, repeat=5)) / n
        te = min(timeit.repeat(lambda: cbor.dumps(v), number=n, repeat=5)) / n
        tc = min(timeit.repeat(lambda: datalith.value_convert(b, 2, 2), number=n, repeat=5)) / n
        print("%s: %d CBOR bytes; Python decode %.2f ms (%.0f ns/element, %.1f MB/s), "
              "encode %.2f ms; engine CBOR->CBOR %.2f ms"
              % (label, len(b), td * 1e3, td / 1e4 * 1e9, len(b) / td / 1e6, te * 1e3, tc * 1e3))


if __name__ == "__main__":
    per_call()
    bulk()
