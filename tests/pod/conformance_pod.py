#!/usr/bin/env python3
"""Run the conformance corpus (tests/conformance/*.edn) through datalith-pod.

    python3 tests/pod/conformance_pod.py PATH/TO/datalith-pod [CORPUS_DIR]

The subset: every case whose steps use only the ops of the corpus README's
table (transact, datoms, schema, reverse-schema, database-exists?,
create-database, delete-database, connect) and only the step keys that
table describes (:op :tx :args :config :expect :error).  Other cases are
counted as "not in the pod subset" and listed with -v; none is silently
passed.

EDN is read with the pod's own value-convert var (EDN -> JSON with
Datahike's tagged literals, then decoded here into hashable Python values:
sets as frozensets, maps as FrozenMap, vectors as tuples), so comparisons
follow the README: sets ignore order, vectors keep it, a map result is
compared on the keys :expect gives, and :db/txInstant datoms are dropped
from an actual :tx-data whose expected one lists none.
"""

import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_pod  # noqa: E402  (the bencode client)

OPS = {"transact", "datoms", "schema", "reverse-schema", "database-exists?",
       "create-database", "delete-database", "connect"}
STEP_KEYS = {"op", "tx", "args", "config", "expect", "error"}
CASE_KEYS = {"name", "config", "steps"}


class Kw(str):
    def __repr__(self):
        return ":" + self


class Tagged(tuple):
    """A tagged value or a tagged-JSON form this runner does not interpret."""


class FrozenMap(dict):
    def __hash__(self):
        return hash(frozenset(self.items()))

    def get_kw(self, name, default=None):
        return self.get(Kw(name), default)


def decode(j):
    if isinstance(j, list):
        if j and isinstance(j[0], str) and j[0].startswith("!"):
            tag = j[0]
            if tag == "!kw":
                return Kw(j[1])
            if tag == "!set":
                return frozenset(decode(x) for x in j[1])
            if tag == "!map":
                items = j[1]
                return FrozenMap((decode(items[i]), decode(items[i + 1]))
                                 for i in range(0, len(items), 2))
            return Tagged([tag] + [decode(x) for x in j[1:]])
        return tuple(decode(x) for x in j)
    if isinstance(j, dict):
        return FrozenMap((Kw(k), decode(v)) for k, v in j.items())
    return j


def encode(v):
    if isinstance(v, Kw):
        return ["!kw", str(v)]
    if isinstance(v, frozenset):
        return ["!set", [encode(x) for x in v]]
    if isinstance(v, FrozenMap):
        flat = []
        for k, x in v.items():
            flat += [encode(k), encode(x)]
        return ["!map", flat]
    if isinstance(v, Tagged):
        return [v[0]] + [encode(x) for x in v[1:]]
    if isinstance(v, tuple):
        return [encode(x) for x in v]
    return v


class Runner:
    def __init__(self):
        self.pod = test_pod.Pod()
        self.n = 0

    def to_edn(self, v):
        text = json.dumps(encode(v))
        return json.loads(self.pod.value("value-convert", "[%s :json :edn]" % json.dumps(text)))

    def read_edn(self, text):
        out = json.loads(self.pod.value("value-convert", "[%s :edn :json]" % json.dumps(text)))
        return decode(json.loads(out))

    def call(self, var, *args_edn):
        r = self.pod.invoke(var, "[" + " ".join(args_edn) + "]")
        if "ex-message" in r:
            return None, r["ex-message"]
        return r["value"], None


def is_txinstant(d):
    return isinstance(d, Tagged) and d[0] == "!tag" and d[1] == "datahike/Datom" and \
        len(d[2]) > 1 and d[2][1] == Kw("db/txInstant")


def matches(expect, actual, op):
    if isinstance(expect, FrozenMap) and isinstance(actual, FrozenMap):
        for k, ev in expect.items():
            if k not in actual:
                return False
            av = actual[k]
            if k == Kw("tx-data") and op == "transact" and isinstance(av, tuple) and \
                    not any(is_txinstant(d) for d in ev):
                av = tuple(d for d in av if not is_txinstant(d))
            if ev != av:
                return False
        return True
    return expect == actual


