'use strict';
// The shared conformance corpus (tests/conformance/*.edn, format in
// tests/conformance/README.md) run through the Node binding, mirroring
// tests/conformance/runner.c:
//
// - every case gets a fresh in-memory database whose config is the case's
//   :config merged (recursively) over {:store {:backend :memory :id <fresh>}},
//   unless it says :create? false; lifecycle steps merge their own :config
//   over the same base;
// - a step has :expect (compared as EDN values: both sides printed
//   canonically by the engine; :transact and :create-database results compare
//   only the keys the expectation lists, and a report's :db/txInstant datoms
//   are ignored unless the expectation lists one), :error (the engine's
//   message must contain it), or neither (must succeed);
// - an op this runner does not know fails the case; it never skips it.
//
// The corpus files are read by the engine (valueConvert EDN -> CBOR) and
// decoded into JS values; the steps then go through the public JS API, so
// the value conversion in both directions is exercised by every case.
// Steps alternate between the Promise and the ...Sync variants.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const d = require('..');

const CORPUS = path.join(__dirname, '..', '..', '..', 'tests', 'conformance');
const FILES = fs.readdirSync(CORPUS).filter((f) => f.endsWith('.edn')).sort();
const K = d.kw;

function isPlain(x) {
  return x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype;
}

function get(m, k) {
  if (m instanceof Map) return m.get(K(k));
  if (isPlain(m)) return Object.prototype.hasOwnProperty.call(m, k) ? m[k] : undefined;
  return undefined;
}

function has(m, k) { return get(m, k) !== undefined; }

function merge(base, over) {
  if (!isPlain(over)) return { ...base };
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isPlain(base[k]) && isPlain(v) ? merge(base[k], v) : v;
  }
  return out;
}

function same(got, want) { return d.toEdn(got) === d.toEdn(want); }

function isInstantDatom(x) {
  return x instanceof d.Datom && x.a === K('db/txInstant');
}

// null when `got` matches `want`, else why not
function matches(got, want, subset) {
  if (subset && isPlain(got) && isPlain(want)) {
    for (const [k, w] of Object.entries(want)) {
      if (!Object.prototype.hasOwnProperty.call(got, k)) return `key :${k}: absent, expected ${d.toEdn(w)}`;
      let v = got[k];
      if (k === 'tx-data' && Array.isArray(v) && Array.isArray(w) && !w.some(isInstantDatom)) {
        v = v.filter((x) => !isInstantDatom(x));
      }
      if (!same(v, w)) return `key :${k}: got ${d.toEdn(v)}, expected ${d.toEdn(w)}`;
    }
    return null;
  }
  if (same(got, want)) return null;
  return `got ${d.toEdn(got)}, expected ${d.toEdn(want)}`;
}

let flip = 0;
function call(name, ...args) {
  // alternate the Promise and the synchronous variant of blocking ops
  flip++;
  if (d[name + 'Sync'] && flip % 2 === 0) return Promise.resolve().then(() => d[name + 'Sync'](...args));
  return d[name](...args);
}

// The snapshot a step reads: the one held under :db, else the connection's
// newest; then the :view ops applied in order.  Returns [db, owned].
function stepDb(cx, step) {
  const name = get(step, 'db');
  let db;
  let owned = false;
  if (name !== undefined) {
    db = name instanceof d.Keyword ? cx.held.get(name) : undefined;
    if (!db) throw runnerError('runner: no snapshot held as ' + d.toEdn(name));
  } else {
    db = cx.conn.db();
    owned = true;
  }
  const view = get(step, 'view') || [];
  try {
    for (const v of view) {
      const op = v instanceof d.Keyword ? v : Array.isArray(v) && v.length ? v[0] : null;
      const arg = Array.isArray(v) && v.length > 1 ? v[1] : undefined;
      const o = op instanceof d.Keyword ? op.name : '';
      let next;
      if (o === 'history') next = db.history();
      else if (o === 'as-of' && arg !== undefined) next = db.asOf(arg);
      else if (o === 'since' && arg !== undefined) next = db.since(arg);
      else if (o === 'filter' && arg instanceof Object) next = db.filter(filterPred(arg));
      else throw runnerError('runner: unknown :view op');
      if (owned) db.release();
      db = next;
      owned = true;
    }
  } catch (e) {
    if (owned) db.release();
    throw e;
  }
  return [db, owned];
}

// The predicates of [:filter {:exclude-attr :kw}] / [:filter {:exclude-e n}],
// as runner.c builds them; anything else is refused as it is there.
function filterPred(arg) {
  const ea = get(arg, 'exclude-attr');
  const ee = get(arg, 'exclude-e');
  if (ea instanceof d.Keyword) return (datom) => datom.a !== ea;
  if (typeof ee === 'number') return (datom) => datom.e !== ee;
  throw runnerError('runner: bad :filter');
}

