"""End-to-end tests of datalith-server (docs/server.md): a real server process
on loopback with a temporary file store, driven over HTTP with the standard
library only.  No mocks.

    python3 tests/server/test_server.py path/to/datalith-server [-v]

Environment: DL_TEST_TMP (a directory for temporary files), DL_SERVER_SLOW=1
for the long variants (more transactions and kills).
"""
import http.client
import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from edn import Kw, Tagged, loads  # noqa: E402

SERVER = None  # set from argv
SLOW = os.environ.get("DL_SERVER_SLOW") == "1"
TOKEN = "s3cret-token"


def edn_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Server:
    """A datalith-server process; start() waits for its ready line."""

    def __init__(self, tmp, stores, extra=""):
        self.tmp = tmp
        self.stores = stores
        self.extra = extra
        self.proc = None
        self.port = None

    def config_text(self):
        stores = " ".join("{:backend :file :path %s}" % edn_str(p) for p in self.stores)
        return "{:port 0 :bind \"127.0.0.1\" :stores [%s] %s}" % (stores, self.extra)

    def start(self):
        path = os.path.join(self.tmp, "server-%d.edn" % random.randrange(1 << 30))
        with open(path, "w") as f:
            f.write(self.config_text())
        self.log = path[:-4] + ".log"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([SERVER, path], stdout=subprocess.PIPE, stderr=log)
        line = b""
        deadline = time.time() + 60
        while not line.endswith(b"\n"):
            r, _, _ = select.select([self.proc.stdout], [], [], max(0, deadline - time.time()))
            if not r:
                self.proc.kill()
                raise RuntimeError("server did not print its ready line")
            ch = os.read(self.proc.stdout.fileno(), 1)  # unbuffered: select stays true
            if not ch:
                self.proc.wait()
                raise RuntimeError("server exited before it was ready: " + self.stderr())
            line += ch
        text = line.decode().strip()
        assert text.startswith("datalith-server listening on 127.0.0.1:"), text
        self.port = int(text.rsplit(":", 1)[1])
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stdout.close()
            err = self.stderr()
            for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
                if bad in err:
                    raise AssertionError("sanitizer report from the server:\n" + err)
        return self.proc.returncode if self.proc else None

    def stderr(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def request(self, method, path, body="", ctype="application/edn", token=TOKEN,
                accept=None, headers=None, timeout=60):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {}
        if ctype:
            h["Content-Type"] = ctype
        if token is not None:
            h["Authorization"] = "token " + token
        if accept:
            h["Accept"] = accept
        h.update(headers or {})
        data = body.encode() if isinstance(body, str) else body
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        out = r.read().decode()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, out, hdrs

    def edn(self, path, body, method="POST", expect=200, **kw):
        status, text, _ = self.request(method, path, body, **kw)
        if status != expect:
            raise AssertionError("%s %s -> %d (wanted %d): %s" % (method, path, status,
                                                                  expect, text))
        return loads(text)

    def json(self, path, body, method="POST", expect=200):
        status, text, hdrs = self.request(method, path, json.dumps(body),
                                          ctype="application/json")
        if status != expect:
            raise AssertionError("%s %s -> %d: %s" % (method, path, status, text))
        assert hdrs["content-type"].startswith("application/json"), hdrs
        return json.loads(text)


def cfg_edn(path, extra=":schema-flexibility :read"):
    return "{:store {:backend :file :path %s} %s}" % (edn_str(path), extra)


def db_tag(path, commit_id=None):
    cid = ' :commit-id #uuid "%s"' % commit_id if commit_id else ""
    return "#datahike/DB {:config %s%s}" % (cfg_edn(path), cid)


def write_edn(v):
    """Our EDN values back to text (enough for tags returned by the server)."""
    if v is None:
        return "nil"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, Kw):
        return ":" + str.__str__(v)
    if isinstance(v, str):
        return edn_str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Tagged):
        return "#%s %s" % (v.tag, write_edn(v.value))
    if isinstance(v, dict):
        return "{" + " ".join(write_edn(k) + " " + write_edn(x) for k, x in v.items()) + "}"
    if isinstance(v, tuple):
        return "[" + " ".join(write_edn(x) for x in v) + "]"
    if isinstance(v, frozenset):
        return "#{" + " ".join(write_edn(x) for x in v) + "}"
    raise TypeError(v)


TMP = None


def setUpModule():
    global TMP
    base = os.environ.get("DL_TEST_TMP")
    if base:
        os.makedirs(base, exist_ok=True)
    TMP = tempfile.mkdtemp(prefix="dl-server-", dir=base)


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


