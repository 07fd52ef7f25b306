'use strict';
// bench_node.js DATADIR — the bindings suite through the Node binding
// (require('datalith') from the repository root; the addon from
// DATALITH_NODE_ADDON or build/node).  Shapes, sizes and timing as
// bench_c.c (BENCH_WARMUP_S, BENCH_SAMPLES, BENCH_SAMPLE_S, BENCH_ONLY);
// one TSV line per shape: engine shape median_ms min_ms size.  The
// synchronous variants (qSync, pullSync, transactSync) are timed: the
// Promise variants add a thread-pool round trip (see `q1-async`).
const fs = require('fs');
const path = require('path');
const d = require(path.join(__dirname, '..', '..'));

const env = (k, dflt) => (process.env[k] ? Number(process.env[k]) : dflt);
const ONLY = process.env.BENCH_ONLY || '';
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function benchRun(shape, op) {
  if (ONLY && !shape.includes(ONLY)) return;
  const warm = env('BENCH_WARMUP_S', 1.0) * 1e3;
  const nsamples = Math.max(1, env('BENCH_SAMPLES', 5));
  const sample = env('BENCH_SAMPLE_S', 0.5) * 1e3;
  const t0 = now();
  const size = await op();
  while (now() - t0 < warm) await op();
  const s = [];
  for (let k = 0; k < nsamples; k++) {
    let reps = 0;
    const a = now();
    let b;
    do {
      await op();
      reps++;
    } while ((b = now()) - a < sample);
    s.push((b - a) / reps);
  }
  s.sort((x, y) => x - y);
  process.stdout.write(`node\t${shape}\t${s[s.length >> 1].toFixed(4)}\t${s[0].toFixed(4)}\t${size}\t\n`);
}

function countMaps(v) {
  if (v instanceof Map) {
    let n = 1;
    for (const x of v.values()) n += countMaps(x);
    return n;
  }
  if (Array.isArray(v) || v instanceof Set) {
    let n = 0;
    for (const x of v) n += countMaps(x);
    return n;
  }
  if (v && typeof v === 'object' && v.constructor === Object) {
    let n = 1;
    for (const x of Object.values(v)) n += countMaps(x);
    return n;
  }
  return 0;
}
const rows = (r) => (r instanceof Set || r instanceof Map ? r.size : r.length);

async function main() {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: bench_node.js DATADIR');
  const read = (n) => d.parseEdn(fs.readFileSync(path.join(dir, n), 'utf8'));
  const schema = read('schema.edn');
  const fresh = (id) => {
    const cfg = { store: { backend: d.kw('memory'), id }, 'keep-history?': false };
    d.createDatabaseSync(cfg);
    const c = d.connectSync(cfg);
    c.transactSync(schema);
    return c;
  };
  const people = fresh('bb-people');
  people.transactSync(read('people.edn'));
  people.transactSync(read('follows.edn'));
  const tree = fresh('bb-tree');
  tree.transactSync(read('tree.edn'));
  const scratch = fresh('bb-scratch');
  const pdb = people.db();
  const tdb = tree.db();

  await benchRun('db+q-tiny', () => {
    const db = people.db();
    db.qSync('[:find ?a . :where [1000 :age ?a]]');
    db.release();
    return 1;
  });
  const selSmall = d.parseEdn('[:name :age]');
  await benchRun('pull-small', () => countMaps(pdb.pullSync(selSmall, 1000)));
  const tx1 = d.parseEdn('[{:name "Tx" :age 1}]');
  await benchRun('transact-1', () => (scratch.transactSync(tx1), 1));
  const ints = Array.from({ length: 10000 }, (_, i) => i);
  await benchRun('in-10k', () => Number(pdb.qSync('[:find (count ?x) . :in $ [?x ...]]', ints)));
  const Q1 = '[:find ?e :where [?e :name "Ivan"]]';
  await benchRun('q1', () => rows(pdb.qSync(Q1)));
  await benchRun('q1-async', async () => rows(await pdb.q(Q1)));
  await benchRun('q2', () => rows(pdb.qSync('[:find ?e ?a :where [?e :name "Ivan"] [?e :age ?a]]')));
  await benchRun('q5', () => rows(pdb.qSync(
    '[:find ?e1 ?l ?a :where [?e :name "Ivan"] [?e :age ?a] [?e1 :age ?a] [?e1 :last-name ?l]]')));
  const selTree = d.parseEdn('[:name {:follows ...}]');
  await benchRun('pull-one', () => countMaps(tdb.pullSync(selTree, 200000)));
  await benchRun('rows-10k', () => rows(pdb.qSync(
    '[:find ?e ?n ?a :where [?e :name ?n] [?e :age ?a] [(< ?e 11000)]]')));
  pdb.release();
  tdb.release();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
