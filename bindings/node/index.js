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
  parseEdn,
  toEdn,
  statusName: native.statusName,
};
