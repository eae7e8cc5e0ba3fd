// Durable execution (issue 5). Retry ("resume, not restart"): a failed or
// cancelled ADW runs again from its first unfinished step (or a chosen one);
// finished steps are never run twice and their plan and verdict carry over.
// Idempotent starts: one unfinished ADW per key. Limits: timeouts and the
// cost budget (between steps and inside one). Liveness: lost machines.
// The fault scenarios are in faults.test.mjs.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer, api, waitForAdw, bin, sourceDir, sql, createDatabase } from './lib/server.mjs';

let srv;
before(async () => {
  srv = await startServer({ prefix: 'durable', env: { ADW_CLAUDE_BIN: join(sourceDir, 'tests/fake/claude') } });
});
after(async () => { await srv.stop(); srv.cleanup(); });

const events = async (id) => (await api(srv.url, 'GET', `/api/adws/${id}/events?limit=5000`)).body.events;
const starts = (ev, step) => ev.filter((e) => e.type === 'StepStart' && e.step === step).length;

async function start(prompt, workflow = 'plan_build_review') {
  const r = await api(srv.url, 'POST', '/api/adws', { workflow, prompt });
  assert.equal(r.status, 201, r.text);
  return r.body.adw;
}

describe('retry', () => {
  test('a cancelled ADW resumes after its last finished step', async () => {
    const adw = await start('Resume me [dry-run:delay=800]');
    // Cancel while the build step runs: plan has finished.
    for (;;) {
      const a = (await api(srv.url, 'GET', `/api/adws/${adw.id}`)).body.adw;
      if (a.current_step === 'build' && a.steps[0].status === 'completed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await api(srv.url, 'POST', `/api/adws/${adw.id}/cancel`, { reason: 'later' });
    const cancelled = await waitForAdw(srv.url, adw.id);
    assert.equal(cancelled.status, 'cancelled');
    const plan = cancelled.steps[0];

    const r = await api(srv.url, 'POST', `/api/adws/${adw.id}/retry`, {});
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.adw.status, 'pending');
    assert.equal(r.body.adw.completed_steps, 1);
    assert.equal(r.body.adw.cancel_reason, null);
    assert.deepEqual(r.body.adw.steps.map((s) => s.status), ['completed', 'pending', 'pending']);
    assert.equal(r.body.adw.artifacts.plan, plan.artifact);
    const done = await waitForAdw(srv.url, adw.id, 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.verdict, 'PASS');
    assert.deepEqual(done.steps[0], plan, 'the plan step is the first run\'s');
    const ev = await events(adw.id);
    assert.equal(starts(ev, 'plan'), 1, 'plan ran once');
    assert.equal(starts(ev, 'build'), 2, 'build ran again from its start');
    assert.ok(ev.some((e) => e.type === 'SystemInfo' && /plan step already finished by an earlier run/.test(e.content)));
    // The build step of the second run was given the first run's plan.
    const build2 = ev.filter((e) => e.type === 'StepStart' && e.step === 'build').pop();
    assert.equal(build2.payload.plan_path, plan.artifact);
    const thread = (await api(srv.url, 'GET', `/api/adws/${adw.id}/messages`)).body.messages;
    assert.ok(thread.some((m) => /^Retry requested by user via api: runs again from the build step/.test(m.content)));
  });

  test('a failed ADW retried fails again where it failed, keeping what finished; counts retries', async () => {
    const adw = await start('Break the build [dry-run:fail=build]', 'plan_build');
    const failed = await waitForAdw(srv.url, adw.id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error_step, 'build');
    const r = await api(srv.url, 'POST', `/api/adws/${adw.id}/retry`, {});
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.adw.error, null);
    const again = await waitForAdw(srv.url, adw.id, 30000);
    assert.equal(again.status, 'failed');
    assert.equal(again.error_count, 2);
    const ev = await events(adw.id);
    assert.equal(starts(ev, 'plan'), 1);
    assert.equal(starts(ev, 'build'), 2);
    const meta = JSON.parse(spawnSync('psql', ['-At', srv.dbUrl, '-c', `SELECT metadata FROM ai_developer_workflows WHERE id = '${adw.id}'`], { encoding: 'utf8' }).stdout);
    assert.equal(meta.retries, 1);
  });

  test('--from-step runs that step and the ones after it again (CLI)', async () => {
    const adw = await start('Review again');
    const first = await waitForAdw(srv.url, adw.id, 30000);
    assert.equal(first.status, 'completed');
    // A completed ADW cannot be retried.
    assert.equal((await api(srv.url, 'POST', `/api/adws/${adw.id}/retry`, {})).status, 409);
    const c = await start('Cancelled early [dry-run:delay=3000]');
    await waitForAdw(srv.url, c.id, 20000, ['in_progress']);
    await api(srv.url, 'POST', `/api/adws/${c.id}/cancel`, {});
    await waitForAdw(srv.url, c.id);
    const env = { ...process.env, DATABASE_URL: srv.dbUrl, ADW_HOME: srv.home, ADW_WORKDIR: srv.workdir };
    let r = spawnSync(bin.cli, ['retry', c.name, '--from-step', 'deploy'], { env, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^adw: retry: 'deploy' is not a step of adw/);
    r = spawnSync(bin.cli, ['retry', c.name, '--from-step', 'plan'], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^adw ${c.name}: pending again \\(0 of 3 steps kept\\)`));
    const done = await waitForAdw(srv.url, c.id, 40000);
    assert.equal(done.status, 'completed');
    assert.equal(spawnSync(bin.cli, ['retry'], { env }).status, 2);
    assert.equal((await api(srv.url, 'POST', '/api/adws/no-such-adw/retry', {})).status, 404);
    assert.equal((await api(srv.url, 'POST', `/api/adws/${c.id}/retry`, { from_step: 7 })).status, 422);
  });
});

describe('idempotent starts', () => {
  test('a second start with the key of an unfinished ADW answers 409 with it; an ended one frees the key', async () => {
    const body = { workflow: 'plan_build', prompt: 'Once only [dry-run:delay=600]', idempotency_key: 'deploy-42' };
    const first = await api(srv.url, 'POST', '/api/adws', body);
    assert.equal(first.status, 201, first.text);
    const second = await api(srv.url, 'POST', '/api/adws', body);
    assert.equal(second.status, 409, second.text);
    assert.equal(second.body.error.code, 'conflict');
    assert.match(second.body.error.message, /idempotency key 'deploy-42'/);
    assert.equal(second.body.adw.id, first.body.adw.id);
    const other = await api(srv.url, 'POST', '/api/adws', { ...body, idempotency_key: 'deploy-43' });
    assert.equal(other.status, 201);
    await waitForAdw(srv.url, first.body.adw.id, 30000);
    const third = await api(srv.url, 'POST', '/api/adws', body);
    assert.equal(third.status, 201, 'the key is free once the first ADW ended');
    await waitForAdw(srv.url, third.body.adw.id, 30000);
    await waitForAdw(srv.url, other.body.adw.id, 30000);
  });

  test('concurrent starts with one key: exactly one is created', async () => {
    const body = { workflow: 'plan_build', prompt: 'Raced [dry-run:delay=600]', idempotency_key: 'race-1' };
    const all = await Promise.all(Array.from({ length: 12 }, () => api(srv.url, 'POST', '/api/adws', body)));
    const created = all.filter((r) => r.status === 201);
    assert.equal(created.length, 1, all.map((r) => r.status).join(','));
    for (const r of all.filter((x) => x.status !== 201)) {
      assert.equal(r.status, 409, r.text);
      assert.equal(r.body.adw.id, created[0].body.adw.id);
    }
    await waitForAdw(srv.url, created[0].body.adw.id, 30000);
  });

  test('bad keys are refused and write nothing; the CLI takes --idempotency-key', async () => {
    for (const k of ['', 'x'.repeat(201), 5]) {
      const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Bad key', idempotency_key: k });
      assert.equal(r.status, 422, r.text);
    }
    const env = { ...process.env, DATABASE_URL: srv.dbUrl, ADW_HOME: srv.home, ADW_WORKDIR: srv.workdir };
    let r = spawnSync(bin.cli, ['start', 'plan_build', 'From cron [dry-run:delay=600]', '--idempotency-key', 'cron-7'], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const id = r.stdout.match(/([0-9a-f-]{36})/)[1];
    r = spawnSync(bin.cli, ['start', 'plan_build', 'From cron again', '--idempotency-key', 'cron-7'], { env, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^adw: start: an unfinished adw has idempotency key 'cron-7': .* \\(${id}\\)`));
    await waitForAdw(srv.url, id, 30000);
  });
});

