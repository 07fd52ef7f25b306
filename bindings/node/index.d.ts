// Type declarations of the datalith Node.js binding.  The functions are
// generated (lib/generated.d.ts, by codegen/gen.py from spec/api.edn); the
// value classes, Connection and Database are declared here by hand.

/// <reference types="node" />

export declare class Keyword {
  constructor(name: string);
  /** "ns/name" or "name", without the colon. */
  readonly name: string;
  readonly namespace: string | null;
  toString(): string;
}
export declare function kw(name: string): Keyword;
export declare class Sym {
  constructor(name: string);
  readonly name: string;
  toString(): string;
}
export declare class UUID {
  constructor(text: string);
  readonly text: string;
  toString(): string;
}
export declare class Char {
  constructor(ch: string);
  readonly ch: string;
}
export declare class List extends Array<any> {}
/** A double whose value is a whole number (1.0), kept distinct from the long 1. */
export declare class Double extends Number {}
export declare class BigDec {
  constructor(text: string);
  readonly text: string;
}
export declare class Tagged {
  constructor(tag: string, value: any);
  readonly tag: string;
  readonly value: any;
}
export declare class Datom {
  constructor(e: number, a: any, v: any, tx: number, added: boolean);
  e: number; a: any; v: any; tx: number; added: boolean;
}
export declare class DatalithError extends Error {
  /** The status name, e.g. "DATALITH_EPARSE". */
  code: string;
  /** The negative status code. */
  status: number;
  line?: number;
  column?: number;
  offset?: number;
}

/** A connection; its methods are the operations taking a connection first
 *  (generated: ConnectionMethods). */
export declare class Connection {
  private constructor();
  /** True once released (explicitly; finalizers release dropped handles). */
  readonly released: boolean;
}
export interface Connection extends ConnectionMethods {}
/** An immutable snapshot; its methods are the operations taking a snapshot
 *  first (generated: DatabaseMethods), plus q(query, ...inputs) when q is
 *  implemented. */
export declare class Database {
  private constructor();
  readonly released: boolean;
}
export interface Database extends DatabaseMethods {}
import type { ConnectionMethods, DatabaseMethods } from './lib/generated';

/** A view keeping the datoms for which pred(datom) is truthy (hand-bound;
 *  the predicate runs on the JS thread). Also db.filter(pred). */
export declare function filter(db: Database, pred: (datom: Datom) => boolean): Database;
export interface Database { filter(pred: (datom: Datom) => boolean): Database; }
/** listen(callback, key?): call back (on the JS thread) with the report of
 *  every commit of the database, this connection's and other processes';
 *  returns the key (the given one, or a fresh keyword). unlisten(key) stops
 *  it. An active listener keeps the event loop alive until unlisten or
 *  release (hand-bound). */
export interface Connection {
  listen(callback: (report: any) => void, key?: any): any;
  unlisten(key: any): void;
}
export declare function encode(value: any): Buffer;
export declare function decode(bytes: Uint8Array): any;
/** EDN text -> JS value (through the engine's reader). */
export declare function parseEdn(text: string): any;
/** JS value -> canonical EDN text (through the engine's printer). */
export declare function toEdn(value: any): string;

// The generated functions (lib/generated.d.ts, from spec/api.edn).
export * from './lib/generated';
export declare function statusName(code: number): string;
export declare const options: { keywordStrings: boolean };
