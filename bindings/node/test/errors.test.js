'use strict';
// Errors: every kind of bad input gives an Error (never a crash) whose
// .code names the status ("DATALITH_EPARSE") and whose .message is the
// engine's (or, for JS-side type problems, a TypeError with .code
// "DATALITH_EINVAL").  Async variants reject with the same errors.
const test = require('node:test');
const assert = require('node:assert');
const crypto = require('crypto');
const d = require('..');

const K = d.kw;
const mem = () => ({ store: { backend: K('memory'), id: 'node-errors-' + crypto.randomUUID() } });
const SCHEMA = [{ 'db/ident': K('name'), 'db/valueType': K('db.type/string'),
                  'db/cardinality': K('db.cardinality/one') }];

function throwsCode(fn, code, re) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error, 'an Error');
    assert.strictEqual(e.code, code, `code ${e.code} (${e.message})`);
    if (re) assert.match(e.message, re);
    return true;
  });
}

async function rejectsCode(p, code, re) {
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof Error, 'an Error');
    assert.strictEqual(e.code, code, `code ${e.code} (${e.message})`);
    if (re) assert.match(e.message, re);
    return true;
  });
}

test('malformed EDN: DATALITH_EPARSE with line and column', () => {
  throwsCode(() => d.parseEdn('{:a 1\n :b'), 'DATALITH_EPARSE');
  try {
    d.parseEdn('[1 2\n  {:a}]');
    assert.fail('no error');
  } catch (e) {
    assert.strictEqual(e.code, 'DATALITH_EPARSE');
    assert.strictEqual(e.status, -3);
    assert.strictEqual(e.line, 2);
    assert.ok(e.column >= 3, 'column ' + e.column);
  }
  throwsCode(() => d.parseEdn('1/2'), 'DATALITH_EPARSE');
  throwsCode(() => d.parseEdn('{:a 1 :a 2}'), 'DATALITH_EPARSE', /duplicate/i);
});

