'use strict';
// Per-call overhead of the Node binding for small calls:
//   node bindings/node/bench.js
// Prints ns per call for: version() (a bare N-API call), db.schema() and
// db.datomsSync() on a one-attribute database (CBOR decode included), and
// the Promise variant of datoms.  Compare with the same C calls (the C
// numbers in the report come from a small C loop over datalith_schema /
// datalith_datoms with DATALITH_FORMAT_CBOR).
const d = require('.');
const { kw } = d;

function time(label, n, fn) {
  for (let i = 0; i < 1000; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(label.padEnd(34), ns.toFixed(0).padStart(8), 'ns/call');
}

async function main() {
  const cfg = { store: { backend: kw('memory'), id: 'bench' } };
  d.createDatabaseSync(cfg);
  const conn = d.connectSync(cfg);
  conn.transactSync([{ 'db/ident': kw('name'), 'db/valueType': kw('db.type/string'),
                       'db/cardinality': kw('db.cardinality/one') }]);
  conn.transactSync([{ name: 'Alice' }]);
  const db = conn.db();
  const args = { index: kw('eavt'), components: [2] };
  const argsCbor = d.encode(args);
  const native = require('./lib/native');
  time('version()', 1e6, () => d.version());
  time('native schemaSync (raw CBOR out)', 2e5, () => native.schemaSync(db._h));
  time('db.schema()', 2e5, () => db.schema());
  time('native datomsSync (raw CBOR)', 2e5, () => native.datomsSync(db._h, argsCbor));
  time('db.datomsSync(args)', 2e5, () => db.datomsSync(args));
  const n = 20000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await db.datoms(args);
  console.log('await db.datoms(args)'.padEnd(34),
              (Number(process.hrtime.bigint() - t0) / n).toFixed(0).padStart(8), 'ns/call');
  db.release();
  conn.releaseSync();
  d.deleteDatabaseSync(cfg);
}
main();