describe('timeouts and the cost budget', () => {
  test('a step over step_timeout_s fails with that reason', async () => {
    const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Slow step [dry-run:delay=5000]', step_timeout_s: 1 });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.adw.step_timeout_s, 1);
    const done = await waitForAdw(srv.url, r.body.adw.id, 20000);
    assert.equal(done.status, 'failed');
    assert.equal(done.error_step, 'plan');
    assert.equal(done.error, 'Plan step failed: step timed out after 1 s');
  });

  test('a run over timeout_s fails with that reason, inside a step or between steps', async () => {
    const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build_review', prompt: 'Slow run [dry-run:delay=800]', timeout_s: 2 });
    assert.equal(r.status, 201, r.text);
    const done = await waitForAdw(srv.url, r.body.adw.id, 20000);
    assert.equal(done.status, 'failed');
    assert.match(done.error, /the adw timed out after 2 s \(timeout_s\)$/);
    assert.ok(done.completed_steps < 3);
  });

  test('a spent budget asks whether to go on: continue', async () => {
    const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Costly', runtime: 'claude', max_cost_usd: 0.001 });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.adw.max_cost_usd, 0.001);
    const w = await waitForAdw(srv.url, r.body.adw.id, 30000, ['awaiting_input', 'completed', 'failed']);
    assert.equal(w.status, 'awaiting_input', JSON.stringify(w));
    assert.match(w.question.question, /^The cost budget of \$0.001 is spent \(\$0\.\d{4} so far\)/);
    assert.deepEqual(w.question.options, ['continue', 'stop']);
    assert.equal(w.question.default_answer, 'stop');
    // The CLI (--max-budget-usd) stopped the plan step after its first turn; the session goes on.
    assert.match(w.question.question, /The plan step was stopped there; go on with it\?$/);
    assert.equal((await api(srv.url, 'POST', `/api/questions/${w.question.id}/answer`, { answer: 'continue' })).status, 200);
    const done = await waitForAdw(srv.url, r.body.adw.id, 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.ok(done.cost_usd > 0.001);
    const ev = await events(r.body.adw.id);
    assert.ok(ev.some((e) => e.type === 'Result' && e.step === 'plan' && e.payload.subtype === 'error_max_budget_usd'));
    assert.equal(starts(ev, 'plan'), 1, 'the step went on, it did not start again');
  });

  test('a dry-run step spending past the budget is stopped there and asks: continue', async () => {
    const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Costly steps [dry-run:cost=0.04] [dry-run:delay=400]', max_cost_usd: 0.05 });
    assert.equal(r.status, 201, r.text);
    const w = await waitForAdw(srv.url, r.body.adw.id, 30000, ['awaiting_input', 'completed', 'failed']);
    assert.equal(w.status, 'awaiting_input', JSON.stringify(w));
    assert.equal(w.current_step, 'build');
    assert.match(w.question.question, /^The cost budget of \$0.05 is spent \(\$0\.0[56]\d\d so far\)\. The build step was stopped there; go on with it\?$/);
    await api(srv.url, 'POST', `/api/questions/${w.question.id}/answer`, { answer: 'continue' });
    const done = await waitForAdw(srv.url, r.body.adw.id, 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.cost_usd, 0.08);
  });

  test('a dry-run step spending past the budget is stopped there and asks: stop fails the ADW there', async () => {
    const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build_review', prompt: 'Costly steps [dry-run:cost=0.04] [dry-run:delay=400]', max_cost_usd: 0.05 });
    const w = await waitForAdw(srv.url, r.body.adw.id, 30000, ['awaiting_input', 'completed', 'failed']);
    assert.equal(w.status, 'awaiting_input', JSON.stringify(w));
    await api(srv.url, 'POST', `/api/questions/${w.question.id}/answer`, { answer: 'stop' });
    const done = await waitForAdw(srv.url, r.body.adw.id, 30000);
    assert.equal(done.status, 'failed');
    assert.match(done.error, /^the cost budget of \$0.05 was reached \(\$0\.0[56]\d\d spent\)$/);
    assert.deepEqual(done.steps.map((s) => s.status), ['completed', 'failed', 'pending']);
    assert.ok(done.cost_usd < 0.08, 'the build step stopped before its end');
  });

  test('a spent budget asks whether to go on: stop fails the ADW', async () => {
    const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Too costly', runtime: 'claude', max_cost_usd: 0.001 });
    const w = await waitForAdw(srv.url, r.body.adw.id, 30000, ['awaiting_input', 'completed', 'failed']);
    assert.equal(w.status, 'awaiting_input');
    await api(srv.url, 'POST', `/api/questions/${w.question.id}/answer`, { answer: 'stop' });
    const done = await waitForAdw(srv.url, r.body.adw.id, 30000);
    assert.equal(done.status, 'failed');
    assert.match(done.error, /^the cost budget of \$0.001 was reached \(\$0\.\d{4} spent\)$/);
    assert.equal(done.steps[1].status, 'pending', 'build never ran');
  });

  test('limits are validated', async () => {
    for (const extra of [{ timeout_s: 0 }, { timeout_s: 1.5 }, { timeout_s: '5' }, { step_timeout_s: 604801 }, { max_cost_usd: 0 }, { max_cost_usd: -1 }, { max_cost_usd: 'lots' }]) {
      const r = await api(srv.url, 'POST', '/api/adws', { workflow: 'plan_build', prompt: 'Limits', ...extra });
      assert.equal(r.status, 422, `${JSON.stringify(extra)}: ${r.text}`);
    }
    const env = { ...process.env, DATABASE_URL: srv.dbUrl, ADW_HOME: srv.home, ADW_WORKDIR: srv.workdir };
    assert.equal(spawnSync(bin.cli, ['start', 'plan_build', 'x', '--timeout', '0'], { env }).status, 2);
    assert.equal(spawnSync(bin.cli, ['start', 'plan_build', 'x', '--max-cost', 'many'], { env }).status, 2);
    const r = spawnSync(bin.cli, ['--json', 'start', 'plan_build', 'Limited [dry-run:delay=100]', '--timeout', '60', '--step-timeout', '30', '--max-cost', '2.5'], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const a = JSON.parse(r.stdout).adw;
    assert.deepEqual([a.timeout_s, a.step_timeout_s, a.max_cost_usd, a.retries], [60, 30, 2.5, 0]);
    assert.equal((await waitForAdw(srv.url, a.id, 30000)).status, 'completed');
  });
});

describe('liveness across machines', () => {
  test('an ADW whose machine is gone (stale heartbeat, no lock) is resumed by another supervisor', async () => {
    const id = sql(srv.dbUrl, `WITH a AS (INSERT INTO ai_developer_workflows (adw_name, workflow_type, prompt, working_dir, runtime, status, worker_host, worker_pid, total_steps, started_at, heartbeat_at)
      VALUES ('far-away', 'plan_build', 'Elsewhere', '${srv.workdir}', 'dry-run', 'in_progress', 'gone-machine', 4242, 2, now() - interval '1 minute', now() - interval '1 minute') RETURNING id),
      s AS (INSERT INTO adw_steps (adw_id, position, name, status) SELECT id, 0, 'plan', 'completed' FROM a UNION ALL SELECT id, 1, 'build', 'running' FROM a)
      SELECT id FROM a`).trim();
    const done = await waitForAdw(srv.url, id, 20000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    const ev = await events(id);
    assert.ok(ev.some((e) => e.type === 'SystemWarning' && /its adw-run \(host gone-machine, pid 4242\) showed no sign of life for \d+ s and holds no lock/.test(e.content)), JSON.stringify(ev.map((e) => e.content)));
    assert.equal(starts(ev, 'plan'), 0);
    assert.equal(starts(ev, 'build'), 1);
  });

  test('a run that holds its lock is never taken over, heartbeat or not (adw run in the foreground)', async () => {
    const env = { ...process.env, DATABASE_URL: srv.dbUrl, ADW_HOME: srv.home, ADW_WORKDIR: srv.workdir };
    const r = spawnSync(bin.cli, ['run', 'plan_build_review', 'Long foreground [dry-run:delay=3000]', '--name', 'fg-live'], { env, encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const a = (await api(srv.url, 'GET', '/api/adws/fg-live')).body.adw;
    assert.equal(a.status, 'completed');
    const ev = await events(a.id);
    assert.ok(!ev.some((e) => /adw-run lost/.test(e.content)));
    for (const step of ['plan', 'build', 'review']) assert.equal(starts(ev, step), 1);
  });
});
