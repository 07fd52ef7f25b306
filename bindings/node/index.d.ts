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

export declare class Connection {
  db(): Database;
  transact(tx: any): Promise<any>;
  transactSync(tx: any): any;
  release(): Promise<void>;
  releaseSync(): void;
  readonly released: boolean;
}
export declare class Database {
  datoms(args: any): Promise<Datom[]>;
  datomsSync(args: any): Datom[];
  schema(): any;
  reverseSchema(): any;
  release(): void;
  readonly released: boolean;
  [op: string]: any;
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
