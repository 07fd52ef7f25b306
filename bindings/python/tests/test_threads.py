"""Many threads convert values concurrently: the engine is thread-safe and
cffi releases the GIL during each C call.  Checks results, not timing."""

import threading

from datalith import Keyword, edn

import datalith


def test_concurrent_conversions():
    n_threads, rounds = 8, 200
    errors = []
    barrier = threading.Barrier(n_threads)

    def work(i):
        try:
            barrier.wait()
            for r in range(rounds):
                v = {Keyword("thread"): i, Keyword("round"): r, Keyword("items"): list(range(r % 17)),
                     Keyword("tags"): {Keyword("t%d" % (r % 5))}}
                text = edn.dumps(v)
                assert edn.loads(text) == v
                # errors are per thread: a failing parse here must report its
                # own position even while other threads succeed or fail
                try:
                    edn.loads("[%d\n  }" % i)
                except datalith.ParseError as e:
                    assert (e.line, e.column) == (2, 3), (e.line, e.column)
                else:
                    raise AssertionError("no ParseError")
        except BaseException as e:  # noqa: B902 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]


def test_concurrent_large_values():
    big = "[" + " ".join('{:k %d :s "%s"}' % (i, "x" * (i % 50)) for i in range(3000)) + "]"
    out = [None] * 4

    def work(i):
        out[i] = edn.loads(big)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(o == out[0] for o in out) and len(out[0]) == 3000