class ProtocolTest(unittest.TestCase):
    """One server for the protocol checks."""

    @classmethod
    def setUpClass(cls):
        cls.db = os.path.join(TMP, "proto-db")
        cls.hist = os.path.join(TMP, "proto-hist")
        cls.srv = Server(TMP, [cls.db, cls.hist, os.path.join(TMP, "loaddb"),
                               os.path.join(TMP, "never-created")],
                         ':token "%s" :read-timeout-ms 2000 :max-body-bytes 65536 '
                         ':access-control-allow-origin ["https://app.example"]' % TOKEN).start()
        cls.cfg = cfg_edn(cls.db)
        cls.srv.edn("/create-database", "[%s]" % cls.cfg)
        cls.srv.edn("/transact", "[%s [{:db/ident :name :db/valueType :db.type/string"
                                 " :db/cardinality :db.cardinality/one"
                                 " :db/unique :db.unique/identity}"
                                 " {:db/ident :friend :db/valueType :db.type/ref"
                                 " :db/cardinality :db.cardinality/one}]]" % cls.cfg)
        cls.srv.edn("/transact", "[%s [{:db/id \"alice\" :name \"Alice\" :age 30}"
                                 " {:db/id \"bob\" :name \"Bob\" :age 40 :friend \"alice\"}]]"
                    % cls.cfg)

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        assert rc == 0, rc

    def eid(self, name):
        return self.srv.edn("/q", "[[:find ?e . :in $ ?n :where [?e :name ?n]] %s %s]"
                            % (db_tag(self.db), edn_str(name)))

    # -- lifecycle and transact --

    def test_create_database_and_exists(self):
        path = os.path.join(TMP, "proto-hist")
        cfg = cfg_edn(path)
        self.assertIs(self.srv.edn("/database-exists", "[%s]" % cfg), False)
        done = self.srv.edn("/create-database", "[%s]" % cfg)
        # the completed config: defaults filled in (datahike-semantics §2)
        self.assertEqual(done[Kw("keep-history?")], True)
        self.assertEqual(done[Kw("schema-flexibility")], Kw("read"))
        self.assertEqual(done[Kw("store")][Kw("path")], path)
        self.assertIs(self.srv.edn("/database-exists", "[%s]" % cfg), True)
        # creating it again is an engine error: 500 with the engine's message
        status, text, _ = self.srv.request("POST", "/create-database", "[%s]" % cfg)
        self.assertEqual(status, 500)
        err = loads(text)
        self.assertEqual(err[Kw("msg")], "Database already exists.")
        self.assertEqual(err[Kw("ex-data")][Kw("code")], Kw("EEXISTS"))
        self.assertIsNone(self.srv.edn("/delete-database", "[%s]" % cfg))
        self.assertIs(self.srv.edn("/database-exists", "[%s]" % cfg), False)

    def test_transact_report_shape(self):
        rep = self.srv.edn("/transact", "[%s [{:db/id \"c\" :name \"Carol\" :age 25}]]"
                           % self.cfg)
        self.assertEqual(set(rep), {Kw("db-before"), Kw("db-after"), Kw("tx-data"),
                                    Kw("tempids"), Kw("tx-meta")})
        before, after = rep[Kw("db-before")], rep[Kw("db-after")]
        self.assertEqual(before.tag, "datahike/DB")
        self.assertEqual(after.tag, "datahike/DB")
        self.assertEqual(after.value[Kw("max-tx")], before.value[Kw("max-tx")] + 1)
        self.assertNotEqual(after.value[Kw("commit-id")], before.value[Kw("commit-id")])
        self.assertEqual(after.value[Kw("config")][Kw("store")][Kw("path")], self.db)
        tx = after.value[Kw("max-tx")]
        carol = rep[Kw("tempids")]["c"]
        self.assertEqual(rep[Kw("tempids")][Kw("db/current-tx")], tx)
        datoms = {(d.value[0], d.value[1], d.value[2]) for d in rep[Kw("tx-data")]}
        for d in rep[Kw("tx-data")]:
            self.assertEqual(d.tag, "datahike/Datom")
            self.assertEqual(d.value[3], tx)
            self.assertIs(d.value[4], True)
        self.assertIn((carol, Kw("name"), "Carol"), datoms)
        self.assertIn((carol, Kw("age"), 25), datoms)
        self.assertIn(Kw("db/txInstant"), {d[1] for d in datoms})
        # the db-after tag names that exact commit in a later request
        n = self.srv.edn("/q", "[[:find ?a . :in $ ?e :where [?e :age ?a]] %s %d]"
                         % (write_edn(after), carol))
        self.assertEqual(n, 25)

    def test_load_entities(self):
        rep = self.srv.edn("/load-entities", "[%s [[900 :name \"Loaded\" 536870999 true]"
                                             " [900 :age 7 536870999 true]]]" % self.cfg)
        after = rep[Kw("db-after")]
        self.assertEqual(after.value[Kw("config")][Kw("store")][Kw("path")], self.db)
        # ids are remapped: the loaded entity has a fresh id, found by its name
        e = self.eid("Loaded")
        self.assertNotEqual(e, 900)
        self.assertEqual(self.srv.edn("/pull", "[%s [:age] %d]" % (write_edn(after), e)),
                         {Kw("age"): 7})
        status, _, _ = self.srv.request("GET", "/load-entities", "[%s []]" % self.cfg)
        self.assertEqual(status, 405)

    # -- reads, GET and POST, EDN and JSON --

    def test_q_get_and_post(self):
        body = "[[:find ?n ?a :where [?e :name ?n] [?e :age ?a] [(< ?a 35)]] %s]" % db_tag(self.db)
        for method in ("GET", "POST"):
            res = self.srv.edn("/q", body, method=method)
            self.assertIn(("Alice", 30), res)
            self.assertNotIn(("Bob", 40), res)

    def test_q_arg_map_form(self):
        res = self.srv.edn("/q", "[{:query [:find ?n :in $ ?min :where [?e :age ?a] "
                                 "[(>= ?a ?min)] [?e :name ?n]] :args [%s 35]}]"
                           % db_tag(self.db))
        self.assertEqual(res, frozenset({("Bob",)}))

    def test_json_in_and_out(self):
        cfg = {"store": {"backend": ["!kw", "file"], "path": self.db},
               "schema-flexibility": ["!kw", "read"]}
        db = self.srv.json("/db", [cfg])
        self.assertEqual(db[0], "!tag")
        self.assertEqual(db[1], "datahike/DB")
        self.assertIn("commit-id", db[2])
        q = ["!list", [["!kw", "find"], ["!sym", "?a"], ["!sym", "."],
                       ["!kw", "where"],
                       [["!sym", "?e"], ["!kw", "name"], "Alice"],
                       [["!sym", "?e"], ["!kw", "age"], ["!sym", "?a"]]]]
        self.assertEqual(self.srv.json("/q", [q[1], ["!datahike/DB", {"config": cfg}]]), 30)
        # the tag the server returned works as an argument as it is
        self.assertEqual(self.srv.json("/q", [q[1], db]), 30)
        pulled = self.srv.json("/pull", [db, [["!kw", "name"], ["!kw", "age"]],
                                         [["!kw", "name"], "Bob"]])
        self.assertEqual(pulled, {"name": "Bob", "age": 40})
        # Accept names the response format
        status, text, h = self.srv.request("POST", "/q",
                                           "[[:find ?a . :where [?e :name \"Bob\"] [?e :age ?a]] %s]"
                                           % db_tag(self.db), accept="application/json")
        self.assertEqual((status, json.loads(text)), (200, 40))
        self.assertTrue(h["content-type"].startswith("application/json"))

    def test_pull_pull_many_entity(self):
        alice, bob = self.eid("Alice"), self.eid("Bob")
        self.assertEqual(self.srv.edn("/pull", "[%s [:name :age] %d]" % (db_tag(self.db), alice)),
                         {Kw("name"): "Alice", Kw("age"): 30})
        self.assertEqual(self.srv.edn("/pull", "[%s [:name {:friend [:name]}] [:name \"Bob\"]]"
                                      % db_tag(self.db), method="GET"),
                         {Kw("name"): "Bob", Kw("friend"): {Kw("name"): "Alice"}})
        many = self.srv.edn("/pull-many", "[%s [:name] [%d %d]]" % (db_tag(self.db), bob, alice))
        self.assertEqual(many, ({Kw("name"): "Bob"}, {Kw("name"): "Alice"}))
        ent = self.srv.edn("/entity", "[%s %d]" % (db_tag(self.db), alice))
        self.assertEqual(ent[Kw("name")], "Alice")

    def test_datoms(self):
        alice = self.eid("Alice")
        res = self.srv.edn("/datoms", "[%s {:index :eavt :components [%d]}]"
                           % (db_tag(self.db), alice))
        got = sorted((d.value[1], d.value[2]) for d in res)
        self.assertEqual(got, [(Kw("age"), 30), (Kw("name"), "Alice")])
        # Datahike's positional form
        res2 = self.srv.edn("/datoms", "[%s :eavt %d :name]" % (db_tag(self.db), alice),
                            method="GET")
        self.assertEqual([(d.value[0], d.value[2]) for d in res2], [(alice, "Alice")])

    def test_schema_metrics(self):
        self.assertIsInstance(self.srv.edn("/schema", "[%s]" % db_tag(self.db)), dict)
        m = self.srv.edn("/metrics", "[%s]" % db_tag(self.db))
        self.assertIn(Kw("count"), m)

    def test_views_round_trip(self):
        path = os.path.join(TMP, "proto-views")
        # a store not listed is refused ...
        status, _, _ = self.srv.request("POST", "/create-database", "[%s]" % cfg_edn(path))
        self.assertEqual(status, 403)
        # ... so use the listed history store
        cfg = cfg_edn(self.hist)
        self.srv.request("POST", "/delete-database", "[%s]" % cfg)
        self.srv.edn("/create-database", "[%s]" % cfg)
        r1 = self.srv.edn("/transact", "[%s [{:db/id \"x\" :name \"X\" :v 1}]]" % cfg)
        x = r1[Kw("tempids")]["x"]
        t1 = r1[Kw("db-after")].value[Kw("max-tx")]
        self.srv.edn("/transact", "[%s [[:db/add %d :v 2]]]" % (cfg, x))
        now = self.srv.edn("/db", "[%s]" % cfg)
        self.assertEqual(now.tag, "datahike/DB")
        q = "[:find ?v . :in $ ?e :where [?e :v ?v]]"
        self.assertEqual(self.srv.edn("/q", "[%s %s %d]" % (q, write_edn(now), x)), 2)
        asof = self.srv.edn("/as-of", "[%s %d]" % (write_edn(now), t1))
        self.assertEqual(asof.tag, "datahike/AsOfDB")
        self.assertEqual(asof.value[Kw("time-point")], t1)
        self.assertEqual(self.srv.edn("/q", "[%s %s %d]" % (q, write_edn(asof), x)), 1)
        since = self.srv.edn("/since", "[%s %d]" % (write_edn(now), t1))
        self.assertEqual(since.tag, "datahike/SinceDB")
        self.assertEqual(self.srv.edn("/q", "[%s %s %d]" % (q, write_edn(since), x)), 2)
        hist = self.srv.edn("/history", "[%s]" % write_edn(now))
        self.assertEqual(hist.tag, "datahike/HistoricalDB")
        all_v = self.srv.edn("/q", "[[:find ?v ?added :in $ ?e :where [?e :v ?v _ ?added]] %s %d]"
                             % (write_edn(hist), x))
        self.assertEqual(all_v, frozenset({(1, True), (1, False), (2, True)}))
        # the pinned snapshot stays fixed while commits continue
        self.srv.edn("/transact", "[%s [[:db/add %d :v 3]]]" % (cfg, x))
        self.assertEqual(self.srv.edn("/q", "[%s %s %d]" % (q, write_edn(now), x)), 2)
        self.assertEqual(self.srv.edn("/q", "[%s %s %d]" % (q, db_tag(self.hist), x)), 3)

    # -- errors --

    def test_engine_error_500(self):
        status, text, _ = self.srv.request(
            "POST", "/q", "[[:find ?x :where [?x :name ?n] [(unknown-fn ?n)]] %s]" % db_tag(self.db))
        self.assertEqual(status, 500)
        err = loads(text)
        self.assertEqual(err[Kw("ex-data")][Kw("code")], Kw("EQUERY"))
        self.assertIn("unknown-fn", err[Kw("msg")])
        status, text, _ = self.srv.request("POST", "/transact",
                                           "[%s [[:db/add -1 :db/ident 5]]]" % self.cfg)
        self.assertEqual(status, 500)
        self.assertEqual(loads(text)[Kw("ex-data")][Kw("code")], Kw("ESCHEMA"))
        # a database that does not exist
        status, text, _ = self.srv.request("POST", "/db", "[%s]" % cfg_edn(
            os.path.join(TMP, "never-created")))
        self.assertEqual(status, 500)
        self.assertEqual(loads(text)[Kw("msg")], "Database does not exist.")

    def test_malformed_body_400(self):
        status, text, _ = self.srv.request("POST", "/q", "[[:find ?n\n :where [?e :name ?n]")
        self.assertEqual(status, 400)
        err = loads(text)
        self.assertEqual(err[Kw("ex-data")][Kw("code")], Kw("EPARSE"))
        self.assertEqual(err[Kw("ex-data")][Kw("line")], 2)
        self.assertIn("line 2", err[Kw("msg")])
        status, text, _ = self.srv.request("POST", "/q", '[1, 2', ctype="application/json")
        self.assertEqual(status, 400)
        self.assertIn("JSON", json.loads(text)["msg"])
        # nesting too deep for the reader: refused, the server unharmed
        status, text, _ = self.srv.request("POST", "/q", "[" * 60000)
        self.assertEqual(status, 400)
        self.assertEqual(loads(text)[Kw("ex-data")][Kw("code")], Kw("ELIMIT"))
        # well-formed but not an argument vector
        status, text, _ = self.srv.request("POST", "/db", "{:a 1}")
        self.assertEqual(status, 400)
        status, text, _ = self.srv.request("POST", "/pull", "[%s [:name]]" % db_tag(self.db))
        self.assertEqual(status, 400)
        self.assertIn("[db selector eid]", loads(text)[Kw("msg")])
        status, text, _ = self.srv.request("POST", "/pull", "[{:a 1} [:name] 1]")
        self.assertEqual(status, 400)

    def test_oversized_413(self):
        big = "[" + " ".join(["1234567890"] * 10000) + "]"  # > 65536 bytes
        status, text, _ = self.srv.request("POST", "/q", big)
        self.assertEqual(status, 413)
        self.assertIn("max-body-bytes", loads(text)[Kw("msg")])
        # chunked (no Content-Length): refused while reading, not buffered
        c = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=60)
        c.putrequest("POST", "/q")
        c.putheader("Authorization", "token " + TOKEN)
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        try:
            for _ in range(20):
                chunk = b"[" + b"1 " * 4000
                c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            c.send(b"0\r\n\r\n")
            r = c.getresponse()
            self.assertEqual(r.status, 413)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed while we were still sending: also refused
        c.close()
        # the server is fine afterwards
        self.assertEqual(self.eid("Alice") > 0, True)

    def test_auth_401(self):
        for token in (None, "wrong", TOKEN + "x", TOKEN[:-1]):
            status, text, _ = self.srv.request("POST", "/db", "[%s]" % self.cfg, token=token)
            self.assertEqual(status, 401, token)
            self.assertEqual(loads(text), {Kw("msg"): "Not authorized"})
        status, _, _ = self.srv.request("POST", "/db", "[%s]" % self.cfg,
                                        headers={"Authorization": "Bearer " + TOKEN}, token=None)
        self.assertEqual(status, 401)

    def test_forbidden_store_403(self):
        other = cfg_edn(os.path.join(TMP, "not-listed"))
        for path, body in (("/create-database", "[%s]" % other),
                           ("/transact", "[%s []]" % other),
                           ("/q", "[[:find ?e :where [?e :name]] %s]" % (
                               "#datahike/DB {:config %s}" % other))):
            status, text, _ = self.srv.request("POST", path, body)
            self.assertEqual(status, 403, path)
        self.assertFalse(os.path.exists(os.path.join(TMP, "not-listed")))
        # the same store written differently is the same store
        same = cfg_edn(self.db.replace("/proto-db", "/./x/../proto-db"))
        self.assertEqual(self.srv.edn("/db", "[%s]" % same).tag, "datahike/DB")

    def test_unknown_route_404_and_method_405(self):
        status, _, _ = self.srv.request("POST", "/no-such-op", "[]")
        self.assertEqual(status, 404)
        status, _, h = self.srv.request("GET", "/transact", "[%s []]" % self.cfg)
        self.assertEqual(status, 405)
        self.assertIn("POST", h["allow"])
        status, _, _ = self.srv.request("PUT", "/q", "[]")
        self.assertEqual(status, 405)
        status, _, _ = self.srv.request("DELETE", "/db", "[]")
        self.assertEqual(status, 405)

    def test_cors(self):
        status, _, h = self.srv.request("OPTIONS", "/q", "", token=None, ctype=None, headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        self.assertEqual(status, 204)
        self.assertEqual(h["access-control-allow-origin"], "https://app.example")
        self.assertIn("POST", h["access-control-allow-methods"])
        self.assertIn("Authorization", h["access-control-allow-headers"])
        status, _, h = self.srv.request("OPTIONS", "/q", "", token=None, ctype=None,
                                        headers={"Origin": "https://evil.example"})
        self.assertNotIn("access-control-allow-origin", h)
        status, _, h = self.srv.request("POST", "/db", "[%s]" % self.cfg,
                                        headers={"Origin": "https://app.example"})
        self.assertEqual(status, 200)
        self.assertEqual(h["access-control-allow-origin"], "https://app.example")
        status, _, h = self.srv.request("POST", "/db", "[%s]" % self.cfg,
                                        headers={"Origin": "https://evil.example"})
        self.assertEqual(status, 200)
        self.assertNotIn("access-control-allow-origin", h)

    # -- slow clients --

    def test_slow_clients_dropped_others_served(self):
        body = "[%s]" % self.cfg
        req = ("POST /db HTTP/1.1\r\nHost: x\r\nAuthorization: token %s\r\n"
               "Content-Length: %d\r\n\r\n%s" % (TOKEN, len(body), body)).encode()
        n = 16
        dropped = [threading.Event() for _ in range(n)]
        sent = [0] * n

        def trickle(k):
            s = socket.create_connection(("127.0.0.1", self.srv.port))
            try:
                for i in range(len(req)):
                    s.send(req[i:i + 1])
                    sent[k] = i + 1
                    r, _, _ = select.select([s], [], [], 1.0)  # one byte a second
                    if r and s.recv(4096) == b"":
                        dropped[k].set()
                        return
            except OSError:
                dropped[k].set()
            finally:
                s.close()

        ts = [threading.Thread(target=trickle, args=(k,)) for k in range(n)]
        for t in ts:
            t.start()
        served = 0
        while any(t.is_alive() for t in ts) and served < 100000:
            self.assertEqual(self.srv.edn("/db", "[%s]" % self.cfg).tag, "datahike/DB")
            served += 1
        for t in ts:
            t.join()
        for k in range(n):
            self.assertTrue(dropped[k].is_set(), "slow client %d was not dropped" % k)
            self.assertLess(sent[k], len(req), "slow client %d sent its whole request" % k)
        self.assertGreater(served, 0)

    # -- await-commit --

    def test_await_commit(self):
        head = self.srv.edn("/await-commit", "[%s nil 0]" % self.cfg)  # nil: at once
        cid = head[Kw("commit-id")]
        self.assertEqual(cid.tag, "uuid")
        # nothing happens: answered after the timeout with the same head
        same = self.srv.edn("/await-commit", '[%s #uuid "%s" 300]' % (self.cfg, cid.value))
        self.assertEqual(same[Kw("commit-id")], cid)
        # a commit wakes a waiter long before its timeout
        res = {}

        def wait():
            res["v"] = self.srv.edn("/await-commit", '[%s #uuid "%s" 600000]'
                                    % (self.cfg, cid.value))
            res["t"] = time.time()

        t = threading.Thread(target=wait)
        t.start()
        time.sleep(0.3)
        # other requests proceed while it waits
        self.assertEqual(self.eid("Alice") > 0, True)
        rep = self.srv.edn("/transact", "[%s [{:name \"Waker\"}]]" % self.cfg)
        t.join(120)
        self.assertFalse(t.is_alive(), "await-commit did not return")
        new = rep[Kw("db-after")].value
        # the waiter saw this commit or a later one, never the old head
        self.assertNotEqual(res["v"][Kw("commit-id")], cid)
        self.assertGreaterEqual(res["v"][Kw("max-tx")], new[Kw("max-tx")] if
                                res["v"][Kw("commit-id")] != new[Kw("commit-id")] else 0)
        status, _, _ = self.srv.request("POST", "/await-commit", "[%s 12 100]" % self.cfg)
        self.assertEqual(status, 400)

    # -- concurrency --

    def test_concurrent_transactions(self):
        path = os.path.join(TMP, "loaddb")
        cfg = cfg_edn(path)
        self.srv.edn("/create-database", "[%s]" % cfg)
        threads, per = 8, (200 if SLOW else 50)
        errors = []

        def worker(w):
            try:
                for j in range(per):
                    rep = self.srv.edn("/transact", "[%s [{:worker %d :seq %d}]]" % (cfg, w, j))
                    assert rep[Kw("db-after")].tag == "datahike/DB"
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])
        tag = "#datahike/DB {:config %s}" % cfg
        n = self.srv.edn("/q", "[[:find (count ?e) . :where [?e :worker]] %s]" % tag)
        self.assertEqual(n, threads * per)
        pairs = self.srv.edn("/q", "[[:find ?w ?s :where [?e :worker ?w] [?e :seq ?s]] %s]" % tag)
        self.assertEqual(pairs, frozenset((w, j) for w in range(threads) for j in range(per)))
        txs = self.srv.edn("/q", "[[:find (count-distinct ?tx) . :where [?e :worker _ ?tx]] %s]"
                           % tag)
        self.assertEqual(txs, threads * per)