// An engine-style error raised by the runner itself (as runner.c does).
function runnerError(msg) {
  const e = new Error(msg);
  e.code = 'DATALITH_EINVAL';
  return e;
}

function hold(cx, as, db) {
  const old = cx.held.get(as);
  if (old) old.release();
  cx.held.set(as, db);
}

async function withDb(cx, step, fn) {
  const [db, owned] = stepDb(cx, step);
  try {
    return await fn(db);
  } finally {
    if (owned) db.release();
  }
}

const INDEX_OPS = { datoms: 'datoms', 'seek-datoms': 'seekDatoms', 'rseek-datoms': 'rseekDatoms',
                    'index-range': 'indexRange' };

async function runStep(cx, base, step) {
  const op = get(step, 'op');
  if (!(op instanceof d.Keyword)) throw new Error('step without an :op keyword');
  const conn = cx.conn;
  switch (op.name) {
    case 'transact': {
      if (!has(step, 'tx')) throw new Error(':transact step without :tx');
      return [await call('transact', conn, get(step, 'tx')), true];
    }
    case 'load-entities': {
      if (!has(step, 'entities')) throw new Error(':load-entities step without :entities');
      return [await call('loadEntities', conn, get(step, 'entities')), true];
    }
    case 'datoms':
    case 'seek-datoms':
    case 'rseek-datoms':
    case 'index-range':
      return [await withDb(cx, step, (db) => call(INDEX_OPS[op.name], db,
                                                  has(step, 'args') ? get(step, 'args') : {})), false];
    case 'schema':
      return [await withDb(cx, step, (db) => d.schema(db)), false];
    case 'reverse-schema':
      return [await withDb(cx, step, (db) => d.reverseSchema(db)), false];
    case 'metrics':
      return [await withDb(cx, step, (db) => call('metrics', db)), false];
    case 'is-filtered':
      return [await withDb(cx, step, (db) => d.isFiltered(db)), false];
    case 'entity':
      return [await withDb(cx, step, (db) => call('entity', db, has(step, 'eid') ? get(step, 'eid') : null)), false];
    case 'pull':
      return [await withDb(cx, step, (db) => call('pull', db, has(step, 'selector') ? get(step, 'selector') : null,
                                                  has(step, 'eid') ? get(step, 'eid') : null)), false];
    case 'pull-many':
      return [await withDb(cx, step, (db) => call('pullMany', db, has(step, 'selector') ? get(step, 'selector') : null,
                                                  has(step, 'eids') ? get(step, 'eids') : null)), false];
    case 'q':
      // the step's snapshot is the query's first database input ($); :inputs
      // are the other :in values, in order
      return [await withDb(cx, step, (db) => call('q', has(step, 'query') ? get(step, 'query') : null, [db],
                                                  has(step, 'inputs') ? get(step, 'inputs') : [])), false];
    case 'hold':
    case 'with':
    case 'db-with': {
      const as = get(step, 'as');
      const tx = get(step, 'tx');
      if (op.name !== 'with' && !(as instanceof d.Keyword)) throw new Error(':hold / :db-with step without an :as keyword');
      if (op.name !== 'hold' && tx === undefined) throw new Error(':with / :db-with step without :tx');
      const [db, owned] = stepDb(cx, step);
      if (op.name === 'hold') {
        if (!owned) throw runnerError('runner: :hold of a held snapshot needs a :view');
        hold(cx, as, db);
        return [undefined, false];
      }
      try {
        if (op.name === 'with') return [d.withDb(db, tx), true];
        hold(cx, as, d.dbWith(db, tx));
        return [undefined, false];
      } finally {
        if (owned) db.release();
      }
    }
    case 'tempid': {
      const got = d.tempid(has(step, 'part') ? get(step, 'part') : null);
      const below = get(step, 'below');
      if (below !== undefined && !(got < below)) throw new Error(`tempid ${got} is not below the bound`);
      return [got, false];
    }
    case 'database-exists?':
    case 'create-database':
    case 'delete-database':
    case 'connect': {
      // The step's :config over the case's (which is over base).
      const cfg = merge(cx.caseCfg || base, get(step, 'config'));
      if (op.name === 'database-exists?') return [await call('databaseExists', cfg), false];
      if (op.name === 'create-database') return [await call('createDatabase', cfg), true];
      if (op.name === 'delete-database') return [await call('deleteDatabase', cfg), false];
      const c = await call('connect', cfg);
      await c.release();
      return [undefined, false];
    }
    default:
      throw new Error(`unknown op :${op.name} (the runner fails ops it does not know)`);
  }
}

