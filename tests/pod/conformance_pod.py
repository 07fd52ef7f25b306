#!/usr/bin/env python3
"""Run the conformance corpus (tests/conformance/*.edn) through datalith-pod.

    python3 tests/pod/conformance_pod.py PATH/TO/datalith-pod [CORPUS_DIR] [-v]

Every step of the corpus README's table maps to a pod var: reading steps
get a db id (the connection's newest snapshot, or one held under :db :name)
with the step's :view applied through the pod's history / as-of / since
vars.  A case whose :view uses :filter is outside what a pod can do (a
filter predicate is a callback into the client, which the pod protocol
cannot make) and is counted as "not runnable through the pod"; an op the
pod has no var for fails the case, as the README requires.

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

READ_OPS = {"datoms", "seek-datoms", "rseek-datoms", "index-range", "entity", "metrics",
            "is-filtered", "schema", "reverse-schema", "with", "db-with", "hold", "pull",
            "pull-many", "q"}
CONFIG_OPS = {"database-exists?", "create-database", "delete-database", "connect"}


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
    if isinstance(expect, FrozenMap) and isinstance(actual, FrozenMap) and \
            op in ("transact", "load-entities", "with", "create-database"):
        for k, ev in expect.items():
            if k not in actual:
                return False
            av = actual[k]
            if k == Kw("tx-data") and op in ("transact", "load-entities", "with") and isinstance(av, tuple) and \
                    not any(is_txinstant(d) for d in ev):
                av = tuple(d for d in av if not is_txinstant(d))
            if ev != av:
                return False
        return True
    return expect == actual


def merged(base, over):
    """`over` merged into `base`, maps merged key by key (deeply)."""
    out = FrozenMap(base)
    for k, v in (over or {}).items():
        if isinstance(v, FrozenMap) and isinstance(out.get(k), FrozenMap):
            out[k] = merged(out[k], v)
        else:
            out[k] = v
    return out


def uses_filter(case):
    for s in case.get_kw("steps", ()):
        for v in s.get_kw("view") or ():
            if isinstance(v, tuple) and v and v[0] == Kw("filter"):
                return True
    return False


def step_args(rn, s, op, db):
    """The pod args (EDN texts) of a reading step, after the db."""
    g = s.get_kw
    if op in ("datoms", "seek-datoms", "rseek-datoms", "index-range"):
        return [db, rn.to_edn(g("args"))]
    if op == "entity":
        return [db, rn.to_edn(g("eid"))]
    if op == "pull":
        return [db, rn.to_edn(g("selector")), rn.to_edn(g("eid"))]
    if op == "pull-many":
        return [db, rn.to_edn(g("selector")), rn.to_edn(g("eids"))]
    if op in ("with", "db-with"):
        return [db, rn.to_edn(g("tx"))]
    if op == "q":
        return [rn.to_edn(g("query")), db] + [rn.to_edn(x) for x in (g("inputs") or ())]
    return [db]


def run_case(rn, case, cid):
    base = FrozenMap({Kw("store"): FrozenMap({Kw("backend"): Kw("memory"),
                                              Kw("id"): "pod-conformance-%d" % cid})})
    cfg = merged(base, case.get_kw("config"))
    created = case.get_kw("create?") is not False
    cfg_edn = rn.to_edn(cfg)
    conn = None
    held = {}      # :name -> db id
    temps = []     # db ids to release at the end
    if created:
        _, err = rn.call("create-database", cfg_edn)
        if err:
            return "create-database failed: " + err
        conn, err = rn.call("connect", cfg_edn)
        if err:
            return "connect failed: " + err
    try:
        for i, s in enumerate(case.get_kw("steps")):
            op = str(s.get_kw("op"))
            where = "step %d (%s)" % (i + 1, op)
            err = None
            value = None
            if op == "transact":
                value, err = rn.call("transact", conn, rn.to_edn(s.get_kw("tx")))
            elif op == "load-entities":
                value, err = rn.call("load-entities", conn, rn.to_edn(s.get_kw("entities")))
            elif op in CONFIG_OPS:
                value, err = rn.call(op, rn.to_edn(merged(cfg, s.get_kw("config"))))
                if op == "connect" and value:
                    rn.call("release", value)
            elif op == "tempid":
                value, err = rn.call("tempid", rn.to_edn(s.get_kw("part")))
            elif op in READ_OPS:
                name = s.get_kw("db")
                if name is not None:
                    if name not in held:
                        return "%s: no snapshot held as %r" % (where, name)
                    db = held[name]
                else:
                    db, err = rn.call("db", conn)
                    if err:
                        return "%s: db: %s" % (where, err)
                    temps.append(db)
                for v in s.get_kw("view") or ():
                    if v == Kw("history"):
                        db, err = rn.call("history", db)
                    elif isinstance(v, tuple) and v[0] in (Kw("as-of"), Kw("since")):
                        db, err = rn.call(str(v[0]), db, rn.to_edn(v[1]))
                    else:
                        return "%s: unknown view %r" % (where, v)
                    if err:
                        break
                    temps.append(db)
                if err is None:
                    if op == "hold":
                        held[s.get_kw("as")] = db
                        continue
                    value, err = rn.call(op, *step_args(rn, s, op, db))
                    if op == "db-with" and value:
                        temps.append(value)
                        held[s.get_kw("as")] = value
            else:
                return "%s: the pod runner does not know this op" % where
            want_err = s.get_kw("error")
            if want_err is not None:
                if err is None:
                    return "%s: expected an error containing %r, got success" % (where, want_err)
                if want_err not in err:
                    return "%s: error %r does not contain %r" % (where, err, want_err)
                continue
            if err is not None:
                if err.startswith("invoke: unknown var"):
                    return "%s: the pod has no var for this op" % where
                return "%s: unexpected error: %s" % (where, err)
            if Kw("expect") in s:
                actual = rn.read_edn(value)
                expect = s.get_kw("expect")
                below = s.get_kw("below")
                if op == "tempid" and below is not None:
                    ok = isinstance(actual, int) and actual < below
                else:
                    ok = matches(expect, actual, op)
                if not ok:
                    return "%s: expected %r, got %r" % (where, expect, actual)
        return None
    finally:
        for db in temps:
            rn.call("release-db", db)
        if conn:
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
            if uses_filter(case):
                outside += 1
                if verbose:
                    print("not runnable through the pod (filter):", name)
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
    print("pod conformance: %d passed, %d failed, %d cases use a filter predicate "
          "(not runnable through a pod)" % (passed, failed, outside))
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
