'use strict';
// Values: the JS <-> CBOR mapping, checked against the CBOR examples of
// docs/values.md and against EDN text printed by the engine (expected texts
// are written out by hand from docs/values.md), and round trips through the
// engine (JS -> CBOR -> engine reader/writer -> CBOR -> JS).
const test = require('node:test');
const assert = require('node:assert');
const d = require('..');

const hex = (v) => d.encode(v).toString('hex');
const viaEngine = (v) => d.decode(d.valueConvert(d.encode(v), 'cbor', 'cbor'));

test('CBOR encodings match docs/values.md', () => {
  assert.strictEqual(hex(null), 'f6');
  assert.strictEqual(hex(false), 'f4');
  assert.strictEqual(hex(true), 'f5');
  assert.strictEqual(hex(1000), '1903e8');
  assert.strictEqual(hex(-1), '20');
  assert.strictEqual(hex(1n), '01'); // BigInt within int64 is a long
  assert.strictEqual(hex(1.1), 'fb3ff199999999999a');
  assert.strictEqual(hex(new d.BigDec('273.15')), 'c48221196ab3');
  assert.strictEqual(hex('a'), '6161');
  assert.strictEqual(hex(d.kw(':a')), 'd827623a61');
  assert.strictEqual(hex(new d.Sym('foo')), 'd82763666f6f');
  assert.strictEqual(hex([1, 2, 3]), '83010203');
  assert.strictEqual(hex(new Map([['a', 1]])), 'a1616101');
  assert.strictEqual(hex(new Set([1, 2])), 'd90102820102');
  assert.strictEqual(hex(d.List.of(1, 2)), 'da44544c01820102');
  assert.strictEqual(hex(new d.Char('a')), 'da44544c021861');
  assert.strictEqual(hex(new Date(0x514b67b0 * 1000)), 'c11a514b67b0');
  assert.strictEqual(hex(2n ** 64n), 'c249010000000000000000');
  assert.strictEqual(hex(-(2n ** 64n) - 1n), 'c349010000000000000000');
});

test('EDN text of JS values (printed by the engine)', () => {
  assert.strictEqual(d.toEdn({ b: 2, a: 1 }), '{:a 1 :b 2}');
  assert.strictEqual(d.toEdn({ 'db/id': 5 }), '{:db/id 5}');
  assert.strictEqual(d.toEdn(new Map([['x', d.kw('y')], [1, null]])), '{1 nil "x" :y}');
  assert.strictEqual(d.toEdn(new Set([3, 1, 2])), '#{1 2 3}');
  assert.strictEqual(d.toEdn([1.5, -0.25, 'é']), '[1.5 -0.25 "é"]');
  assert.strictEqual(d.toEdn(2n ** 70n), '1180591620717411303424N');
  assert.strictEqual(d.toEdn(new Date(Date.UTC(2000, 0, 1))), '#inst "2000-01-01T00:00:00.000-00:00"');
  assert.strictEqual(d.toEdn(new Date(1500)), '#inst "1970-01-01T00:00:01.500-00:00"');
  assert.strictEqual(d.toEdn(new d.UUID('550E8400-e29b-41d4-a716-446655440000')),
                     '#uuid "550e8400-e29b-41d4-a716-446655440000"');
  assert.strictEqual(d.toEdn(new Uint8Array([0, 1, 2, 255])), '#bytes "AAEC/w=="');
  assert.strictEqual(d.toEdn(d.List.of(1, d.kw('a'))), '(1 :a)');
  assert.strictEqual(d.toEdn(new d.Char('x')), '\\x');
  assert.strictEqual(d.toEdn(new d.BigDec('1.50')), '1.50M');
  assert.strictEqual(d.toEdn(new d.Tagged('my/tag', [1])), '#my/tag [1]');
  assert.strictEqual(d.toEdn(new d.Datom(1, d.kw('a'), 'x', 536870913, true)),
                     '#datahike/Datom [1 :a "x" 536870913 true]');
});

test('EDN text to JS values', () => {
  assert.deepStrictEqual(d.parseEdn('{:a 1 :b/c [1 2]}'), { a: 1, 'b/c': [1, 2] });
  const m = d.parseEdn('{"a" 1 :b 2}');
  assert.ok(m instanceof Map);
  assert.strictEqual(m.get('a'), 1);
  assert.strictEqual(m.get(d.kw('b')), 2);
  assert.strictEqual(d.parseEdn(':x/y'), d.kw('x/y')); // interned
  assert.strictEqual(d.parseEdn(':x/y').namespace, 'x');
  assert.strictEqual(d.parseEdn('9007199254740993'), 9007199254740993n);
  assert.strictEqual(d.parseEdn('12N'), 12n);
  assert.strictEqual(d.parseEdn('-7'), -7);
  assert.strictEqual(d.parseEdn('#inst "2000-01-01T00:00:00.000-00:00"').getTime(), 946684800000);
  assert.deepStrictEqual([...d.parseEdn('#bytes "AAEC/w=="')], [0, 1, 2, 255]);
  assert.ok(Number.isNaN(d.parseEdn('##NaN')));
  assert.strictEqual(d.parseEdn('##-Inf'), -Infinity);
  assert.strictEqual(d.parseEdn('1.50M').text, '1.50');
  assert.strictEqual(d.parseEdn('\\a').ch, 'a');
  assert.ok(d.parseEdn('(1 2)') instanceof d.List);
  const dt = d.parseEdn('#datahike/Datom [1 :a "x" 2 false]');
  assert.ok(dt instanceof d.Datom);
  assert.deepStrictEqual([dt.e, dt.a, dt.v, dt.tx, dt.added], [1, d.kw('a'), 'x', 2, false]);
  const s = d.parseEdn('#{:a :b}');
  assert.ok(s instanceof Set && s.has(d.kw('a')) && s.size === 2);
});

