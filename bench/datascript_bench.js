// datascript_bench.js — the Datascript peer of shared/bench/WORKLOAD.md: the
// same data as bench_common.h (mulberry32 line by line, same entity ids) and
// the same shapes through Datascript's JS API (the npm package pinned in
// bench/peers/package.json).  Every shape runs twice, with every attribute
// :db/index true and without; the line shows the faster, and the note says
// which ("idx" or "noidx").
//
// JS API differences, none of which changes a result size: attributes are
// strings ("name"), the keyword :male is the string "male", rules are passed
// as an EDN string.  Temporal shapes are n/a (Datascript keeps no history).
//
//   node bench/datascript_bench.js        (env as in bench_common.h)
//
// Output: TSV lines engine shape median_ms min_ms result_size note.
'use strict';
const path = require('path');
const d = require(path.join(__dirname, 'peers', 'node_modules', 'datascript'));

const NPEOPLE = 20000, PEOPLE_BASE = 1000, DIV_BASE = 100000, DEPT_BASE = 100100, JP_BASE = 101000,
  TREE_BASE = 200000;

let state = 0;
function mulberry32() {
  state = (state + 0x6D2B79F5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (t ^ (t >>> 14)) >>> 0;
}
const randInt = (n) => mulberry32() % n;
const names = ['Ivan', 'Petr', 'Sergei', 'Oleg', 'Yuri', 'Dmitry', 'Fedor', 'Denis'];
const lasts = ['Ivanov', 'Petrov', 'Sidorov', 'Kovalev', 'Kuznetsov', 'Voronoi'];

// ---- data (mirrors gen_people / gen_trees in bench_common.h) ----
state = 42;
const people = [];
for (let i = 0; i < NPEOPLE; i++) {
  people.push({
    name: names[randInt(8)], last: lasts[randInt(6)], sex: randInt(2) ? 'female' : 'male',
    age: randInt(100), salary: randInt(100000), follows: -1,
  });
}
for (let i = NPEOPLE - 1; i >= 1; i--) {
  const j = randInt(i + 1);
  const t = people[i]; people[i] = people[j]; people[j] = t;
}
{
  const ivans = people.filter((p) => p.name === 'Ivan').length;
  const sum = people.reduce((s, p) => s + p.salary, 0);
  if (ivans !== 2407 || sum !== 998847057) {
    console.error(`people20k check failed: ${ivans} Ivans, salary sum ${sum}`);
    process.exit(1);
  }
}
for (let i = 0; i < NPEOPLE; i++) {
  if (randInt(2) === 0) {
    let j = randInt(NPEOPLE - 1);
    if (j >= i) j++;
    people[i].follows = j;
  }
}
state = 7;
const depts = [];
for (let k = 0; k < 100; k++) depts.push({ budget: randInt(500000), div: randInt(10) });
const jpeople = [];
for (let i = 0; i < NPEOPLE; i++) {
  jpeople.push({ name: names[randInt(8)], salary: 30000 + randInt(70000), dept: randInt(100) });
}

const trees = [
  ['rules-wide-3x3', 1, 3, 3], ['rules-wide-5x3', 1, 5, 3], ['rules-wide-7x3', 1, 7, 3],
  ['rules-wide-4x6', 1, 4, 6], ['rules-long-10x3', 0, 10, 3], ['rules-long-30x3', 0, 30, 3],
  ['rules-long-30x5', 0, 30, 5], ['pull-tree-4x5', 1, 4, 5],
].map(([name, wide, w, dd]) => ({ name, wide, w, d: dd, root: 0 }));
let nextId = TREE_BASE;
const edges = [];
function wideNode(w, depth) {
  const id = nextId++;
  if (depth > 0) for (let k = 0; k < w; k++) edges.push([id, wideNode(w, depth - 1)]);
  return id;
}
for (const t of trees) {
  if (t.wide) t.root = wideNode(t.w, t.d);
  else {
    t.root = nextId++;
    for (let k = 0; k < t.w; k++) {
      let prev = t.root;
      for (let l = 0; l < t.d; l++) { const id = nextId++; edges.push([prev, id]); prev = id; }
    }
  }
}

// ---- timing (bench_common.h's rules) ----
const envNum = (n, dflt) => (process.env[n] ? Number(process.env[n]) : dflt);
const now = () => performance.now();
const only = process.env.BENCH_ONLY || '';
const selected = (shape) => !only || shape.includes(only);

function measure(op) {
  const warm = envNum('BENCH_WARMUP_S', 1.0) * 1e3;
  const nsamples = Math.max(1, Math.min(64, envNum('BENCH_SAMPLES', 5) | 0));
  const sample = envNum('BENCH_SAMPLE_S', 0.5) * 1e3;
  const t0 = now();
  const size = op();
  while (now() - t0 < warm) op();
  const s = [];
  for (let k = 0; k < nsamples; k++) {
    let reps = 0;
    const a = now();
    let b;
    do { op(); reps++; } while ((b = now()) - a < sample);
    s.push((b - a) / reps);
  }
  s.sort((x, y) => x - y);
  return { median: s[nsamples >> 1], min: s[0], size };
}

function line(shape, r, note) {
  if (!r) console.log(`datascript\t${shape}\t-\t-\tERR\t${note}`);
  else console.log(`datascript\t${shape}\t${r.median.toFixed(4)}\t${r.min.toFixed(4)}\t${r.size}\t${note}`);
}

// ---- databases, with and without :db/index ----
function schema(indexed) {
  const idx = indexed ? { ':db/index': true } : {};
  return {
    name: { ...idx }, 'last-name': { ...idx }, sex: { ...idx }, age: { ...idx }, salary: { ...idx },
    follows: { ':db/valueType': ':db.type/ref', ':db/cardinality': ':db.cardinality/many' },
    'div/name': { ...idx }, 'd/name': { ...idx }, 'd/budget': { ...idx },
    'd/div': { ':db/valueType': ':db.type/ref', ...idx },
    'p/name': { ...idx }, 'p/salary': { ...idx },
    'p/dept': { ':db/valueType': ':db.type/ref', ...idx },
  };
}
const personMap = (p, i) => ({
  ':db/id': PEOPLE_BASE + i, name: p.name, 'last-name': p.last, sex: p.sex, age: p.age, salary: p.salary,
});

function buildDbs(indexed) {
  let people_db = d.db_with(d.empty_db(schema(indexed)), people.map(personMap));
  people_db = d.db_with(people_db, people.flatMap((p, i) => (p.follows >= 0
    ? [[':db/add', PEOPLE_BASE + i, 'follows', PEOPLE_BASE + p.follows]] : [])));
  let joins = d.db_with(d.empty_db(schema(indexed)), [
    ...Array.from({ length: 10 }, (_, k) => ({ ':db/id': DIV_BASE + k, 'div/name': `div-${k}` })),
    ...depts.map((x, k) => ({
      ':db/id': DEPT_BASE + k, 'd/name': `dept-${k}`, 'd/budget': x.budget, 'd/div': DIV_BASE + x.div,
    })),
  ]);
  joins = d.db_with(joins, jpeople.map((p, i) => ({
    ':db/id': JP_BASE + i, 'p/name': p.name, 'p/salary': p.salary, 'p/dept': DEPT_BASE + p.dept,
  })));
  const tx = [];
  for (let id = TREE_BASE; id < nextId; id++) tx.push([':db/add', id, 'name', 'Ivan']);
  for (const [a, b] of edges) tx.push([':db/add', a, 'follows', b]);
  const treedb = d.db_with(d.empty_db(schema(indexed)), tx);
  return { people: people_db, joins, trees: treedb };
}

const IVAN = '[?e "name" "Ivan"]';
const followRules = '[[(follow ?a ?b) [?a "follows" ?b]] [(follow ?a ?b) [?a "follows" ?t] (follow ?t ?b)]]';
const countMaps = (x) => {
  if (Array.isArray(x)) return x.reduce((s, y) => s + countMaps(y), 0);
  if (x && typeof x === 'object') return 1 + Object.values(x).reduce((s, y) => s + countMaps(y), 0);
  return 0;
};
const qsize = (r) => (Array.isArray(r) ? r.length : 1);

function shapes(dbs) {
  const Q = (db, q, ...inputs) => () => qsize(d.q(q, db, ...inputs));
  const P = dbs.people, J = dbs.joins, T = dbs.trees;
  const list = [
    ['q1', Q(P, `[:find ?e :where ${IVAN}]`)],
    ['q2', Q(P, `[:find ?e ?a :where ${IVAN} [?e "age" ?a]]`)],
    ['q2-switch', Q(P, `[:find ?e ?a :where [?e "age" ?a] ${IVAN}]`)],
    ['q3', Q(P, `[:find ?e ?a :where ${IVAN} [?e "age" ?a] [?e "sex" "male"]]`)],
    ['q4', Q(P, `[:find ?e ?l ?a :where ${IVAN} [?e "last-name" ?l] [?e "age" ?a] [?e "sex" "male"]]`)],
    ['q5', Q(P, `[:find ?e1 ?l ?a :where ${IVAN} [?e "age" ?a] [?e1 "age" ?a] [?e1 "last-name" ?l]]`)],
    ['qpred1', Q(P, '[:find ?e ?s :where [?e "salary" ?s] [(> ?s 50000)]]')],
    ['qpred2', Q(P, '[:find ?e ?s :in $ ?min :where [?e "salary" ?s] [(> ?s ?min)]]', 50000)],
    ['q-or', Q(P, '[:find ?e :where (or [?e "name" "Ivan"] [?e "name" "Oleg"])]')],
    ['q-not', Q(P, `[:find ?e :where ${IVAN} (not [?e "sex" "male"])]`)],
    ['q-or-join', Q(P, `[:find ?e :where ${IVAN} (or-join [?e] [?e "last-name" "Ivanov"] [?e "age" 30])]`)],
    ['q-not-join', Q(P, `[:find ?e :where ${IVAN} (not-join [?e] [?e "follows" ?f] [?f "name" "Petr"])]`)],
    ['q-pred-range', Q(P, '[:find ?e ?s :where [?e "salary" ?s] [(> ?s 50000)] [(< ?s 80000)]]')],
    ['q-5-merge', Q(P, '[:find ?e ?n ?l ?a ?s :where [?e "sex" "male"] [?e "name" ?n] [?e "last-name" ?l] [?e "age" ?a] [?e "salary" ?s]]')],
    ['q-rule', Q(P, `[:find ?e ?n :in $ % :where ${IVAN} (follows-name ?e ?n)]`,
      '[[(follows-name ?e ?n) [?e "follows" ?f] [?f "name" ?n]]]')],
    ['agg-avg', Q(P, '[:find (avg ?s) :with ?e :where [?e "salary" ?s]]')],
    ['agg-avg-count-by-sex', Q(P, '[:find ?x (avg ?s) (count ?e) :where [?e "sex" ?x] [?e "salary" ?s]]')],
    ['agg-male-avg-min-max', Q(P, '[:find (avg ?s) (min ?s) (max ?s) :with ?e :where [?e "sex" "male"] [?e "salary" ?s]]')],
    ['agg-pred-by-sex', Q(P, '[:find ?x (avg ?s) :with ?e :where [?e "salary" ?s] [(> ?s 50000)] [?e "sex" ?x]]')],
    ['agg-by-sex-name', Q(P, '[:find ?x ?n (avg ?s) :with ?e :where [?e "sex" ?x] [?e "name" ?n] [?e "salary" ?s]]')],
    ['agg-stats', Q(P, '[:find (avg ?s) (variance ?s) (stddev ?s) (median ?s) :with ?e :where [?e "salary" ?s]]')],
    ['join-1dept', Q(J, '[:find ?p :where [?d "d/name" "dept-7"] [?p "p/dept" ?d]]')],
    ['join-budget>450k', Q(J, '[:find ?p :where [?d "d/budget" ?b] [(> ?b 450000)] [?p "p/dept" ?d]]')],
    ['join-budget>400k', Q(J, '[:find ?p :where [?d "d/budget" ?b] [(> ?b 400000)] [?p "p/dept" ?d]]')],
    ['join-3hop', Q(J, '[:find ?p ?vn :where [?p "p/dept" ?d] [?d "d/div" ?v] [?v "div/name" ?vn]]')],
    ['join-salary>90k', Q(J, '[:find ?p ?dn :where [?p "p/salary" ?s] [(> ?s 90000)] [?p "p/dept" ?d] [?d "d/name" ?dn]]')],
  ];
  for (const t of trees) {
    if (t.name.startsWith('pull')) continue;
    list.push([t.name, Q(T, '[:find ?d :in $ % ?r :where (follow ?r ?d)]', followRules, t.root)]);
  }
  const root45 = trees[trees.length - 1].root;
  const ids = Array.from({ length: 1000 }, (_, i) => PEOPLE_BASE + i);
  list.push(['pull-one', () => countMaps(d.pull(T, '["name" {"follows" ...}]', root45))]);
  list.push(['pull-wildcard', () => countMaps(d.pull(T, '[* {"follows" ...}]', root45))]);
  list.push(['pull-many', () => countMaps(d.pull_many(P, '["name" "last-name" "sex" "age" "salary" {"follows" ["name"]}]', ids))]);
  return list;
}

function writes(indexed) {
  const reps = Math.max(1, Math.min(16, envNum('BENCH_WRITE_REPS', 3) | 0));
  const t = { 'add-1': [], 'add-5': [], 'retract-5': [], 'add-all': [] };
  for (let r = 0; r < reps; r++) {
    if (selected('add-1')) {
      const conn = d.create_conn(schema(indexed));
      const t0 = now();
      for (let i = 0; i < NPEOPLE; i++) d.transact(conn, [[':db/add', PEOPLE_BASE + i, 'age', people[i].age]]);
      t['add-1'].push(now() - t0);
    }
    if (selected('add-5') || selected('retract-5')) {
      const conn = d.create_conn(schema(indexed));
      let t0 = now();
      for (let i = 0; i < NPEOPLE; i++) d.transact(conn, [personMap(people[i], i)]);
      t['add-5'].push(now() - t0);
      t0 = now();
      for (let i = 0; i < NPEOPLE; i++) d.transact(conn, [[':db.fn/retractEntity', PEOPLE_BASE + i]]);
      t['retract-5'].push(now() - t0);
    }
    if (selected('add-all')) {
      const conn = d.create_conn(schema(indexed));
      const txd = people.map(personMap);
      const t0 = now();
      d.transact(conn, txd);
      t['add-all'].push(now() - t0);
    }
  }
  const out = {};
  const sizes = { 'add-1': NPEOPLE, 'add-5': 5 * NPEOPLE, 'retract-5': 5 * NPEOPLE, 'add-all': 5 * NPEOPLE };
  for (const [k, v] of Object.entries(t)) {
    if (!v.length) continue;
    v.sort((x, y) => x - y);
    out[k] = { median: v[v.length >> 1], min: v[0], size: sizes[k] };
  }
  return out;
}

function main() {
  const res = [{}, {}];
  const order = [];
  for (const indexed of [1, 0]) {
    const list = shapes(buildDbs(indexed));
    for (const [shape, op] of list) {
      if (!selected(shape)) continue;
      if (indexed) order.push(shape);
      try {
        res[indexed][shape] = measure(op);
      } catch (e) {
        console.error(`datascript ${shape}: ${e.message}`);
        res[indexed][shape] = null;
      }
    }
    const w = writes(indexed);
    for (const [k, v] of Object.entries(w)) {
      if (indexed) order.push(k);
      res[indexed][k] = v;
    }
  }
  const temporal = ['temporal-current-q1', 'temporal-current-q2', 'temporal-asof-q1', 'temporal-asof-q2',
    'temporal-asof-q3', 'history-names', 'history-age-tx', 'history-name-age', 'history-retracted-ages'];
  for (const shape of order) {
    const a = res[1][shape], b = res[0][shape];
    if (a && b && a.size !== b.size) {
      line(shape, null, `idx and noidx disagree: ${a.size} vs ${b.size}`);
      continue;
    }
    if (!a && !b) { line(shape, null, 'error (see stderr)'); continue; }
    const useA = a && (!b || a.median <= b.median);
    const other = useA ? b : a;
    line(shape, useA ? a : b, `${useA ? 'idx' : 'noidx'}${other ? ` (other ${other.median.toFixed(3)})` : ''}`);
  }
  for (const s of temporal) if (selected(s)) console.log(`datascript\t${s}\t-\t-\tn/a\tno history in Datascript`);
  if (selected('init')) console.log('datascript\tinit\t-\t-\tn/a\tnot measured (init_db needs datom objects the JS API does not build)');
}

main();
