// Fault injection (issue 5), at a size that fits CI: ADWs whose steps are
// slowed down so they are mid-flight when PostgreSQL restarts, when every
// backend is terminated, when adw-run children are killed again and again,
// when the server itself is killed, and when one of two servers sharing the
// database with an `adw worker` is killed. After each: every ADW completes,
// no step that had completed ran again, and no event is lost or written
// twice (each step has exactly one successful StepEnd, each ADW one
// "Workflow completed"), and a live stream client, reconnecting with its
// last id whenever it must, saw every event exactly once, in order. Prints
// a table of scenario -> outcome.
import { test, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { startServer, api, waitForAdw, sql, createDatabase, sseConnect, bin } from './lib/server.mjs';
import { pgProxy } from './lib/pgproxy.mjs';

const N = Number(process.env.ADW_FAULT_ADWS || 8);
// Every ADW of a scenario runs at once (ADW_MAX_RUNNING defaults to 8).
const env = (extra = {}) => ({ ADW_MAX_RUNNING: String(Math.max(N, 8)), ...extra });
const table = [];
after(() => {
  console.log('\nscenario                                     ADWs  completed  completed steps re-run  duplicated ends  seconds  stream client');
  for (const r of table) console.log(`${r.scenario.padEnd(44)} ${String(r.n).padStart(4)}  ${String(r.completed).padStart(9)}  ${String(r.rerun).padStart(22)}  ${String(r.dups).padStart(15)}  ${String(r.seconds ?? '-').padStart(7)}  ${r.stream}`);
});

async function startMany(srv, n, prompt) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build_review', prompt: `${prompt} ${i} [dry-run:delay=1200]` });
    assert.equal(r.status, 201, r.text);
    ids.push(r.body.adw.id);
  }
  for (const id of ids) await waitForAdw(srv.url, id, 20000, ['in_progress']);
  return ids;
}

/*
 * A stream client that reconnects (Last-Event-ID) whenever its connection
 * ends, to whatever server.url is now. ids: every event id it got.
 */
const followers = [];
/* Stops every stream client (a failed test must not leave one reconnecting forever). */
function stopFollowers() {
  for (const f of followers.splice(0)) f.stop();
}

function follower(server, after) {
  const f = { ids: [], stopped: false, server };
  followers.push(f);
  (async () => {
    let last = after;
    while (!f.stopped) {
      let h;
      try {
        h = await sseConnect(f.server.url, { lastEventId: last, onEvent: (ev) => { if (ev.id !== undefined && ev.type !== 'resync') { f.ids.push(ev.id); last = ev.id; } } });
      } catch { await new Promise((r) => setTimeout(r, 200)); continue; }
      f.h = h;
      await h.done;
    }
  })();
  f.stop = () => { f.stopped = true; if (f.h) f.h.close(); };
  return f;
}

/* Checks the outcome and records a row of the table. */
async function check(scenario, srv, dbUrl, ids, f, t0 = Date.now()) {
  const done = [];
  for (const id of ids) done.push(await waitForAdw(srv.url, id, 90000));
  const seconds = ((Date.now() - t0) / 1000).toFixed(1); // a figure for the table, never asserted
  const idList = ids.map((i) => `'${i}'`).join(',');
  const rerun = Number(sql(dbUrl, `SELECT count(*) FROM (SELECT adw_id, step FROM events WHERE adw_id IN (${idList})
    AND type = 'StepEnd' AND payload->>'status' = 'success' GROUP BY 1, 2 HAVING count(*) > 1) x`).trim());
  const completedTwice = Number(sql(dbUrl, `SELECT count(*) FROM (SELECT adw_id FROM events WHERE adw_id IN (${idList})
    AND type = 'SystemInfo' AND content LIKE 'Workflow completed:%' GROUP BY 1 HAVING count(*) <> 1) x`).trim());
  const missing = Number(sql(dbUrl, `SELECT count(*) FROM adw_steps s WHERE s.adw_id IN (${idList}) AND s.status = 'completed'
    AND NOT EXISTS (SELECT 1 FROM events e WHERE e.adw_id = s.adw_id AND e.step = s.name AND e.type = 'StepEnd' AND e.payload->>'status' = 'success')`).trim());
  // The stream: every event after the client's start, once, in id order.
  const want = sql(dbUrl, `SELECT id FROM events WHERE id > ${f.after} ORDER BY id`).trim().split('\n').filter(Boolean).map(Number);
  for (let i = 0; i < 200 && f.ids.length < want.length; i++) await new Promise((r) => setTimeout(r, 50));
  f.stop();
  const streamOk = JSON.stringify(f.ids.slice(0, want.length)) === JSON.stringify(want) && new Set(f.ids).size === f.ids.length;
  const row = { scenario, n: ids.length, completed: done.filter((d) => d.status === 'completed').length, rerun, dups: completedTwice, seconds, stream: streamOk ? `${want.length} once` : 'MISMATCH' };
  table.push(row);
  assert.equal(row.completed, ids.length, JSON.stringify(done.filter((d) => d.status !== 'completed'), null, 1));
  assert.equal(rerun, 0, 'a completed step ran again');
  assert.equal(completedTwice, 0, 'each ADW has one "Workflow completed"');
  assert.equal(missing, 0, 'every completed step has its StepEnd event');
  assert.ok(streamOk, `stream: got ${f.ids.length} events, want ${want.length}; first difference at ${f.ids.findIndex((x, i) => x !== want[i])}`);
}

