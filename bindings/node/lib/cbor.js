'use strict';
// CBOR (RFC 8949) encoder and decoder for datalith values, in plain JS.
// Values cross to the C engine as CBOR; the tags are those of
// docs/values.md ("CBOR") and core/value/cbor.c:
//
//   bigint  tag 2 / 3 bignum         bigdec  tag 4 [exponent, mantissa]
//   keyword tag 39 text ":ns/name"   symbol  tag 39 text "ns/name"
//   uuid    tag 37 bytes(16)         set     tag 258 array
//   inst    tag 1 integer seconds, or tag 1001 {1: seconds, -3: ms 0..999}
//   list    tag 0x44544C01 array     char    tag 0x44544C02 code point
//   tagged  tag 27 [text "ns/name", value]
//
// The encoder writes definite lengths, shortest heads and float64 doubles,
// as the engine does (a safe-integer number is a long, a Double a float64); the decoder also reads indefinite lengths and
// half/single floats.  encode() throws a TypeError (.code DATALITH_EINVAL)
// for a value it cannot represent, and a RangeError (.code DATALITH_ELIMIT)
// past MAX_DEPTH levels (which also catches cycles); decode() throws an
// Error with .code DATALITH_EPARSE and .offset for malformed input.
const { Keyword, Sym, UUID, Char, List, BigDec, Tagged, Datom, Double } = require('./values');

const MAX_DEPTH = 512;
const TAG_LIST = 0x44544C01;
const TAG_CHAR = 0x44544C02;
const MAX64 = (1n << 63n) - 1n;
const MIN64 = -(1n << 63n);

const options = { keywordStrings: false };
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function typeError(msg) {
  const e = new TypeError(msg);
  e.code = 'DATALITH_EINVAL';
  return e;
}

function describe(v) {
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a JS Symbol';
  if (v && v.constructor && v.constructor.name) return 'a ' + v.constructor.name;
  return typeof v;
}

// Buffers come from Buffer.allocUnsafe, which carves small ones out of
// Node's shared pool: a fresh ArrayBuffer per encode (new Uint8Array) costs
// more than a small call itself, in allocation and in GC work.  Only the
// first n bytes, all written here, are ever exposed (result()).
class Writer {
  constructor() {
    this.buf = Buffer.allocUnsafe(256);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    this.n = 0;
  }
  room(k) {
    if (this.n + k <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.n + k) cap *= 2;
    const b = Buffer.allocUnsafe(cap);
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
    this.view = new DataView(b.buffer, b.byteOffset, b.length);
  }
  byte(x) { this.room(1); this.buf[this.n++] = x; }
  head(major, v) {
    // v: a number (< 2^53) or a BigInt (< 2^64)
    const m = major << 5;
    if (typeof v === 'number') {
      if (v < 24) { this.byte(m | v); return; }
      if (v < 0x100) { this.room(2); this.buf[this.n++] = m | 24; this.buf[this.n++] = v; return; }
      if (v < 0x10000) { this.room(3); this.buf[this.n++] = m | 25; this.view.setUint16(this.n, v); this.n += 2; return; }
      if (v < 0x100000000) { this.room(5); this.buf[this.n++] = m | 26; this.view.setUint32(this.n, v); this.n += 4; return; }
      v = BigInt(v);
    }
    if (v < 0x100000000n) { this.head(major, Number(v)); return; }
    this.room(9);
    this.buf[this.n++] = m | 27;
    this.view.setBigUint64(this.n, v);
    this.n += 8;
  }
  bytes(b) { this.room(b.length); this.buf.set(b, this.n); this.n += b.length; }
  text(s) {
    if (s.length <= 24) { // short ASCII: write the bytes directly
      let ascii = true;
      for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) { ascii = false; break; }
      if (ascii) {
        this.head(3, s.length);
        this.room(s.length);
        for (let i = 0; i < s.length; i++) this.buf[this.n++] = s.charCodeAt(i);
        return;
      }
    }
    if (typeof s.isWellFormed === 'function' ? !s.isWellFormed() : LONE_SURROGATE.test(s)) {
      throw typeError('string is not valid Unicode (it has a lone surrogate): ' +
                      JSON.stringify(s.slice(0, 40)));
    }
    const b = Buffer.from(s, 'utf8');
    this.head(3, b.length);
    this.bytes(b);
  }
  result() { return this.buf.subarray(0, this.n); }
}

function encBigInt(w, v) {
  if (v >= 0n && v <= MAX64) { w.head(0, v); return; }
  if (v < 0n && v >= MIN64) { w.head(1, -1n - v); return; }
  const mag = v >= 0n ? v : -1n - v;
  let hex = mag.toString(16);
  if (hex.length & 1) hex = '0' + hex;
  w.head(6, v >= 0n ? 2 : 3);
  const b = Buffer.from(hex, 'hex');
  w.head(2, b.length);
  w.bytes(b);
}

