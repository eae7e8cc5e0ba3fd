// Durability figures of adw (issue 5), for scripts/bench (Node 20, built-in modules only).
//
//   node durable.mjs --pg CONNINFO --server BIN --adw BIN --tmp DIR
//        [--parts child,worker,claims] [--child-trials 20] [--worker-trials 20]
//        [--claims-n 200] [--claims-k 1,2,4] [--claims-max-running 8]
//        [--claims-hosts distinct|same|both] [--pg-pid POSTMASTER_PID]
//
// --pg is an administrative connection string of a throwaway PostgreSQL: every
// part creates a database of its own there (adw_bench_durable_*) and drops it
// at the end. Everything runs with ADW_RUNTIME=dry-run. Timestamps: t_kill is
// the client's wall clock (performance.timeOrigin + performance.now(), µs) just
// before the first kill(2); the rest is read back from PostgreSQL
// (events.created_at is clock_timestamp() of the insert); same host clock.
//
//   child   one adw-server (ADW_MAX_RUNNING=8). Per trial: POST a plan_build ADW
//           whose prompt holds [dry-run:delay=30000], wait until its plan step
//           runs and worker_pid is set, wait 0-300 ms, kill -9 the adw-run.
//           Measures t_kill -> the "adw-run lost (" SystemWarning (its own
//           supervisor, woken by the pidfd), -> the new adw-run's "Workflow
//           started" and -> the second StepStart of plan (resumed). Then POST
//           /api/adws/{id}/cancel. One warm-up trial first, not counted.
//   worker  a machine lost. The observer adw-server A (ADW_MAX_RUNNING=1) runs for
//           the whole part (a supervisor skips the lost-ADW scan for 10 s after
//           it connects). Per trial: a blocker ADW fills A's slot; after 0-2 s
//           at random (W's heartbeat cycle at a random phase to A's scan cycle)
//           an `adw worker` W (ADW_MAX_RUNNING=1) starts with a host name of its
//           own (unshare --uts: a second "machine"; on a shared host name a
//           supervisor's start-up adopts the other's adw-runs), and its adw-run
//           runs the test ADW ([dry-run:delay=600000]); the blocker is
//           cancelled, so A is idle with a free slot; 0.3-2.3 s at random; kill
//           -9 of W and of its adw-run's process group together. Measures
//           t_kill -> A's "adw-run lost (" SystemWarning and -> the resumed
//           StepStart, and splits the first at the last heartbeat W stored
//           (heartbeat_at): kill - heartbeat, lost - (heartbeat + 6 s).
//   claims  N pending ADWs (plan_build, prompt 'noop': two near no-op dry-run
//           steps) inserted with SQL, then K `adw worker`s (ADW_MAX_RUNNING=8
//           each) started at once. From the start: the first claim, every ADW
//           claimed (max started_at), every ADW completed (max completed_at);
//           claims/s and completions/s; the split between the workers
//           (metadata.supervisor_pid); exactly-once: ADWs with more than one
//           StepStart for a step, "adw-run lost" warnings, ADWs not completed.
//           --claims-hosts: each worker its own host name (distinct, through
//           unshare --uts), all on this host's name (same), or both. CPU per
//           ADW from /proc: the workers with the adw-runs they reaped, and with
//           --pg-pid the postmaster with its backends (USER_HZ = 100).
// It never fails on a number.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { psqlRows, table } from './stats.mjs';

const opt = {
  parts: 'child,worker,claims', 'child-trials': 20, 'worker-trials': 20, 'claims-n': 200, 'claims-k': '1,2,4',
  'claims-max-running': 8, 'claims-hosts': 'both',
};
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  opt[k] = process.argv[i + 1];
}
for (const k of ['child-trials', 'worker-trials', 'claims-n', 'claims-max-running']) opt[k] = Number(opt[k]);
if (!opt.pg || !opt.server || !opt.adw || !opt.tmp) {
  console.error('usage: durable.mjs --pg CONNINFO --server BIN --adw BIN --tmp DIR [--parts child,worker,claims] ...');
  process.exit(2);
}
const parts = new Set(opt.parts.split(','));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
const us = (e) => `(extract(epoch FROM ${e}) * 1000000)::bigint`;
const num = (s) => (s === undefined || s === '' ? NaN : Number(s));
const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
const STALE_S = 6; // LOST_STALE_S of backend/adw_supervisor.c

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

