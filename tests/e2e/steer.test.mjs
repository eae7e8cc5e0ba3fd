// Steering running ADWs (issue 4) end to end with the dry-run runtime: the
// real adw-server, real adw-run children, a real PostgreSQL. The thread,
// pause / resume / cancel / redirect, instructions, decision questions and
// their timeouts, honest states, and a server killed while ADWs wait.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, api, waitForAdw, sql, createDatabase } from './lib/server.mjs';

const SLOW = '[dry-run:delay=1500]';

async function start(srv, prompt, workflow = 'plan_build_review') {
  const r = await api(srv.url, 'POST', '/api/adws', { workflow, prompt });
  assert.equal(r.status, 201, r.text);
  return r.body.adw;
}

async function waitStatus(srv, id, statuses, ms = 20000) {
  return waitForAdw(srv.url, id, ms, Array.isArray(statuses) ? statuses : [statuses]);
}

async function messages(srv, id) {
  const r = await api(srv.url, 'GET', `/api/adws/${id}/messages`);
  assert.equal(r.status, 200, r.text);
  return r.body.messages;
}

async function waitMessage(srv, id, pred, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await messages(srv, id);
    const m = last.find(pred);
    if (m) return m;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no such message in ${JSON.stringify(last, null, 1)}`);
}

async function events(srv, id) {
  const r = await api(srv.url, 'GET', `/api/adws/${id}/events?limit=5000`);
  return r.body.events;
}

describe('steering a running dry-run ADW', () => {
  let srv;
  before(async () => { srv = await startServer({ prefix: 'steer' }); });
  after(async () => { await srv.stop(); srv.cleanup(); });

  test('pause takes effect at a checkpoint, a second pause is a no-op, resume continues', async () => {
    const adw = await start(srv, `Pause me ${SLOW}`);
    await waitStatus(srv, adw.id, 'in_progress');
    const p = await api(srv.url, 'POST', `/api/adws/${adw.id}/pause`, { reason: 'checking the plan' });
    assert.equal(p.status, 200, p.text);
    const paused = await waitStatus(srv, adw.id, 'paused');
    assert.equal(paused.pause_reason, 'checking the plan');
    assert.ok(paused.paused_at);
    const msg = await waitMessage(srv, adw.id, (m) => m.action_type === 'pause');
    assert.equal(msg.action_status, 'processed');
    assert.ok(msg.acknowledged_at && msg.processed_at);
    assert.equal(msg.sender, 'user');
    assert.equal(msg.metadata.source, 'api');

    const again = await api(srv.url, 'POST', `/api/adws/${adw.id}/pause`, {});
    assert.equal(again.status, 200, again.text);
    const ignored = (await messages(srv, adw.id)).filter((m) => m.action_type === 'pause');
    assert.equal(ignored.length, 2);
    assert.equal(ignored[1].action_status, 'ignored');
    assert.equal(ignored[1].status_reason, 'already paused');

    // Stays paused while nobody resumes.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await api(srv.url, 'GET', `/api/adws/${adw.id}`)).body.adw.status, 'paused');

    const r = await api(srv.url, 'POST', `/api/adws/${adw.id}/resume`, {});
    assert.equal(r.status, 200, r.text);
    const done = await waitStatus(srv, adw.id, ['completed', 'failed', 'cancelled'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.paused_at, null);
    const thread = await messages(srv, adw.id);
    const resume = thread.find((m) => m.action_type === 'resume');
    assert.equal(resume.action_status, 'processed');
    const notes = thread.filter((m) => m.sender === 'system').map((m) => m.content);
    assert.ok(notes.some((c) => /^Paused/.test(c)), notes.join('\n'));
    assert.ok(notes.some((c) => /^Resumed/.test(c)), notes.join('\n'));
    assert.ok(notes.some((c) => /The plan step completed in/.test(c)), notes.join('\n'));
    assert.ok(notes.some((c) => /review verdict PASS/.test(c)), notes.join('\n'));
    // Every message and transition is an event.
    const ev = await events(srv, adw.id);
    const types = new Set(ev.map((e) => e.type));
    for (const t of ['ThreadMessage', 'ThreadMessageUpdated', 'AdwUpdated'])
      assert.ok(types.has(t), `no ${t} event`);
    const statuses = ev.filter((e) => e.type === 'AdwUpdated').map((e) => e.payload.adw.status);
    assert.ok(statuses.includes('paused') && statuses.lastIndexOf('in_progress') > statuses.indexOf('paused'));
  });

  test('a resume before the pause took effect withdraws it', async () => {
    const adw = await start(srv, `Withdraw ${SLOW}`, 'plan_build');
    await waitStatus(srv, adw.id, 'in_progress');
    // Both go out back to back; the child reads them in order.
    const [a, b] = await Promise.all([
      api(srv.url, 'POST', `/api/adws/${adw.id}/messages`, { action_type: 'pause', content: 'p' }),
      new Promise((r) => setTimeout(r, 5)).then(() => api(srv.url, 'POST', `/api/adws/${adw.id}/resume`, {})),
    ]);
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 200, b.text);
    const done = await waitStatus(srv, adw.id, ['completed', 'failed', 'cancelled'], 30000);
    assert.equal(done.status, 'completed');
    const thread = await messages(srv, adw.id);
    const pause = thread.find((m) => m.action_type === 'pause');
    const resume = thread.find((m) => m.action_type === 'resume');
    // Either the pause took effect and the resume ended it, or the resume withdrew it.
    if (pause.action_status === 'ignored') {
      assert.equal(pause.status_reason, 'resumed before the pause took effect');
      assert.equal(resume.action_status, 'processed');
    } else {
      assert.equal(pause.action_status, 'processed');
      assert.equal(resume.action_status, 'processed');
    }
  });

  test('an instruction reaches the running agent and is processed', async () => {
    const adw = await start(srv, `Instruct me ${SLOW}`, 'plan_build');
    await waitStatus(srv, adw.id, 'in_progress');
    const r = await api(srv.url, 'POST', `/api/adws/${adw.id}/messages`, {
      action_type: 'instruction', content: 'Use tabs, not spaces', metadata: { by: 'test' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.message.action_status, 'pending');
    assert.equal(r.body.message.metadata.by, 'test');
    const m = await waitMessage(srv, adw.id, (x) => x.id === r.body.message.id && x.action_status === 'processed');
    assert.ok(m.acknowledged_at <= m.processed_at);
    const ev = await events(srv, adw.id);
    assert.ok(ev.some((e) => e.type === 'TextBlock' && /instruction received: Use tabs, not spaces/.test(e.content)));
    assert.ok(ev.some((e) => e.type === 'SystemInfo' && /delivered to the agent/.test(e.content)));
    assert.equal((await waitStatus(srv, adw.id, ['completed', 'failed'], 30000)).status, 'completed');
  });

  test('cancel ends the ADW cancelled with reason and who asked; twice is idempotent; late messages get 409', async () => {
    const adw = await start(srv, `Cancel me ${SLOW}`);
    await waitStatus(srv, adw.id, 'in_progress');
    const c = await api(srv.url, 'POST', `/api/adws/${adw.id}/cancel`, { reason: 'wrong repository' });
    assert.equal(c.status, 200, c.text);
    const done = await waitStatus(srv, adw.id, ['completed', 'failed', 'cancelled']);
    assert.equal(done.status, 'cancelled', JSON.stringify(done));
    assert.equal(done.cancel_reason, 'wrong repository');
    assert.equal(done.cancelled_by, 'user via api');
    assert.equal(done.error, null);
    assert.ok(done.steps.every((s) => ['completed', 'cancelled'].includes(s.status)), JSON.stringify(done.steps));
    assert.ok(done.steps.some((s) => s.status === 'cancelled'));
    const c2 = await api(srv.url, 'POST', `/api/adws/${adw.id}/cancel`, {});
    assert.equal(c2.status, 200, c2.text);
    assert.equal(c2.body.adw.status, 'cancelled');
    const late = await api(srv.url, 'POST', `/api/adws/${adw.id}/messages`, { action_type: 'instruction', content: 'too late' });
    assert.equal(late.status, 409, late.text);
    assert.equal(late.body.error.code, 'conflict');
    const p = await api(srv.url, 'POST', `/api/adws/${adw.id}/pause`, {});
    assert.equal(p.status, 409);
    const thread = await messages(srv, adw.id);
    const lateMsg = thread.find((m) => m.content === 'too late');
    assert.equal(lateMsg.action_status, 'ignored');
    assert.match(lateMsg.status_reason, /already ended \(cancelled\)/);
    const cancels = thread.filter((m) => m.action_type === 'cancel');
    assert.deepEqual(cancels.map((m) => m.action_status), ['processed', 'ignored']);
    // A comment is always welcome.
    const note = await api(srv.url, 'POST', `/api/adws/${adw.id}/messages`, { content: 'post-mortem: fine' });
    assert.equal(note.status, 201, note.text);
    assert.equal(note.body.message.action_status, 'processed');
  });

  test('redirect cancels the ADW and starts a linked new one', async () => {
    const adw = await start(srv, `Old task ${SLOW}`);
    await waitStatus(srv, adw.id, 'in_progress');
    const r = await api(srv.url, 'POST', `/api/adws/${adw.id}/redirect`, { prompt: 'New task instead' });
    assert.equal(r.status, 201, r.text);
    const nu = r.body.adw;
    assert.notEqual(nu.id, adw.id);
    assert.equal(nu.redirected_from, adw.id);
    assert.equal(nu.prompt, 'New task instead');
    assert.equal(nu.workflow, adw.workflow);
    const old = await waitStatus(srv, adw.id, ['completed', 'failed', 'cancelled']);
    assert.equal(old.status, 'cancelled');
    assert.equal(old.redirected_to, nu.id);
    assert.equal(old.redirected_to_name, nu.name);
    assert.equal(old.cancel_reason, `redirected to ${nu.name}`);
    const twice = await api(srv.url, 'POST', `/api/adws/${adw.id}/redirect`, { prompt: 'A third idea' });
    assert.equal(twice.status, 409, twice.text);
    const done = await waitStatus(srv, nu.id, ['completed', 'failed', 'cancelled'], 30000);
    assert.equal(done.status, 'completed');
    assert.equal(done.redirected_from_name, adw.name);
  });

  test('a question waits for a person; the answer reaches the agent', async () => {
    const adw = await start(srv, 'Pick a database [dry-run:ask=Which database?|postgres|sqlite]');
    const waiting = await waitStatus(srv, adw.id, 'awaiting_input');
    assert.ok(waiting.question, JSON.stringify(waiting));
    assert.equal(waiting.question.question, 'Which database?');
    assert.deepEqual(waiting.question.options, ['postgres', 'sqlite']);
    assert.equal(waiting.question.status, 'pending');
    assert.equal(waiting.question.step, 'plan');
    const list = await api(srv.url, 'GET', '/api/questions?status=pending');
    assert.ok(list.body.questions.some((q) => q.id === waiting.question.id));
    const one = await api(srv.url, 'GET', `/api/questions/${waiting.question.id}`);
    assert.equal(one.body.question.adw_name, adw.name);

    const bad = await api(srv.url, 'POST', `/api/questions/${waiting.question.id}/answer`, { answer: '  ' });
    assert.equal(bad.status, 422);
    const a = await api(srv.url, 'POST', `/api/questions/${waiting.question.id}/answer`, { answer: 'sqlite' });
    assert.equal(a.status, 200, a.text);
    assert.equal(a.body.question.status, 'answered');
    assert.equal(a.body.question.answered_by, 'user via api');
    const again = await api(srv.url, 'POST', `/api/questions/${waiting.question.id}/answer`, { answer: 'postgres' });
    assert.equal(again.status, 409);
    const done = await waitStatus(srv, adw.id, ['completed', 'failed', 'cancelled'], 30000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.question, null);
    assert.match(readFileSync(done.artifacts.plan, 'utf8'), /The user answered: sqlite/);
    const thread = await messages(srv, adw.id);
    const q = thread.find((m) => m.action_type === 'question');
    assert.equal(q.sender, 'agent');
    assert.equal(q.question_id, waiting.question.id);
    const ans = thread.find((m) => m.action_type === 'answer');
    assert.equal(ans.action_status, 'processed');
    assert.equal(ans.content, 'sqlite');
    const ev = await events(srv, adw.id);
    assert.ok(ev.some((e) => e.type === 'QuestionAsked'));
    assert.ok(ev.some((e) => e.type === 'QuestionAnswered'));
  });

  test('cancel while awaiting an answer closes the question', async () => {
    const adw = await start(srv, 'Ask then cancel [dry-run:ask=Proceed?|yes|no]');
    const w = await waitStatus(srv, adw.id, 'awaiting_input');
    await api(srv.url, 'POST', `/api/adws/${adw.id}/cancel`, { reason: 'never mind' });
    const done = await waitStatus(srv, adw.id, ['completed', 'failed', 'cancelled']);
    assert.equal(done.status, 'cancelled');
    const q = await api(srv.url, 'GET', `/api/questions/${w.question.id}`);
    assert.equal(q.body.question.status, 'cancelled');
    const late = await api(srv.url, 'POST', `/api/questions/${w.question.id}/answer`, { answer: 'yes' });
    assert.equal(late.status, 409);
  });

  test('a child whose connection was terminated LISTENs again and still obeys', async () => {
    const adw = await start(srv, 'Reconnect [dry-run:delay=3000]', 'plan_build');
    await waitStatus(srv, adw.id, 'in_progress');
    await waitMessage(srv, adw.id, (m) => /Started the plan step/.test(m.content));
    sql(srv.dbUrl, 'SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    let r;
    for (let i = 0; i < 50; i++) {
      r = await api(srv.url, 'POST', `/api/adws/${adw.id}/pause`, { reason: 'after the outage' });
      if (r.status === 200) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(r.status, 200, r.text);
    const paused = await waitStatus(srv, adw.id, ['paused', 'completed', 'failed'], 15000);
    assert.equal(paused.status, 'paused', JSON.stringify(paused));
    await api(srv.url, 'POST', `/api/adws/${adw.id}/resume`, {});
    assert.equal((await waitStatus(srv, adw.id, ['completed', 'failed', 'cancelled'], 30000)).status, 'completed');
    // Each HTTP thread finds its terminated connection on its next query (one 503, then it
    // reconnects): use them all before the next test.
    for (let ok = 0, i = 0; ok < 12 && i < 200; i++) ok = (await api(srv.url, 'GET', '/api/adws?limit=1')).status === 200 ? ok + 1 : 0;
  });

  test('bad requests get clear errors and write nothing', async () => {
    const adw = await start(srv, 'Target of bad requests', 'plan_build');
    const mine = async () => (await messages(srv, adw.id)).filter((m) => m.sender === 'user').length;
    const before = await mine();
    const cases = [
      ['POST', `/api/adws/${adw.id}/messages`, { action_type: 'explode', content: 'x' }, 422],
      ['POST', `/api/adws/${adw.id}/messages`, { action_type: 'instruction', content: '   ' }, 422],
      ['POST', `/api/adws/${adw.id}/messages`, { action_type: 'comment', content: 'x', metadata: [1] }, 422],
      ['POST', `/api/adws/${adw.id}/messages`, '{not json', 400],
      ['POST', `/api/adws/${adw.id}/redirect`, {}, 422],
      ['POST', `/api/adws/${adw.id}/pause`, { reason: 5 }, 422],
      ['GET', `/api/adws/${adw.id}/pause`, undefined, 405],
      ['POST', '/api/adws/no-such-adw/pause', {}, 404],
      ['GET', '/api/adws/no-such-adw/messages', undefined, 404],
      ['POST', '/api/questions/00000000-0000-0000-0000-000000000000/answer', { answer: 'x' }, 404],
      ['POST', '/api/questions/abc/answer', { answer: 'x' }, 422],
      ['POST', '/api/questions/00000000-0000-0000-0000-000000000000/answer', {}, 422],
      ['GET', '/api/questions?status=bogus', undefined, 422],
    ];
    for (const [m, p, b, want] of cases) {
      const r = await api(srv.url, m, p, b);
      assert.equal(r.status, want, `${m} ${p} ${JSON.stringify(b)} -> ${r.status} ${r.text}`);
      if (want !== 405) assert.ok(r.body && r.body.error && r.body.error.message, r.text);
    }
    assert.equal(await mine(), before);
  });
});

describe('actions on ADWs no process runs yet', () => {
  let srv;
  before(async () => { srv = await startServer({ prefix: 'steerp', env: { ADW_MAX_RUNNING: '1' } }); });
  after(async () => { await srv.stop(); srv.cleanup(); });

  test('pause, resume and cancel of a pending ADW act at once', async () => {
    const blocker = await start(srv, 'Hold the only slot [dry-run:delay=2500]', 'plan_build');
    await waitStatus(srv, blocker.id, 'in_progress');
    const a = await start(srv, 'Waits for a slot', 'plan_build');
    const b = await start(srv, 'Also waits', 'plan_build');
    const p = await api(srv.url, 'POST', `/api/adws/${a.id}/pause`, { reason: 'not yet' });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.adw.status, 'paused');
    const c = await api(srv.url, 'POST', `/api/adws/${b.id}/cancel`, {});
    assert.equal(c.status, 200, c.text);
    assert.equal(c.body.adw.status, 'cancelled');
    assert.equal(c.body.adw.cancelled_by, 'user via api');
    assert.ok(c.body.adw.steps.every((s) => s.status === 'cancelled'));
    await waitStatus(srv, blocker.id, 'completed', 30000);
    // The paused one is not claimed while paused.
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal((await api(srv.url, 'GET', `/api/adws/${a.id}`)).body.adw.status, 'paused');
    const r = await api(srv.url, 'POST', `/api/adws/${a.id}/resume`, {});
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.adw.status, 'pending');
    assert.equal((await waitStatus(srv, a.id, ['completed', 'failed'], 30000)).status, 'completed');
  });
});

describe('timeouts of pauses and questions', () => {
  let srv;
  before(async () => {
    srv = await startServer({ prefix: 'steerq', env: { ADW_MAX_RUNNING: '1', ADW_PAUSE_TIMEOUT_S: '2', ADW_QUESTION_TIMEOUT_S: '2' } });
  });
  after(async () => { await srv.stop(); srv.cleanup(); });

  test('a pause of an unstarted ADW nobody resumes ends cancelled too', async () => {
    const blocker = await start(srv, 'Hold the slot [dry-run:delay=3000]', 'plan_build');
    await waitStatus(srv, blocker.id, 'in_progress');
    const a = await start(srv, 'Paused while pending', 'plan_build');
    assert.equal((await api(srv.url, 'POST', `/api/adws/${a.id}/pause`, {})).body.adw.status, 'paused');
    const done = await waitStatus(srv, a.id, ['cancelled', 'completed', 'failed'], 15000);
    assert.equal(done.status, 'cancelled');
    assert.equal(done.cancel_reason, 'paused for more than 2 s without a resume');
    assert.equal(done.cancelled_by, 'supervisor (pause timeout)');
    await waitStatus(srv, blocker.id, 'completed', 30000);
  });

  test('a pause nobody resumes ends cancelled', async () => {
    const adw = await start(srv, `Forgotten ${SLOW}`, 'plan_build');
    await waitStatus(srv, adw.id, 'in_progress');
    await api(srv.url, 'POST', `/api/adws/${adw.id}/pause`, {});
    const done = await waitStatus(srv, adw.id, ['completed', 'failed', 'cancelled'], 20000);
    assert.equal(done.status, 'cancelled');
    assert.equal(done.cancel_reason, 'paused for more than 2 s without a resume');
    assert.equal(done.cancelled_by, 'adw-run (pause timeout)');
  });

  test('an unanswered question takes its default, or cancels without one', async () => {
    const d = await start(srv, 'Defaulted [dry-run:ask=Colour?|red|blue] [dry-run:ask_default=blue]', 'plan_build');
    const done = await waitStatus(srv, d.id, ['completed', 'failed', 'cancelled'], 20000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.match(readFileSync(done.artifacts.plan, 'utf8'), /The user answered: blue/);
    const qs = (await api(srv.url, 'GET', `/api/questions?adw_id=${d.id}`)).body.questions;
    assert.equal(qs[0].status, 'answered');
    assert.equal(qs[0].answered_by, 'default (no answer in time)');

    const n = await start(srv, 'No default [dry-run:ask=Colour?|red|blue]', 'plan_build');
    const ended = await waitStatus(srv, n.id, ['completed', 'failed', 'cancelled'], 20000);
    assert.equal(ended.status, 'cancelled');
    assert.equal(ended.cancel_reason, 'the question was not answered within 2 s');
    const q2 = (await api(srv.url, 'GET', `/api/questions?adw_id=${n.id}`)).body.questions;
    assert.equal(q2[0].status, 'timed_out');
  });
});

describe('a server killed while ADWs wait', () => {
  test('paused and awaiting ADWs are still so after a restart, and resume', async () => {
    const dbUrl = createDatabase('steerkill');
    let srv = await startServer({ dbUrl });
    const { home, workdir } = srv;
    const p = await start(srv, `Paused across a restart ${SLOW}`, 'plan_build');
    const q = await start(srv, 'Asked across a restart [dry-run:ask=Go on?|yes|no]', 'plan_build');
    await waitStatus(srv, p.id, 'in_progress');
    const pr = await api(srv.url, 'POST', `/api/adws/${p.id}/pause`, { reason: 'over the restart' });
    assert.equal(pr.status, 200, pr.text);
    await waitStatus(srv, p.id, 'paused');
    const w = await waitStatus(srv, q.id, 'awaiting_input');
    await srv.stop('SIGKILL');

    srv = await startServer({ dbUrl, home, workdir });
    try {
      assert.equal((await api(srv.url, 'GET', `/api/adws/${p.id}`)).body.adw.status, 'paused');
      assert.equal((await api(srv.url, 'GET', `/api/adws/${q.id}`)).body.adw.status, 'awaiting_input');
      await new Promise((r) => setTimeout(r, 1500)); // the supervisor has adopted them by now
      assert.equal((await api(srv.url, 'GET', `/api/adws/${p.id}`)).body.adw.status, 'paused');
      assert.equal((await api(srv.url, 'POST', `/api/adws/${p.id}/resume`, {})).status, 200);
      assert.equal((await api(srv.url, 'POST', `/api/questions/${w.question.id}/answer`, { answer: 'yes' })).status, 200);
      assert.equal((await waitStatus(srv, p.id, ['completed', 'failed', 'cancelled'], 30000)).status, 'completed');
      assert.equal((await waitStatus(srv, q.id, ['completed', 'failed', 'cancelled'], 30000)).status, 'completed');
    } finally {
      await srv.stop();
      srv.cleanup();
    }
    sql(dbUrl, 'SELECT 1');
  });
});