function encInt(w, v) {
  if (v >= 0) w.head(0, v); else w.head(1, -1 - v);
}

function enc(w, v, depth) {
  switch (typeof v) {
    case 'string':
      if (options.keywordStrings && v.length > 1 && v[0] === ':') {
        w.head(6, 39);
        w.text(v);
      } else {
        w.text(v);
      }
      return;
    case 'number':
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) { encInt(w, v); return; }
      w.room(9);
      w.buf[w.n++] = 0xfb;
      w.view.setFloat64(w.n, v);
      w.n += 8;
      return;
    case 'boolean':
      w.byte(v ? 0xf5 : 0xf4);
      return;
    case 'bigint':
      encBigInt(w, v);
      return;
    case 'object':
      break;
    default:
      throw typeError('cannot encode ' + describe(v) + ' as an EDN value');
  }
  if (v === null) { w.byte(0xf6); return; }
  if (depth >= MAX_DEPTH) {
    const e = new RangeError('value nested deeper than ' + MAX_DEPTH + ' levels (or cyclic)');
    e.code = 'DATALITH_ELIMIT';
    throw e;
  }
  const d = depth + 1;
  if (v instanceof Keyword) { w.head(6, 39); w.text(':' + v.name); return; }
  if (v instanceof Sym) { w.head(6, 39); w.text(v.name); return; }
  if (Array.isArray(v)) {
    if (v instanceof List) w.head(6, TAG_LIST);
    w.head(4, v.length);
    for (let i = 0; i < v.length; i++) enc(w, v[i], d);
    return;
  }
  if (v instanceof Uint8Array) { w.head(2, v.length); w.bytes(v); return; }
  if (v instanceof Map) {
    w.head(5, v.size);
    for (const [k, x] of v) { enc(w, k, d); enc(w, x, d); }
    return;
  }
  if (v instanceof Set) {
    w.head(6, 258);
    w.head(4, v.size);
    for (const x of v) enc(w, x, d);
    return;
  }
  if (v instanceof Date) {
    const ms = v.getTime();
    if (!Number.isFinite(ms)) throw typeError('cannot encode an invalid Date');
    const s = Math.floor(ms / 1000);
    const f = ms - s * 1000;
    if (f === 0) { w.head(6, 1); encInt(w, s); return; }
    w.head(6, 1001); w.head(5, 2); w.byte(0x01); encInt(w, s); w.byte(0x22); encInt(w, f);
    return;
  }
  if (v instanceof UUID) {
    w.head(6, 37); w.head(2, 16); w.bytes(Buffer.from(v.text.replace(/-/g, ''), 'hex'));
    return;
  }
  if (v instanceof Double) {
    w.room(9);
    w.buf[w.n++] = 0xfb;
    w.view.setFloat64(w.n, Number(v));
    w.n += 8;
    return;
  }
  if (v instanceof Char) { w.head(6, TAG_CHAR); encInt(w, v.ch.codePointAt(0)); return; }
  if (v instanceof BigDec) {
    const [exp, mant] = v.parts();
    w.head(6, 4); w.head(4, 2); encInt(w, exp); encBigInt(w, mant);
    return;
  }
  if (v instanceof Datom) {
    w.head(6, 27); w.head(4, 2); w.text('datahike/Datom'); enc(w, v.toArray(), d);
    return;
  }
  if (v instanceof Tagged) {
    w.head(6, 27); w.head(4, 2); w.text(v.tag); enc(w, v.value, d);
    return;
  }
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
    throw typeError('cannot encode ' + describe(v) + ': bytes must be a Uint8Array');
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    throw typeError('cannot encode ' + describe(v) + ' as an EDN value');
  }
  // A plain object: a map with keyword keys ("ns/name", a leading ':' allowed).
  const keys = Object.keys(v);
  w.head(5, keys.length);
  for (const k of keys) {
    if (k.length === 0 || k === ':') throw typeError('cannot use the empty string as a keyword key');
    w.head(6, 39);
    w.text(k[0] === ':' ? k : ':' + k);
    enc(w, v[k], d);
  }
}

/** JS value -> CBOR Buffer. */
function encode(v) {
  const w = new Writer();
  enc(w, v, 0);
  return w.result();
}

// ---- decoding ----

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseError(msg, off) {
  const e = new Error(msg + ' at byte ' + off);
  e.code = 'DATALITH_EPARSE';
  e.offset = off;
  return e;
}

