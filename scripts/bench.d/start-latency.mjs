// Start latency of adw-server, for scripts/bench (Node 20, built-in modules only).
//
//   node start-latency.mjs --url http://127.0.0.1:PORT --db CONNINFO --n 200
//        [--burst 20] [--rounds R] [--modes seq,burst] [--max-running 8]
//        [--server-log FILE] [--gap-ms 50] [--poll-ms 20] [--burst-gap-ms 400]
//
// Creates N ADWs one at a time (each waited to its end), then N more in bursts
// of --burst concurrent POSTs (R = ceil(N / burst) bursts unless --rounds; each
// burst waited to its end, then --burst-gap-ms so every slot is free again). Afterwards it
// reads the timestamps PostgreSQL stored and prints percentiles:
//   t0      client wall clock just before the POST is written (µs; Node's
//           performance.timeOrigin + performance.now(), checked against Date.now())
//   created ai_developer_workflows.created_at = now() of the create transaction
//   ev0     events.created_at (clock_timestamp()) of the AdwCreated event, the
//           last statement of the create transaction before COMMIT
//   claimed ai_developer_workflows.started_at = now() of the supervisor's claim UPDATE
//   spawned the "started adw-run pid=" line of the server log (ms resolution,
//           written after posix_spawn and the worker_pid UPDATE)
//   started events.created_at of the child's "Workflow started" SystemInfo event
//           (its first event; autocommit, so committed right after)
// Everything is on the same host clock (CLOCK_REALTIME). It never fails on a number.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { psqlRows, table } from './stats.mjs';

const opt = { n: 200, burst: 20, rounds: 0, modes: 'seq,burst', 'max-running': 8, 'gap-ms': 50, 'poll-ms': 20, 'burst-gap-ms': 400 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  opt[k] = process.argv[i + 1];
}
for (const k of ['n', 'burst', 'rounds', 'max-running', 'gap-ms', 'poll-ms', 'burst-gap-ms']) opt[k] = Number(opt[k]);
if (!opt.url || !opt.db) {
  console.error('usage: start-latency.mjs --url URL --db CONNINFO [--n N] [--burst B] [--server-log FILE]');
  process.exit(2);
}
const base = new URL(opt.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

/** Offset (ms) of nowUs() against Date.now(), measured on a millisecond edge. */
function clockOffsetMs() {
  const offs = [];
  for (let k = 0; k < 5; k++) {
    const d0 = Date.now();
    let d;
    while ((d = Date.now()) === d0);
    offs.push(nowUs() / 1000 - d);
  }
  offs.sort((a, b) => a - b);
  return offs[2];
}

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({
      host: base.hostname, port: base.port, path, method, agent,
      headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {},
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, text });
      });
    });
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

const samples = []; // {name, mode, round, t0, t1, id, status}

async function createOne(name, mode, round) {
  const s = { name, mode, round };
  s.t0 = nowUs();
  try {
    const r = await request('POST', '/api/adws', { workflow: 'plan_build', prompt: `bench start latency ${name}`, name, runtime: 'dry-run' });
    s.t1 = nowUs();
    s.status = r.status;
    s.id = r.json && r.json.adw && r.json.adw.id;
  } catch (e) {
    s.t1 = nowUs();
    s.status = String(e.message || e);
  }
  samples.push(s);
  return s;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

async function waitTerminal(id, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  await sleep(Math.min(30, opt['poll-ms']));
  while (Date.now() < end) {
    const r = await request('GET', `/api/adws/${id}`);
    if (r.json && r.json.adw && TERMINAL.has(r.json.adw.status)) return r.json.adw.status;
    await sleep(opt['poll-ms']);
  }
  return 'timeout';
}

async function waitIdle(timeoutMs = 120000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const [p, q] = await Promise.all([
      request('GET', '/api/adws?status=pending&limit=1'),
      request('GET', '/api/adws?status=in_progress&limit=1'),
    ]);
    if (p.json && q.json && p.json.adws.length === 0 && q.json.adws.length === 0) return true;
    await sleep(50);
  }
  return false;
}

const psql = (query) => psqlRows(opt.db, query);
const { header, row } = table(46);