// ------------------------------------------------------------ processes
const live = new Set(); // processes started here, stopped on exit

/** How to give a process a host name of its own, or null (unshare --uts, as root or in a user namespace). */
function unsharePrefix() {
  for (const pre of [['unshare', '--uts'], ['unshare', '--user', '--map-root-user', '--uts']]) {
    const r = spawnSync(pre[0], [...pre.slice(1), 'sh', '-c', 'hostname adw-bench-probe && hostname'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() === 'adw-bench-probe') return pre;
  }
  return null;
}
const UNSHARE = unsharePrefix();

/** Starts argv with env added; host: a host name of its own (needs UNSHARE). stdout/stderr go to files. */
function startProc(name, argv, env, host) {
  const out = `${opt.tmp}/${name}.out`;
  const err = `${opt.tmp}/${name}.err`;
  const fo = openSync(out, 'w');
  const fe = openSync(err, 'a');
  let cmd = argv;
  // sh execs the program: the pid we hold is the program's own.
  if (host) cmd = [...UNSHARE, 'sh', '-c', 'hostname "$0" && exec "$@"', host, ...argv];
  const p = spawn(cmd[0], cmd.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', fo, fe] });
  closeSync(fo);
  closeSync(fe);
  const h = { name, p, pid: p.pid, out, err, exited: false, code: null };
  h.done = new Promise((resolve) => p.on('exit', (code, sig) => { h.exited = true; h.code = code ?? sig; live.delete(h); resolve(); }));
  live.add(h);
  return h;
}

async function stopProc(h, timeoutMs = 10000) {
  if (!h || h.exited) return;
  try { h.p.kill('SIGTERM'); } catch { /* gone */ }
  await Promise.race([h.done, sleep(timeoutMs)]);
  if (!h.exited) { try { h.p.kill('SIGKILL'); } catch { /* gone */ } await h.done; }
}

const readText = (f) => { try { return readFileSync(f, 'utf8'); } catch { return ''; } };

/** Polls fn() every pollMs until it returns a truthy value or timeoutMs passes (then null). */
async function waitFor(fn, timeoutMs, pollMs = 10) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() >= end) return null;
    await sleep(pollMs);
  }
}

function envFor(db, home, maxRunning) {
  mkdirSync(home, { recursive: true });
  mkdirSync(`${opt.tmp}/work`, { recursive: true });
  return {
    DATABASE_URL: db, ADW_HOME: home, ADW_WORKDIR: `${opt.tmp}/work`, ADW_RUNTIME: 'dry-run',
    ADW_MAX_RUNNING: String(maxRunning), ADW_LISTEN: '127.0.0.1:0',
  };
}