async function runCase(kase) {
  const base = { store: { backend: K('memory'), id: 'node-conformance-' + crypto.randomUUID() } };
  const cfg = merge(base, get(kase, 'config'));
  const create = get(kase, 'create?') !== false;
  const cx = { conn: null, held: new Map(), caseCfg: cfg };
  try {
    if (create) {
      await d.createDatabase(cfg);
      cx.conn = await d.connect(cfg);
    }
    const steps = get(kase, 'steps');
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const where = `step ${i + 1} (${d.toEdn(get(step, 'op') ?? null)})`;
      const err = get(step, 'error');
      let got;
      let subset;
      try {
        [got, subset] = await runStep(cx, base, step);
      } catch (e) {
        if (typeof e.code !== 'string' || !e.code.startsWith('DATALITH_') || e instanceof TypeError) throw e;
        if (err === undefined) assert.fail(`${where}: unexpected error: ${e.code}: ${e.message}`);
        if (typeof err === 'string' && !e.message.includes(err)) {
          assert.fail(`${where}: error "${e.message}" does not contain "${err}"`);
        }
        continue;
      }
      if (err !== undefined) assert.fail(`${where}: expected an error, the op succeeded`);
      if (has(step, 'expect')) {
        const why = matches(got === undefined ? null : got, get(step, 'expect'), subset);
        if (why) assert.fail(`${where}: ${why}`);
      }
    }
  } finally {
    for (const db of cx.held.values()) db.release();
    if (cx.conn) cx.conn.releaseSync();
    if (create) {
      try { d.deleteDatabaseSync(cfg); } catch (e) { /* the case may have deleted it */ }
    }
  }
}

test('the corpus has cases', () => {
  assert.ok(FILES.length > 0, 'no .edn files in tests/conformance');
});

for (const file of FILES) {
  const suite = d.parseEdn(fs.readFileSync(path.join(CORPUS, file), 'utf8'));
  const cases = get(suite, 'cases') || [];
  test(`conformance ${file}`, async (t) => {
    for (let i = 0; i < cases.length; i++) {
      const name = get(cases[i], 'name') || `case ${i + 1}`;
      await t.test(name, () => runCase(cases[i]));
    }
  });
}

// The runner hands the corpus values to the API as decoded JS values, so the
// decoding must lose nothing the engine distinguishes (lists and vectors,
// symbols, keywords and strings, 1.0 and 1, empty collections, maps with
// and without keyword keys): re-encoded, every file gives back the engine's
// own CBOR, byte for byte.
test('corpus values survive decode and re-encode unchanged', () => {
  for (const file of FILES) {
    const cb = Buffer.from(d.valueConvert(fs.readFileSync(path.join(CORPUS, file), 'utf8'), 'edn', 'cbor'));
    const back = d.encode(d.decode(cb));
    if (Buffer.compare(cb, back) !== 0) {
      let i = 0;
      while (i < cb.length && cb[i] === back[i]) i++;
      assert.fail(`${file}: re-encoded CBOR differs from the engine's at byte ${i}`);
    }
  }
});

// The addon compiles the engine in; one built before the engine sources last
// changed tests old code (rebuild with `npm install` at the repository root).
test('the native addon is newer than the engine sources', () => {
  const addon = path.join(__dirname, '..', '..', '..', 'build', 'node', 'datalith.node');
  if (process.env.DATALITH_NODE_ADDON || !fs.existsSync(addon)) return;
  const root = path.join(__dirname, '..', '..', '..');
  const built = fs.statSync(addon).mtimeMs;
  const dirs = [path.join(root, 'include'), path.join(__dirname, '..', 'src')];
  for (const sub of fs.readdirSync(path.join(root, 'core'))) {
    const p = path.join(root, 'core', sub);
    if (fs.statSync(p).isDirectory()) dirs.push(p);
  }
  const stale = [];
  for (const dir of dirs) {
    for (const f of fs.readdirSync(dir)) {
      if (!/\.[ch]$/.test(f)) continue;
      if (fs.statSync(path.join(dir, f)).mtimeMs > built) stale.push(path.relative(root, path.join(dir, f)));
    }
  }
  assert.deepStrictEqual(stale, [], 'build/node/datalith.node is older than these sources: run `npm install`');
});

test('the matcher can fail', () => {
  const got = d.parseEdn('{:tempids {"a" 2} :tx-data [#datahike/Datom [1 :db/txInstant 5 1 true] ' +
                         '#datahike/Datom [2 :name "A" 1 true]]}');
  assert.strictEqual(matches(got, d.parseEdn('{:tempids {"a" 2}}'), true), null);
  assert.strictEqual(matches(got, d.parseEdn('{:tx-data [#datahike/Datom [2 :name "A" 1 true]]}'), true), null);
  assert.match(matches(got, d.parseEdn('{:tempids {"a" 3}}'), true), /expected/);
  assert.match(matches(got, d.parseEdn('{:tx-meta {}}'), true), /absent/);
  assert.strictEqual(matches([1, 2], [1, 2], false), null);
  assert.notStrictEqual(matches([1, 2], [2, 1], false), null);
  assert.strictEqual(matches(new Set([1, 2]), new Set([2, 1]), false), null);
});
