'use strict';
// tests/scaleout/reader.js — the Node reader of the scale-out tests.
//
// The same output as reader.c (read its header comment), through the
// project's Node binding (the repository root's package, build/node/
// datalith.node from `npm install`): every --interval-ms it asks the
// connection for the current snapshot (conn.db(), which re-reads the head
// from the store) and queries the snapshot it serves, printing one JSON line
// per tick; outages go to stderr and the last snapshot keeps being served.
// conn.db() is synchronous in the binding, so while the store hangs this
// reader's event loop waits with it (the C and Python readers refresh on a
// separate thread instead).
//
//   node reader.js [--interval-ms N] [--count-query EDN] [--hold]
//                  [--ticks N] [--name NAME] CONFIG-EDN

const path = require('path');
const d = require(process.env.DL_SOURCE_DIR || path.join(__dirname, '..', '..'));

const MAX_TX_Q = '[:find (max ?t) . :where [?t :db/txInstant]]';

function parseArgs(argv) {
  const a = { interval: 200, countQ: '[:find (count ?e) . :where [?e :scn/n]]',
              hold: false, ticks: -1, name: 'reader', config: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--interval-ms') a.interval = Number(argv[++i]);
    else if (k === '--count-query') a.countQ = argv[++i];
    else if (k === '--hold') a.hold = true;
    else if (k === '--ticks') a.ticks = Number(argv[++i]);
    else if (k === '--name') a.name = argv[++i];
    else if (!k.startsWith('-') && a.config === null) a.config = k;
    else { process.stderr.write('usage: node reader.js [--interval-ms N] [--count-query EDN] [--hold] [--ticks N] [--name NAME] CONFIG-EDN\n'); process.exit(2); }
  }
  if (a.config === null) process.exit(2);
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint() / 1000000n);
const errText = (e) => `${e.code || e.name}: ${e.message}`;
const num = (v) => (v === null || v === undefined ? null : Number(v));

async function main() {
  const a = parseArgs(process.argv.slice(2));
  let stop = false;
  process.on('SIGTERM', () => { stop = true; });
  const config = d.parseEdn(a.config);
  const started = now();
  let conn = null;
  for (let n = 0; !stop; n++) {
    try { conn = await d.connect(config); break; } catch (e) {
      if (['DATALITH_EPARSE', 'DATALITH_EINVAL', 'DATALITH_EUNSUPPORTED'].includes(e.code)) {
        process.stderr.write(`${a.name}: connect failed: ${errText(e)}\n`); return 1;
      }
      if (n % 25 === 0) process.stderr.write(`${a.name}: OUTAGE: cannot connect (${errText(e)}); retrying\n`);
      await sleep(a.interval);
    }
  }
  if (stop) return 0;
  let served = conn.db();
  const held = a.hold ? conn.db() : null;
  let confirmed = now();
  process.stderr.write(`${a.name}: connected in ${confirmed - started} ms\n`);
  let outage = false, since = 0, lastNote = 0;
  const q = async (db, query) => {
    try { return num(await d.q(query, [db], [])); } catch (e) {
      process.stderr.write(`${a.name}: query failed: ${errText(e)}\n`); return 'error';
    }
  };
  for (let tick = 1; !stop && (a.ticks < 0 || tick <= a.ticks); tick++) {
    try {
      const db = conn.db();
      const t = now();
      served.release();
      served = db;
      confirmed = t;
      if (outage) {
        outage = false;
        process.stderr.write(`${a.name}: RECOVERED after ${t - since} ms; max-tx ${await q(db, MAX_TX_Q)}\n`);
      }
    } catch (e) {
      const t = now();
      if (!outage) {
        outage = true; since = lastNote = t;
        process.stderr.write(`${a.name}: OUTAGE: cannot read the current head (${errText(e)}); serving the last snapshot\n`);
      } else if (t - lastNote >= 5000) {
        lastNote = t;
        process.stderr.write(`${a.name}: still unreachable after ${t - since} ms (${errText(e)}); serving the last snapshot\n`);
      }
    }
    const line = { tick, state: outage ? 'outage' : 'ok',
                   max_tx: await q(served, MAX_TX_Q), count: await q(served, a.countQ) };
    if (held) {
      line.held_max_tx = await q(held, MAX_TX_Q);
      line.held_count = await q(held, a.countQ);
    }
    line.age_ms = now() - confirmed;
    process.stdout.write(JSON.stringify(line) + '\n');
    if (a.ticks < 0 || tick < a.ticks) await sleep(a.interval);
  }
  served.release();
  if (held) held.release();
  await conn.release();
  return 0;
}

main().then((rc) => { process.exitCode = rc; }, (e) => { process.stderr.write(`reader.js: ${e.stack}\n`); process.exitCode = 1; });