function watch(srv, dbUrl) {
  const after = Number(sql(dbUrl, 'SELECT COALESCE(max(id), 0) FROM events').trim());
  const f = follower(srv, after);
  f.after = after;
  return f;
}

function pgctl(...args) {
  const dir = process.env.PGTEST_DIR;
  const bin = spawnSync('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1'], { encoding: 'utf8' }).stdout.trim();
  // -l: the restarted postmaster must not hold our pipes open.
  const cmd = [`${bin}/pg_ctl`, '-D', `${dir}/data`, '-l', `${dir}/server.log`, '-w', ...args];
  const opts = { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 60000 };
  const r = process.getuid() === 0 ? spawnSync('runuser', ['-u', 'postgres', '--', ...cmd], opts) : spawnSync(cmd[0], cmd.slice(1), opts);
  assert.equal(r.status, 0, r.stderr);
}

describe('faults with running ADWs', { skip: !process.env.PGTEST_DIR && 'needs the private cluster of scripts/test (PGTEST_DIR)' }, () => {
  test('PostgreSQL restarts', { timeout: 180000 }, async () => {
    const dbUrl = createDatabase('fault1');
    const srv = await startServer({ dbUrl, env: env() });
    try {
      const f = watch(srv, dbUrl);
      const ids = await startMany(srv, N, 'Restart');
      const t0 = Date.now();
      pgctl('restart', '-m', 'fast');
      await check('restart PostgreSQL', srv, dbUrl, ids, f, t0);
    } finally { stopFollowers(); await srv.stop(); srv.cleanup(); }
  });

  test('every backend is terminated', { timeout: 180000 }, async () => {
    const dbUrl = createDatabase('fault2');
    const srv = await startServer({ dbUrl, env: env() });
    try {
      const f = watch(srv, dbUrl);
      const ids = await startMany(srv, N, 'Terminate');
      const t0 = Date.now();
      for (let k = 0; k < 2; k++) {
        sql(dbUrl, 'SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
        await new Promise((r) => setTimeout(r, 900));
      }
      await check('pg_terminate_backend (every backend, twice)', srv, dbUrl, ids, f, t0);
    } finally { stopFollowers(); await srv.stop(); srv.cleanup(); }
  });

  test('adw-run children are killed again and again', { timeout: 180000 }, async () => {
    const dbUrl = createDatabase('fault4');
    const srv = await startServer({ dbUrl, env: env({ ADW_MAX_RECOVERIES: '10' }) });
    try {
      const f = watch(srv, dbUrl);
      const ids = await startMany(srv, N, 'Kill children');
      const t0 = Date.now();
      for (let round = 0; round < 3; round++) {
        for (const id of ids) {
          const a = (await api(srv.url, 'GET', `/api/adws/${id}`)).body.adw;
          if (a.status === 'in_progress' && a.worker_pid) {
            try { process.kill(a.worker_pid, 'SIGKILL'); } catch { /* already gone */ }
          }
        }
        await new Promise((r) => setTimeout(r, 1500));
      }
      await check('kill -9 children (3 rounds)', srv, dbUrl, ids, f, t0);
    } finally { stopFollowers(); await srv.stop(); srv.cleanup(); }
  });

  test('an outage during a step: its events wait in the spill file and are written once', { timeout: 180000 }, async () => {
    const dbUrl = createDatabase('fault5');
    const db = dbUrl.match(/dbname=(\w+)$/)[1];
    const admin = process.env.ADW_TEST_DATABASE_URL;
    // Every batch that cannot be written goes to the spill file at once.
    const srv = await startServer({ dbUrl, env: env({ ADW_EVENT_BUFFER_BYTES: '1' }) });
    try {
      const f = watch(srv, dbUrl);
      const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Through an outage [dry-run:delay=2000]' });
      const id = r.body.adw.id;
      let run = await waitForAdw(srv.url, id, 20000, ['in_progress']);
      for (let i = 0; i < 100 && !(run.current_step === 'plan' && run.worker_pid && run.log_path); i++) {
        await new Promise((res) => setTimeout(res, 50));
        run = (await api(srv.url, 'GET', `/api/adws/${id}`)).body.adw;
      }
      // The database refuses everyone for 4 s, across the end of the plan step.
      sql(admin, `ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
      sql(admin, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${db}'`);
      await new Promise((res) => setTimeout(res, 4000));
      sql(admin, `ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
      await check('database refused for 4 s (spill file)', srv, dbUrl, [id], f);
      // (The HTTP threads may still hold a connection the outage closed: one 503 each.)
      const log = readFileSync(run.log_path || sql(dbUrl, `SELECT log_path FROM ai_developer_workflows WHERE id = '${id}'`).trim(), 'utf8');
      assert.match(log, /spilled events written back/);
      const results = sql(dbUrl, `SELECT step, count(*) FROM events WHERE adw_id = '${id}' AND type = 'Result' GROUP BY 1 ORDER BY 1`).trim();
      assert.equal(results, 'build|1\nplan|1', 'each step\'s Result once');
    } finally { stopFollowers(); sql(admin, `ALTER DATABASE ${db} ALLOW_CONNECTIONS true`); await srv.stop(); srv.cleanup(); }
  });

  test('an outage longer than ADW_DB_OUTAGE_S fails the ADW loudly, keeping its events', { timeout: 180000 }, async () => {
    const dbUrl = createDatabase('fault6');
    const db = dbUrl.match(/dbname=(\w+)$/)[1];
    const admin = process.env.ADW_TEST_DATABASE_URL;
    const srv = await startServer({ dbUrl, env: env({ ADW_EVENT_BUFFER_BYTES: '1', ADW_DB_OUTAGE_S: '2' }) });
    try {
      const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'A long outage [dry-run:delay=1500]' });
      const id = r.body.adw.id;
      let run = await waitForAdw(srv.url, id, 20000, ['in_progress']);
      for (let i = 0; i < 100 && !(run.current_step === 'plan' && run.worker_pid && run.log_path); i++) {
        await new Promise((res) => setTimeout(res, 50));
        run = (await api(srv.url, 'GET', `/api/adws/${id}`)).body.adw;
      }
      // Refused for 6 s: the step ends meanwhile, adw-run waits 2 s for the database and gives up.
      sql(admin, `ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
      sql(admin, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${db}'`);
      await new Promise((res) => setTimeout(res, 6000));
      sql(admin, `ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
      const done = await waitForAdw(srv.url, id, 30000);
      assert.equal(done.status, 'failed', JSON.stringify(done));
      assert.match(done.error, /ADW_DB_OUTAGE_S/);
      assert.equal(sql(dbUrl, `SELECT COALESCE(metadata->>'recoveries', '0') FROM ai_developer_workflows WHERE id = '${id}'`).trim(), '0', 'failed, not resumed');
      const log = readFileSync(run.log_path, 'utf8');
      assert.match(log, /unavailable for 2 s \(ADW_DB_OUTAGE_S\): giving up; \d+ events kept in \S+spill/);
      // What the plan step did during the outage was spilled and written back by the supervisor, once.
      const results = sql(dbUrl, `SELECT step, count(*) FROM events WHERE adw_id = '${id}' AND type = 'Result' GROUP BY 1 ORDER BY 1`).trim();
      assert.equal(results, 'plan|1');
      assert.match(srv.stderr, new RegExp(`adw=${id} \\d+ events its adw-run spilled written back`));
      assert.deepEqual(readdirSync(`${srv.home}/spill`), [], 'no spill file left');
      // Every batch it wrote, spilled ones included, went in under its key.
      assert.ok(Number(sql(dbUrl, `SELECT count(*) FROM event_batches WHERE adw_id = '${id}'`).trim()) > 0);
      // For the table, measured as in check(): completed steps re-run, and ends other than one "Workflow failed".
      const rerun = Number(sql(dbUrl, `SELECT count(*) FROM (SELECT step FROM events WHERE adw_id = '${id}' AND type = 'StepEnd'
        AND payload->>'status' = 'success' GROUP BY 1 HAVING count(*) > 1) x`));
      const ends = Number(sql(dbUrl, `SELECT count(*) FROM events WHERE adw_id = '${id}' AND type IN ('SystemInfo', 'SystemError')
        AND (content LIKE 'Workflow completed:%' OR content LIKE 'Workflow failed:%')`));
      assert.equal(rerun, 0);
      assert.ok(ends <= 1, 'at most one end written by the run (the supervisor fails it)');
      table.push({ scenario: 'refused 6 s > ADW_DB_OUTAGE_S=2 (must fail)', n: 1, completed: done.status, rerun, dups: Math.max(0, ends - 1), stream: 'spill written back' });
    } finally { stopFollowers(); sql(admin, `ALTER DATABASE ${db} ALLOW_CONNECTIONS true`); await srv.stop(); srv.cleanup(); }
  });

  test('a COMMIT whose answer is lost: the step end is retried, counted and written once', { timeout: 120000 }, async () => {
    const dbUrl = createDatabase('fault8');
    // Everything goes through the proxy; it drops the answer to the COMMIT of
    // the first step end (the transaction that updates the step's agent).
    const proxy = await pgProxy(dbUrl, 'UPDATE agents SET status = $3, session_id');
    const srv = await startServer({ dbUrl: proxy.url, env: env() });
    try {
      const f = watch(srv, dbUrl);
      const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Ambiguous commit [dry-run:delay=400] [dry-run:cost=0.04]' });
      assert.equal(r.status, 201, r.text);
      const id = r.body.adw.id;
      await check('COMMIT committed, its answer lost', srv, dbUrl, [id], f);
      assert.equal(proxy.cuts, 1, 'the proxy cut one COMMIT answer');
      const done = (await api(srv.url, 'GET', `/api/adws/${id}`)).body.adw;
      assert.equal(done.cost_usd, 0.08, 'each step\'s cost counted once');
      assert.equal(sql(dbUrl, `SELECT count(*) FROM events WHERE adw_id = '${id}' AND type = 'StepEnd'`), '2');
      assert.equal(sql(dbUrl, `SELECT string_agg(step || ':' || n, ',' ORDER BY step) FROM (SELECT step, count(*) n FROM events WHERE adw_id = '${id}' AND type = 'AgentUpdated' GROUP BY 1) x`), 'build:1,plan:1');
      assert.match(readFileSync(done.log_path, 'utf8'), /the end of step 'plan' was already stored/);
    } finally { stopFollowers(); await srv.stop(); srv.cleanup(); await proxy.close(); }
  });

  test('two servers and an adw worker share one database; one server is killed', { timeout: 180000 }, async () => {
    const dbUrl = createDatabase('fault7');
    // Each supervisor takes a share: together they run every ADW at once.
    const share = String(Math.ceil(N / 3) + 1);
    const a = await startServer({ dbUrl, env: env({ ADW_MAX_RUNNING: share }) });
    const b = await startServer({ dbUrl, home: a.home, workdir: a.workdir, env: env({ ADW_MAX_RUNNING: share }) });
    const worker = spawn(bin.cli, ['worker'], { env: { ...process.env, DATABASE_URL: dbUrl, ADW_HOME: a.home, ADW_WORKDIR: a.workdir, ADW_RUNTIME: 'dry-run', ADW_MAX_RUNNING: share }, stdio: 'ignore' });
    try {
      const f = watch(a, dbUrl);
      const ids = await startMany(a, N, 'Shared');
      const t0 = Date.now();
      await b.stop('SIGKILL');
      await check('2 servers + adw worker, one server killed', a, dbUrl, ids, f, t0);
      const starts = sql(dbUrl, `SELECT count(*) FROM (SELECT adw_id, step FROM events WHERE type = 'StepStart' GROUP BY 1, 2 HAVING count(*) > 1) x`).trim();
      assert.equal(starts, '0', 'no step started twice');
      const supervisors = Number(sql(dbUrl, `SELECT count(DISTINCT metadata ->> 'supervisor_pid') FROM ai_developer_workflows`).trim());
      assert.ok(supervisors >= 2, `work was shared by ${supervisors} supervisors`);
    } finally {
      stopFollowers();
      worker.kill('SIGTERM');
      await new Promise((r) => (worker.exitCode !== null ? r() : worker.on('exit', r)));
      await b.stop();
      await a.stop();
      a.cleanup();
    }
  });

  test('the server is killed and started again', { timeout: 180000 }, async () => {
    const dbUrl = createDatabase('fault3');
    let srv = await startServer({ dbUrl, env: env() });
    const { home, workdir } = srv;
    try {
      const f = watch(srv, dbUrl);
      const ids = await startMany(srv, N, 'Kill server');
      const t0 = Date.now();
      await srv.stop('SIGKILL');
      srv = await startServer({ dbUrl, home, workdir, env: env() });
      f.server = srv;
      await check('kill -9 adw-server, start it again', srv, dbUrl, ids, f, t0);
    } finally { stopFollowers(); await srv.stop(); srv.cleanup(); }
  });
});