class Reader {
  constructor(b) {
    this.b = b;
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.i = 0;
  }
  need(k) {
    if (this.i + k > this.b.length) throw parseError('truncated CBOR', this.i);
  }
  // the argument of a head: a number when < 2^53, else a BigInt; -1 for indefinite
  arg(ai) {
    if (ai < 24) return ai;
    const at = this.i - 1;
    switch (ai) {
      case 24: this.need(1); return this.b[this.i++];
      case 25: { this.need(2); const x = this.view.getUint16(this.i); this.i += 2; return x; }
      case 26: { this.need(4); const x = this.view.getUint32(this.i); this.i += 4; return x; }
      case 27: {
        this.need(8);
        const x = this.view.getBigUint64(this.i);
        this.i += 8;
        return x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x;
      }
      case 31: return -1;
      default: throw parseError('reserved additional information ' + ai, at);
    }
  }
  len(ai, what) {
    const at = this.i - 1;
    const n = this.arg(ai);
    if (typeof n === 'bigint' || n > this.b.length - this.i) {
      if (n !== -1) throw parseError(what + ' length runs past the input', at);
    }
    return n;
  }
}

function isBreak(r) {
  if (r.i >= r.b.length) throw parseError('missing break', r.i);
  if (r.b[r.i] === 0xff) { r.i++; return true; }
  return false;
}

function chunks(r, major, what) {
  const parts = [];
  for (;;) {
    if (isBreak(r)) break;
    const at = r.i;
    const ib = r.b[r.i++];
    if (ib >> 5 !== major || (ib & 31) === 31) throw parseError('bad chunk in indefinite ' + what, at);
    const n = r.len(ib & 31, what);
    r.need(n);
    parts.push(r.b.subarray(r.i, r.i + n));
    r.i += n;
  }
  return Buffer.concat(parts);
}

function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function toInt(x) {
  // a bigint result beyond the safe range stays a BigInt
  if (typeof x === 'bigint') return x;
  return x;
}

function negInt(n) {
  if (typeof n === 'bigint') return -1n - n;
  const v = -1 - n;
  return Number.isSafeInteger(v) ? v : -1n - BigInt(n);
}

function bignum(bytes) {
  if (bytes.length === 0) return 0n;
  return BigInt('0x' + Buffer.from(bytes).toString('hex'));
}

