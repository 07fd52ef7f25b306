'use strict';
// datalith for Node.js: an embedded, immutable Datalog database with
// Datahike's semantics.  The functions are generated from spec/api.edn
// (lib/generated.js); this file adds the idiomatic layer: Connection and
// Database objects whose methods are the operations taking that handle
// first (so new operations appear as methods when the spec implements
// them), the value classes, and EDN helpers.
//
//   const d = require('datalith');
//   const cfg = { store: { backend: d.kw('memory'), id: 'demo' } };
//   await d.createDatabase(cfg);
//   const conn = await d.connect(cfg);
//   await conn.transact([{ 'db/ident': d.kw('name'), ... }]);
//   const db = conn.db();
//   await db.datoms({ index: d.kw('eavt'), components: [] });
const gen = require('./lib/generated');
const rt = require('./lib/runtime');
const cbor = require('./lib/cbor');
const values = require('./lib/values');
const native = require('./lib/native');

const { Connection, Database } = rt;

// Methods from the ops whose first argument is a handle.
for (const op of gen.OPS) {
  const cls = op.first === 'conn' ? Connection : op.first === 'db' ? Database : null;
  if (!cls) continue;
  const fn = gen[op.name];
  const method = op.name === 'releaseDb' ? 'release' : op.name;
  if (Object.prototype.hasOwnProperty.call(cls.prototype, method)) continue;
  Object.defineProperty(cls.prototype, method, {
    value: function (...args) { return fn(this, ...args); }, writable: true, configurable: true,
  });
  if (op.blocking) {
    const fs = gen[op.name + 'Sync'];
    Object.defineProperty(cls.prototype, method + 'Sync', {
      value: function (...args) { return fs(this, ...args); }, writable: true, configurable: true,
    });
  }
}

// conn.db(): the snapshot keeps its connection object alive (so the
// connection's finalizer never runs while a snapshot of it is reachable).
Object.defineProperty(Connection.prototype, 'db', {
  value: function () { const d = gen.db(this); d._conn = this; return d; },
  writable: true, configurable: true,
});
for (const cls of [Connection, Database]) {
  Object.defineProperty(cls.prototype, 'released', {
    get() { return !native.isLive(this._h); }, configurable: true,
  });
}

// Query-style ops take the database among their inputs: db.q(query, ...inputs).
if (gen.q) {
  Database.prototype.q = function (query, ...inputs) { return gen.q(query, [this], inputs); };
  Database.prototype.qSync = function (query, ...inputs) { return gen.qSync(query, [this], inputs); };
}

/**
 * filter(db, pred): a view of `db` keeping the datoms for which pred(datom)
 * is truthy (nested filters compose with AND; with/dbWith are rejected on
 * it).  Hand-bound (the spec offers no generated glue for callbacks): the
 * predicate runs on the JS thread, also for the async variants of reads,
 * which wait for it; an exception in it drops the datom and is reported
 * as a process warning.  The predicate stays referenced for the life of
 * the process (derived views may still call it).
 */
function filter(db, pred) {
  if (typeof pred !== 'function') {
    const e = new TypeError('filter: the predicate must be a function');
    e.code = 'DATALITH_EINVAL';
    throw e;
  }
  const h = native.filterSync(rt.handle(db, 'db', 'db'), (bytes) => {
    try {
      return !!pred(cbor.decode(bytes));
    } catch (e) {
      process.emitWarning('datalith filter predicate threw: ' + (e && e.message), 'DatalithWarning');
      return false;
    }
  });
  return rt.wrapDb(h);
}
Database.prototype.filter = function (pred) { return filter(this, pred); };

/*
 * conn.listen(callback[, key]) -> key; conn.unlisten(key).  Hand-bound (the
 * spec offers no generated glue for callbacks).  callback(report) runs on
 * the JS thread, once per commit of the database in commit order: this
 * connection's transactions and, once the engine's watcher thread notices
 * them, commits by other connections and processes (memory stores: this
 * process only).  report is what transact returns; for commits made
 * elsewhere its tempids and tx-meta hold only :db/current-tx and
 * :db/txInstant.  An exception in the callback is reported as a process
 * warning.  An active listener keeps the event loop alive (like an open
 * socket) and its connection reachable; unlisten, or releasing the
 * connection (which removes its listeners), ends both.
 */
const LISTENING = new Set(); // connections with listeners (kept reachable)

function listenerKeyBytes(key) {
  return cbor.encode(typeof key === 'string' ? values.kw(key) : key);
}

function dropListeners(conn) {
  if (!conn._listeners) return;
  for (const [kb, l] of conn._listeners.values()) native.unlistenSync(conn._h, kb, l);
  conn._listeners.clear();
  LISTENING.delete(conn);
}

Connection.prototype.listen = function (callback, key) {
  if (typeof callback !== 'function') {
    const e = new TypeError('listen: the callback must be a function');
    e.code = 'DATALITH_EINVAL';
    throw e;
  }
  const kb = key === undefined || key === null ? null : listenerKeyBytes(key);
  const [got, l] = native.listenSync(rt.handle(this, 'conn', 'conn'), kb, (status, bytes, msg) => {
    if (status !== 0) {
      process.emitWarning('datalith listener: ' + (msg || native.statusName(status)), 'DatalithWarning');
      return;
    }
    try {
      callback(cbor.decode(bytes));
    } catch (e) {
      process.emitWarning('datalith listener threw: ' + (e && e.stack || e), 'DatalithWarning');
    }
  });
  const k = cbor.decode(got);
  if (!this._listeners) this._listeners = new Map();
  this._listeners.set(toEdn(k), [got, l]);
  LISTENING.add(this);
  return k;
};

Connection.prototype.unlisten = function (key) {
  const id = toEdn(typeof key === 'string' ? values.kw(key) : key);
  const entry = this._listeners && this._listeners.get(id);
  if (!entry) {
    const e = new Error('unlisten: no listener with key ' + id);
    e.code = 'DATALITH_ENOTFOUND';
    throw e;
  }
  native.unlistenSync(rt.handle(this, 'conn', 'conn'), entry[0], entry[1]);
  this._listeners.delete(id);
  if (this._listeners.size === 0) LISTENING.delete(this);
};

for (const m of ['release', 'releaseSync']) {
  const gen0 = Connection.prototype[m];
  if (!gen0) continue;
  Object.defineProperty(Connection.prototype, m, {
    value: function (...args) { dropListeners(this); return gen0.apply(this, args); },
    writable: true, configurable: true,
  });
}

/** EDN text -> JS value, read by the engine. */
function parseEdn(text) {
  return cbor.decode(gen.valueConvert(text, 'edn', 'cbor'));
}

/** JS value -> canonical EDN text, printed by the engine. */
function toEdn(value) {
  return gen.valueConvert(cbor.encode(value), 'cbor', 'edn').toString('utf8');
}

module.exports = {
  ...gen,
  Connection,
  Database,
  ...values,
  encode: cbor.encode,
  decode: cbor.decode,
  options: cbor.options,
  filter,
  // the module-level release functions also remove the connection's listeners
  release: (conn, ...a) => { if (conn instanceof Connection) dropListeners(conn); return gen.release(conn, ...a); },
  releaseSync: (conn, ...a) => { if (conn instanceof Connection) dropListeners(conn); return gen.releaseSync(conn, ...a); },
  parseEdn,
  toEdn,
  statusName: native.statusName,
};
