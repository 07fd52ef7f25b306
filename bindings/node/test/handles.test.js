'use strict';
// Handles and async: finalizers release what JS drops (run with
// --expose-gc; the test checks nothing crashes and the engine keeps
// working), explicit release is idempotent and wins over the finalizer,
// a release while an async call uses the handle waits for the call, and
// many concurrent Promises all settle with the right results.
const test = require('node:test');
const assert = require('node:assert');
const crypto = require('crypto');
const d = require('..');

const K = d.kw;
const mem = () => ({ store: { backend: K('memory'), id: 'node-handles-' + crypto.randomUUID() } });
const SCHEMA = [{ 'db/ident': K('n'), 'db/valueType': K('db.type/long'),
                  'db/cardinality': K('db.cardinality/one') }];
const gc = () => new Promise((resolve) => {
  if (global.gc) global.gc();
  setImmediate(() => { if (global.gc) global.gc(); setImmediate(resolve); });
});

test('dropped handles are released by finalizers', async () => {
  const cfg = mem();
  await d.createDatabase(cfg);
  for (let i = 0; i < 200; i++) {
    const conn = d.connectSync(cfg);
    for (let j = 0; j < 5; j++) conn.db().schema();
  }
  await gc();
  const conn = await d.connect(cfg);
  await conn.transact(SCHEMA);
  await conn.transact([{ n: 1 }]);
  const db = conn.db();
  assert.strictEqual((await db.datoms({ index: K('aevt'), components: [K('n')] })).length, 1);
  conn.releaseSync();
  assert.strictEqual(conn.released, true);
  assert.strictEqual(db.released, false);
  await gc(); // the released connection's finalizer must not release it again
  db.release();
  assert.strictEqual(db.released, true);
  db.release();
  await d.deleteDatabase(cfg);
  assert.strictEqual(await d.databaseExists(cfg), false);
});

test('release while an async call uses the handle waits for the call', async () => {
  const cfg = mem();
  await d.createDatabase(cfg);
  const conn = await d.connect(cfg);
  await conn.transact(SCHEMA);
  await conn.transact([{ n: 7 }]);
  let db = conn.db();
  const p = db.datoms({ index: K('aevt'), components: [K('n')] });
  db.release();
  assert.strictEqual(db.released, true);
  const got = await p;
  assert.strictEqual(got.length, 1);
  assert.strictEqual(got[0].v, 7);
  // drop the only reference while calls are pending
  db = conn.db();
  const ps = [];
  for (let i = 0; i < 20; i++) ps.push(db.datoms({ index: K('eavt'), components: [] }));
  db = null;
  await gc();
  for (const r of await Promise.all(ps)) assert.ok(r.length > 0);
  // a pending transact, then release of the connection
  const t = conn.transact([{ n: 8 }]);
  const r = conn.release();
  assert.strictEqual(conn.released, true);
  assert.deepStrictEqual((await t)['tx-data'].filter((x) => x.a === K('n')).map((x) => x.v), [8]);
  await r;
  await d.deleteDatabase(cfg);
});

test('many concurrent Promises', async () => {
  const cfg = mem();
  await d.createDatabase(cfg);
  const conn = await d.connect(cfg);
  await conn.transact(SCHEMA);
  const N = 200;
  const reports = await Promise.all(Array.from({ length: N }, (_, i) => conn.transact([{ n: i }])));
  const txs = new Set(reports.map((r) => r.tempids['db/current-tx']));
  assert.strictEqual(txs.size, N, 'every transaction got its own id');
  const db = conn.db();
  const reads = await Promise.all(Array.from({ length: N }, () =>
    db.datoms({ index: K('aevt'), components: [K('n')] })));
  for (const r of reads) {
    assert.strictEqual(r.length, N);
    assert.deepStrictEqual(r.map((x) => x.v).sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i));
  }
  // mixed successes and failures settle independently
  const mixed = await Promise.allSettled(Array.from({ length: 50 }, (_, i) =>
    conn.transact(i % 2 ? [{ n: 'bad' }] : [{ n: 1000 + i }])));
  assert.strictEqual(mixed.filter((x) => x.status === 'fulfilled').length, 25);
  for (const x of mixed.filter((m) => m.status === 'rejected')) {
    assert.strictEqual(x.reason.code, 'DATALITH_ESCHEMA');
  }
  db.release();
  await conn.release();
  await d.deleteDatabase(cfg);
});

test('the examples run', async () => {
  const path = require('path');
  const { execFileSync } = require('child_process');
  const ex = path.join(__dirname, '..', '..', '..', 'examples', 'node', 'quickstart.js');
  const out = execFileSync(process.execPath, [ex], { encoding: 'utf8' });
  assert.match(out, /Alice/);
});

test('filter: a JS predicate, called on sync and async reads', async () => {
  const cfg = mem();
  await d.createDatabase(cfg);
  const conn = await d.connect(cfg);
  await conn.transact(SCHEMA);
  await conn.transact([{ n: 1 }, { n: 2 }, { n: 3 }]);
  const db = conn.db();
  let calls = 0;
  const odd = db.filter((datom) => { calls++; return datom.a !== K('n') || datom.v % 2 === 1; });
  assert.strictEqual(d.isFiltered(odd), true);
  assert.strictEqual(d.isFiltered(db), false);
  const args = { index: K('aevt'), components: [K('n')] };
  assert.deepStrictEqual(odd.datomsSync(args).map((x) => x.v), [1, 3]);
  const before = calls;
  const results = await Promise.all(Array.from({ length: 10 }, () => odd.datoms(args)));
  for (const r of results) assert.deepStrictEqual(r.map((x) => x.v), [1, 3]);
  assert.ok(calls > before, 'the predicate ran for the async reads');
  // nested filters compose with AND; a throwing predicate drops datoms
  const none = odd.filter((datom) => datom.v !== 3);
  assert.deepStrictEqual(none.datomsSync(args).map((x) => x.v), [1]);
  const warned = new Promise((resolve) => process.once('warning', resolve));
  const bad = db.filter(() => { throw new Error('boom'); });
  assert.deepStrictEqual(await bad.datoms(args), []);
  assert.match((await warned).message, /boom/);
  assert.throws(() => db.filter(42), (e) => e.code === 'DATALITH_EINVAL');
  for (const x of [bad, none, odd, db]) x.release();
  await conn.release();
  await d.deleteDatabase(cfg);
});
