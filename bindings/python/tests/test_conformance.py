"""The shared conformance corpus (tests/conformance/*.edn), run through the
Python package.  The case format and the op table are in
tests/conformance/README.md; this runner is a port of the reference runner
tests/conformance/runner.c and keeps its rules:

- every case gets a fresh in-memory database whose config is the case's
  :config merged (recursively) over {:store {:backend :memory :id <fresh>}},
  unless it says :create? false; lifecycle steps merge their own :config
  over the case's, and that over the same base;
- a reading step reads the connection's newest snapshot, or the one held
  under :db, then applies its :view ops in order (:history, [:as-of tp],
  [:since tp], [:filter {:exclude-attr :kw}] / [:filter {:exclude-e n}]);
- a step has :expect (compared with the engine's EDN equality, ported below
  as _edn_equal: sets by members, lists equal vectors, numbers by value;
  :transact, :with and :create-database results compare only the keys the
  expectation lists, and a report's :db/txInstant datoms are dropped from
  :tx-data unless the expectation lists one), :error (the engine's message
  must contain it, when it is a string), or neither (must succeed);
- the first step that misbehaves fails the case;
- an op this runner does not know fails the case; it never skips it.

Skipped ONLY when tests/conformance/ holds no .edn files.
"""

import datetime
import decimal
import glob
import os
import uuid

import pytest

import datalith
from datalith import Char, EdnList, Keyword, Symbol, Tagged, edn
from datalith import _generated as g
from datalith.api import Db

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "conformance")
FILES = sorted(glob.glob(os.path.join(CORPUS, "*.edn")))

K = Keyword


