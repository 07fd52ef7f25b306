"""The writer-server client through the Python binding (docs/remote.md): the
C core does the remote work, so a config map is all Python needs.  Starts a
real datalith-server; skipped unless DATALITH_SERVER names its executable
(tests/python/CMakeLists.txt sets it when the server is built)."""

import os
import select
import shutil
import subprocess
import tempfile
import time

import pytest

import datalith
from datalith import Keyword as K

SERVER = os.environ.get("DATALITH_SERVER")
TOKEN = "py-remote-token"

pytestmark = pytest.mark.skipif(not SERVER or not os.access(SERVER, os.X_OK),
                                reason="DATALITH_SERVER not set")


@pytest.fixture
def server():
    tmp = tempfile.mkdtemp(prefix="dl_py_remote_")
    store = os.path.join(tmp, "db")
    cfg_path = os.path.join(tmp, "server.edn")
    with open(cfg_path, "w") as f:
        f.write('{:port 0 :bind "127.0.0.1" :token "%s" :stores [{:backend :file :path "%s"}]}'
                % (TOKEN, store))
    proc = subprocess.Popen([SERVER, cfg_path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = b""
    deadline = time.time() + 60
    while not line.endswith(b"\n"):
        r, _, _ = select.select([proc.stdout], [], [], max(0, deadline - time.time()))
        if not r:
            proc.kill()
            raise RuntimeError("datalith-server did not start")
        ch = os.read(proc.stdout.fileno(), 1)
        if not ch:
            raise RuntimeError("datalith-server exited: " + proc.stderr.read().decode())
        line += ch
    port = int(line.decode().strip().rsplit(":", 1)[1])
    yield {"store": store, "url": "http://127.0.0.1:%d" % port, "proc": proc}
    if proc.poll() is None:
        proc.terminate()
        proc.wait(60)
    proc.stdout.close()
    proc.stderr.close()
    shutil.rmtree(tmp, ignore_errors=True)


def configs(srv):
    store = {K("backend"): K("file"), K("path"): srv["store"]}
    remote = {K("backend"): K("datahike-server"), K("url"): srv["url"], K("token"): TOKEN}
    local = {K("store"): store}
    writer = {K("store"): store, K("writer"): remote}
    peer = {K("store"): store, K("remote-peer"): remote}
    return local, writer, peer


SCHEMA = [{K("db/ident"): K("name"), K("db/valueType"): K("db.type/string"),
           K("db/cardinality"): K("db.cardinality/one"),
           K("db/unique"): K("db.unique/identity")}]


def test_writer_backend_and_remote_peer(server):
    local, writer, peer = configs(server)
    datalith.create_database(writer)          # sent to the server
    assert os.path.isdir(server["store"])     # which created it in the store
    with datalith.connect(writer) as conn:
        conn.transact(SCHEMA)
        report = conn.transact([{K("name"): "Ada"}, {K("name"): "Bo"}])
        assert isinstance(report.tx, int) and report.tx > 0
        with conn.db() as db:                 # read locally, sees the write
            assert db.q('[:find ?n :where [?e :name ?n]]') == {("Ada",), ("Bo",)}
    with datalith.connect(local) as conn, conn.db() as db:
        assert db.q('[:find ?n :where [?e :name ?n]]') == {("Ada",), ("Bo",)}
        want = db.pull('[*]', [K("name"), "Ada"])
    with datalith.connect(peer) as conn, conn.db() as db:
        assert db.q('[:find ?n :where [?e :name ?n]]') == {("Ada",), ("Bo",)}
        assert db.pull('[*]', [K("name"), "Ada"]) == want


def test_errors(server):
    local, writer, peer = configs(server)
    datalith.create_database(writer)
    bad = dict(writer)
    bad[K("writer")] = dict(writer[K("writer")], **{K("token"): "wrong"})
    with pytest.raises(datalith.InvalidArgumentError, match="refused the token"):
        datalith.delete_database(bad)
    with datalith.connect(writer) as conn:
        conn.transact(SCHEMA)
        conn.transact([{K("name"): "Ada"}])
        server["proc"].kill()
        server["proc"].wait()
        with pytest.raises(datalith.StoreIOError, match="unreachable"):
            conn.transact([{K("name"): "Bo"}])
        with conn.db() as db:                 # local reads keep working
            assert db.q('[:find ?n :where [?e :name ?n]]') == {("Ada",)}