test('values round trip through the engine', () => {
  const u = new d.UUID('123e4567-e89b-12d3-a456-426614174000');
  const vals = [null, true, false, 0, -1, 2 ** 53 - 1, -(2 ** 53) + 1, 1.5, -1e300, 'text ✓',
    '', d.kw('a/b'), new d.Sym('s'), [1, [2, [3]]], { a: { b: { c: [] } } },
    new Map([[[1, 2], 'vector key'], ['s', 1]]), new Set(['x', 'y']), new Date(1234567890123),
    u, new Uint8Array([9, 8, 7]), 2n ** 100n, -(2n ** 100n), new d.BigDec('-0.001'),
    d.List.of(), new d.Char('é'), new d.Tagged('x/y', { k: 1 }), 2n ** 60n];
  for (const v of vals) {
    const back = viaEngine(v);
    assert.strictEqual(d.toEdn(back), d.toEdn(v));
    if (typeof v !== 'object' || v === null) assert.strictEqual(back, v);
  }
  assert.deepStrictEqual(viaEngine({ a: [1, 'b', null] }), { a: [1, 'b', null] });
  assert.strictEqual(viaEngine(u).text, u.text);
  assert.strictEqual(viaEngine(new Date(1500)).getTime(), 1500);
});

test('whole-valued doubles stay doubles (Double)', () => {
  // 1.0 is the float64 fb 3ff0000000000000 (RFC 8949 appendix A); 1 is 01
  assert.strictEqual(hex(new d.Double(1)), 'fb3ff0000000000000');
  assert.strictEqual(hex(1), '01');
  const one = d.decode(Buffer.from('fb3ff0000000000000', 'hex'));
  assert.ok(one instanceof d.Double);
  assert.strictEqual(+one, 1);
  assert.strictEqual(one + 1, 2);
  assert.ok(one < 1.5);
  assert.strictEqual(String(one), '1.0');
  assert.strictEqual(JSON.stringify([one]), '[1]');
  assert.strictEqual(d.toEdn(d.parseEdn('[1.0 1 -2.0 2.5]')), '[1.0 1 -2.0 2.5]');
  assert.ok(d.parseEdn('-2.0') instanceof d.Double);
  assert.strictEqual(d.parseEdn('1'), 1);
  assert.strictEqual(d.parseEdn('2.5'), 2.5); // a fraction: a plain number
  assert.ok(Object.is(d.parseEdn('-0.0'), -0)); // -0 is a plain number, written as a double
  assert.strictEqual(d.toEdn(d.parseEdn('-0.0')), '-0.0');
  assert.strictEqual(d.parseEdn('1e300'), 1e300); // beyond 2^53: a plain number
  assert.strictEqual(d.toEdn(d.parseEdn('#{1 1.0}')), '#{1 1.0}');
  assert.strictEqual(d.toEdn(d.parseEdn('{1 :a 1.0 :b}')), '{1 :a 1.0 :b}');
  assert.strictEqual(d.toEdn(viaEngine(new d.Double(3))), '3.0');
  // an inst whose seconds are a whole float64 (tag 1, 1.0e9)
  assert.strictEqual(d.decode(Buffer.from('c1fb41cdcd6500000000', 'hex')).getTime(), 1e12);
});

test('keywordStrings option: strings starting with ":" become keywords', () => {
  try {
    d.options.keywordStrings = true;
    assert.strictEqual(d.toEdn([':a/b', 'c', ':']), '[:a/b "c" ":"]');
  } finally {
    d.options.keywordStrings = false;
  }
  assert.strictEqual(d.toEdn([':a/b']), '[":a/b"]');
});

test('decoder edge cases: __proto__ keys, duplicate keys, indefinite lengths, small floats', () => {
  const o = d.parseEdn('{:__proto__ 1 :a 2}');
  assert.strictEqual(Object.getPrototypeOf(o), Object.prototype);
  assert.deepStrictEqual(Object.keys(o), ['__proto__', 'a']);
  assert.strictEqual(d.toEdn(o), '{:__proto__ 1 :a 2}');
  // {"a" 1 "a" 2}
  assert.throws(() => d.decode(Buffer.from('a2616101616102', 'hex')), (e) => e.code === 'DATALITH_EPARSE');
  // {1 :x "1" :y} is fine: 1 and "1" differ
  assert.strictEqual(d.decode(Buffer.from('a201d827623a7861316179', 'hex').subarray(0, 11)).size, 2);
  // indefinite array [_ 1 2], indefinite text (_ "a" "b"), half float 1.5, single float 0.5
  assert.deepStrictEqual(d.decode(Buffer.from('9f0102ff', 'hex')), [1, 2]);
  assert.strictEqual(d.decode(Buffer.from('7f61616162ff', 'hex')), 'ab');
  assert.strictEqual(d.decode(Buffer.from('f93e00', 'hex')), 1.5);
  assert.strictEqual(d.decode(Buffer.from('fa3f000000', 'hex')), 0.5);
  // tag 1001 {1: 1, -3: 5} is 1.005 s
  assert.strictEqual(d.decode(Buffer.from('d903e9a201012205', 'hex')).getTime(), 1005);
});
