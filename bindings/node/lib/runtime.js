'use strict';
// Helpers the generated glue (generated.js) calls: value encoding, argument
// checks and the wrapping of native handles in Connection / Database objects.
const cbor = require('./cbor');

const FORMAT_CODES = { edn: 0, json: 1, cbor: 2 };

function typeError(msg) {
  const e = new TypeError(msg);
  e.code = 'DATALITH_EINVAL';
  return e;
}

class Connection {
  constructor(h) { this._h = h; }
}

class Database {
  constructor(h) { this._h = h; }
}

function encode(v) { return cbor.encode(v); }
function decode(b) { return cbor.decode(b); }

function bytes(v, name) {
  if (typeof v === 'string' || v instanceof Uint8Array) return v;
  throw typeError(name + ': expected a string or a Uint8Array, got ' + (v === null ? 'null' : typeof v));
}

function format(v, name) {
  if (typeof v === 'string') {
    const c = FORMAT_CODES[v.toLowerCase()];
    if (c === undefined) throw typeError(name + ": unknown format '" + v + "' (edn, json or cbor)");
    return c;
  }
  if (typeof v === 'number') return v;
  throw typeError(name + ': expected a format name (edn, json, cbor) or code');
}

const KINDS = { conn: Connection, db: Database };

function handle(v, kind, name) {
  if (v instanceof KINDS[kind]) return v._h;
  throw typeError(name + ': expected a ' + KINDS[kind].name + ', got ' +
                  (v === null || v === undefined ? String(v) : (v.constructor && v.constructor.name) || typeof v));
}

function handles(v, kind, name) {
  if (v instanceof KINDS[kind]) return [v._h];
  if (!Array.isArray(v)) throw typeError(name + ': expected an array of ' + KINDS[kind].name + ' objects');
  return v.map((x, i) => handle(x, kind, name + '[' + i + ']'));
}

function wrapConn(h) { return new Connection(h); }
function wrapDb(h) { return new Database(h); }

module.exports = { Connection, Database, encode, decode, bytes, format, handle, handles,
                   wrapConn, wrapDb, FORMAT_CODES };
