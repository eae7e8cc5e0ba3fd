// End to end: the real adw-server over real sockets, a real PostgreSQL,
// adw-run children with the dry-run runtime. Run by scripts/test.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startServer, api, waitForAdw, sql, createDatabase, bin } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer({ prefix: 'api' }); });
after(async () => { await srv.stop(); srv.cleanup(); });

async function chatStart(workflow, prompt) {
  const r = await api(srv.url, 'POST', '/api/chat', { message: `start adw: ${workflow}: ${prompt}` });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.adw, `no adw in ${r.text}`);
  assert.match(r.body.reply.message, new RegExp(r.body.adw.id));
  return r.body.adw;
}

async function allEvents(id) {
  const r = await api(srv.url, 'GET', `/api/adws/${id}/events?limit=5000`);
  assert.equal(r.status, 200);
  return r.body.events;
}

describe('health and metadata', () => {
  test('healthz reports the database and version', async () => {
    const r = await api(srv.url, 'GET', '/healthz');
    assert.equal(r.status, 200);
    assert.deepEqual({ status: r.body.status, database: r.body.database }, { status: 'ok', database: 'ok' });
    assert.match(r.body.version, /^\d+\.\d+\.\d+/);
  });
  test('workflows come from the definition files', async () => {
    const r = await api(srv.url, 'GET', '/api/workflows');
    const byName = Object.fromEntries(r.body.workflows.map((w) => [w.name, w.steps]));
    assert.deepEqual(byName.plan_build, ['plan', 'build']);
    assert.deepEqual(byName.plan_build_review, ['plan', 'build', 'review']);
    assert.deepEqual(byName.plan_build_review_fix, ['plan', 'build', 'review', 'fix']);
  });
  test('the web UI is served at / with safe headers', async () => {
    const res = await fetch(srv.url + '/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/html/);
    assert.match(res.headers.get('content-security-policy'), /default-src 'self'/);
    const trav = await fetch(srv.url + '/../../etc/passwd');
    assert.equal(trav.status, 404);
  });
});

describe('workflows end to end through the chat (dry-run)', () => {
  test('plan_build_review completes with artifacts, events and a PASS verdict', async () => {
    const adw = await chatStart('plan_build_review', 'Add a --version flag to the CLI');
    assert.equal(adw.total_steps, 3);
    const done = await waitForAdw(srv.url, adw.id);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.completed_steps, 3);
    assert.equal(done.verdict, 'PASS');
    assert.deepEqual(done.steps.map((s) => [s.name, s.status]), [['plan', 'completed'], ['build', 'completed'], ['review', 'completed']]);
    for (const s of done.steps) { assert.ok(s.agent_id); assert.ok(s.duration_ms >= 0); assert.ok(s.started_at && s.ended_at); }
    assert.ok(existsSync(done.artifacts.plan), 'plan written');
    assert.ok(done.artifacts.plan.startsWith(srv.workdir + '/specs/'));
    const review = readFileSync(done.artifacts.review, 'utf8');
    assert.match(review, /^VERDICT: PASS$/m);
    assert.ok(done.duration_ms >= 0 && done.completed_at && done.started_at);
    const events = await allEvents(adw.id);
    const ids = events.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'events in id order');
    for (const e of events) {
      assert.ok(e.summary && e.summary.length > 0, `event ${e.id} ${e.type} has a summary`);
      assert.match(e.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    }
    for (const step of ['plan', 'build', 'review']) {
      const types = events.filter((e) => e.step === step).map((e) => e.type);
      assert.ok(types.includes('StepStart') && types.includes('StepEnd'), `${step}: ${types}`);
      const end = events.find((e) => e.step === step && e.type === 'StepEnd');
      assert.equal(end.payload.status, 'success');
      assert.ok(end.payload.duration_ms >= 0);
    }
    assert.ok(events.some((e) => e.type === 'AdwCreated'));
    assert.ok(events.every((e) => !e.step || e.type === 'StepStart' || e.type === 'StepEnd' || e.type.startsWith('Agent') || e.payload.dry_run || e.category !== 'response'));
    const agents = (await api(srv.url, 'GET', '/api/agents')).body.agents.filter((a) => a.adw_id === adw.id);
    assert.deepEqual(agents.map((a) => a.adw_step).sort(), ['build', 'plan', 'review']);
    assert.ok(agents.every((a) => a.status === 'complete'));
  });

  test('plan_build runs two steps and no review', async () => {
    const adw = await chatStart('plan-build', 'Write a hello world script');
    const done = await waitForAdw(srv.url, adw.id);
    assert.equal(done.status, 'completed');
    assert.equal(done.workflow, 'plan_build');
    assert.equal(done.verdict, null);
    assert.deepEqual(done.steps.map((s) => s.name), ['plan', 'build']);
  });

  test('plan_build_review_fix skips fix on PASS and runs it on FAIL', async () => {
    const pass = await waitForAdw(srv.url, (await chatStart('plan_build_review_fix', 'Tidy the README')).id);
    assert.equal(pass.status, 'completed');
    assert.equal(pass.steps[3].status, 'skipped');
    assert.equal(pass.artifacts.fix, undefined);
    const failing = await waitForAdw(srv.url, (await chatStart('PLAN_BUILD_REVIEW_FIX', 'Tidy the docs [dry-run:review=fail]')).id);
    assert.equal(failing.status, 'completed');
    assert.equal(failing.verdict, 'FAIL');
    assert.deepEqual(failing.steps.map((s) => s.status), ['completed', 'completed', 'completed', 'completed']);
    assert.equal(failing.steps[2].verdict, 'FAIL');
    assert.ok(existsSync(failing.artifacts.fix));
  });

  test('a failing step ends the ADW failed with the step and the reason', async () => {
    const done = await waitForAdw(srv.url, (await chatStart('plan_build_review', 'Break it [dry-run:fail=build]')).id);
    assert.equal(done.status, 'failed');
    assert.equal(done.error_step, 'build');
    assert.match(done.error, /Build step failed/);
    assert.deepEqual(done.steps.map((s) => s.status), ['completed', 'failed', 'pending']);
    assert.equal(done.completed_steps, 1);
  });

  test('the API start path works too, with name, working dir and 201', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adw-api-wd-'));
    const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Via the API', name: 'api-made', working_dir: dir });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.adw.name, 'api-made');
    const done = await waitForAdw(srv.url, r.body.adw.id);
    assert.equal(done.status, 'completed');
    assert.ok(done.artifacts.plan.startsWith(dir + '/specs/api-made-'));
    const byName = await api(srv.url, 'GET', '/api/adws/api-made');
    assert.equal(byName.body.adw.id, r.body.adw.id);
    const list = await api(srv.url, 'GET', '/api/adws?status=completed&limit=2');
    assert.equal(list.body.adws.length, 2);
    assert.ok(list.body.adws.every((a) => a.status === 'completed'));
  });
});

