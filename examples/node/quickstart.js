// The whole Node.js flow: create a database, connect, transact a schema and
// data, read it back, and see errors.  Run from a checkout after
// `npm install`:  node examples/node/quickstart.js
'use strict';
const path = require('path');
const d = require(path.join(__dirname, '..', '..')); // require('datalith') when installed

const { kw } = d;

async function main() {
  const cfg = { store: { backend: kw('memory'), id: 'quickstart' } };
  await d.createDatabase(cfg);
  const conn = await d.connect(cfg);

  await conn.transact([
    { 'db/ident': kw('name'), 'db/valueType': kw('db.type/string'),
      'db/cardinality': kw('db.cardinality/one'), 'db/unique': kw('db.unique/identity') },
    { 'db/ident': kw('age'), 'db/valueType': kw('db.type/long'),
      'db/cardinality': kw('db.cardinality/one') },
  ]);
  const report = await conn.transact([{ 'db/id': 'alice', name: 'Alice', age: 30 },
                                      { name: 'Bob', age: 25 }]);
  console.log('Alice is entity', report.tempids.get('alice'));

  const db = conn.db(); // an immutable snapshot
  for (const datom of await db.datoms({ index: kw('aevt'), components: [kw('name')] })) {
    console.log(datom.e, datom.a.toString(), datom.v);
  }
  console.log('query:', d.toEdn(await db.q('[:find ?n ?a :where [?e :name ?n] [?e :age ?a]]')));
  console.log('schema attributes:', Object.keys(db.schema()).join(' '));
  console.log('EDN:', d.toEdn(d.decode(d.encode({ name: 'Alice', tags: new Set([kw('a')]) }))));

  try {
    await conn.transact([{ height: 180 }]);
  } catch (e) {
    console.log('refused:', e.code, '-', e.message);
  }

  db.release(); // optional: finalizers release dropped handles too
  await conn.release();
  await d.deleteDatabase(cfg);
}

main().catch((e) => { console.error(e); process.exit(1); });