class LifecycleTest(unittest.TestCase):
    """Config errors, dev-mode, SIGKILL and SIGTERM: servers of their own."""

    def run_config(self, text):
        path = os.path.join(TMP, "bad-%d.edn" % random.randrange(1 << 30))
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([SERVER, path], capture_output=True, timeout=60)
        return p.returncode, p.stderr.decode()

    def test_bad_configs(self):
        rc, err = self.run_config('{:port 0 :token "t" :stores [] :prot 1}')
        self.assertNotEqual(rc, 0)
        self.assertIn(":prot", err)
        self.assertIn("unknown key", err)
        rc, err = self.run_config('{:port "4444" :token "t" :stores []}')
        self.assertNotEqual(rc, 0)
        self.assertIn(":port", err)
        rc, err = self.run_config('{:port 0 :stores []}')
        self.assertNotEqual(rc, 0)
        self.assertIn(":token", err)
        rc, err = self.run_config('{:port 0 :token "t" :stores [{:path "/x"}]}')
        self.assertNotEqual(rc, 0)
        self.assertIn(":backend", err)
        rc, err = self.run_config('{:port 0 :token "t" :stores [] :dev-mode "yes"}')
        self.assertNotEqual(rc, 0)
        self.assertIn(":dev-mode", err)
        rc, err = self.run_config('{:port 0 :token "t" :stores [] :head-wait 1}')
        self.assertNotEqual(rc, 0)
        self.assertIn(":head-wait must be true or false", err)
        rc, err = self.run_config('{:port 0 :token "t" :stores [')
        self.assertNotEqual(rc, 0)
        self.assertIn("line 1", err)
        p = subprocess.run([SERVER, os.path.join(TMP, "missing.edn")], capture_output=True)
        self.assertNotEqual(p.returncode, 0)

    def test_dev_mode_needs_no_token(self):
        path = os.path.join(TMP, "dev-db")
        srv = Server(TMP, [path], ":dev-mode true").start()
        try:
            srv.edn("/create-database", "[%s]" % cfg_edn(path), token=None)
            self.assertEqual(srv.edn("/db", "[%s]" % cfg_edn(path), token=None).tag,
                             "datahike/DB")
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_sigkill_keeps_acknowledged(self):
        path = os.path.join(TMP, "kill-db")
        extra = ':token "%s"' % TOKEN
        srv = Server(TMP, [path], extra).start()
        srv.edn("/create-database", "[%s]" % cfg_edn(path))
        first = srv.edn("/transact", "[%s [{:n 0}]]" % cfg_edn(path))[Kw("db-after")]
        acked, seq = [0], 0
        rounds = 10 if SLOW else 3
        for rnd in range(rounds):
            stop = threading.Event()
            lock = threading.Lock()

            def stream():
                nonlocal seq
                while not stop.is_set():
                    with lock:
                        seq += 1
                        n = seq
                    try:
                        srv.edn("/transact", "[%s [{:n %d}]]" % (cfg_edn(path), n), timeout=30)
                    except Exception:  # noqa: BLE001  the server died mid-request
                        return
                    acked.append(n)

            ts = [threading.Thread(target=stream) for _ in range(3)]
            for t in ts:
                t.start()
            # kill once some transactions were acknowledged, at a random moment
            start = len(acked)
            while len(acked) < start + 20:
                time.sleep(0.01)
            time.sleep(random.random() * 0.2)
            srv.proc.kill()
            srv.proc.wait()
            stop.set()
            for t in ts:
                t.join()
            srv.stop()
            srv = Server(TMP, [path], extra).start()
        try:
            got = srv.edn("/q", "[[:find [?n ...] :where [_ :n ?n]] #datahike/DB {:config %s}]"
                          % cfg_edn(path))
            missing = set(acked) - set(got)
            self.assertEqual(missing, set(), "acknowledged transactions lost")
            self.assertEqual(len(got), len(set(got)), "duplicated transactions")
            self.assertGreater(len(acked), 20 * rounds - 1)
            # a snapshot pinned before the kills, opened by walking the branch
            # back from its head (the restarted server has none cached)
            self.assertEqual(srv.edn("/q", "[[:find [?n ...] :where [_ :n ?n]] %s]"
                                     % write_edn(first)), (0,))
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_second_server_cannot_write(self):
        path = os.path.join(TMP, "two-db")
        a = Server(TMP, [path], ':token "%s"' % TOKEN).start()
        b = Server(TMP, [path], ':token "%s"' % TOKEN).start()
        try:
            a.edn("/create-database", "[%s]" % cfg_edn(path))
            a.edn("/transact", "[%s [{:n 1}]]" % cfg_edn(path))
            status, text, _ = b.request("POST", "/transact", "[%s [{:n 2}]]" % cfg_edn(path))
            self.assertEqual(status, 500)
            self.assertEqual(loads(text)[Kw("ex-data")][Kw("code")], Kw("ELOCKED"))
            # the second one still reads the shared store, and sees a's commits;
            # its /await-commit notices them by re-reading the head
            head = b.edn("/await-commit", "[%s nil 0]" % cfg_edn(path))
            res = {}

            def wait():
                res["v"] = b.edn("/await-commit", '[%s #uuid "%s" 600000]'
                                 % (cfg_edn(path), head[Kw("commit-id")].value))

            t = threading.Thread(target=wait)
            t.start()
            time.sleep(0.3)
            rep = a.edn("/transact", "[%s [{:n 3}]]" % cfg_edn(path))
            t.join(120)
            self.assertFalse(t.is_alive())
            self.assertEqual(res["v"][Kw("commit-id")], rep[Kw("db-after")].value[Kw("commit-id")])
            got = b.edn("/q", "[[:find [?n ...] :where [_ :n ?n]] #datahike/DB {:config %s}]"
                        % cfg_edn(path))
            self.assertEqual(sorted(got), [1, 3])
        finally:
            self.assertEqual(a.stop(), 0)
            self.assertEqual(b.stop(), 0)

    def await_other_writer(self, waiter, writer, path, rounds):
        """Latencies (s) of waiter's /await-commit answer after another
        process's commit (writer, not through `waiter`): (from the start of
        the writer's /transact, relative to its answer); checks each answer."""
        lat = []
        for i in range(rounds):
            head = waiter.edn("/await-commit", "[%s nil 0]" % cfg_edn(path))
            res = {}

            def wait():
                res["v"] = waiter.edn("/await-commit", '[%s #uuid "%s" 600000]'
                                      % (cfg_edn(path), head[Kw("commit-id")].value))
                res["t"] = time.monotonic()

            t = threading.Thread(target=wait)
            t.start()
            time.sleep(0.2 + random.random() * 0.25)  # any phase of a 250 ms poll
            start = time.monotonic()
            rep = writer.edn("/transact", "[%s [{:n %d}]]" % (cfg_edn(path), 100 + i))
            done = time.monotonic()
            t.join(120)
            self.assertFalse(t.is_alive(), "await-commit did not return")
            self.assertEqual(res["v"][Kw("commit-id")],
                             rep[Kw("db-after")].value[Kw("commit-id")])
            lat.append((res["t"] - start, res["t"] - done))
        return lat

    def test_await_commit_wakes_on_other_writer(self):
        # the commits are made by another process (server a, the store's
        # writer), not through the server waiting (b: head_wait, c: polling)
        path = os.path.join(TMP, "hw-db")
        a = Server(TMP, [path], ':token "%s"' % TOKEN).start()
        b = Server(TMP, [path], ':token "%s"' % TOKEN).start()
        c = Server(TMP, [path], ':token "%s" :head-wait false :poll-ms 250' % TOKEN).start()
        try:
            a.edn("/create-database", "[%s]" % cfg_edn(path))
            a.edn("/transact", "[%s [{:n 1}]]" % cfg_edn(path))
            hw = self.await_other_writer(b, a, path, 12)
            poll = self.await_other_writer(c, a, path, 12)
            # measured, not asserted (no timing thresholds in tests)
            if os.environ.get("DL_SERVER_LATENCY"):
                for name, xs in (("head_wait", hw), ("poll 250 ms", poll)):
                    since = sorted(x[0] for x in xs)
                    rel = sorted(x[1] for x in xs)
                    sys.stderr.write("await-commit wake, %s (%d commits): after the writer's "
                                     "request began median %.1f ms max %.1f ms; relative to "
                                     "its answer median %+.1f ms max %+.1f ms\n"
                                     % (name, len(xs), 1000 * since[len(xs) // 2],
                                        1000 * since[-1], 1000 * rel[len(xs) // 2],
                                        1000 * rel[-1]))
        finally:
            self.assertEqual(a.stop(), 0)
            self.assertEqual(b.stop(), 0)
            self.assertEqual(c.stop(), 0)

    def test_await_commit_reports(self):
        path = os.path.join(TMP, "reports-db")
        cfg = cfg_edn(path)
        srv = Server(TMP, [path], ':token "%s"' % TOKEN).start()
        try:
            srv.edn("/create-database", "[%s]" % cfg)
            head = srv.edn("/await-commit", "[%s nil 0]" % cfg)
            known = head[Kw("commit-id")].value
            r1 = srv.edn("/transact", '[%s [{:db/id "a" :n 1 :s "x"} {:n 2}]]' % cfg)
            eid = r1[Kw("tempids")]["a"]
            r2 = srv.edn("/transact", "[%s [[:db/retract %d :s \"x\"] [:db/add %d :n 5]]]"
                         % (cfg, eid, eid))
            got = srv.edn("/await-commit", '[%s #uuid "%s" 0 true]' % (cfg, known))
            self.assertEqual(got[Kw("commit-id")], r2[Kw("db-after")].value[Kw("commit-id")])
            reps = got[Kw("reports")]
            self.assertEqual(len(reps), 2)
            self.assertNotIn(Kw("more"), got)
            for rep, want in zip(reps, (r1, r2)):  # oldest first, /transact's shape
                for k in ("db-before", "db-after"):
                    self.assertEqual(rep[Kw(k)].tag, "datahike/DB")
                    self.assertEqual(rep[Kw(k)].value, want[Kw(k)].value)
                key = lambda d: write_edn(d)
                self.assertEqual(sorted(map(key, rep[Kw("tx-data")])),
                                 sorted(map(key, want[Kw("tx-data")])))
                tx = want[Kw("db-after")].value[Kw("max-tx")]
                self.assertEqual(rep[Kw("tempids")], {Kw("db/current-tx"): tx})
                self.assertIn(Kw("db/txInstant"), rep[Kw("tx-meta")])
            # the retraction is in the second report, with added? false
            retracts = [d.value for d in reps[1][Kw("tx-data")] if d.value[4] is False]
            self.assertEqual(len(retracts), 2)  # :s "x" and the old :n 1
            # from the middle: only the newer one; from the head or nil: none
            mid = r1[Kw("db-after")].value[Kw("commit-id")].value
            got = srv.edn("/await-commit", '[%s #uuid "%s" 0 true]' % (cfg, mid))
            self.assertEqual([r[Kw("db-after")].value for r in got[Kw("reports")]],
                             [r2[Kw("db-after")].value])
            last = r2[Kw("db-after")].value[Kw("commit-id")].value
            got = srv.edn("/await-commit", '[%s #uuid "%s" 0 true]' % (cfg, last))
            self.assertEqual(got[Kw("reports")], ())
            got = srv.edn("/await-commit", "[%s nil 0 true]" % cfg)
            self.assertEqual(got[Kw("reports")], ())
            # without the flag the answer is as before
            got = srv.edn("/await-commit", '[%s #uuid "%s" 0]' % (cfg, known))
            self.assertNotIn(Kw("reports"), got)
            status, text, _ = srv.request("POST", "/await-commit",
                                          '[%s #uuid "%s" 0 7]' % (cfg, known))
            self.assertEqual(status, 400, text)
            # more commits than one answer holds: :more, and going on from the
            # last report's :db-after reaches the head with each commit once
            for k in range(300):
                srv.edn("/transact", "[%s [{:n %d}]]" % (cfg, 1000 + k))
            seen, frm, rounds = [], last, 0
            while True:
                got = srv.edn("/await-commit", '[%s #uuid "%s" 0 true]' % (cfg, frm))
                rounds += 1
                seen += [d.value[2] for r in got[Kw("reports")] for d in r[Kw("tx-data")]
                         if d.value[1] == Kw("n")]
                if Kw("more") not in got:
                    break
                frm = got[Kw("reports")][-1][Kw("db-after")].value[Kw("commit-id")].value
            self.assertEqual(seen, list(range(1000, 1300)))
            self.assertEqual(rounds, 2)
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_sigterm_finishes_in_flight(self):
        path = os.path.join(TMP, "term-db")
        srv = Server(TMP, [path], ':token "%s"' % TOKEN).start()
        srv.edn("/create-database", "[%s]" % cfg_edn(path))
        head = srv.edn("/await-commit", "[%s nil 0]" % cfg_edn(path))
        res = {}

        def wait():
            res["v"] = srv.request("POST", "/await-commit", '[%s #uuid "%s" 600000]'
                                   % (cfg_edn(path), head[Kw("commit-id")].value))

        t = threading.Thread(target=wait)
        t.start()
        time.sleep(0.5)
        self.assertEqual(srv.stop(signal.SIGTERM), 0)
        t.join(60)
        self.assertFalse(t.is_alive())
        # the waiting request was answered before the server exited
        self.assertEqual(res["v"][0], 200)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_server.py path/to/datalith-server [unittest args]")
    SERVER = os.path.abspath(sys.argv.pop(1))
    unittest.main()
