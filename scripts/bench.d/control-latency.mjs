// Control latency of adw-server (issue 4), for scripts/bench (Node 20, built-in modules only).
//
//   node control-latency.mjs --url http://127.0.0.1:PORT --db CONNINFO
//        [--adws 50] [--requests 500] [--concurrency 8] [--pause 20]
//        [--ack-timeout-ms 5000] [--settle-ms 2000] [--server-pid PID] [--pg-pid PID]
//
// Against a server with ADW_RUNTIME=dry-run and ADW_MAX_RUNNING >= --adws, on a
// database of its own:
//   1. creates --adws plan_build ADWs whose prompt holds [dry-run:delay=600000]
//      (each step waits 10 minutes, steerably) and waits until every one is
//      in_progress with current_step = 'plan', then --settle-ms;
//   2. sends --requests POST /api/adws/{id}/messages {"action_type":"instruction"}
//      round-robin over the ADWs, at most --concurrency in flight, and records
//      t0 (before the request is written) and t200 (the response's arrival) as
//      wall clock in µs (performance.timeOrigin + performance.now());
//   3. reads adw_messages with one SQL query: acknowledged_at (clock_timestamp()
//      in the child's acknowledging UPDATE), created_at (clock_timestamp() at the
//      server's INSERT), processed_at (the dry-run agent got the instruction),
//      and the created_at of the events the triggers of migration 005 inserted
//      for the INSERT and for the change to 'acknowledged' (events.created_at is
//      clock_timestamp() after the BEFORE STATEMENT trigger of migration 003
//      took the events advisory lock);
//   4. pauses --pause of the ADWs (POST /api/adws/{id}/pause): t200 -> the pause
//      message's processed_at (the child has set status 'paused'); then resumes
//      them: t200 -> the resume message's processed_at;
//   5. cancels every ADW and waits until all are cancelled.
// Latency = acknowledged_at - t200, same host clock (CLOCK_REALTIME); it is
// negative when the child acknowledged before the response reached the client
// (the server runs one more query, SELECT adw_json(), after its COMMIT), and
// is kept as is. A message not acknowledged within --ack-timeout-ms of its t200
// is a failure. CPU during the requests is read from /proc: the box, and with
// --server-pid / --pg-pid the server with its adw-run children and the
// postmaster with its backends; also during the settle window, with the ADWs
// running and no requests. Per request it counts the transactions that inserted
// events (distinct xmin of the new rows: each is one NOTIFY on adw_events, which
// PostgreSQL 15 signals to every listening backend of the database, and each of
// those runs a transaction to read the queue) and the commits pg_stat_database
// counted (reported lazily by idle backends: a lower bound). It never fails on
// a number.
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { psqlRows, table } from './stats.mjs';

const opt = { adws: 50, requests: 500, concurrency: 8, pause: 20, 'ack-timeout-ms': 5000, 'settle-ms': 2000 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  opt[k] = process.argv[i + 1];
}
for (const k of ['adws', 'requests', 'concurrency', 'pause', 'ack-timeout-ms', 'settle-ms']) opt[k] = Number(opt[k]);
if (!opt.url || !opt.db || !(opt.adws >= 1) || !(opt.requests >= 1) || !(opt.concurrency >= 1)) {
  console.error('usage: control-latency.mjs --url URL --db CONNINFO [--adws N] [--requests M] [--concurrency C] [--pause P]');
  process.exit(2);
}
opt.pause = Math.max(0, Math.min(opt.pause, opt.adws));
const base = new URL(opt.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(opt.concurrency, 16) });
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

/** One request; resolves {status, json, t0, t200} (µs; t200 = response headers received). */
function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    let t200 = NaN;
    const req = http.request({
      host: base.hostname, port: base.port, path, method, agent,
      headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {},
    }, (res) => {
      t200 = nowUs();
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, text, t0, t200 });
      });
    });
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    const t0 = nowUs();
    if (data) req.write(data);
    req.end();
  });
}