describe('bad input gets a clear error and writes nothing', () => {
  const count = () => Number(sql(srv.dbUrl, 'SELECT count(*) FROM ai_developer_workflows'));
  const cases = [
    ['malformed JSON', '{"workflow": ', 400, /not valid JSON/],
    ['not an object', '[1,2]', 422, /JSON object/],
    ['unknown workflow', { workflow: 'nope', prompt: 'x' }, 422, /unknown workflow 'nope' \(known: plan_build, plan_build_review, plan_build_review_fix\)/],
    ['empty prompt', { workflow: 'plan_build', prompt: '   ' }, 422, /prompt must not be empty/],
    ['missing prompt', { workflow: 'plan_build' }, 422, /'prompt' is required/],
    ['wrong type', { workflow: 'plan_build', prompt: 5 }, 422, /must be a string/],
    ['nonexistent working dir', { workflow: 'plan_build', prompt: 'x', working_dir: '/nonexistent/dir' }, 422, /does not exist/],
    ['working dir is a file', { workflow: 'plan_build', prompt: 'x', working_dir: '/etc/hostname' }, 422, /not a directory/],
    ['unknown runtime', { workflow: 'plan_build', prompt: 'x', runtime: 'gpt' }, 422, /unknown runtime/],
    ['bad name', { workflow: 'plan_build', prompt: 'x', name: 'a b/c' }, 422, /bad name/],
  ];
  for (const [label, body, status, re] of cases) {
    test(label, async () => {
      const before = count();
      const r = await api(srv.url, 'POST', '/api/adws', body);
      assert.equal(r.status, status, r.text);
      assert.match(r.body.error.message, re);
      assert.ok(r.body.error.code);
      assert.equal(count(), before, 'no row written');
    });
  }
  test('body over 1 MiB is 413', async () => {
    const before = count();
    const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'x'.repeat(1024 * 1024 + 10) });
    assert.equal(r.status, 413);
    assert.equal(r.body.error.code, 'too_large');
    assert.equal(count(), before);
  });
  test('unwritable working dir is 422', { skip: process.getuid() === 0 ? 'root can write anywhere' : false }, async () => {
    const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'x', working_dir: '/' });
    assert.equal(r.status, 422);
  });
  test('unknown ADW is 404, unknown path is 404, bad query is 400', async () => {
    let r = await api(srv.url, 'GET', '/api/adws/00000000-0000-0000-0000-000000000000');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.message, "adw '00000000-0000-0000-0000-000000000000' not found");
    r = await api(srv.url, 'GET', '/api/adws/no-such-name/events');
    assert.equal(r.status, 404);
    r = await api(srv.url, 'GET', '/api/nothing');
    assert.equal(r.status, 404);
    r = await api(srv.url, 'GET', '/api/events?after=abc');
    assert.equal(r.status, 400);
    r = await api(srv.url, 'GET', '/api/adws?limit=0');
    assert.equal(r.status, 400);
    r = await api(srv.url, 'GET', '/api/adws?status=bogus');
    assert.equal(r.status, 422);
    r = await api(srv.url, 'DELETE', '/api/adws');
    assert.equal(r.status, 405);
  });
  test('a chat start with an unknown workflow is answered, not an error', async () => {
    const r = await api(srv.url, 'POST', '/api/chat', { message: 'start adw: nope: do it' });
    assert.equal(r.status, 200);
    assert.equal(r.body.adw, null);
    assert.match(r.body.reply.message, /unknown workflow 'nope'/);
  });
  test('an empty chat message is 422 and stores nothing', async () => {
    const n = Number(sql(srv.dbUrl, 'SELECT count(*) FROM orchestrator_chat'));
    const r = await api(srv.url, 'POST', '/api/chat', { message: '' });
    assert.equal(r.status, 422);
    assert.equal(Number(sql(srv.dbUrl, 'SELECT count(*) FROM orchestrator_chat')), n);
  });
});

