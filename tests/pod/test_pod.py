#!/usr/bin/env python3
"""Protocol tests for datalith-pod: a small client speaking bencode.

    python3 tests/pod/test_pod.py PATH/TO/datalith-pod

The client here is written from the pod protocol (babashka/pods README):
bencoded dictionaries over the pod's stdin/stdout, "describe", "invoke",
"shutdown".  Expected values are worked out from Datahike's rules (schema
attributes take entity ids from 1, the first transaction is 536870913) and
the canonical EDN printing documented in docs/, not taken from the pod's
own output.  Standard library only.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

POD = None


# ------------------------------------------------------------- bencode

def benc(x):
    if isinstance(x, bool):
        raise TypeError("bool")
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode("utf-8")
    if isinstance(x, (bytes, bytearray)):
        return b"%d:" % len(x) + bytes(x)
    if isinstance(x, list):
        return b"l" + b"".join(benc(i) for i in x) + b"e"
    if isinstance(x, dict):
        out = b"d"
        for k in sorted(x):
            out += benc(k) + benc(x[k])
        return out + b"e"
    raise TypeError(type(x))


def bdec(read, first=None):
    """Decode one value, pulling bytes with read(n); strings come back as str."""
    c = first if first is not None else read(1)
    if not c:
        raise EOFError
    if c == b"i":
        s = b""
        while True:
            ch = read(1)
            if not ch:
                raise EOFError
            if ch == b"e":
                return int(s)
            s += ch
    if c in (b"l", b"d"):
        items = []
        while True:
            ch = read(1)
            if not ch:
                raise EOFError
            if ch == b"e":
                break
            items.append(bdec(read, ch))
        if c == b"l":
            return items
        keys = items[0::2]
        # Bencode dictionaries have their keys in sorted (byte) order.
        assert keys == sorted(keys, key=lambda k: k.encode("utf-8")) and \
            len(set(keys)) == len(keys), "dictionary keys out of order: %r" % keys
        return {items[i]: items[i + 1] for i in range(0, len(items), 2)}
    if c.isdigit():
        s = c
        while True:
            ch = read(1)
            if not ch:
                raise EOFError
            if ch == b":":
                break
            s += ch
        n = int(s)
        data = read(n) if n else b""
        return data.decode("utf-8")
    raise ValueError("bad bencode byte %r" % c)


class Pod:
    def __init__(self):
        self.p = subprocess.Popen([POD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=dict(os.environ, BABASHKA_POD="true"))
        self.n = 0

    def send(self, msg):
        self.p.stdin.write(benc(msg) if not isinstance(msg, bytes) else msg)
        self.p.stdin.flush()

    def recv(self):
        return bdec(self.p.stdout.read)

    def request(self, msg):
        self.send(msg)
        return self.recv()

    def invoke(self, var, args_edn):
        self.n += 1
        r = self.request({"op": "invoke", "id": str(self.n), "var": "datalith.pod/" + var,
                          "args": args_edn})
        assert r.get("id") == str(self.n), r
        return r

    def value(self, var, args_edn):
        r = self.invoke(var, args_edn)
        if "ex-message" in r:
            raise AssertionError("%s failed: %s %s" % (var, r["ex-message"], r.get("ex-data")))
        assert r["status"] == ["done"], r
        return r["value"]

    def close(self):
        try:
            self.send({"op": "shutdown"})
        except BrokenPipeError:
            pass
        out, err = self.p.communicate(timeout=30)
        return self.p.returncode, out, err


def edn_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DescribeTest(unittest.TestCase):
    def test_describe(self):
        pod = Pod()
        d = pod.request({"op": "describe"})
        self.assertEqual(d["format"], "edn")
        self.assertEqual(d["ops"], {"shutdown": {}})
        # Tags the engine prints get readers, so bb can read every result.
        self.assertEqual(d["readers"], {"datahike/DB": "clojure.core/identity",
                                        "datahike/Datom": "clojure.core/identity"})
        self.assertEqual(len(d["namespaces"]), 1)
        ns = d["namespaces"][0]
        self.assertEqual(ns["name"], "datalith.pod")
        names = [v["name"] for v in ns["vars"]]
        # Datahike's pod names for the operations Datalith implements today.
        for n in ("database-exists?", "create-database", "delete-database", "connect", "release",
                  "db", "release-db", "transact", "datoms", "schema", "reverse-schema",
                  "with-db"):
            self.assertIn(n, names)
        self.assertEqual(len(names), len(set(names)))
        for v in ns["vars"]:
            if v["name"] == "with-db":
                self.assertIn("(defmacro with-db", v["code"])
                self.assertIn("datalith.pod/release-db", v["code"])
            else:
                self.assertRegex(v["meta"], r'^\{:doc ".+" :arglists \(\[.*\]\)\}$')
        tx = [v for v in ns["vars"] if v["name"] == "transact"][0]
        self.assertIn(":arglists ([conn tx])", tx["meta"])
        rc, out, err = pod.close()
        self.assertEqual((rc, out), (0, b""))

    def test_describe_echoes_id(self):
        pod = Pod()
        self.assertEqual(pod.request({"op": "describe", "id": "x1"})["id"], "x1")
        self.assertEqual(pod.close()[0], 0)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class FilesTest(unittest.TestCase):
    """The registry manifest and the bb example agree with the pod."""

    def setUp(self):
        self.pod = Pod()
        ns = self.pod.request({"op": "describe"})["namespaces"][0]
        self.vars = {v["name"] for v in ns["vars"]}

    def tearDown(self):
        self.assertEqual(self.pod.close()[0], 0)

    def test_manifest_is_edn_with_the_required_keys(self):
        with open(os.path.join(ROOT, "bindings", "pod", "manifest.edn")) as f:
            text = f.read()
        # value-convert returns bytes, which the pod hands back as an EDN string.
        canon = json.loads(self.pod.value("value-convert", "[%s :edn :edn]" % edn_str(text)))
        for key in (":pod/name io.github.datalith/datalith", ':pod/version "0.1.0"',
                    ":pod/artifacts [{", ':artifact/executable "datalith-pod"'):
            self.assertIn(key, canon)

    def test_example_uses_only_pod_vars(self):
        with open(os.path.join(ROOT, "examples", "babashka", "example.clj")) as f:
            text = f.read()
        used = set(re.findall(r"\(d/([a-z?!-]+)", text))
        self.assertTrue({"connect", "transact", "with-db", "release"} <= used, used)
        self.assertEqual(used - self.vars, set())
        self.assertIn("(require '[datalith.pod :as d])", text)


class WorkflowTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="datalith-pod-")
        self.cfg = '{:store {:backend :file :path %s} :schema-flexibility :write}' % edn_str(
            os.path.join(self.dir, "db"))
        self.pod = Pod()

    def tearDown(self):
        rc, _, err = self.pod.close()
        shutil.rmtree(self.dir)
        self.assertEqual(rc, 0, err)

    def test_lifecycle_transact_datoms_schema(self):
        p = self.pod
        self.assertEqual(p.value("database-exists?", "[%s]" % self.cfg), "false")
        created = p.value("create-database", "[%s]" % self.cfg)
        self.assertIn(":schema-flexibility :write", created)
        self.assertIn(":backend :file", created)
        self.assertEqual(p.value("database-exists?", "[%s]" % self.cfg), "true")
        conn = p.value("connect", "[%s]" % self.cfg)
        self.assertRegex(conn, r'^"conn:\d+"$')
        report = p.value("transact", '[%s [{:db/ident :name :db/valueType :db.type/string '
                                     ':db/cardinality :db.cardinality/one}]]' % conn)
        self.assertIn(":tempids {:db/current-tx 536870913}", report)
        report = p.value("transact", '[%s [{:db/id "ada" :name "Ada"}]]' % conn)
        tempids = re.search(r":tempids (\{[^}]*\})", report).group(1)
        self.assertIn('"ada" 2', tempids)
        self.assertIn(":db/current-tx 536870914", tempids)
        db = p.value("db", "[%s]" % conn)
        self.assertRegex(db, r'^"db:\d+"$')
        self.assertEqual(p.value("datoms", "[%s {:index :eavt :components [2]}]" % db),
                         '[#datahike/Datom [2 :name "Ada" 536870914 true]]')
        self.assertEqual(p.value("schema", "[%s]" % db),
                         "{:name {:db/cardinality :db.cardinality/one :db/id 1 :db/ident :name "
                         ":db/valueType :db.type/string}}")
        self.assertIn(":db/ident #{:name", p.value("reverse-schema", "[%s]" % db))
        names = {v["name"] for v in p.request({"op": "describe"})["namespaces"][0]["vars"]}
        if "q" in names:
            self.assertEqual(p.value("q", "[[:find ?n :where [?e :name ?n]] %s]" % db),
                             '#{["Ada"]}')
            self.assertEqual(p.value("q", "[[:find ?n . :in $ ?e :where [?e :name ?n]] %s 2]"
                                     % db), '"Ada"')
            # Datahike's map form.
            self.assertEqual(p.value("q", "[{:query [:find ?n :where [?e :name ?n]] :args [%s]}]"
                                     % db), '#{["Ada"]}')
            r = p.invoke("q", "[[:find ?n :where [?e :name ?n]]]")
            self.assertIn("wrong number of args (1); expected at least 2", r["ex-message"])
            self.assertIn(":arglists ([query & args])", r["ex-message"])
        # A snapshot does not change under its reader.
        p.value("transact", '[%s [{:name "Bo"}]]' % conn)
        self.assertEqual(p.value("datoms", "[%s {:index :aevt :components [:name]}]" % db),
                         '[#datahike/Datom [2 :name "Ada" 536870914 true]]')
        self.assertEqual(p.value("release-db", "[%s]" % db), "nil")
        r = p.invoke("schema", "[%s]" % db)
        self.assertEqual(r["status"], ["done", "error"])
        self.assertIn("live db id", r["ex-message"])
        self.assertIn(":code :einval", r["ex-data"])
        db2 = p.value("db", "[%s]" % conn)
        self.assertNotEqual(db2, db)  # ids are never reused
        self.assertEqual(p.value("datoms", "[%s {:index :aevt :components [:name]}]" % db2).count(
            "#datahike/Datom"), 2)
        self.assertEqual(p.value("release", "[%s]" % conn), "nil")
        r = p.invoke("transact", '[%s [{:name "Cy"}]]' % conn)
        self.assertIn("live connection id", r["ex-message"])
        p.value("release-db", "[%s]" % db2)
        self.assertEqual(p.value("delete-database", "[%s]" % self.cfg), "nil")
        self.assertEqual(p.value("database-exists?", "[%s]" % self.cfg), "false")

    def test_engine_errors_carry_code_and_position(self):
        p = self.pod
        p.value("create-database", "[%s]" % self.cfg)
        r = p.invoke("create-database", "[%s]" % self.cfg)
        self.assertEqual(r["status"], ["done", "error"])
        self.assertIn(":code :eexists", r["ex-data"])
        conn = p.value("connect", "[%s]" % self.cfg)
        r = p.invoke("transact", '[%s [{:age 3}]]' % conn)
        self.assertIn(":age", r["ex-message"])
        self.assertRegex(r["ex-data"], r":code :e(tx|schema)")
        r = p.invoke("transact", '[%s\n [{:name "x"]]' % conn)
        self.assertIn(":code :eparse", r["ex-data"])
        self.assertIn(":line 2", r["ex-data"])
        self.assertIn("line 2", r["ex-message"])
        r = p.invoke("connect", '[{:store {:backend :file :path %s}}]'
                     % edn_str(os.path.join(self.dir, "nothing")))
        self.assertIn(":code :enotfound", r["ex-data"])
        p.value("release", "[%s]" % conn)

    def test_bad_requests_get_error_replies(self):
        p = self.pod
        cases = [
            ({"op": "nope", "id": "a"}, 'unknown op "nope"'),
            ({"op": "invoke", "id": "b", "var": "datalith.pod/nope", "args": "[]"}, "unknown var"),
            ({"op": "invoke", "id": "c", "var": "other.ns/schema", "args": "[]"}, "unknown var"),
            ({"op": "invoke", "id": "d", "var": "datalith.pod/schema", "args": "[]"},
             "wrong number of args (0); expected 1"),
            ({"op": "invoke", "id": "e", "var": "datalith.pod/schema", "args": "{:a 1}"},
             "args must be an EDN vector"),
            ({"op": "invoke", "id": "f", "var": "datalith.pod/schema", "args": "[1 2"},
             "args:"),
            ({"op": "invoke", "id": "g", "var": "datalith.pod/schema", "args": '["conn:1"]'},
             "live db id"),
            ({"op": "invoke", "id": "h", "var": "datalith.pod/schema", "args": '["db:99999999999999999999"]'},
             "live db id"),
            ({"op": "invoke", "id": "i"}, 'missing "var"'),
            ({"id": "j"}, 'needs an "op"'),
        ]
        for msg, text in cases:
            r = p.request(msg)
            self.assertEqual(r.get("id"), msg["id"], msg)
            self.assertEqual(r["status"], ["done", "error"], msg)
            self.assertIn(text, r["ex-message"], msg)
            self.assertTrue(r["ex-data"].startswith("{:code :e"), r)
        r = p.request(b"li1ee")  # not a dictionary
        self.assertIn("must be a bencode dictionary", r["ex-message"])
        # The pod still works after all that.
        self.assertEqual(p.value("database-exists?", "[%s]" % self.cfg), "false")


class ListenTest(unittest.TestCase):
    """listen* / unlisten: the asynchronous var answers its invoke id once
    per commit (this pod's and another process's) with the report and ends
    with "done" on unlisten or release (babashka/pods README, "Async")."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="datalith-pod-listen-")
        self.cfg = '{:store {:backend :file :path %s}}' % edn_str(os.path.join(self.dir, "db"))
        self.pod = Pod()

    def tearDown(self):
        rc, _, err = self.pod.close()
        shutil.rmtree(self.dir)
        self.assertEqual(rc, 0, err)

    def until(self, want_ids):
        """Messages until every id in want_ids has had a "done" (or, for
        listener ids given as ("L", n), n value messages); returns them."""
        got = []
        pending = dict(want_ids)
        while pending:
            m = self.pod.recv()
            got.append(m)
            i = m.get("id")
            if i in pending:
                if "value" in m and pending[i] not in ("done",):
                    pending[i] -= 1
                    if pending[i] == 0:
                        del pending[i]
                elif m.get("status") and "done" in m["status"] and pending[i] == "done":
                    del pending[i]
        return got

    def test_listen_unlisten_release(self):
        p = self.pod
        cfg = self.cfg[:-1] + (' :initial-tx [{:db/ident :name :db/valueType :db.type/string '
                               ':db/cardinality :db.cardinality/one}]}')
        p.value("create-database", "[%s]" % cfg)
        conn = p.value("connect", "[%s]" % self.cfg)
        # no reply to listen* itself: only reports, later
        p.send({"op": "invoke", "id": "L1", "var": "datalith.pod/listen*",
                "args": "[%s :k1]" % conn})
        # another process commits (this pod has not written, so it may):
        # the report arrives without any request
        other = Pod()
        try:
            c2 = other.value("connect", "[%s]" % self.cfg)
            other.value("transact", '[%s [{:name "Bo"}]]' % c2)
            other.value("release", "[%s]" % c2)
        finally:
            self.assertEqual(other.close()[0], 0)
        msgs = self.until({"L1": 1})
        self.assertNotIn("status", msgs[-1])
        self.assertIn('#datahike/Datom [2 :name "Bo" 536870914 true]', msgs[-1]["value"])
        self.assertIn(":tempids {:db/current-tx 536870914}", msgs[-1]["value"])
        # this pod's transaction: the report carries its tempids
        p.send({"op": "invoke", "id": "t1", "var": "datalith.pod/transact",
                "args": '[%s [{:db/id "ada" :name "Ada"}]]' % conn})
        msgs = self.until({"t1": "done", "L1": 1})
        rep = [m for m in msgs if m.get("id") == "L1"][0]
        self.assertIn('#datahike/Datom [3 :name "Ada" 536870915 true]', rep["value"])
        self.assertIn('"ada" 3', rep["value"])
        # a second listener; a taken key and an unknown key are errors
        p.send({"op": "invoke", "id": "L2", "var": "datalith.pod/listen*",
                "args": "[%s :k2]" % conn})
        r = p.invoke("listen*", "[%s :k2]" % conn)
        self.assertIn(":code :eexists", r["ex-data"])
        r = p.invoke("unlisten", "[%s :nope]" % conn)
        self.assertIn(":code :enotfound", r["ex-data"])
        # unlisten ends L1's invoke, then answers
        p.send({"op": "invoke", "id": "u1", "var": "datalith.pod/unlisten",
                "args": "[%s :k1]" % conn})
        msgs = self.until({"L1": "done", "u1": "done"})
        self.assertEqual([m for m in msgs if m["id"] == "u1"][0]["value"], "nil")
        # later commits reach L2 only (L1 would have come first)
        p.send({"op": "invoke", "id": "t2", "var": "datalith.pod/transact",
                "args": '[%s [{:name "Cy"}]]' % conn})
        msgs = self.until({"t2": "done", "L2": 1})
        self.assertEqual([m for m in msgs if m.get("id") == "L1"], [])
        # releasing the connection ends L2
        p.send({"op": "invoke", "id": "r1", "var": "datalith.pod/release", "args": "[%s]" % conn})
        self.until({"L2": "done", "r1": "done"})

    def test_describe_has_listen(self):
        d = self.pod.request({"op": "describe"})
        vs = {v["name"]: v for v in d["namespaces"][0]["vars"]}
        self.assertIn("babashka.pods/invoke", vs["listen"]["code"])
        self.assertIn("'datalith.pod/listen*", vs["listen"]["code"])
        self.assertIn("listen*", vs)
        self.assertIn("unlisten", vs)


