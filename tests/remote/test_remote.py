"""End-to-end tests of the remote client (core/remote, docs/remote.md): a real
datalith-server process on loopback with a temporary file store, and client
processes (remote_client.c, public C API only) that write through the server
with `:writer {:backend :datahike-server …}` and read the shared store
locally, or forward everything with `:remote-peer`.  No mocks.

    python3 tests/remote/test_remote.py path/to/datalith-server path/to/remote_client [-v]

Environment: DL_TEST_TMP (a directory for temporary files).
"""
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SERVER = None
CLIENT = None
TOKEN = "remote-test-token"

SCHEMA = ('[{:db/ident :name :db/valueType :db.type/string :db/cardinality :db.cardinality/one '
          ':db/unique :db.unique/identity} '
          '{:db/ident :age :db/valueType :db.type/long :db/cardinality :db.cardinality/one '
          ':db/index true} '
          '{:db/ident :friend :db/valueType :db.type/ref :db/cardinality :db.cardinality/one} '
          '{:db/ident :tag :db/valueType :db.type/string :db/cardinality :db.cardinality/one} '
          '{:db/ident :i :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]')


def edn_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Server:
    """A datalith-server process serving one file store; start() waits for
    its ready line."""

    def __init__(self, tmp, store):
        self.tmp, self.store, self.proc, self.port = tmp, store, None, None

    def start(self, port=0):
        """port: 0 for any free one, or the port of a previous start."""
        path = os.path.join(self.tmp, "server-%d.edn" % random.randrange(1 << 30))
        with open(path, "w") as f:
            f.write('{:port %d :bind "127.0.0.1" :token %s :stores [{:backend :file :path %s}]}'
                    % (port, edn_str(TOKEN), edn_str(self.store)))
        self.proc = subprocess.Popen([SERVER, path], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        line = b""
        deadline = time.time() + 60
        while not line.endswith(b"\n"):
            r, _, _ = select.select([self.proc.stdout], [], [], max(0, deadline - time.time()))
            if not r:
                self.proc.kill()
                raise RuntimeError("server did not print its ready line")
            ch = os.read(self.proc.stdout.fileno(), 1)
            if not ch:
                raise RuntimeError("server exited: " + self.proc.stderr.read().decode())
            line += ch
        text = line.decode().strip()
        assert text.startswith("datalith-server listening on 127.0.0.1:"), text
        self.port = int(text.rsplit(":", 1)[1])
        return self

    def url(self):
        return "http://127.0.0.1:%d" % self.port

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
            self.proc.stderr.close()


class Listener:
    """A `remote_client listen CFG` process; its output lines arrive in a
    queue read by a thread (so a test waits for a line with a timeout)."""

    def __init__(self, cfg, *extra):
        import queue
        self.lines = queue.Queue()
        self.proc = subprocess.Popen([CLIENT, "listen", cfg] if not extra else
                                     [CLIENT, "listen-self", cfg] + list(extra),
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.decode().rstrip("\n"))
        self.lines.put(None)

    def next(self, timeout=60):
        import queue
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no line from the listener within %d s" % timeout)
        if line is None:
            raise AssertionError("listener exited: " + self.proc.stderr.read().decode())
        return line

    def send(self, cmd):
        self.proc.stdin.write((cmd + "\n").encode())
        self.proc.stdin.flush()

    def quit(self):
        self.send("quit")
        self.proc.stdin.close()
        self.proc.wait(60)
        err = self.proc.stderr.read().decode()
        self.proc.stdout.close()
        self.proc.stderr.close()
        for bad in ("AddressSanitizer", "LeakSanitizer", "ThreadSanitizer", "runtime error:"):
            if bad in err:
                raise AssertionError("sanitizer report from the listener:\n" + err)
        return self.proc.returncode


DATOM = re.compile(r"#datahike/Datom \[[^\]]*\]")


def after_id(report):
    return re.search(r':db-after #datahike/DB \{[^}]*:commit-id #uuid "([0-9a-f-]+)"',
                     report).group(1)


def client(*args, check=True):
    p = subprocess.run([CLIENT] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError("remote_client %s failed (%d):\n%s%s"
                             % (args[0], p.returncode, p.stdout.decode(), p.stderr.decode()))
    return p.stdout.decode()


class RemoteTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("DL_TEST_TMP") or None
        if base:
            os.makedirs(base, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="dl_remote_", dir=base)
        self.store = os.path.join(self.tmp, "db")
        self.server = Server(self.tmp, self.store).start()

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def local_cfg(self, extra=""):
        return "{:store {:backend :file :path %s} %s}" % (edn_str(self.store), extra)

    def writer_cfg(self, token=TOKEN, extra=""):
        return self.local_cfg(":writer {:backend :datahike-server :url %s :token %s} %s"
                              % (edn_str(self.server.url()), edn_str(token), extra))

    def peer_cfg(self):
        return self.local_cfg(":remote-peer {:backend :datahike-server :url %s :token %s}"
                              % (edn_str(self.server.url()), edn_str(TOKEN)))

    def create(self):
        out = client("create", self.writer_cfg(extra=":initial-tx " + SCHEMA))
        self.assertIn(":store", out)

    def test_writer_creates_transacts_and_reads_locally(self):
        self.assertFalse(os.path.exists(self.store))
        self.create()
        # the server created the database in the shared store
        self.assertTrue(os.path.isdir(self.store))
        self.assertEqual(client("tx", self.writer_cfg(), "A", "20").strip(), "ok 20")
        # a plain local reader (no server involved) sees every transaction
        self.assertEqual(client("count", self.local_cfg(), "A").split(), ["20", "20"])
        # the report has the local shape: no :config inside the snapshots
        rep = client("transact", self.writer_cfg(), '[{:tag "R" :i 1}]')
        self.assertRegex(rep, r":db-after #datahike/DB \{:commit-id #uuid \"[0-9a-f-]+\" "
                              r":max-eid \d+ :max-tx \d+\}")
        self.assertNotIn(":config", rep)
        # creating it again: the server's engine error, unchanged
        self.assertEqual(client("expect-error", self.writer_cfg(), "create").strip(),
                         "DATALITH_EEXISTS Database already exists.")
        # delete goes through the server; exists? is answered locally
        self.assertEqual(client("exists", self.writer_cfg()).strip(), "true")
        client("delete", self.writer_cfg())
        self.assertEqual(client("exists", self.writer_cfg()).strip(), "false")
        self.assertEqual(client("exists", self.local_cfg()).strip(), "false")

    def test_concurrent_clients_lose_nothing(self):
        self.create()
        n = 40
        procs = [subprocess.Popen([CLIENT, "tx", self.writer_cfg(), tag, str(n)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for tag in ("B", "C", "D")]
        for p in procs:
            out, err = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, err.decode())
            self.assertEqual(out.decode().strip(), "ok %d" % n)
        for tag in ("B", "C", "D"):
            # n entities, n distinct :i values: none lost, none duplicated
            self.assertEqual(client("count", self.local_cfg(), tag).split(),
                             [str(n), str(n)])

    def test_server_killed_clear_error_and_local_reads(self):
        self.create()
        p = subprocess.Popen([CLIENT, "outage", self.writer_cfg()], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.stdout.readline().decode().strip(), "ready")
        url = self.server.url()
        self.server.stop(signal.SIGKILL)
        out, err = p.communicate(b"go\n", timeout=120)
        self.assertEqual(p.returncode, 0, err.decode())
        lines = out.decode().splitlines()
        self.assertEqual(lines[0], "error DATALITH_EIO writer server %s: unreachable: "
                                   "Connection refused" % url)
        self.assertEqual(lines[1], "local 1")

    def test_wrong_token_and_engine_errors(self):
        self.create()
        out = client("expect-error", self.writer_cfg(token="wrong"), "create")
        self.assertTrue(out.startswith("DATALITH_EINVAL writer server %s refused the token"
                                       % self.server.url()), out)
        # a transaction the engine rejects: same code and message as locally
        bad = '[{:name "x" :undeclared 1}]'
        remote = client("expect-error", self.writer_cfg(), bad)
        other = os.path.join(self.tmp, "other")
        local_cfg = "{:store {:backend :file :path %s}}" % edn_str(other)
        client("create", "{:store {:backend :file :path %s} :initial-tx %s}"
               % (edn_str(other), SCHEMA))
        local = client("expect-error", local_cfg, bad)
        self.assertEqual(remote, local)
        self.assertTrue(remote.startswith("DATALITH_E"), remote)

    def check_report(self, got, want):
        """A listener's report against the /transact report of the same
        commit: same :db-before / :db-after, same datoms."""
        self.assertTrue(got.startswith("report {"), got)
        for k in ("db-before", "db-after"):
            pat = r":%s (#datahike/DB \{[^}]*\})" % k
            self.assertEqual(re.search(pat, got).group(1), re.search(pat, want).group(1))
        self.assertEqual(sorted(DATOM.findall(got)), sorted(DATOM.findall(want)))
        self.assertNotIn(":config", got)

    def test_remote_peer_listen(self):
        self.create()
        lis = Listener(self.peer_cfg())
        try:
            self.assertEqual(lis.next(), "ready")
            # commits made through the server by other clients, in order
            reps = [client("transact", self.peer_cfg() if k % 2 else self.writer_cfg(),
                           '[{:tag "L" :i %d}]' % k) for k in range(1, 6)]
            for want in reps:
                self.check_report(lis.next(), want)
            # a retraction arrives with added? false
            eid = re.search(r"#datahike/Datom \[(\d+) :tag", reps[0]).group(1)
            rep = client("transact", self.peer_cfg(), "[[:db/retract %s :i 1]]" % eid)
            got = lis.next()
            self.check_report(got, rep)
            self.assertRegex(got, r"#datahike/Datom \[%s :i 1 \d+ false\]" % eid)
            # unlisten stops it: the commit made now reaches nobody, and a new
            # listener's first report is the commit after it
            lis.send("unlisten")
            self.assertEqual(lis.next(), "unlistened")
            missed = client("transact", self.peer_cfg(), '[{:tag "M" :i 1}]')
            lis.send("listen")
            self.assertEqual(lis.next(), "ready")
            seen = client("transact", self.peer_cfg(), '[{:tag "M" :i 2}]')
            got = lis.next()
            self.assertNotEqual(after_id(got), after_id(missed))
            self.check_report(got, seen)
            # release stops it too (promptly: the long-poll is abandoned)
            lis.send("release")
            self.assertEqual(lis.next(), "released")
            client("transact", self.peer_cfg(), '[{:tag "M" :i 3}]')
        finally:
            self.assertEqual(lis.quit(), 0)

    def test_remote_peer_listen_server_restart(self):
        self.create()
        lis = Listener(self.peer_cfg())
        try:
            self.assertEqual(lis.next(), "ready")
            first = client("transact", self.peer_cfg(), '[{:tag "R" :i 1}]')
            self.check_report(lis.next(), first)
            port = self.server.port
            self.server.stop(signal.SIGKILL)
            line = lis.next()
            self.assertTrue(line.startswith("error DATALITH_EIO writer server %s"
                                            % self.server.url()), line)
            # a commit made while the server is away (directly on the store);
            # the watcher retries meanwhile (the error is reported once)
            down = client("transact", self.local_cfg(), '[{:tag "R" :i 2}]')
            time.sleep(1)
            self.server.start(port)
            up = client("transact", self.peer_cfg(), '[{:tag "R" :i 3}]')
            # delivery resumes from the last report: nothing lost, in order
            self.check_report(lis.next(), down)
            self.check_report(lis.next(), up)
        finally:
            self.assertEqual(lis.quit(), 0)

    def test_remote_peer_listen_callback_stops_itself(self):
        self.create()
        for mode in ("unlisten", "release"):
            lis = Listener(self.peer_cfg(), mode)
            try:
                self.assertEqual(lis.next(), "ready")
                first = client("transact", self.peer_cfg(), '[{:tag "S" :i 1}]')
                self.check_report(lis.next(), first)
                self.assertEqual(lis.next(), "done")
                client("transact", self.peer_cfg(), '[{:tag "S" :i 2}]')
            finally:
                self.assertEqual(lis.quit(), 0)
            # nothing after "done" (a later report would print "late")
            rest = []
            while True:
                line = lis.lines.get(timeout=60)
                if line is None:
                    break
                rest.append(line)
            self.assertEqual(rest, [], mode)

    def test_remote_peer_equals_local(self):
        self.create()
        client("transact", self.writer_cfg(),
               '[{:name "Ada" :age 30} {:name "Bo" :age 25 :friend [:name "Ada"]}]')
        rep = client("transact", self.peer_cfg(),
                     '[{:name "Ada" :age 31} {:name "Cy" :age 40} {:tag "p" :i 1}]')
        self.assertNotIn(":config", rep)
        before = re.search(r":db-before #datahike/DB \{[^}]*:max-tx (\d+)", rep).group(1)
        out = client("compare", self.peer_cfg(), self.local_cfg(), before)
        self.assertNotIn("DIFFERENT", out)
        self.assertEqual(out.count("equal"), 15, out)
        # a peer connection to a missing database fails like a local one
        other = os.path.join(self.tmp, "nothing-here")
        cfg = ("{:store {:backend :file :path %s} :remote-peer {:url %s :token %s}}"
               % (edn_str(other), edn_str(self.server.url()), edn_str(TOKEN)))
        out = client("expect-error", cfg, "connect")
        self.assertTrue(out.startswith("DATALITH_E"), out)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: test_remote.py DATALITH_SERVER REMOTE_CLIENT [-v]")
    SERVER, CLIENT = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:])