function decodeSafe(big) {
  return big >= -BigInt(Number.MAX_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
    ? big : big;
}

function makeMap(pairs) {
  let allKw = true;
  for (const [k] of pairs) if (!(k instanceof Keyword)) { allKw = false; break; }
  if (allKw) {
    const o = {};
    for (const [k, v] of pairs) {
      if (k.name === '__proto__') {
        Object.defineProperty(o, k.name, { value: v, enumerable: true, writable: true, configurable: true });
      } else {
        o[k.name] = v;
      }
    }
    return o;
  }
  return new Map(pairs);
}

function dec(r, depth) {
  if (depth > MAX_DEPTH) {
    const e = new RangeError('CBOR nested deeper than ' + MAX_DEPTH + ' levels');
    e.code = 'DATALITH_ELIMIT';
    throw e;
  }
  r.need(1);
  const at = r.i;
  const ib = r.b[r.i++];
  const major = ib >> 5;
  const ai = ib & 31;
  switch (major) {
    case 0: { const n = r.arg(ai); if (n === -1) throw parseError('indefinite integer', at); return toInt(n); }
    case 1: { const n = r.arg(ai); if (n === -1) throw parseError('indefinite integer', at); return negInt(n); }
    case 2: {
      const n = r.len(ai, 'byte string');
      if (n === -1) return new Uint8Array(chunks(r, 2, 'byte string'));
      r.need(n);
      const out = new Uint8Array(r.b.subarray(r.i, r.i + n));
      r.i += n;
      return out;
    }
    case 3: {
      const n = r.len(ai, 'text string');
      let raw;
      if (n === -1) raw = chunks(r, 3, 'text string');
      else {
        r.need(n);
        if (n <= 24) { // short ASCII: cheaper than TextDecoder
          const b = r.b;
          let s = '';
          let i = r.i;
          const end = i + n;
          for (; i < end && b[i] < 0x80; i++) s += String.fromCharCode(b[i]);
          if (i === end) { r.i = end; return s; }
        }
        raw = r.b.subarray(r.i, r.i + n);
        r.i += n;
      }
      try { return utf8.decode(raw); } catch (e) { throw parseError('invalid UTF-8 in text', at); }
    }
    case 4: {
      const n = r.len(ai, 'array');
      const out = [];
      if (n === -1) { while (!isBreak(r)) out.push(dec(r, depth + 1)); } else {
        for (let i = 0; i < n; i++) out.push(dec(r, depth + 1));
      }
      return out;
    }
    case 5: {
      const n = r.len(ai, 'map');
      const pairs = [];
      const seen = new Set();
      const add = () => {
        const kat = r.i;
        const k = dec(r, depth + 1);
        const v = dec(r, depth + 1);
        // keywords are interned, so identity is equality for them too
        if (typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' || k instanceof Keyword) {
          if (seen.has(k)) throw parseError('duplicate map key', kat);
          seen.add(k);
        }
        pairs.push([k, v]);
      };
      if (n === -1) { while (!isBreak(r)) add(); } else { for (let i = 0; i < n; i++) add(); }
      return makeMap(pairs);
    }
    case 6: return decTag(r, r.arg(ai), at, depth);
    case 7:
      switch (ai) {
        case 20: return false;
        case 21: return true;
        case 22: return null;
        case 25: { r.need(2); const x = halfToFloat(r.view.getUint16(r.i)); r.i += 2; return x; }
        case 26: { r.need(4); const x = r.view.getFloat32(r.i); r.i += 4; return x; }
        case 27: {
          // a whole-valued double is a Double, so it is written back as a double
          r.need(8);
          const x = r.view.getFloat64(r.i);
          r.i += 8;
          return Number.isSafeInteger(x) && !Object.is(x, -0) ? new Double(x) : x;
        }
        default: throw parseError('unsupported simple value ' + ai, at);
      }
  }
  throw parseError('bad CBOR head', at);
}

function decTag(r, tag, at, depth) {
  const x = dec(r, depth + 1);
  const bad = (what) => parseError('tag ' + tag + ': ' + what, at);
  switch (tag) {
    case 1:
      if (x instanceof Double) return new Date(Number(x) * 1000);
      if (typeof x === 'number') return new Date(Number.isInteger(x) ? x * 1000 : Math.round(x * 1000));
      if (typeof x === 'bigint') throw bad('instant out of range');
      throw bad('expected seconds');
    case 1001: {
      const m = x instanceof Map ? x : null;
      if (!m || typeof m.get(1) !== 'number') throw bad('expected {1: seconds, -3: ms}');
      const ms = m.has(-3) ? m.get(-3) : 0;
      return new Date(m.get(1) * 1000 + ms);
    }
    case 2: case 3: {
      if (!(x instanceof Uint8Array)) throw bad('a bignum needs a byte string');
      const mag = bignum(x);
      return decodeSafe(tag === 2 ? mag : -1n - mag);
    }
    case 4: {
      if (!Array.isArray(x) || x.length !== 2 || typeof x[0] !== 'number') throw bad('expected [exponent, mantissa]');
      const m = x[1];
      if (typeof m !== 'number' && typeof m !== 'bigint') throw bad('expected an integer mantissa');
      return BigDec.fromParts(x[0], BigInt(m));
    }
    case 27: {
      if (!Array.isArray(x) || x.length !== 2 || typeof x[0] !== 'string') throw bad('expected [tag, value]');
      if (x[0] === 'datahike/Datom' && Array.isArray(x[1]) && x[1].length === 5) {
        const d = x[1];
        return new Datom(d[0], d[1], d[2], d[3], d[4]);
      }
      return new Tagged(x[0], x[1]);
    }
    case 37: {
      if (!(x instanceof Uint8Array) || x.length !== 16) throw bad('a uuid needs 16 bytes');
      const h = Buffer.from(x).toString('hex');
      return new UUID(h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' +
                      h.slice(16, 20) + '-' + h.slice(20));
    }
    case 39:
      if (typeof x !== 'string' || x.length === 0) throw bad('expected a name');
      return x[0] === ':' ? new Keyword(x.slice(1)) : new Sym(x);
    case 258: {
      if (!Array.isArray(x)) throw bad('a set needs an array');
      const s = new Set(x);
      if (s.size !== x.length) throw bad('duplicate set element');
      return s;
    }
    case TAG_LIST: {
      if (!Array.isArray(x)) throw bad('a list needs an array');
      const l = new List();
      for (const e of x) l.push(e);
      return l;
    }
    case TAG_CHAR:
      if (typeof x !== 'number' || x < 0 || x > 0x10ffff) throw bad('expected a code point');
      return new Char(String.fromCodePoint(x));
    case 55799:
      return x;
    default:
      throw parseError('unsupported tag ' + tag, at);
  }
}

/** CBOR bytes -> JS value. */
function decode(bytes) {
  if (!(bytes instanceof Uint8Array)) throw typeError('decode: expected a Uint8Array');
  const r = new Reader(bytes);
  const v = dec(r, 0);
  if (r.i !== bytes.length) throw parseError('trailing bytes', r.i);
  return v;
}

module.exports = { encode, decode, options, MAX_DEPTH };