async function main() {
  const off0 = clockOffsetMs();
  const tag = `b${process.pid}`;
  // Warm-up: the first ADW pays for cold caches (backend start, catalog cache); not counted.
  {
    const s = await createOne(`${tag}-warmup`, 'warmup', 0);
    if (s.id) await waitTerminal(s.id);
    await sleep(300);
  }
  const modes = new Set(opt.modes.split(','));
  const tSeq = Date.now();
  for (let i = 0; modes.has('seq') && i < opt.n; i++) {
    const s = await createOne(`${tag}-seq-${i}`, 'seq', 0);
    if (s.id) s.final = await waitTerminal(s.id);
    await sleep(opt['gap-ms']);
  }
  const seqWall = (Date.now() - tSeq) / 1000;
  await sleep(opt['burst-gap-ms']);
  const rounds = !modes.has('burst') ? 0 : opt.rounds > 0 ? opt.rounds : Math.max(1, Math.ceil(opt.n / opt.burst));
  const tBurst = Date.now();
  for (let r = 0; r < rounds; r++) {
    const jobs = [];
    for (let i = 0; i < opt.burst; i++) jobs.push(createOne(`${tag}-burst-${r}-${i}`, 'burst', r));
    await Promise.all(jobs);
    await waitIdle();
    await sleep(opt['burst-gap-ms']); // > the supervisor's 200 ms reap tick: all slots free again
  }
  const burstWall = (Date.now() - tBurst) / 1000;
  const off1 = clockOffsetMs();

  // Timestamps from PostgreSQL, in µs since the epoch.
  const us = (e) => `(extract(epoch FROM ${e}) * 1000000)::bigint`;
  const rows = psql(`SELECT a.adw_name, a.id, a.status, ${us('a.created_at')}, ${us('a.started_at')},
      (SELECT ${us('min(e.created_at)')} FROM events e WHERE e.adw_id = a.id AND e.type = 'AdwCreated'),
      (SELECT ${us('min(e.created_at)')} FROM events e WHERE e.adw_id = a.id AND e.type = 'SystemInfo'
         AND e.content LIKE 'Workflow started%'),
      ${us('a.completed_at')}
    FROM ai_developer_workflows a WHERE a.adw_name LIKE '${tag}-%'`);
  const db = new Map(rows.map((r) => [r[0], {
    id: r[1], status: r[2], created: +r[3], claimed: +r[4] || NaN, ev0: +r[5] || NaN, started: +r[6] || NaN,
    completed: +r[7] || NaN,
  }]));
  // "started adw-run" lines of the server log (ms resolution, UTC).
  const spawned = new Map();
  if (opt['server-log']) {
    for (const line of readFileSync(opt['server-log'], 'utf8').split('\n')) {
      const m = line.match(/^(\S+Z) \S+ info: adw=([0-9a-f-]{36}) started adw-run pid=/);
      if (m) spawned.set(m[2], Date.parse(m[1]) * 1000);
    }
  }

  const bad = [];
  for (const s of samples) {
    const d = db.get(s.name);
    if (s.status !== 201 || !d || !Number.isFinite(d.started)) bad.push(`${s.name}: http ${s.status}, db ${d ? d.status : 'missing'}`);
    Object.assign(s, d || {});
    s.spawned = d ? spawned.get(d.id) : undefined;
  }

  console.log(`clock check: (performance.timeOrigin+now) - Date.now() = ${off0.toFixed(3)} ms at start, ${off1.toFixed(3)} ms at end`);
  console.log(`sequential: ${modes.has('seq') ? opt.n : 0} ADWs in ${seqWall.toFixed(1)} s; burst: ${rounds} x ${opt.burst} ADWs in ${burstWall.toFixed(1)} s; ADW_MAX_RUNNING=${opt['max-running']}`);
  if (bad.length) console.log(`WARNING: ${bad.length} ADWs without a start event or a 201: ${bad.slice(0, 5).join('; ')}`);

  const ms = (a, b) => (b - a) / 1000;
  function report(title, list) {
    header(title);
    row('POST round trip (client)', list.map((s) => ms(s.t0, s.t1)));
    row('POST sent -> created_at (parse, BEGIN)', list.map((s) => ms(s.t0, s.created)));
    row('created_at -> AdwCreated event (create tx)', list.map((s) => ms(s.created, s.ev0)));
    row('AdwCreated -> started_at (COMMIT, NOTIFY, claim)', list.map((s) => ms(s.ev0, s.claimed)));
    row('claim: created_at -> started_at', list.map((s) => ms(s.created, s.claimed)));
    row('started_at -> spawned log line (ms res.)', list.map((s) => ms(s.claimed, s.spawned)));
    row('child start: started_at -> Workflow started', list.map((s) => ms(s.claimed, s.started)));
    row('created_at -> Workflow started (DB only)', list.map((s) => ms(s.created, s.started)));
    row('POST sent -> spawned log line (ms res.)', list.map((s) => ms(s.t0, s.spawned)));
    row('T1: POST sent -> Workflow started', list.map((s) => ms(s.t0, s.started)));
    row('whole ADW: created_at -> completed_at', list.map((s) => ms(s.created, s.completed)));
  }
  const seq = samples.filter((s) => s.mode === 'seq');
  const burst = samples.filter((s) => s.mode === 'burst');
  if (seq.length) report(`Sequential (${seq.length} ADWs, one at a time, each waited to its end)`, seq);
  if (!rounds) { agent.destroy(); return; }
  report(`Burst (${burst.length} ADWs, ${rounds} bursts of ${opt.burst} concurrent POSTs, ADW_MAX_RUNNING=${opt['max-running']})`, burst);
  // Within each burst: the first max-running claims vs. those that waited for a slot.
  const first = [], queued = [];
  for (let r = 0; r < rounds; r++) {
    const b = burst.filter((s) => s.round === r && Number.isFinite(s.claimed)).sort((x, y) => x.claimed - y.claimed);
    b.forEach((s, i) => (i < opt['max-running'] ? first : queued).push(s));
  }
  header(`Burst, split: the first ${opt['max-running']} claimed of each burst vs. the ones that waited for a slot`);
  row(`claim, first ${opt['max-running']} of a burst`, first.map((s) => ms(s.created, s.claimed)));
  row('claim, queued ones', queued.map((s) => ms(s.created, s.claimed)));
  row(`T1, first ${opt['max-running']} of a burst`, first.map((s) => ms(s.t0, s.started)));
  row('T1, queued ones', queued.map((s) => ms(s.t0, s.started)));
  // How long a freed slot stays empty: the k-th queued ADW of a burst (in claim
  // order) takes the slot freed by the k-th ADW of that burst to complete.
  const idleSlot = [];
  for (let r = 0; r < rounds; r++) {
    const done = burst.filter((s) => s.round === r).map((s) => s.completed).filter(Number.isFinite).sort((a, b) => a - b);
    const q = queued.filter((s) => s.round === r).sort((x, y) => x.claimed - y.claimed);
    q.forEach((s, k) => { if (k < done.length) idleSlot.push(ms(done[k], s.claimed)); });
  }
  row('slot refill: k-th completed_at -> k-th queued claim', idleSlot);
  agent.destroy();
}

main().catch((e) => { console.error(e); agent.destroy(); process.exit(1); });