class RunnerError(Exception):
    """A failure the runner itself reports as the step's error (as
    runner.c's dl_err_set does): matched against :error like an engine
    error."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _steps_use(case, op):
    steps = case.get(K("steps"), [])
    return any(isinstance(s, dict) and s.get(K("op")) == K(op) for s in steps)


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


# --- EDN equality (edn_equal / edn_compare of core/value/value.c) ---------

def _rank(x):
    """edn_kind_rank: values of different ranks are never equal."""
    if x is None:
        return 0
    if isinstance(x, (bytes, bytearray, memoryview)):
        return 1
    if isinstance(x, Keyword):
        return 2
    if isinstance(x, dict) or (hasattr(x, "keys") and hasattr(x, "items")):
        return 3
    if isinstance(x, (set, frozenset)):
        return 4
    if isinstance(x, (list, tuple)):  # vectors, EdnList (a tuple) alike
        return 5
    if isinstance(x, Symbol):
        return 6
    if isinstance(x, Tagged):
        return 7
    if isinstance(x, bool):
        return 8
    if isinstance(x, Char):
        return 9
    if isinstance(x, (int, float, decimal.Decimal)):
        return 10
    if isinstance(x, str):
        return 11
    if isinstance(x, datetime.datetime):
        return 12
    if isinstance(x, uuid.UUID):
        return 13
    return 14


def _edn_equal(a, b):
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        return False
    if ra == 0:
        return True
    if ra == 5:
        return len(a) == len(b) and all(_edn_equal(x, y) for x, y in zip(a, b))
    if ra == 4:
        if len(a) != len(b):
            return False
        rest = list(b)
        for x in a:
            for j, y in enumerate(rest):
                if _edn_equal(x, y):
                    del rest[j]
                    break
            else:
                return False
        return True
    if ra == 3:
        if len(a) != len(b):
            return False
        bitems = list(b.items())
        for k, v in a.items():
            for bk, bv in bitems:
                if _edn_equal(k, bk):
                    if not _edn_equal(v, bv):
                        return False
                    break
            else:
                return False
        return True
    if ra == 7:
        return a.tag == b.tag and _edn_equal(a.value, b.value)
    if ra == 1:
        return bytes(a) == bytes(b)
    if ra == 10 and isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # NaN: the engine's comparator orders ##NaN equal to itself
    return a == b


def _show(x):
    try:
        return edn.dumps(x)
    except Exception:  # a value the printer refuses: still report something
        return repr(x)


def _is_instant_datom(d):
    return (isinstance(d, Tagged) and isinstance(d.value, (list, tuple)) and len(d.value) > 1
            and d.value[1] == K("db/txInstant"))


def _matches(got, want, subset):
    """None if `got` satisfies `want`, else why not (runner.c's matches)."""
    if subset and isinstance(got, dict) and isinstance(want, dict):
        for k, w in want.items():
            if k not in got:
                return "key %s: got <absent>, expected %s" % (_show(k), _show(w))
            v = got[k]
            if (k == K("tx-data") and isinstance(v, list) and isinstance(w, list)
                    and not any(_is_instant_datom(x) for x in w)):
                v = [x for x in v if not _is_instant_datom(x)]
            if not _edn_equal(v, w):
                return "key %s: got %s, expected %s" % (_show(k), _show(v), _show(w))
        return None
    if _edn_equal(got, want):
        return None
    return "got %s, expected %s" % (_show(got), _show(want))


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


# --- the steps -------------------------------------------------------------

class _Ctx:
    def __init__(self, conn, base, case_cfg):
        self.conn = conn
        self.base = base
        self.case_cfg = case_cfg
        self.held = {}  # :as keyword -> Db

    def close(self):
        for db in self.held.values():
            db.close()
        self.held.clear()

    def hold(self, name, db):
        old = self.held.get(name)
        if old is not None:
            old.close()
        self.held[name] = db


def _excluder(arg):
    """The runner-side predicate of [:filter {...}] (runner.c filter_pred)."""
    ea = arg.get(K("exclude-attr"))
    ee = arg.get(K("exclude-e"))
    if isinstance(ea, Keyword):
        def pred(d):
            it = d.value if isinstance(d, Tagged) else None
            return not (isinstance(it, (list, tuple)) and len(it) == 5 and it[1] == ea)
        return pred
    if isinstance(ee, int) and not isinstance(ee, bool):
        def pred(d):
            it = d.value if isinstance(d, Tagged) else None
            return not (isinstance(it, (list, tuple)) and len(it) == 5
                        and isinstance(it[0], int) and it[0] == ee)
        return pred
    raise RunnerError("runner: bad :filter")


def _step_db(cx, step):
    """The snapshot a step reads, and whether the runner owns it."""
    name = step.get(K("db"))
    view = step.get(K("view"))
    if name is not None:
        db = cx.held.get(name) if isinstance(name, Keyword) else None
        if db is None:
            raise RunnerError("runner: no snapshot held as :db")
        owned = False
    else:
        if cx.conn is None:
            raise RunnerError("runner: no connection (the case has :create? false)")
        db, owned = cx.conn.db(), True
    if not isinstance(view, (list, tuple)):
        return db, owned
    try:
        for v in view:
            if isinstance(v, Keyword):
                op, arg = v, None
            elif isinstance(v, (list, tuple)) and v:
                op, arg = v[0], (v[1] if len(v) > 1 else None)
            else:
                op, arg = None, None
            o = op.full if isinstance(op, Keyword) else ""
            # time points go to the engine as given (no Python-side checks)
            if o == "history":
                nxt = Db(g.history(db), db._keep)
            elif o == "as-of" and arg is not None:
                nxt = Db(g.as_of(db, arg), db._keep)
            elif o == "since" and arg is not None:
                nxt = Db(g.since(db, arg), db._keep)
            elif o == "filter" and isinstance(arg, dict):
                nxt = db.filter(_excluder(arg))
            else:
                raise RunnerError("runner: unknown :view op")
            if owned:
                db.close()
            db, owned = nxt, True
    except BaseException:
        if owned:
            db.close()
        raise
    return db, owned


def _read(cx, step, fn):
    db, owned = _step_db(cx, step)
    try:
        return fn(db)
    finally:
        if owned:
            db.close()


def _run_step(cx, step):
    """Run one step: (result, subset) or raise (datalith.Error,
    RunnerError: the op failed; AssertionError: the case is malformed)."""
    op = step.get(K("op"))
    if not isinstance(op, Keyword):
        raise AssertionError("step without :op keyword")
    name = op.full
    if name == "transact":
        if K("tx") not in step:
            raise AssertionError(":transact step without :tx")
        if cx.conn is None:
            raise RunnerError("runner: no connection (the case has :create? false)")
        return g.transact(cx.conn, step[K("tx")]), True
    if name == "load-entities":
        if K("entities") not in step:
            raise AssertionError(":load-entities step without :entities")
        if cx.conn is None:
            raise RunnerError("runner: no connection (the case has :create? false)")
        return g.load_entities(cx.conn, step[K("entities")]), True
    if name in ("datoms", "seek-datoms", "rseek-datoms", "index-range"):
        args = step.get(K("args"), {})
        fn = {"datoms": g.datoms, "seek-datoms": g.seek_datoms,
              "rseek-datoms": g.rseek_datoms, "index-range": g.index_range}[name]
        return _read(cx, step, lambda db: fn(db, args)), False
    if name == "schema":
        return _read(cx, step, g.schema), False
    if name == "reverse-schema":
        return _read(cx, step, g.reverse_schema), False
    if name == "metrics":
        return _read(cx, step, g.metrics), False
    if name == "is-filtered":
        return _read(cx, step, g.is_filtered), False
    if name == "entity":
        eid = step.get(K("eid"))
        return _read(cx, step, lambda db: g.entity(db, eid)), False
    if name in ("pull", "pull-many"):
        sel = step.get(K("selector"))
        if name == "pull":
            eid = step.get(K("eid"))
            return _read(cx, step, lambda db: g.pull(db, sel, eid)), False
        eids = step.get(K("eids"))
        return _read(cx, step, lambda db: g.pull_many(db, sel, eids)), False
    if name == "q":
        # The step's snapshot is the query's first database input ($);
        # :inputs are the other :in values, in order.
        query = step.get(K("query"))
        inputs = step.get(K("inputs"), [])
        return _read(cx, step, lambda db: g.q(query, [db], inputs)), False
    if name in ("hold", "with", "db-with"):
        as_ = step.get(K("as"))
        if name != "with" and not isinstance(as_, Keyword):
            raise AssertionError(":hold / :db-with step without an :as keyword")
        if name != "hold" and K("tx") not in step:
            raise AssertionError(":with / :db-with step without :tx")
        db, owned = _step_db(cx, step)
        if name == "hold":
            if not owned:
                raise RunnerError("runner: :hold of a held snapshot needs a :view")
            cx.hold(as_, db)
            return None, False
        try:
            if name == "with":
                return g.with_db(db, step[K("tx")]), True
            cx.hold(as_, Db(g.db_with(db, step[K("tx")])))
            return None, False
        finally:
            if owned:
                db.close()
    if name == "tempid":
        got = g.tempid(step.get(K("part")))
        below = step.get(K("below"))
        if below is not None:
            ok = (isinstance(got, int) and not isinstance(got, bool)
                  and isinstance(below, int) and not isinstance(below, bool) and got < below)
            if not ok:
                raise AssertionError("tempid %s is not below the bound" % _show(got))
        return got, False
    if name in ("database-exists?", "create-database", "delete-database", "connect"):
        scfg = step.get(K("config"))
        if isinstance(cx.case_cfg, dict) and isinstance(scfg, dict):
            scfg = _merge(cx.case_cfg, scfg)
        elif scfg is None:
            scfg = cx.case_cfg
        cfg = _merge(cx.base, scfg)
        if name == "database-exists?":
            return g.database_exists(cfg), False
        if name == "create-database":
            return g.create_database(cfg), True
        if name == "delete-database":
            return g.delete_database(cfg), False
        g.release(g.connect(cfg))
        return None, False
    raise AssertionError("unknown op :%s (the runner fails ops it does not know)" % name)


def run_case(case):
    """Run one case; returns None if it passed, else why it failed."""
    base = {K("store"): {K("backend"): K("memory"),
                         K("id"): "py-conformance-%s" % uuid.uuid4().hex}}
    case_cfg = case.get(K("config"))
    cfg = _merge(base, case_cfg)
    create = case.get(K("create?"), True) is not False
    steps = case.get(K("steps"))
    if not isinstance(steps, (list, tuple)):
        return "case without :steps vector"
    conn = None
    cx = None
    try:
        if create:
            try:
                datalith.create_database(cfg)
                conn = datalith.connect(cfg)
            except datalith.Error as e:
                return "setup failed: %s" % e.message
        cx = _Ctx(conn, base, case_cfg)
        for i, step in enumerate(steps):
            where = "step %d" % (i + 1)
            err = step.get(K("error")) if isinstance(step, dict) else None
            try:
                got, subset = _run_step(cx, step)
            except (datalith.Error, RunnerError) as e:
                if err is None:
                    return "%s: unexpected error: %s" % (where, e.message)
                if isinstance(err, str) and err not in e.message:
                    return '%s: error "%s" does not contain "%s"' % (where, e.message, err)
                continue
            except AssertionError as e:
                return "%s: %s" % (where, e)
            if err is not None:
                return "%s: expected an error, the op succeeded" % where
            if K("expect") in step:
                why = _matches(got, step[K("expect")], subset)
                if why:
                    return "%s: %s" % (where, why)
        return None
    finally:
        if cx is not None:
            cx.close()
        if conn is not None:
            conn.close()
        if create:
            try:
                datalith.delete_database(cfg)
            except datalith.Error:
                pass


@pytest.mark.skipif(not FILES, reason="tests/conformance/ has no .edn files")
@pytest.mark.parametrize("case", CASES or [None])
def test_conformance_case(case):
    why = run_case(case)
    if why:
        pytest.fail(why)


def test_corpus_is_covered():
    """Every corpus file was collected, and every case carries steps."""
    names = {os.path.basename(p) for p in FILES}
    for must in ("transact.edn", "time.edn", "index.edn", "pull.edn", "query.edn"):
        if os.path.exists(os.path.join(CORPUS, must)):
            assert must in names
    assert all(isinstance(p.values[0].get(K("steps")), list) for p in CASES)


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
    # the engine's equality: lists equal vectors, booleans are not numbers,
    # keywords are not strings or symbols, sets compare by members
    assert _matches(EdnList([1, 2]), [1, 2], False) is None
    assert _matches(True, 1, False) is not None
    assert _matches(K("a"), ":a", False) is not None
    assert _matches(K("a"), Symbol("a"), False) is not None
    assert _matches({(1, "a"), (2, "b")}, edn.loads('#{[2 "b"] [1 "a"]}'), False) is None
    assert _matches({(1, "a")}, edn.loads('#{[1 "b"]}'), False) is not None
    assert _matches({K("a"): {1}}, {K("a"): {2}}, False) is not None
    assert _matches(None, None, False) is None and _matches(None, False, False) is not None


def test_runner_fails_what_it_should():
    """run_case reports misbehaving steps instead of passing them."""
    def case(steps, extra=""):
        return edn.loads('{:name "t" %s :steps %s}' % (extra, steps))

    schema = ('{:op :transact :tx [{:db/ident :name :db/valueType :db.type/string '
              ':db/cardinality :db.cardinality/one}]}')
    assert run_case(case("[%s]" % schema)) is None
    assert "expected" in run_case(case('[%s {:op :q :query [:find ?e :where [?e :name]] :expect #{[1]}}]'
                                       % schema))
    assert "unexpected error" in run_case(case('[{:op :transact :tx [{:age 3}]}]'))
    assert "does not contain" in run_case(case('[{:op :transact :tx [{:age 3}] :error "zzz"}]'))
    assert run_case(case('[{:op :transact :tx [{:age 3}] :error true}]')) is None
    assert "expected an error" in run_case(case('[%s]' % schema.replace("}]}", "}] :error \"x\"}")))
    assert "unknown op :frobnicate" in run_case(case('[{:op :frobnicate}]'))
    assert "unknown :view op" in run_case(case('[{:op :datoms :view [:sideways]}]'))
    assert "no snapshot held" in run_case(case('[{:op :datoms :db :nope}]'))
    assert "not below" in run_case(case('[{:op :tempid :part :db.part/user :below -2000000000}]'))
    assert run_case(case('[{:op :database-exists? :expect true}]')) is None
    assert "got false, expected true" in run_case(
        case('[{:op :database-exists? :config {:store {:id "other"}} :expect true}]'))