class MalformedTest(unittest.TestCase):
    def run_raw(self, data):
        p = subprocess.run([POD], input=data, capture_output=True, timeout=60)
        return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")

    def test_malformed_bencode_ends_the_pod_cleanly(self):
        cases = [b"x", b"d2:op", b"d2:op8:describe", b"i12", b"i-0e", b"i01e", b"ie",
                 b"99999999999999999999:", b"5:ab", b"d1:ae", b"di1e1:ae", b"l" * 100000,
                 b"-3:abc", b"i99999999999999999999e", b"d2:op8:describee\xff"]
        for data in cases:
            rc, out, err = self.run_raw(data)
            self.assertEqual(rc, 1, (data[:20], err))
            self.assertIn("malformed bencode at byte", err, data[:20])
        # A complete describe before the garbage is still answered.
        rc, out, err = self.run_raw(b"d2:op8:describee!")
        self.assertEqual(rc, 1)
        self.assertTrue(out.startswith(b"d"), out[:20])

    def test_eof_and_shutdown_exit_zero(self):
        self.assertEqual(self.run_raw(b"")[:2], (0, b""))
        self.assertEqual(self.run_raw(b"d2:op8:shutdowne")[:2], (0, b""))

    def test_random_garbage_never_crashes(self):
        import random
        rnd = random.Random(7)
        seeds = [benc({"op": "invoke", "id": "1", "var": "datalith.pod/schema", "args": '["db:1"]'}),
                 benc({"op": "describe"})]
        for i in range(150):
            b = bytearray(rnd.choice(seeds))
            for _ in range(rnd.randint(1, 4)):
                b[rnd.randrange(len(b))] = rnd.randrange(256)
            rc, _, err = self.run_raw(bytes(b))
            self.assertIn(rc, (0, 1), (bytes(b), err))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_pod.py PATH/TO/datalith-pod")
    POD = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1)
