'use strict';
// conn.listen / conn.unlisten: reports of this connection's transactions,
// of commits by another process on the same file store, unlisten, a
// throwing callback, and that neither an unlistened nor a released
// listener keeps the process alive.  Expected reports follow
// reference/datahike-semantics.md section 4 (tx-data with the asserted
// datoms, implied retractions with added false, the :db/txInstant datom).
// Waits have a generous deadline only so a broken watcher fails the test.
const test = require('node:test');
const assert = require('node:assert');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync, spawn } = require('child_process');
const d = require('..');

const K = d.kw;
const ROOT = path.join(__dirname, '..', '..', '..');
const DEADLINE_MS = 60000;
const SCHEMA = [
  { 'db/ident': K('name'), 'db/valueType': K('db.type/string'),
    'db/cardinality': K('db.cardinality/one'), 'db/unique': K('db.unique/identity') },
  { 'db/ident': K('age'), 'db/valueType': K('db.type/long'), 'db/cardinality': K('db.cardinality/one') },
];

function fileCfg() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-node-listen-'));
  return { store: { backend: K('file'), path: path.join(dir, 'db') }, 'initial-tx': SCHEMA };
}

// A listener collecting reports; next(n) resolves once n have arrived.
function recorder(action) {
  const r = { reports: [], waiters: [] };
  r.fn = (rep) => {
    if (action) action(rep);
    r.reports.push(rep);
    r.waiters = r.waiters.filter((w) => (r.reports.length >= w.n ? (w.resolve(), false) : true));
  };
  r.next = (n) => new Promise((resolve, reject) => {
    if (r.reports.length >= n) return resolve();
    const t = setTimeout(() => reject(new Error('no report ' + n + ' before the deadline')), DEADLINE_MS);
    r.waiters.push({ n, resolve: () => { clearTimeout(t); resolve(); } });
  });
  return r;
}

// tempids decode as a Map when string tempids sit next to :db/current-tx
const tempidKeys = (t) => (t instanceof Map ? [...t.keys()] : Object.keys(t)).map(String);

function datoms(rep, attr, value, added = true) {
  return rep['tx-data'].filter((x) => x.a === K(attr) && x.added === added
                                      && (value === undefined || x.v === value));
}

test('a transaction through this connection is delivered', async () => {
  const cfg = fileCfg();
  await d.createDatabase(cfg);
  const conn = await d.connect(cfg);
  const rec = recorder();
  const key = conn.listen(rec.fn);
  assert.ok(key instanceof d.Keyword);
  const rep = await conn.transact([{ 'db/id': 'a', name: 'Alice', age: 30 }]);
  await rec.next(1);
  const got = rec.reports[0];
  assert.strictEqual(datoms(got, 'name', 'Alice').length, 1);
  assert.strictEqual(datoms(got, 'age', 30).length, 1);
  assert.strictEqual(datoms(got, 'db/txInstant').length, 1);
  assert.deepStrictEqual(got.tempids, rep.tempids);
  assert.ok(tempidKeys(got.tempids).includes('a'));
  await conn.transact([{ name: 'Alice', age: 31 }]);
  await rec.next(2);
  assert.strictEqual(datoms(rec.reports[1], 'age', 30, false).length, 1);
  assert.strictEqual(datoms(rec.reports[1], 'age', 31).length, 1);
  conn.releaseSync();
});

test('a commit by another process is delivered', async () => {
  const cfg = fileCfg();
  await d.createDatabase(cfg);
  const conn = await d.connect(cfg);
  const rec = recorder();
  conn.listen(rec.fn);
  const script = `
    const d = require(${JSON.stringify(ROOT)});
    const c = d.connectSync({ store: { backend: d.kw('file'), path: ${JSON.stringify(cfg.store.path)} } });
    c.transactSync([{ name: 'Bob', age: 40 }]);
    c.releaseSync();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.strictEqual(code, 0);
  await rec.next(1);
  const got = rec.reports[0];
  assert.strictEqual(datoms(got, 'name', 'Bob').length, 1);
  assert.strictEqual(datoms(got, 'age', 40).length, 1);
  assert.deepStrictEqual(tempidKeys(got.tempids), ['db/current-tx']);
  assert.strictEqual(conn.db().qSync('[:find ?a . :where [?e :name "Bob"] [?e :age ?a]]'), 40);
  conn.releaseSync();
});

test('unlisten stops delivery; keys; a throwing callback is reported', async () => {
  const cfg = fileCfg();
  await d.createDatabase(cfg);
  const conn = await d.connect(cfg);
  const warnings = [];
  const onWarning = (w) => warnings.push(String(w.message));
  process.on('warning', onWarning);
  try {
    const a = recorder();
    const b = recorder();
    assert.strictEqual(conn.listen(a.fn, 'first'), K('first'));
    assert.throws(() => conn.listen(b.fn, 'first'), (e) => e.code === 'DATALITH_EEXISTS');
    conn.listen(() => { throw new Error('listener failed on purpose'); });
    conn.listen(b.fn);
    await conn.transact([{ name: 'x1' }]);
    await a.next(1);
    await b.next(1);
    conn.unlisten('first');
    assert.throws(() => conn.unlisten('first'), (e) => e.code === 'DATALITH_ENOTFOUND');
    await conn.transact([{ name: 'x2' }]);
    await b.next(2); // b runs after a would have: a was removed
    assert.strictEqual(a.reports.length, 1);
    await new Promise((r) => setImmediate(r));
    assert.ok(warnings.some((w) => w.includes('listener failed on purpose')), warnings.join('\n'));
    assert.throws(() => conn.listen('not a function'), TypeError);
  } finally {
    process.off('warning', onWarning);
    conn.releaseSync();
  }
});

test('neither an unlistened nor a released listener keeps the process alive', () => {
  for (const how of ['unlisten', 'release']) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-node-listen-exit-'));
    const script = `
      const d = require(${JSON.stringify(ROOT)});
      const cfg = { store: { backend: d.kw('file'), path: ${JSON.stringify(path.join(dir, 'db'))} } };
      (async () => {
        await d.createDatabase(cfg);
        const c = await d.connect(cfg);
        let n = 0;
        const k = c.listen(() => { n++; });
        await c.transact([{ 'db/ident': d.kw('x'), 'db/valueType': d.kw('db.type/long'),
                            'db/cardinality': d.kw('db.cardinality/one') }]);
        await new Promise((r) => { const t = setInterval(() => { if (n) { clearInterval(t); r(); } }, 5); });
        if (${JSON.stringify(how)} === 'unlisten') { c.unlisten(k); setTimeout(() => c.releaseSync(), 1); }
        else c.releaseSync();
        console.log('delivered', n);
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { timeout: DEADLINE_MS, encoding: 'utf8' });
    assert.strictEqual(r.signal, null, how + ': the process did not exit by itself');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /delivered 1/);
  }
});

test('memory stores deliver this process\'s transactions', async () => {
  const cfg = { store: { backend: K('memory'), id: 'node-listen-' + crypto.randomUUID() }, 'initial-tx': SCHEMA };
  await d.createDatabase(cfg);
  const conn = d.connectSync(cfg);
  const rec = recorder();
  conn.listen(rec.fn);
  conn.transactSync([{ 'db/id': 'm', name: 'mem' }]);
  await rec.next(1);
  assert.strictEqual(datoms(rec.reports[0], 'name', 'mem').length, 1);
  assert.ok(tempidKeys(rec.reports[0].tempids).includes('m'));
  d.releaseSync(conn); // the module-level release removes listeners too
  assert.strictEqual(conn.released, true);
});