def in_subset(case):
    if set(case.keys()) - {Kw(k) for k in CASE_KEYS}:
        return False
    for s in case.get_kw("steps", ()):
        if set(s.keys()) - {Kw(k) for k in STEP_KEYS} or str(s.get_kw("op")) not in OPS:
            return False
    return True


def run_case(rn, case, cid):
    base = FrozenMap({Kw("store"): FrozenMap({Kw("backend"): Kw("memory"),
                                              Kw("id"): "pod-conformance-%d" % cid})})
    cfg = FrozenMap(base)
    cfg.update(case.get_kw("config") or {})
    cfg_edn = rn.to_edn(cfg)
    _, err = rn.call("create-database", cfg_edn)
    if err:
        return "create-database failed: " + err
    conn, err = rn.call("connect", cfg_edn)
    if err:
        return "connect failed: " + err
    try:
        for i, s in enumerate(case.get_kw("steps")):
            op = str(s.get_kw("op"))
            db = None
            if op == "transact":
                args = [conn, rn.to_edn(s.get_kw("tx"))]
            elif op in ("datoms", "schema", "reverse-schema"):
                db, err = rn.call("db", conn)
                if err:
                    return "step %d: db: %s" % (i + 1, err)
                args = [db] + ([rn.to_edn(s.get_kw("args"))] if op == "datoms" else [])
            else:
                c = FrozenMap(base)
                c.update(s.get_kw("config") or {})
                args = [rn.to_edn(c)]
            value, err = rn.call(op, *args)
            if db:
                rn.call("release-db", db)
            if op == "connect" and value:
                rn.call("release", value)
            want_err = s.get_kw("error")
            if want_err is not None:
                if err is None:
                    return "step %d (%s): expected an error containing %r, got success" % (
                        i + 1, op, want_err)
                if want_err not in err:
                    return "step %d (%s): error %r does not contain %r" % (i + 1, op, err, want_err)
                continue
            if err is not None:
                return "step %d (%s): unexpected error: %s" % (i + 1, op, err)
            if Kw("expect") in s:
                actual = rn.read_edn(value)
                if not matches(s.get_kw("expect"), actual, op):
                    return "step %d (%s): expected %r, got %r" % (i + 1, op, s.get_kw("expect"),
                                                                  actual)
        return None
    finally:
        rn.call("release", conn)
        rn.call("delete-database", cfg_edn)


def main():
    verbose = "-v" in sys.argv
    argv = [a for a in sys.argv[1:] if a != "-v"]
    if not argv:
        sys.exit("usage: conformance_pod.py PATH/TO/datalith-pod [CORPUS_DIR] [-v]")
    test_pod.POD = os.path.abspath(argv[0])
    corpus = argv[1] if len(argv) > 1 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conformance")
    rn = Runner()
    passed = failed = outside = 0
    cid = 0
    for path in sorted(glob.glob(os.path.join(corpus, "*.edn"))):
        with open(path, encoding="utf-8") as f:
            suite = rn.read_edn(f.read())
        for case in suite.get_kw("cases", ()):
            cid += 1
            name = "%s: %s" % (os.path.basename(path), case.get_kw("name"))
            if not in_subset(case):
                outside += 1
                if verbose:
                    print("not in the pod subset:", name)
                continue
            problem = run_case(rn, case, cid)
            if problem:
                failed += 1
                print("FAIL %s\n  %s" % (name, problem))
            else:
                passed += 1
                if verbose:
                    print("ok  ", name)
    rc, _, err = rn.pod.close()
    if rc != 0:
        print("pod exited with status %d: %s" % (rc, err.decode("utf-8", "replace")))
        failed += 1
    print("pod conformance: %d passed, %d failed, %d cases not in the pod subset"
          % (passed, failed, outside))
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
