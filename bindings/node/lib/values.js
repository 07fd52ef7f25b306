'use strict';
// The JS classes of EDN values that have no native JS type, and the value
// mapping (documented in bindings/node/README.md):
//
//   nil null | boolean | long number (BigInt beyond 2^53) | double number
//   (whole-valued: Double)
//   string string | keyword Keyword (interned) | symbol Sym (interned)
//   vector Array | list List | set Set | map with only keyword keys: plain
//   object with string keys "ns/name"; any other map: Map | inst Date
//   uuid UUID | bytes Uint8Array | char Char | bigint BigInt | bigdec BigDec
//   #datahike/Datom Datom | other tagged literal Tagged

const keywords = new Map();
const symbols = new Map();

function checkName(name, what) {
  if (typeof name !== 'string' || name.length === 0) {
    const e = new TypeError(what + ': expected a non-empty name string');
    e.code = 'DATALITH_EINVAL';
    throw e;
  }
}

class Keyword {
  constructor(name) {
    checkName(name, 'Keyword');
    if (name[0] === ':') name = name.slice(1);
    checkName(name, 'Keyword');
    const hit = keywords.get(name);
    if (hit) return hit;
    this.name = name;
    const i = name.indexOf('/');
    this.namespace = i > 0 ? name.slice(0, i) : null;
    Object.freeze(this);
    keywords.set(name, this);
  }
  toString() { return ':' + this.name; }
  [Symbol.for('nodejs.util.inspect.custom')]() { return ':' + this.name; }
}

/** kw(':a/b') or kw('a/b'): the interned Keyword. */
function kw(name) { return new Keyword(name); }

class Sym {
  constructor(name) {
    checkName(name, 'Sym');
    const hit = symbols.get(name);
    if (hit) return hit;
    this.name = name;
    Object.freeze(this);
    symbols.set(name, this);
  }
  toString() { return this.name; }
  [Symbol.for('nodejs.util.inspect.custom')]() { return this.name; }
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

class UUID {
  constructor(text) {
    if (typeof text !== 'string' || !UUID_RE.test(text)) {
      const e = new TypeError('UUID: expected 8-4-4-4-12 hex digits, got ' + String(text));
      e.code = 'DATALITH_EINVAL';
      throw e;
    }
    this.text = text.toLowerCase();
    Object.freeze(this);
  }
  toString() { return this.text; }
  toJSON() { return this.text; }
  [Symbol.for('nodejs.util.inspect.custom')]() { return '#uuid "' + this.text + '"'; }
}

class Char {
  constructor(ch) {
    if (typeof ch !== 'string' || [...ch].length !== 1) {
      const e = new TypeError('Char: expected a one-code-point string');
      e.code = 'DATALITH_EINVAL';
      throw e;
    }
    this.ch = ch;
    Object.freeze(this);
  }
  toString() { return this.ch; }
}

/** An EDN list (...); a plain Array is a vector. */
class List extends Array {
  static of(...xs) { const l = new List(); l.push(...xs); return l; }
}

const DEC_RE = /^([+-]?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** A bigdec (1.50M), kept as its decimal text. */
class BigDec {
  constructor(text) {
    if (typeof text !== 'string' || !DEC_RE.test(text)) {
      const e = new TypeError('BigDec: expected decimal text, got ' + String(text));
      e.code = 'DATALITH_EINVAL';
      throw e;
    }
    this.text = text;
    Object.freeze(this);
  }
  /** [exponent, mantissa BigInt] */
  parts() {
    const m = DEC_RE.exec(this.text);
    const frac = m[3] || '';
    const mant = BigInt(m[1] + m[2] + frac);
    return [(m[4] ? parseInt(m[4], 10) : 0) - frac.length, mant];
  }
  static fromParts(exp, mant) {
    const neg = mant < 0n;
    let s = (neg ? -mant : mant).toString();
    if (exp >= 0) {
      s = s + '0'.repeat(exp);
    } else {
      const k = -exp;
      if (s.length <= k) s = '0'.repeat(k - s.length + 1) + s;
      s = s.slice(0, s.length - k) + '.' + s.slice(s.length - k);
    }
    return new BigDec((neg ? '-' : '') + s);
  }
  toString() { return this.text; }
}

/** An unknown tagged literal #tag value. */
class Tagged {
  constructor(tag, value) {
    checkName(tag, 'Tagged');
    this.tag = tag;
    this.value = value;
  }
}

/** #datahike/Datom [e a v tx added] */
class Datom {
  constructor(e, a, v, tx, added) {
    this.e = e;
    this.a = a;
    this.v = v;
    this.tx = tx;
    this.added = added;
  }
  toArray() { return [this.e, this.a, this.v, this.tx, this.added]; }
}

/**
 * A double whose value is a whole number (1.0).  JavaScript has one number
 * type, and a whole-valued number is sent as a long, so 1.0 would come back
 * from the engine as the long 1 and go out again as 1 (a different value to
 * the engine: a :db.type/double attribute refuses the long 1, and the query
 * clause [?e :x 2] does not match the value 2.0).  The decoder returns whole-valued doubles within 2^53 as Double; the
 * encoder writes a Double as a float64.  It is a Number object: arithmetic
 * and < > work through valueOf, but === compares identity and typeof is
 * 'object' (use Number(x) or +x for the primitive).  Doubles with a fraction,
 * -0.0, NaN, the infinities and whole values beyond 2^53 are plain numbers,
 * which are always written as float64.
 */
class Double extends Number {
  toString() { return Number(this).toFixed(1); }
  toJSON() { return Number(this); }
  [Symbol.for('nodejs.util.inspect.custom')]() { return Number(this).toFixed(1); }
}

module.exports = { Keyword, kw, Sym, UUID, Char, List, BigDec, Tagged, Datom, Double };