test('malformed CBOR: DATALITH_EPARSE with the byte offset (engine and JS decoder)', () => {
  throwsCode(() => d.valueConvert(Buffer.from([0x82, 0x01]), 'cbor', 'edn'), 'DATALITH_EPARSE');
  try {
    d.valueConvert(Buffer.from([0x01, 0x02]), 'cbor', 'edn');
    assert.fail('no error');
  } catch (e) {
    assert.strictEqual(e.code, 'DATALITH_EPARSE');
    assert.strictEqual(e.offset, 1);
  }
  throwsCode(() => d.decode(Buffer.from([0x19, 0x01])), 'DATALITH_EPARSE', /truncated/);
  throwsCode(() => d.decode(Buffer.from([0x01, 0x02])), 'DATALITH_EPARSE', /trailing/);
  throwsCode(() => d.decode(Buffer.from([0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
             'DATALITH_EPARSE', /past the input/);
  throwsCode(() => d.decode(Buffer.from([0x62, 0xc3, 0x28])), 'DATALITH_EPARSE', /UTF-8/);
  throwsCode(() => d.decode(Buffer.from([0xd8, 0x25, 0x41, 0x00])), 'DATALITH_EPARSE', /uuid/);
});

test('values JS cannot encode: TypeError / RangeError with a code', () => {
  throwsCode(() => d.encode(undefined), 'DATALITH_EINVAL', /undefined/);
  throwsCode(() => d.encode(() => 1), 'DATALITH_EINVAL', /function/);
  throwsCode(() => d.encode(Symbol('x')), 'DATALITH_EINVAL');
  throwsCode(() => d.encode(new (class Foo {})()), 'DATALITH_EINVAL', /Foo/);
  throwsCode(() => d.encode('\ud800'), 'DATALITH_EINVAL', /surrogate/);
  throwsCode(() => d.encode(new Date(NaN)), 'DATALITH_EINVAL', /invalid Date/);
  throwsCode(() => d.encode(new Float32Array(2)), 'DATALITH_EINVAL', /Uint8Array/);
  const cyc = [];
  cyc.push(cyc);
  throwsCode(() => d.encode(cyc), 'DATALITH_ELIMIT');
  throwsCode(() => new d.UUID('nope'), 'DATALITH_EINVAL');
  throwsCode(() => d.kw(''), 'DATALITH_EINVAL');
});

test('bad arguments to the operations', async () => {
  throwsCode(() => d.valueConvert(42, 'edn', 'cbor'), 'DATALITH_EINVAL', /in/);
  throwsCode(() => d.valueConvert('1', 'xml', 'edn'), 'DATALITH_EINVAL', /format/);
  throwsCode(() => d.valueConvert('1', 'edn', 7), 'DATALITH_EINVAL');
  throwsCode(() => d.schema({}), 'DATALITH_EINVAL', /Database/);
  throwsCode(() => d.schema(null), 'DATALITH_EINVAL');
  throwsCode(() => d.transactSync({ _h: 1 }, []), 'DATALITH_EINVAL');
  await rejectsCode(d.transact(undefined, []), 'DATALITH_EINVAL', /Connection/);
  await rejectsCode(d.createDatabase(undefined), 'DATALITH_EINVAL');
  // a forged handle object (not created by the addon) is refused by the native side
  const forged = Object.create(d.Connection.prototype);
  forged._h = {};
  throwsCode(() => d.transactSync(forged, []), 'DATALITH_EINVAL', /handle/);
  // a Database where a Connection is expected (native type tags)
  const cfg = mem();
  d.createDatabaseSync(cfg);
  const conn = d.connectSync(cfg);
  const db = conn.db();
  const wrong = Object.create(d.Connection.prototype);
  wrong._h = db._h;
  throwsCode(() => d.transactSync(wrong, []), 'DATALITH_EINVAL', /Connection handle/);
  db.release();
  conn.releaseSync();
  d.deleteDatabaseSync(cfg);
});

test('engine errors from lifecycle, transact and datoms, sync and async', async () => {
  const cfg = mem();
  await rejectsCode(d.connect(cfg), 'DATALITH_ENOTFOUND');
  throwsCode(() => d.connectSync(cfg), 'DATALITH_ENOTFOUND');
  assert.strictEqual(await d.databaseExists(cfg), false);
  await d.createDatabase(cfg);
  assert.strictEqual(d.databaseExistsSync(cfg), true);
  await rejectsCode(d.createDatabase(cfg), 'DATALITH_EEXISTS');
  const conn = await d.connect(cfg);
  await conn.transact(SCHEMA);
  await rejectsCode(conn.transact([{ age: 3 }]), 'DATALITH_ESCHEMA', /Bad entity attribute :age/);
  throwsCode(() => conn.transactSync([{ name: 42 }]), 'DATALITH_ESCHEMA');
  await assert.rejects(conn.transact('not tx data'), (e) => e.code.startsWith('DATALITH_E'));
  await assert.rejects(conn.transact([[K('db/frobnicate'), 1]]), (e) => e.code.startsWith('DATALITH_E'));
  const db = conn.db();
  await assert.rejects(db.datoms({ index: K('nope'), components: [] }),
                       (e) => e.code.startsWith('DATALITH_E') && e.message.length > 0);
  assert.throws(() => db.datomsSync(42), (e) => e.code.startsWith('DATALITH_E') && !!e.message);
  db.release();
  throwsCode(() => db.schema(), 'DATALITH_EINVAL', /released/);
  await conn.release();
  throwsCode(() => conn.db(), 'DATALITH_EINVAL', /released/);
  await rejectsCode(conn.transact([]), 'DATALITH_EINVAL', /released/);
  await conn.release(); // releasing twice is a no-op
  await d.deleteDatabase(cfg);
});

test('configuration errors', async () => {
  await assert.rejects(d.createDatabase(42), (e) => e.code.startsWith('DATALITH_E') && !!e.message);
  await assert.rejects(d.createDatabase({ store: { backend: K('nowhere') } }),
                       (e) => e.code.startsWith('DATALITH_E') && !!e.message);
  await assert.rejects(d.connect({ store: 'x' }), (e) => e.code.startsWith('DATALITH_E'));
});