/** Runs fn(i) for i in [0, n) with at most c in flight. */
async function pool(n, c, fn) {
  let next = 0;
  const workers = [];
  for (let w = 0; w < Math.min(c, n); w++) {
    workers.push((async () => {
      while (next < n) {
        const i = next++;
        await fn(i);
      }
    })());
  }
  await Promise.all(workers);
}

const psql = (query) => psqlRows(opt.db, query);
const { header, row } = table(52);

/** [utime+stime+cutime+cstime of pid, ppid] in clock ticks, or null. */
function statOf(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return [Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]), Number(f[1])];
  } catch { return null; }
}

/** CPU ticks of root and its direct children (live ones, and the reaped ones through c*time). */
function treeTicks(root) {
  if (!root) return NaN;
  let t = (statOf(root) || [0])[0];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = statOf(d);
    if (s && s[1] === root) t += s[0];
  }
  return t;
}

/** Busy and total ticks of the whole box (/proc/stat). */
function boxTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return [total - idle, total];
}

function cpuSnap() {
  return { box: boxTicks(), srv: treeTicks(Number(opt['server-pid']) || 0), pg: treeTicks(Number(opt['pg-pid']) || 0), self: process.cpuUsage(), t: Date.now() };
}

/** "box busy X % of N cores; server+children A ms, PostgreSQL B ms, client C ms of CPU per request". */
function cpuLine(a, b, n) {
  const hz = 100; // USER_HZ on Linux
  const busy = b.box[0] - a.box[0], total = b.box[1] - a.box[1];
  const per = (ticks) => (Number.isFinite(ticks) ? ((ticks * 1000) / hz / n).toFixed(2) : '-');
  const self = (b.self.user + b.self.system - a.self.user - a.self.system) / 1000 / n;
  return `box busy ${((100 * busy) / Math.max(1, total)).toFixed(0)} % of ${os.cpus().length} cores; per request: adw-server + adw-run ${per(b.srv - a.srv)} ms, PostgreSQL ${per(b.pg - a.pg)} ms, client ${self.toFixed(2)} ms of CPU`;
}

/** Counters of the database: commits (pg_stat_database) and the last event id. */
function dbCounters() {
  const [[commits, events]] = psql(`SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
      (SELECT COALESCE(max(id), 0) FROM events)`);
  return { commits: num(commits), events: num(events) };
}

const us = (e) => `(extract(epoch FROM ${e}) * 1000000)::bigint`;
const num = (s) => (s === undefined || s === '' ? NaN : Number(s));
const ms = (a, b) => (b - a) / 1000;

/** Polls GET /api/adws/{id} for every id until pred(adw) holds for all, or timeout. */
async function waitAll(ids, pred, timeoutMs) {
  const left = new Set(ids);
  const end = Date.now() + timeoutMs;
  const last = new Map();
  while (left.size && Date.now() < end) {
    const round = [...left];
    await pool(round.length, 8, async (i) => {
      const id = round[i];
      try {
        const r = await request('GET', `/api/adws/${id}`);
        const a = r.json && r.json.adw;
        if (a) last.set(id, a);
        if (a && pred(a)) left.delete(id);
      } catch { /* retried */ }
    });
    if (left.size) await sleep(100);
  }
  return { left: [...left], last };
}