describe('chat', () => {
  test('other text gets the command list; every message is stored in order', async () => {
    const r = await api(srv.url, 'POST', '/api/chat', { message: 'hello there' });
    assert.equal(r.status, 200);
    assert.match(r.body.reply.message, /start adw: <workflow>: <prompt>/);
    assert.match(r.body.reply.message, /plan_build_review_fix/);
    const list = await api(srv.url, 'GET', '/api/chat?limit=2');
    assert.deepEqual(list.body.messages.map((m) => m.sender), ['user', 'orchestrator']);
    assert.equal(list.body.messages[0].message, 'hello there');
    const older = await api(srv.url, 'GET', `/api/chat?limit=1&before=${list.body.messages[0].id}`);
    assert.equal(older.body.messages.length, 1);
  });
  test('chat messages are events too', async () => {
    const r = await api(srv.url, 'GET', '/api/events?after=0&limit=5000');
    assert.ok(r.body.events.some((e) => e.type === 'ChatMessage' && e.content === 'hello there'));
    const next = await api(srv.url, 'GET', `/api/events?after=${r.body.next_after}`);
    assert.equal(next.body.next_after, r.body.next_after);
  });
});

describe('processes', () => {
  test('killing adw-run with SIGKILL mid-step: the ADW resumes from its last finished step', async () => {
    const adw = await chatStart('plan_build_review', 'Slow work [dry-run:delay=4000]');
    let running;
    for (let i = 0; i < 100; i++) {
      running = (await api(srv.url, 'GET', `/api/adws/${adw.id}`)).body.adw;
      if (running.worker_pid && running.status === 'in_progress' && running.current_step) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(running.worker_pid > 0, JSON.stringify(running));
    assert.equal(running.worker_host, hostname());
    assert.ok(existsSync(running.log_path), 'per-ADW log file');
    const killedStep = running.current_step;
    process.kill(running.worker_pid, 'SIGKILL');
    const done = await waitForAdw(srv.url, adw.id, 40000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.notEqual(done.worker_pid, running.worker_pid, 'a new adw-run finished it');
    const events = await allEvents(adw.id);
    const lost = events.find((e) => e.type === 'SystemWarning' && /^adw-run lost/.test(e.content));
    assert.match(lost.content, new RegExp(`pid ${running.worker_pid}\\) killed by signal 9 \\(Killed\\) before the ADW finished\\): the ADW resumes after its last finished step \\(recovery 1 of at most 3\\)`));
    // The killed step ran again from its start; no finished step ran twice.
    const starts = (step) => events.filter((e) => e.type === 'StepStart' && e.step === step).length;
    for (const s of done.steps.map((x) => x.name)) assert.equal(starts(s), s === killedStep ? 2 : 1, s);
    const meta = JSON.parse(sql(srv.dbUrl, `SELECT metadata FROM ai_developer_workflows WHERE id = '${adw.id}'`));
    assert.equal(meta.recoveries, 1);
    assert.match(meta.recovery_history[0].reason, /killed by signal 9/);
  });

  test('an ADW lost more often than ADW_MAX_RECOVERIES fails, not stuck', async () => {
    const s0 = await startServer({ prefix: 'norecover', env: { ADW_MAX_RECOVERIES: '0' } });
    try {
      const adw = (await api(s0.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Slow [dry-run:delay=4000]' })).body.adw;
      let running = await waitForAdw(s0.url, adw.id, 10000, ['in_progress']);
      while (!running.worker_pid || !running.current_step) running = (await api(s0.url, 'GET', `/api/adws/${adw.id}`)).body.adw;
      process.kill(running.worker_pid, 'SIGKILL');
      const done = await waitForAdw(s0.url, adw.id, 20000);
      assert.equal(done.status, 'failed');
      assert.match(done.error, /killed by signal 9 \(Killed\) before the ADW finished; lost 1 times, more than ADW_MAX_RECOVERIES \(0\) allows$/);
      assert.equal(done.steps.find((s) => s.name === 'plan').status, 'failed');
    } finally { await s0.stop(); s0.cleanup(); }
  });

  test('ADW_MAX_RUNNING caps concurrent children; the rest wait pending', async () => {
    const s2 = await startServer({ prefix: 'cap', env: { ADW_MAX_RUNNING: '1' } });
    try {
      const a = (await api(s2.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'one [dry-run:delay=1500]' })).body.adw;
      const b = (await api(s2.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'two [dry-run:delay=1500]' })).body.adw;
      await new Promise((r) => setTimeout(r, 700));
      const statuses = [(await api(s2.url, 'GET', `/api/adws/${a.id}`)).body.adw.status, (await api(s2.url, 'GET', `/api/adws/${b.id}`)).body.adw.status];
      assert.deepEqual(statuses, ['in_progress', 'pending']);
      assert.equal((await waitForAdw(s2.url, b.id, 30000)).status, 'completed');
    } finally { await s2.stop(); s2.cleanup(); }
  });

  test('a restart keeps every ADW, agent and chat message; lost in_progress ADWs are resumed', async () => {
    const s3 = await startServer({ prefix: 'restart' });
    let id;
    try {
      id = (await waitForAdw(s3.url, (await api(s3.url, 'POST', '/api/chat', { message: 'start adw: plan_build: Keep me' })).body.adw.id)).id;
      // An ADW that a dead process left in_progress on this host.
      sql(s3.dbUrl, `WITH a AS (INSERT INTO ai_developer_workflows (adw_name, workflow_type, prompt, working_dir, runtime, status, worker_host, worker_pid, total_steps)
                     VALUES ('orphan', 'plan_build', 'p', '${s3.workdir}', 'dry-run', 'in_progress', '${hostname()}', 999999, 2) RETURNING id)
                     INSERT INTO adw_steps (adw_id, position, name, status) SELECT id, 0, 'plan', 'completed' FROM a
                     UNION ALL SELECT id, 1, 'build', 'running' FROM a`);
    } finally { await s3.stop(); }
    const s4 = await startServer({ dbUrl: s3.dbUrl, home: s3.home, workdir: s3.workdir });
    try {
      assert.equal((await api(s4.url, 'GET', `/api/adws/${id}`)).body.adw.status, 'completed');
      const chat = (await api(s4.url, 'GET', '/api/chat')).body.messages;
      assert.ok(chat.some((m) => m.message === 'start adw: plan_build: Keep me'));
      assert.ok((await api(s4.url, 'GET', '/api/agents')).body.agents.some((a) => a.adw_id === id));
      const orphan = await waitForAdw(s4.url, 'orphan', 10000);
      assert.equal(orphan.status, 'completed', JSON.stringify(orphan));
      const ev = (await api(s4.url, 'GET', `/api/adws/${orphan.id}/events?limit=1000`)).body.events;
      assert.ok(ev.some((e) => e.type === 'SystemWarning' && /pid 999999\) is gone: found at supervisor start/.test(e.content)));
      assert.ok(!ev.some((e) => e.type === 'StepStart' && e.step === 'plan'), 'the finished plan step is not run again');
      assert.ok(ev.some((e) => e.type === 'StepStart' && e.step === 'build'));
    } finally { await s4.stop(); s4.cleanup(); }
  });

  test('database unreachable at start: one clear line and exit 1', () => {
    const r = spawnSync(bin.server, [], { env: { ...process.env, DATABASE_URL: 'host=/nonexistent port=1 dbname=x connect_timeout=2', ADW_LISTEN: '127.0.0.1:0' }, encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^adw: database: cannot connect to the database: /);
  });

  test('database lost while serving: 503, then recovery once it is back', async () => {
    const s5 = await startServer({ prefix: 'lost' });
    const db = s5.dbUrl.match(/dbname=(\w+)$/)[1];
    const admin = process.env.ADW_TEST_DATABASE_URL;
    try {
      assert.equal((await api(s5.url, 'GET', '/api/adws')).status, 200);
      sql(admin, `ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
      sql(admin, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${db}'`);
      let r = await api(s5.url, 'GET', '/api/adws');
      assert.equal(r.status, 503, r.text);
      assert.equal(r.body.error.code, 'unavailable');
      r = await api(s5.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'x' });
      assert.equal(r.status, 503);
      assert.equal((await api(s5.url, 'GET', '/healthz')).status, 503);
      sql(admin, `ALTER DATABASE ${db} ALLOW_CONNECTIONS true`);
      r = await api(s5.url, 'GET', '/api/adws');
      assert.equal(r.status, 200);
      assert.equal((await api(s5.url, 'GET', '/healthz')).status, 200);
    } finally { sql(admin, `ALTER DATABASE ${db} ALLOW_CONNECTIONS true`); await s5.stop(); s5.cleanup(); }
  });
});
