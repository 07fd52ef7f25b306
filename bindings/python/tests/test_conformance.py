"""The shared conformance corpus (tests/conformance/*.edn), run through the
Python package's generated glue.  The case format is documented in
tests/conformance/README.md; this runner mirrors tests/conformance/runner.c:

- every case gets a fresh in-memory database whose config is the case's
  :config merged (recursively) over {:store {:backend :memory :id <fresh>}},
  unless it says :create? false; lifecycle steps merge their own :config
  over the same base;
- a step has :expect (compared as EDN values: both sides printed
  canonically by the engine; :transact and :create-database results compare
  only the keys the expectation lists, and a report's :db/txInstant datoms
  are ignored unless the expectation lists one), :error (the engine's
  message must contain it), or neither (must succeed);
- an op this runner does not know fails the case; it never skips it.

Skipped ONLY when tests/conformance/ holds no .edn files.
"""

import glob
import os
import uuid

import pytest

import datalith
from datalith import Keyword, Tagged, edn
from datalith import _generated as g

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "conformance")
FILES = sorted(glob.glob(os.path.join(CORPUS, "*.edn")))

K = Keyword


def _cases():
    out = []
    for path in FILES:
        with open(path, encoding="utf-8") as f:
            suite = edn.loads(f.read())
        for i, case in enumerate(suite.get(K("cases"), [])):
            name = case.get(K("name"), "case %d" % (i + 1))
            out.append(pytest.param(case, id="%s::%s" % (os.path.basename(path), name)))
    return out


CASES = _cases() if FILES else []


def _merge(base, over):
    if not isinstance(over, dict):
        return dict(base)
    out = dict(base)
    for k, v in over.items():
        if k in base and isinstance(base[k], dict) and isinstance(v, dict):
            out[k] = _merge(base[k], v)
        else:
            out[k] = v
    return out


def _same(got, want):
    """EDN equality, decided by the engine: both printed canonically."""
    return edn.dumps(got) == edn.dumps(want)


def _is_instant_datom(d):
    return (isinstance(d, Tagged) and isinstance(d.value, (list, tuple)) and len(d.value) > 1
            and d.value[1] == K("db/txInstant"))


def _matches(got, want, subset):
    if subset and isinstance(got, dict) and isinstance(want, dict):
        for k, w in want.items():
            if k not in got:
                return "key %s: absent, expected %s" % (edn.dumps(k), edn.dumps(w))
            v = got[k]
            if (k == K("tx-data") and isinstance(v, list) and isinstance(w, list)
                    and not any(_is_instant_datom(x) for x in w)):
                v = [x for x in v if not _is_instant_datom(x)]
            if not _same(v, w):
                return "key %s: got %s, expected %s" % (edn.dumps(k), edn.dumps(v), edn.dumps(w))
        return None
    if _same(got, want):
        return None
    return "got %s, expected %s" % (edn.dumps(got), edn.dumps(want))


def _run_step(conn, base, step):
    op = step.get(K("op"))
    if not isinstance(op, Keyword):
        return None, False, "step without :op keyword"
    name = op.full
    subset = False
    if name == "transact":
        if K("tx") not in step:
            raise AssertionError(":transact step without :tx")
        return g.transact(conn, step[K("tx")]), True, None
    if name == "datoms":
        db = g.db(conn)
        return g.datoms(db, step.get(K("args"), {})), False, None
    if name in ("schema", "reverse-schema"):
        db = g.db(conn)
        return (g.schema(db) if name == "schema" else g.reverse_schema(db)), False, None
    if name in ("database-exists?", "create-database", "delete-database", "connect"):
        cfg = _merge(base, step.get(K("config")))
        if name == "database-exists?":
            return g.database_exists(cfg), False, None
        if name == "create-database":
            return g.create_database(cfg), True, None
        if name == "delete-database":
            return g.delete_database(cfg), False, None
        g.release(g.connect(cfg))
        return None, False, None
    raise AssertionError("unknown op :%s (the runner fails ops it does not know)" % name)


@pytest.mark.skipif(not FILES, reason="tests/conformance/ has no .edn files")
@pytest.mark.parametrize("case", CASES or [None])
def test_conformance_case(case):
    base = {K("store"): {K("backend"): K("memory"),
                         K("id"): "py-conformance-%s" % uuid.uuid4().hex}}
    cfg = _merge(base, case.get(K("config")))
    create = case.get(K("create?"), True) is not False
    conn = None
    try:
        if create:
            g.create_database(cfg)
            conn = g.connect(cfg)
        for i, step in enumerate(case[K("steps")]):
            where = "step %d (%s)" % (i + 1, edn.dumps(step.get(K("op"))))
            err = step.get(K("error"))
            try:
                got, subset, _ = _run_step(conn, base, step)
            except datalith.Error as e:
                if err is None:
                    pytest.fail("%s: unexpected error: %s" % (where, e.message))
                if isinstance(err, str) and err not in e.message:
                    pytest.fail('%s: error "%s" does not contain "%s"' % (where, e.message, err))
                continue
            if err is not None:
                pytest.fail("%s: expected an error, the op succeeded" % where)
            if K("expect") in step:
                why = _matches(got, step[K("expect")], subset)
                if why:
                    pytest.fail("%s: %s" % (where, why))
    finally:
        if conn is not None:
            g.release(conn)
        if create:
            try:
                g.delete_database(cfg)
            except datalith.Error:
                pass


def test_runner_matcher_can_fail():
    """The comparison used above is not vacuous."""
    got = edn.loads('{:tempids {"a" 2} :tx-data [#datahike/Datom [1 :db/txInstant 5 1 true] '
                    '#datahike/Datom [2 :name "A" 1 true]]}')
    assert _matches(got, edn.loads('{:tempids {"a" 2}}'), True) is None
    assert _matches(got, edn.loads('{:tx-data [#datahike/Datom [2 :name "A" 1 true]]}'), True) is None
    assert "expected" in _matches(got, edn.loads('{:tempids {"a" 3}}'), True)
    assert "absent" in _matches(got, edn.loads("{:tx-meta {}}"), True)
    assert _matches([1, 2], [1, 2], False) is None
    assert _matches([1, 2], [2, 1], False) is not None
    assert _matches({1, 2}, {2, 1}, False) is None