async function startServer(name, db, maxRunning) {
  const h = startProc(name, [opt.server], envFor(db, `${opt.tmp}/${name}-home`, maxRunning));
  const url = await waitFor(() => {
    const m = readText(h.out).match(/listening on (http:\/\/127\.0\.0\.1:\d+)\//);
    if (m) return m[1];
    if (h.exited) throw new Error(`${name} exited: ${readText(h.err).slice(-500)}`);
    return null;
  }, 20000, 20);
  if (!url) throw new Error(`${name} did not start: ${readText(h.err).slice(-500)}`);
  h.url = new URL(url);
  return h;
}

async function startWorker(name, db, maxRunning, host) {
  const h = startProc(name, [opt.adw, 'worker'], envFor(db, `${opt.tmp}/${name}-home`, maxRunning), host);
  return h;
}

async function workerReady(h) {
  const ok = await waitFor(() => {
    if (/adw worker running/.test(readText(h.out))) return true;
    if (h.exited) throw new Error(`${h.name} exited: ${readText(h.err).slice(-500)}`);
    return null;
  }, 20000, 20);
  if (!ok) throw new Error(`${h.name} did not start: ${readText(h.err).slice(-500)}`);
}

function request(h, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({
      host: h.url.hostname, port: h.url.port, path, method,
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

// ------------------------------------------------------------ databases
function createDb(name) {
  psqlRows(opt.pg, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  psqlRows(opt.pg, `CREATE DATABASE ${name} TEMPLATE template0`);
  return `${opt.pg} dbname=${name}`;
}
function dropDb(name) {
  try { psqlRows(opt.pg, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } catch (e) { console.log(`(drop ${name}: ${e.message})`); }
}
function migrate(db) {
  const r = spawnSync(opt.adw, ['migrate'], { env: { ...process.env, DATABASE_URL: db, ADW_HOME: `${opt.tmp}/migrate-home` }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`adw migrate: ${r.stderr}`);
}

/** Timeline of one ADW: the lost warnings, the "Workflow started" events and the StepStarts of plan, in µs. */
function timeline(db, id) {
  const rows = psqlRows(db, `SELECT type, ${us('created_at')}, COALESCE(payload ->> 'step', ''),
      translate(left(content, 300), E'\\t\\n', '  ')
    FROM events WHERE adw_id = ${q(id)} AND (type IN ('StepStart', 'SystemWarning')
      OR (type = 'SystemInfo' AND content LIKE 'Workflow started%')) ORDER BY id`);
  const lost = rows.filter((r) => r[0] === 'SystemWarning' && r[3].startsWith('adw-run lost ('));
  const started = rows.filter((r) => r[0] === 'SystemInfo');
  const plans = rows.filter((r) => r[0] === 'StepStart' && r[2] === 'plan');
  return {
    lost: lost.length ? num(lost[0][1]) : NaN, lostText: lost.length ? lost[0][3] : '', nlost: lost.length,
    restarted: started.length > 1 ? num(started[1][1]) : NaN,
    resumed: plans.length > 1 ? num(plans[1][1]) : NaN, nplans: plans.length,
  };
}

function adwRow(db, id) {
  const rows = psqlRows(db, `SELECT status, COALESCE(worker_pid, 0), COALESCE(worker_host, ''),
      EXISTS (SELECT 1 FROM adw_steps s WHERE s.adw_id = a.id AND s.name = 'plan' AND s.status = 'running'),
      COALESCE(${us('heartbeat_at')}, 0)
    FROM ai_developer_workflows a WHERE id = ${q(id)}`);
  if (!rows.length) return null;
  const [status, pid, host, planRunning, hb] = rows[0];
  return { status, pid: Number(pid), host, planRunning: planRunning === 't', heartbeat: num(hb) };
}

const running = (db, id, host) => () => {
  const a = adwRow(db, id);
  return a && a.status === 'in_progress' && a.pid > 0 && a.planRunning && (!host || a.host === host) ? a : null;
};

async function cancelAndWait(db, srv, id) {
  try { await request(srv, 'POST', `/api/adws/${id}/cancel`, { reason: 'bench done' }); } catch { /* checked below */ }
  return waitFor(() => {
    const a = adwRow(db, id);
    return a && ['cancelled', 'failed', 'completed'].includes(a.status);
  }, 20000, 50);
}

const { header, row } = table(56);
const sec = (x) => (Number.isFinite(x) ? (x / 1000).toFixed(2) : '-');

// ------------------------------------------------------------ 1. child killed
async function partChild() {
  const n = opt['child-trials'];
  console.log(`\n-- kill -9 of an adw-run: its own supervisor notices (pidfd) and resumes it (${n} trials + 1 warm-up)`);
  const name = 'adw_bench_durable_child';
  const db = createDb(name);
  const srv = await startServer('child-server', db, 8);
  console.log(`adw-server ${srv.url.origin} (pid ${srv.pid}, ADW_MAX_RUNNING=8), database ${name}`);
  const res = [];
  const fails = [];
  for (let i = 0; i <= n; i++) {
    const r = await request(srv, 'POST', '/api/adws', {
      workflow: 'plan_build', prompt: `bench durable child ${i} [dry-run:delay=30000]`, name: `dur-child-${i}`, runtime: 'dry-run',
    });
    const id = r.json && r.json.adw && r.json.adw.id;
    if (r.status !== 201 || !id) { fails.push(`trial ${i}: create http ${r.status}`); continue; }
    const a = await waitFor(running(db, id), 20000);
    if (!a) { fails.push(`trial ${i}: not running its plan step after 20 s`); await cancelAndWait(db, srv, id); continue; }
    await sleep(Math.random() * 300);
    const tKill = nowUs();
    try { process.kill(a.pid, 'SIGKILL'); } catch (e) { fails.push(`trial ${i}: kill ${a.pid}: ${e.message}`); continue; }
    const t = await waitFor(() => { const x = timeline(db, id); return Number.isFinite(x.resumed) ? x : null; }, 20000, 10)
      || timeline(db, id);
    if (!Number.isFinite(t.lost) || !Number.isFinite(t.resumed)) fails.push(`trial ${i}: ${Number.isFinite(t.lost) ? 'not resumed' : 'no "adw-run lost" event'} within 20 s`);
    if (i > 0) res.push({ tKill, ...t });
    if (!(await cancelAndWait(db, srv, id))) fails.push(`trial ${i}: not cancelled within 20 s`);
  }
  await stopProc(srv);
  dropDb(name);
  header(`kill -9 adw-run -> noticed by its own supervisor (${res.length} trials)`);
  row('DETECTION: kill -> "adw-run lost" event', res.map((x) => (x.lost - x.tKill) / 1000));
  row('lost event -> new adw-run\'s "Workflow started"', res.map((x) => (x.restarted - x.lost) / 1000));
  row('new "Workflow started" -> StepStart plan', res.map((x) => (x.resumed - x.restarted) / 1000));
  row('RESUMED: kill -> second StepStart of plan', res.map((x) => (x.resumed - x.tKill) / 1000));
  if (res[0]) console.log(`  e.g.: ${res[0].lostText.slice(0, 160)}`);
  console.log(`failures: ${fails.length}${fails.length ? `: ${fails.slice(0, 5).join('; ')}` : ''}`);
}

// ------------------------------------------------------------ 2. worker (machine) killed
async function partWorker() {
  const n = opt['worker-trials'];
  console.log(`\n-- kill -9 of an \`adw worker\` and its adw-run (a machine lost): another supervisor resumes it (${n} trials)`);
  if (!UNSHARE) {
    console.log('skipped: needs `unshare --uts` (root, or user namespaces) to give the worker a host name of its own;');
    console.log('  on a shared host name the observer would adopt the worker\'s adw-run at its start instead.');
    return;
  }
  const name = 'adw_bench_durable_worker';
  const db = createDb(name);
  migrate(db);
  const host = 'adw-bench-w';
  // The observer runs for the whole part: a supervisor skips the lost-ADW scan
  // for LOST_GRACE_MS (10 s) after it (re)connects, so one started just before
  // the kill would measure that grace, not the steady state.
  const srv = await startServer('worker-a', db, 1);
  const tA = Date.now();
  console.log(`observer A: adw-server ${srv.url.origin} (pid ${srv.pid}), ADW_MAX_RUNNING=1, host '${os.hostname()}', up for the whole part;`);
  console.log(`worker W: adw worker, ADW_MAX_RUNNING=1, host name '${host}' (${UNSHARE.join(' ')}), started per trial; database ${name}`);
  console.log('per trial: a blocker ADW fills A\'s slot; after 0-2 s at random W starts and claims the test ADW; the blocker');
  console.log('  is cancelled (A idle with a free slot); 0.3-2.3 s at random; kill -9 of W and of its adw-run\'s process group');
  const res = [];
  const fails = [];
  const create = async (label, i) => {
    const r = await request(srv, 'POST', '/api/adws', {
      workflow: 'plan_build', prompt: `bench durable ${label} ${i} [dry-run:delay=600000]`, name: `dur-${label}-${i}`, runtime: 'dry-run',
    });
    const id = r.json && r.json.adw && r.json.adw.id;
    if (r.status !== 201 || !id) throw new Error(`create ${label}: http ${r.status} ${r.text.slice(0, 120)}`);
    return id;
  };
  for (let i = 0; i < n; i++) {
    let w = null;
    let id = null;
    let blocker = null;
    try {
      blocker = await create('blocker', i);
      if (!(await waitFor(running(db, blocker, os.hostname()), 20000))) throw new Error('blocker not run by A within 20 s');
      // W's 2 s heartbeat cycle starts with W: at a random phase to A's 2 s scan cycle.
      await sleep(Math.random() * 2000);
      w = await startWorker(`worker-w${i}`, db, 1, host);
      await workerReady(w);
      id = await create('worker', i);
      const a = await waitFor(running(db, id, host), 20000);
      if (!a) throw new Error(`not run by W within 20 s (${JSON.stringify(adwRow(db, id))})`);
      if (!(await cancelAndWait(db, srv, blocker))) throw new Error('blocker not cancelled within 20 s');
      blocker = null;
      const grace = 11000 - (Date.now() - tA);
      if (grace > 0) await sleep(grace);
      await sleep(300 + Math.random() * 2000);
      const cpid = adwRow(db, id).pid;
      const tKill = nowUs();
      process.kill(w.pid, 'SIGKILL');
      try { process.kill(-cpid, 'SIGKILL'); } catch { process.kill(cpid, 'SIGKILL'); } // its own process group
      await sleep(100);
      const hb = adwRow(db, id).heartbeat; // W's last heartbeat (nobody else writes it until A claims)
      const t = await waitFor(() => { const x = timeline(db, id); return Number.isFinite(x.resumed) ? x : null; }, 30000, 20)
        || timeline(db, id);
      if (!Number.isFinite(t.lost) || !Number.isFinite(t.resumed)) fails.push(`trial ${i}: ${Number.isFinite(t.lost) ? 'not resumed' : 'no "adw-run lost" event'} within 30 s`);
      else if (!/showed no sign of life/.test(t.lostText)) fails.push(`trial ${i}: unexpected reason: ${t.lostText.slice(0, 120)}`);
      res.push({ tKill, hb, ...t });
    } catch (e) {
      fails.push(`trial ${i}: ${e.message}`);
    }
    for (const x of [blocker, id]) if (x && !(await cancelAndWait(db, srv, x))) fails.push(`trial ${i}: ${x} not cancelled within 20 s`);
    await stopProc(w);
  }
  await stopProc(srv);
  dropDb(name);
  header(`kill -9 adw worker + its adw-run -> noticed by another supervisor (${res.length} trials)`);
  row('DETECTION: kill -> "adw-run lost" event', res.map((x) => (x.lost - x.tKill) / 1000));
  row('  last heartbeat -> kill (uniform in 0-2 s)', res.map((x) => (x.tKill - x.hb) / 1000));
  row('  last heartbeat -> lost event', res.map((x) => (x.lost - x.hb) / 1000));
  row(`  stale (heartbeat + ${STALE_S} s) -> lost event (scan wait)`, res.map((x) => (x.lost - x.hb) / 1000 - STALE_S * 1000));
  row('lost event -> new adw-run\'s "Workflow started"', res.map((x) => (x.restarted - x.lost) / 1000));
  row('RESUMED: kill -> second StepStart of plan', res.map((x) => (x.resumed - x.tKill) / 1000));
  if (res[0]) console.log(`  e.g.: ${res[0].lostText.slice(0, 160)}`);
  const det = res.map((x) => (x.lost - x.tKill) / 1e6).filter(Number.isFinite);
  const over = det.filter((v) => v > 10).length;
  console.log(`target "another supervisor notices within 10 s": ${det.length ? `${det.length - over} of ${det.length} trials within 10 s (max ${Math.max(...det).toFixed(2)} s)` : 'no data'}`);
  console.log(`failures: ${fails.length}${fails.length ? `: ${fails.slice(0, 5).join('; ')}` : ''}`);
}

// ------------------------------------------------------------ 3. claims
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
    const st = statOf(d);
    if (st && st[1] === root) t += st[0];
  }
  return t;
}

function boxTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return [total - idle, total];
}

async function claimRun(k, n, hosts) {
  const name = `adw_bench_durable_claims_${k}_${hosts}`;
  const db = createDb(name);
  migrate(db);
  const wd = `${opt.tmp}/work-claims`;
  mkdirSync(wd, { recursive: true });
  psqlRows(db, `WITH a AS (
      INSERT INTO ai_developer_workflows (adw_name, workflow_type, description, prompt, working_dir, runtime, total_steps, metadata, input_data)
      SELECT 'claim-' || g, 'plan_build', 'bench', 'noop', ${q(wd)}, 'dry-run', 2, '{"source":"bench"}',
        json_build_object('prompt', 'noop', 'working_dir', ${q(wd)}::text, 'model', NULL, 'runtime', 'dry-run')
      FROM generate_series(1, ${n}) g RETURNING id)
    INSERT INTO adw_steps (adw_id, position, name)
    SELECT a.id, s.pos, s.name FROM a, (VALUES (0, 'plan'), (1, 'build')) s(pos, name)`);
  psqlRows(db, 'ANALYZE');
  const mr = opt['claims-max-running'];
  const pgPid = Number(opt['pg-pid']) || 0;
  const pg0 = treeTicks(pgPid);
  const box0 = boxTicks();
  const t0 = nowUs();
  const ws = [];
  for (let j = 0; j < k; j++) ws.push(await startWorker(`claims-${hosts}-k${k}-w${j}`, db, mr, hosts === 'distinct' ? `adw-bench-c${j}` : null));
  const done = await waitFor(() => {
    const [[c]] = psqlRows(db, "SELECT count(*) FROM ai_developer_workflows WHERE status IN ('completed', 'failed', 'cancelled')");
    if (ws.every((w) => w.exited)) return 'exited';
    return Number(c) >= n ? 'done' : null;
  }, 300000, 50);
  const tEnd = nowUs();
  const box1 = boxTicks();
  const pg1 = treeTicks(pgPid);
  // The workers' CPU with that of the adw-runs they reaped (cutime, cstime), before they stop.
  const wTicks = ws.reduce((a, w) => a + ((statOf(w.pid) || [NaN])[0]), 0);
  for (const w of ws) await stopProc(w);
  const [[first, lastClaim, lastDone, completed, notDone]] = psqlRows(db, `SELECT ${us('min(started_at)')}, ${us('max(started_at)')},
      ${us('max(completed_at)')}, count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status <> 'completed')
    FROM ai_developer_workflows`);
  const [[dups, lost, multi]] = psqlRows(db, `SELECT
      (SELECT count(*) FROM (SELECT 1 FROM events WHERE type = 'StepStart' GROUP BY adw_id, payload ->> 'step' HAVING count(*) > 1) d),
      (SELECT count(*) FROM events WHERE type = 'SystemWarning' AND content LIKE 'adw-run lost (%'),
      (SELECT count(*) FROM (SELECT 1 FROM events WHERE type = 'SystemInfo' AND content LIKE 'Workflow started%' GROUP BY adw_id HAVING count(*) > 1) m)`);
  // The reasons of the recoveries, without pids and numbers, with counts.
  const reasons = psqlRows(db, `SELECT count(*), regexp_replace(regexp_replace(substring(content FROM '^adw-run lost \\((.*)\\): the ADW resumes'),
      'pid [0-9]+', 'pid N', 'g'), 'for [0-9]+ s', 'for N s', 'g')
    FROM events WHERE type = 'SystemWarning' AND content LIKE 'adw-run lost (%' GROUP BY 2 ORDER BY 1 DESC`).map((r) => `${r[0]} x ${r[1]}`);
  const unfinished = psqlRows(db, `SELECT status, translate(left(COALESCE(error_message, ''), 200), E'\\t\\n', '  ')
    FROM ai_developer_workflows WHERE status <> 'completed' ORDER BY updated_at LIMIT 3`).map((r) => `${r[0]}: ${r[1]}`);
  const split = psqlRows(db, "SELECT count(*) FROM ai_developer_workflows GROUP BY metadata ->> 'supervisor_pid' ORDER BY 1 DESC").map((r) => r[0]).join('/');
  const claimLat = psqlRows(db, `SELECT ${us('a.started_at')}, ${us('min(e.created_at)')} FROM ai_developer_workflows a
      JOIN events e ON e.adw_id = a.id AND e.type = 'SystemInfo' AND e.content LIKE 'Workflow started%' GROUP BY a.id, a.started_at`)
    .map((r) => (num(r[1]) - num(r[0])) / 1000);
  dropDb(name);
  const busy = (100 * (box1[0] - box0[0])) / Math.max(1, box1[1] - box0[1]);
  return {
    k, n, hosts, ok: done === 'done', exited: done === 'exited', first: (num(first) - t0) / 1000, claimed: (num(lastClaim) - t0) / 1000,
    claimSpan: (num(lastClaim) - num(first)) / 1000, completedAll: (num(lastDone) - t0) / 1000, wall: (tEnd - t0) / 1000,
    completed: Number(completed), notDone: Number(notDone), dups: Number(dups), lost: Number(lost), multi: Number(multi), split, busy, claimLat, reasons, unfinished, pgMs: ((pg1 - pg0) * 10) / n, wMs: (wTicks * 10) / n,
  };
}

async function partClaims() {
  const n = opt['claims-n'];
  const ks = opt['claims-k'].split(',').map(Number).filter((x) => x >= 1);
  let modes = opt['claims-hosts'] === 'both' ? ['distinct', 'same'] : [opt['claims-hosts']];
  if (!UNSHARE && modes.includes('distinct')) {
    console.log('(no `unshare --uts` here: every worker runs on this host name)');
    modes = ['same'];
  }
  console.log(`\n-- claim throughput: ${n} pending plan_build ADWs (prompt 'noop', dry-run: two near no-op steps) inserted with SQL,`);
  console.log(`   then K \`adw worker\`s started at once, ADW_MAX_RUNNING=${opt['claims-max-running']} each; times from the start of the first worker`);
  const out = [];
  for (const hosts of modes) {
    for (const k of ks) {
      try {
        out.push(await claimRun(k, n, hosts));
      } catch (e) {
        console.log(`K=${k} (${hosts}): ${e.message}`);
      }
    }
  }
  console.log('');
  // [title, width, value of a run]; the first column is left-aligned.
  const cols = [
    ['host names', 10, (r) => r.hosts],
    ['K', 2, (r) => r.k],
    ['N', 4, (r) => r.n],
    ['1st claim', 9, (r) => `${r.first.toFixed(0)} ms`],
    ['all claimed', 11, (r) => `${sec(r.claimed)} s`],
    ['claims/s', 8, (r) => (r.n / (r.claimed / 1000)).toFixed(1)],
    ['(1st->last)', 11, (r) => ((r.n - 1) / (r.claimSpan / 1000)).toFixed(1)],
    ['all done', 9, (r) => `${sec(r.completedAll)} s`],
    ['done/s', 7, (r) => (r.n / (r.completedAll / 1000)).toFixed(1)],
    ['split', 11, (r) => r.split],
    ['dup StepStart', 13, (r) => r.dups],
    ['2nd run', 7, (r) => r.multi],
    ['lost', 5, (r) => r.lost],
    ['not done', 8, (r) => r.notDone],
    ['box CPU', 7, (r) => `${r.busy.toFixed(0)} %`],
  ];
  const line = (cells) => `  ${cells.map((c, i) => (i ? String(c).padStart(cols[i][1]) : String(c).padEnd(cols[i][1]))).join(' ')}`;
  console.log(line(cols.map((c) => c[0])));
  for (const r of out) {
    const flag = r.ok ? '' : r.exited ? '  [workers exited]' : '  [timed out]';
    console.log(line(cols.map((c) => c[2](r))) + flag);
  }
  console.log('  claims/s = N / (last started_at - start); (1st->last) = (N-1) / (last - first started_at); done/s = N / (last completed_at - start);');
  console.log('  split = ADWs claimed per worker (metadata.supervisor_pid); dup StepStart = (ADW, step) pairs started more than once;');
  console.log('  2nd run = ADWs with more than one "Workflow started"; lost = "adw-run lost" warnings; box CPU = busy share of all cores');
  for (const r of out) console.log(`  CPU per ADW, ${r.hosts} host names, K=${r.k}: PostgreSQL ${Number.isFinite(r.pgMs) ? r.pgMs.toFixed(1) : '-'} ms, adw workers + their adw-runs ${r.wMs.toFixed(1)} ms`);
  for (const r of out) for (const x of r.reasons) console.log(`  lost, ${r.hosts} host names, K=${r.k}: ${x}`);
  for (const r of out) for (const x of r.unfinished) console.log(`  not completed, ${r.hosts} host names, K=${r.k}: ${x}`);
  header('claim (started_at) -> the adw-run\'s "Workflow started", per ADW');
  for (const r of out) row(`${r.hosts} host names, K=${r.k}`, r.claimLat);
}

// ------------------------------------------------------------ main
async function main() {
  const cpu = os.cpus();
  const off0 = clockOffsetMs();
  console.log(`machine: nproc ${os.availableParallelism ? os.availableParallelism() : cpu.length}, cpu ${cpu.length ? cpu[0].model : '?'}, loadavg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`host names of their own for workers: ${UNSHARE ? UNSHARE.join(' ') : 'unavailable (no unshare --uts)'}`);
  if (parts.has('child')) await partChild();
  if (parts.has('worker')) await partWorker();
  if (parts.has('claims')) await partClaims();
  const off1 = clockOffsetMs();
  console.log(`\nclock check: (performance.timeOrigin+now) - Date.now() = ${off0.toFixed(3)} ms at start, ${off1.toFixed(3)} ms at end`);
}

async function stopAll() {
  for (const h of [...live]) await stopProc(h, 3000);
}
process.on('SIGTERM', () => { stopAll().finally(() => process.exit(130)); });
process.on('SIGINT', () => { stopAll().finally(() => process.exit(130)); });
main().then(stopAll).catch(async (e) => { console.error(e); await stopAll(); process.exit(1); });