async function main() {
  const off0 = clockOffsetMs();
  const tag = `c${process.pid}`;
  const cpu = os.cpus();
  console.log(`machine: nproc ${os.availableParallelism ? os.availableParallelism() : cpu.length}, cpu ${cpu.length ? cpu[0].model : '?'}, loadavg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`parameters: ${opt.adws} ADWs, ${opt.requests} instructions, at most ${opt.concurrency} in flight, pause/resume on ${opt.pause}, ack timeout ${opt['ack-timeout-ms']} ms`);

  // 1. The running ADWs.
  const t1 = Date.now();
  const ids = new Array(opt.adws);
  const createFail = [];
  await pool(opt.adws, 8, async (i) => {
    const name = `${tag}-${i}`;
    try {
      const r = await request('POST', '/api/adws', {
        workflow: 'plan_build', prompt: `bench control latency ${i} [dry-run:delay=600000]`, name, runtime: 'dry-run',
      });
      if (r.status === 201 && r.json && r.json.adw) ids[i] = r.json.adw.id;
      else createFail.push(`${name}: http ${r.status} ${r.text.slice(0, 120)}`);
    } catch (e) {
      createFail.push(`${name}: ${e.message || e}`);
    }
  });
  if (createFail.length) {
    console.log(`ERROR: ${createFail.length} ADWs not created: ${createFail.slice(0, 3).join('; ')}`);
    agent.destroy();
    process.exit(1);
  }
  const ready = await waitAll(ids, (a) => a.status === 'in_progress' && a.current_step === 'plan', 120000);
  if (ready.left.length) {
    const a = ready.last.get(ready.left[0]);
    console.log(`ERROR: ${ready.left.length} ADWs not running their plan step after 120 s (first: ${ready.left[0]} ${a ? `${a.status}/${a.current_step}` : '?'}); is ADW_MAX_RUNNING >= ${opt.adws}?`);
  }
  console.log(`setup: ${opt.adws} ADWs in_progress in step 'plan' after ${((Date.now() - t1) / 1000).toFixed(1)} s; settling ${opt['settle-ms']} ms`);
  const idle0 = cpuSnap();
  await sleep(opt['settle-ms']);
  const idle1 = cpuSnap();
  {
    const secs = (idle1.t - idle0.t) / 1000;
    console.log(`idle: CPU with ${opt.adws} ADWs running and no requests: ${cpuLine(idle0, idle1, secs).replace('per request', 'per second')}`);
  }
  const cnt0 = dbCounters();

  // 2. Instructions, round-robin, at most C in flight.
  const sent = new Array(opt.requests);
  const cpu0 = cpuSnap();
  const tSend = Date.now();
  await pool(opt.requests, opt.concurrency, async (i) => {
    const id = ids[i % opt.adws];
    const s = { i, adw: id };
    try {
      const r = await request('POST', `/api/adws/${id}/messages`, { action_type: 'instruction', content: `bench ${i}` });
      Object.assign(s, { status: r.status, t0: r.t0, t200: r.t200 });
      s.msg = r.json && r.json.message ? Number(r.json.message.id) : NaN;
    } catch (e) {
      s.status = String(e.message || e);
    }
    sent[i] = s;
  });
  const sendWall = (Date.now() - tSend) / 1000;
  const cpu1 = cpuSnap();
  const ok = sent.filter((s) => s.status === 201 && Number.isFinite(s.msg));
  const lastT200 = Math.max(...ok.map((s) => s.t200));

  // 3. Wait for the acknowledgements (at most ack timeout after the last response), then read.
  const idList = ok.map((s) => s.msg).join(',') || '0';
  const deadlineUs = lastT200 + opt['ack-timeout-ms'] * 1000;
  while (nowUs() < deadlineUs) {
    const [[pending]] = psql(`SELECT count(*) FROM adw_messages WHERE id IN (${idList}) AND acknowledged_at IS NULL`);
    if (Number(pending) === 0) break;
    await sleep(100);
  }
  // Let 'processed' (the dry-run agent taking the instruction) land too, briefly.
  for (let k = 0; k < 20; k++) {
    const [[pending]] = psql(`SELECT count(*) FROM adw_messages WHERE id IN (${idList}) AND processed_at IS NULL`);
    if (Number(pending) === 0) break;
    await sleep(100);
  }
  await sleep(1200); // backends report their statistics at most once a second
  const cnt1 = dbCounters();
  const rows = psql(`SELECT m.id, m.action_status, ${us('m.created_at')}, ${us('m.acknowledged_at')}, ${us('m.processed_at')},
      (SELECT ${us('min(e.created_at)')} FROM events e WHERE e.adw_id = m.adw_id AND e.type = 'ThreadMessage'
         AND (e.payload -> 'message' ->> 'id')::bigint = m.id),
      (SELECT ${us('min(e.created_at)')} FROM events e WHERE e.adw_id = m.adw_id AND e.type = 'ThreadMessageUpdated'
         AND (e.payload -> 'message' ->> 'id')::bigint = m.id AND e.payload -> 'message' ->> 'action_status' = 'acknowledged')
    FROM adw_messages m WHERE m.id IN (${idList})`);
  const db = new Map(rows.map((r) => [Number(r[0]), {
    mstatus: r[1], created: num(r[2]), acked: num(r[3]), processed: num(r[4]), evIns: num(r[5]), evAck: num(r[6]),
  }]));
  const failures = [];
  for (const s of sent) {
    if (s.status !== 201 || !Number.isFinite(s.msg)) { failures.push(`request ${s.i}: http ${s.status}`); continue; }
    Object.assign(s, db.get(s.msg) || {});
    if (!Number.isFinite(s.acked)) failures.push(`message ${s.msg} (adw ${s.adw}): not acknowledged (${s.mstatus || 'missing'})`);
    else if (ms(s.t200, s.acked) > opt['ack-timeout-ms']) failures.push(`message ${s.msg}: acknowledged after ${ms(s.t200, s.acked).toFixed(0)} ms`);
  }
  const good = sent.filter((s) => Number.isFinite(s.acked) && ms(s.t200, s.acked) <= opt['ack-timeout-ms']);
  const off1 = clockOffsetMs();

  console.log(`clock check: (performance.timeOrigin+now) - Date.now() = ${off0.toFixed(3)} ms at start, ${off1.toFixed(3)} ms at end`);
  console.log(`instructions: ${opt.requests} sent in ${sendWall.toFixed(2)} s (${(opt.requests / sendWall).toFixed(0)} req/s, at most ${opt.concurrency} in flight), ${ok.length} answered 201`);
  console.log(`CPU while sending: ${cpuLine(cpu0, cpu1, opt.requests)}`);
  {
    const [[ntx]] = psql(`SELECT count(DISTINCT xmin::text) FROM events WHERE id > ${cnt0.events} AND id <= ${cnt1.events}`);
    const per = (x) => (Number.isFinite(x) ? (x / opt.requests).toFixed(2) : '-');
    console.log(`per request (sent, acknowledged, processed; all processes): ${per(cnt1.events - cnt0.events)} events in ${per(Number(ntx))} transactions (= NOTIFYs on adw_events), + 1 NOTIFY on the ADW's control channel;`);
    console.log(`  ${opt.adws + 2} listening backends (${opt.adws} adw-run, the server's streamer and supervisor); ${per(cnt1.commits - cnt0.commits)} commits counted by pg_stat_database (a lower bound: reported lazily)`);
  }
  header(`Instruction: HTTP response -> acknowledged by the child (${opt.adws} running ADWs, ${opt.requests} requests, C=${opt.concurrency})`);
  row('CONTROL LATENCY: t200 -> acknowledged_at', good.map((s) => ms(s.t200, s.acked)));
  row('server side: created_at -> acknowledged_at', good.map((s) => ms(s.created, s.acked)));
  row('POST round trip (t0 -> t200)', good.map((s) => ms(s.t0, s.t200)));
  row('t0 -> acknowledged_at', good.map((s) => ms(s.t0, s.acked)));
  row('t0 -> created_at (HTTP, queue, lookup, row lock)', good.map((s) => ms(s.t0, s.created)));
  row('created_at -> t200 (tx, COMMIT, adw_json)', good.map((s) => ms(s.created, s.t200)));
  row('created_at -> ThreadMessage event (events lock)', good.map((s) => ms(s.created, s.evIns)));
  row('ThreadMessage event -> acked (COMMIT, NOTIFY, wake)', good.map((s) => ms(s.evIns, s.acked)));
  row('acknowledged_at -> its event (child: events lock)', good.map((s) => ms(s.acked, s.evAck)));
  row('t200 -> processed_at (dry-run agent took it)', good.map((s) => ms(s.t200, s.processed)));
  const neg = good.filter((s) => s.acked < s.t200).length;
  console.log(`  ${neg} of ${good.length} acknowledged before the response reached the client (negative values, kept)`);
  console.log(`failures: ${failures.length}${failures.length ? `: ${failures.slice(0, 5).join('; ')}` : ''}`);

  // 4. Pause and resume on the first P ADWs.
  if (opt.pause > 0) {
    const pids = ids.slice(0, opt.pause);
    const act = async (action) => {
      const out = new Map();
      await pool(pids.length, opt.concurrency, async (i) => {
        try {
          const r = await request('POST', `/api/adws/${pids[i]}/${action}`, {});
          out.set(pids[i], { status: r.status, t0: r.t0, t200: r.t200 });
        } catch (e) {
          out.set(pids[i], { status: String(e.message || e) });
        }
      });
      return out;
    };
    const readMsgs = (action) => new Map(psql(`SELECT DISTINCT ON (adw_id) adw_id, action_status, ${us('created_at')}, ${us('acknowledged_at')}, ${us('processed_at')}
        FROM adw_messages WHERE action_type = '${action}' AND adw_id IN (${pids.map((x) => `'${x}'`).join(',')})
        ORDER BY adw_id, id DESC`).map((r) => [r[0], { mstatus: r[1], created: num(r[2]), acked: num(r[3]), processed: num(r[4]) }]));
    const pres = await act('pause');
    const paused = await waitAll(pids, (a) => a.status === 'paused', opt['ack-timeout-ms'] + 5000);
    const pm = readMsgs('pause');
    const rres = await act('resume');
    const resumed = await waitAll(pids, (a) => a.status === 'in_progress', opt['ack-timeout-ms'] + 5000);
    await sleep(200);
    const rm = readMsgs('resume');
    const join = (res, m) => pids.map((id) => ({ ...(res.get(id) || {}), ...(m.get(id) || {}) }));
    const P = join(pres, pm);
    const R = join(rres, rm);
    const pfail = P.filter((x) => x.status !== 200 || !Number.isFinite(x.processed) || ms(x.t200, x.processed) > opt['ack-timeout-ms']).length;
    const rfail = R.filter((x) => x.status !== 200 || !Number.isFinite(x.processed) || ms(x.t200, x.processed) > opt['ack-timeout-ms']).length;
    header(`Pause -> paused, then resume -> running (${pids.length} ADWs, at most ${opt.concurrency} in flight)`);
    row('PAUSE: t200 -> pause processed_at (paused)', P.map((x) => ms(x.t200, x.processed)));
    row('pause: t200 -> acknowledged_at', P.map((x) => ms(x.t200, x.acked)));
    row('pause, server side: created_at -> processed_at', P.map((x) => ms(x.created, x.processed)));
    row('pause: POST round trip', P.map((x) => ms(x.t0, x.t200)));
    row('RESUME: t200 -> resume processed_at (running)', R.map((x) => ms(x.t200, x.processed)));
    row('resume, server side: created_at -> processed_at', R.map((x) => ms(x.created, x.processed)));
    console.log(`pause failures: ${pfail} (not paused by GET: ${paused.left.length}); resume failures: ${rfail} (not running again: ${resumed.left.length})`);
  }

  // 5. Cancel all.
  const tc = Date.now();
  await pool(ids.length, opt.concurrency, async (i) => {
    try { await request('POST', `/api/adws/${ids[i]}/cancel`, { reason: 'bench done' }); } catch { /* checked below */ }
  });
  const cancelled = await waitAll(ids, (a) => a.status === 'cancelled', 60000);
  console.log(`cancel: ${ids.length - cancelled.left.length} of ${ids.length} ADWs cancelled in ${((Date.now() - tc) / 1000).toFixed(2)} s${cancelled.left.length ? ` (NOT cancelled: ${cancelled.left.slice(0, 3).join(', ')})` : ''}`);
  agent.destroy();
}

main().catch((e) => { console.error(e); agent.destroy(); process.exit(1); });
