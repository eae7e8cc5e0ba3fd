// Steering a claude ADW end to end: adw-run drives tests/fake/claude with
// stream-json input. The fake must see the injected user message on its
// stdin, stop at its turn when interrupted for a pause, be resumed with
// --resume, and ask a person through adw-mcp (the MCP server of this
// project, passed with --mcp-config).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, api, waitForAdw, sourceDir } from './lib/server.mjs';

let srv;
const dir = mkdtempSync(join(tmpdir(), 'adw-fake-steer-'));
const argsLog = join(dir, 'args.jsonl');
const stdinLog = join(dir, 'stdin.jsonl');

before(async () => {
  srv = await startServer({
    prefix: 'steerclaude',
    env: {
      ADW_RUNTIME: 'claude', ADW_CLAUDE_BIN: join(sourceDir, 'tests/fake/claude'),
      FAKE_CLAUDE_ARGS_LOG: argsLog, FAKE_CLAUDE_STDIN_LOG: stdinLog,
    },
  });
});
after(async () => { await srv.stop(); srv.cleanup(); });

const lines = (f) => (existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);

async function start(prompt, workflow = 'plan_build') {
  const r = await api(srv.url, 'POST', '/api/adws', { workflow, prompt });
  assert.equal(r.status, 201, r.text);
  return r.body.adw;
}

async function waitFor(fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const adwOf = async (id) => (await api(srv.url, 'GET', `/api/adws/${id}`)).body.adw;
const thread = async (id) => (await api(srv.url, 'GET', `/api/adws/${id}/messages`)).body.messages;
const events = async (id) => (await api(srv.url, 'GET', `/api/adws/${id}/events?limit=5000`)).body.events;

describe('steering the claude runtime (fake CLI)', () => {
  test('an instruction is written to the running agent as a stream-json user message', async () => {
    const adw = await start('Long work [fake:long]');
    await waitFor(async () => (await events(adw.id)).some((e) => e.type === 'TextBlock'));
    const r = await api(srv.url, 'POST', `/api/adws/${adw.id}/messages`, { action_type: 'instruction', content: 'Also add a test' });
    assert.equal(r.status, 201, r.text);
    const m = await waitFor(async () => (await thread(adw.id)).find((x) => x.id === r.body.message.id && x.action_status === 'processed'));
    assert.ok(m.acknowledged_at);
    const done = await waitForAdw(srv.url, adw.id, 60000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    const sent = lines(stdinLog).filter((l) => l.type === 'user' && /Also add a test/.test(JSON.stringify(l.message.content)));
    assert.equal(sent.length, 1, 'the fake saw the instruction once on its stdin');
    const ev = await events(adw.id);
    assert.ok(ev.some((e) => e.type === 'TextBlock' && /Acknowledged instruction: .*Also add a test/.test(e.content)), 'the agent answered it in its next turn');
    // The runner's own comments: the build/test the agent ran, the files it wrote.
    const notes = (await thread(adw.id)).filter((x) => x.sender === 'system').map((x) => x.content);
    assert.ok(notes.some((c) => c === 'Ran `sleep 1 && make check`: succeeded'), notes.join('\n'));
    assert.ok(notes.some((c) => /^The plan step completed in [\d.]+ s; files written: specs\/.*\.md$/.test(c)), notes.join('\n'));
    // Two queries ran in that step; their usage is summed.
    const results = ev.filter((e) => e.type === 'Result' && e.step === 'plan');
    assert.equal(results.length, 2);
  });

  test('pause interrupts the agent at its turn; resume continues the same session', async () => {
    const adw = await start('Pausable [fake:long]');
    await waitFor(async () => (await events(adw.id)).some((e) => e.type === 'TextBlock'));
    await api(srv.url, 'POST', `/api/adws/${adw.id}/pause`, { reason: 'lunch' });
    const paused = await waitForAdw(srv.url, adw.id, 20000, ['paused']);
    assert.equal(paused.current_step, 'plan');
    assert.ok(lines(stdinLog).some((l) => l.type === 'control_request' && l.request.subtype === 'interrupt'));
    const plan = paused.steps.find((s) => s.name === 'plan');
    assert.equal(plan.status, 'running', 'the step is paused, not ended');
    const before = lines(argsLog).length;
    await api(srv.url, 'POST', `/api/adws/${adw.id}/resume`, {});
    const done = await waitForAdw(srv.url, adw.id, 60000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    const resumed = lines(argsLog).slice(before).find((a) => a.includes('--resume'));
    assert.ok(resumed, 'a claude process was started with --resume');
    assert.equal(resumed[resumed.indexOf('--resume') + 1], done.steps[0].agent_id ? (await api(srv.url, 'GET', '/api/agents')).body.agents.find((g) => g.id === done.steps[0].agent_id).session_id : null);
    assert.ok(existsSync(done.artifacts.plan));
  });

  test('cancel stops the agent and ends the ADW cancelled, not failed', async () => {
    const adw = await start('Cancellable [fake:long]');
    await waitFor(async () => (await events(adw.id)).some((e) => e.type === 'TextBlock'));
    await api(srv.url, 'POST', `/api/adws/${adw.id}/cancel`, { reason: 'changed my mind' });
    const done = await waitForAdw(srv.url, adw.id, 20000);
    assert.equal(done.status, 'cancelled', JSON.stringify(done));
    // The agent was stopped, not let run to the end of its step.
    assert.ok(!(await events(adw.id)).some((e) => e.type === 'Result' && e.step === 'plan' && e.payload.is_error === false));
    assert.equal(done.cancel_reason, 'changed my mind');
    assert.equal(done.steps[0].status, 'cancelled');
    assert.equal(done.steps[1].status, 'cancelled');
  });

  test('the agent asks a question through adw-mcp and gets the answer', async () => {
    const adw = await start('Choose [fake:ask=Which database?|postgres|sqlite]');
    // The fake asks in each step whose prompt carries the marker: answer each.
    let done;
    for (let asked = 0; ; asked++) {
      const w = await waitForAdw(srv.url, adw.id, 30000, ['awaiting_input', 'failed', 'completed', 'cancelled']);
      if (w.status !== 'awaiting_input') { done = w; assert.ok(asked > 0, 'it asked'); break; }
      assert.equal(w.question.question, 'Which database?');
      assert.deepEqual(w.question.options, ['postgres', 'sqlite']);
      const a = await api(srv.url, 'POST', `/api/questions/${w.question.id}/answer`, { answer: 'postgres' });
      assert.equal(a.status, 200, a.text);
      await waitFor(async () => {
        const now = await adwOf(adw.id);
        return now.status !== 'awaiting_input' || (now.question && now.question.id !== w.question.id);
      });
    }
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.match(readFileSync(done.artifacts.plan, 'utf8'), /postgres/);
    const ev = await events(adw.id);
    assert.ok(ev.some((e) => e.type === 'ToolUseBlock' && e.payload.tool_name === 'mcp__adw__ask_user'));
    assert.ok(ev.some((e) => e.type === 'ToolResultBlock' && /postgres/.test(e.content)));
  });

  test('a run lost mid-step resumes the step\'s agent session (--resume)', async () => {
    const adw = await start('Lost mid-step [fake:long]');
    await waitFor(async () => (await events(adw.id)).some((e) => e.type === 'TextBlock'));
    const running = await adwOf(adw.id);
    const before = lines(argsLog).length;
    process.kill(running.worker_pid, 'SIGKILL');
    const done = await waitForAdw(srv.url, adw.id, 60000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    const calls = lines(argsLog);
    const first = calls.slice(0, before).reverse().find((a) => a.includes('--session-id'));
    const sid = first[first.indexOf('--session-id') + 1];
    const resumed = calls.slice(before).find((a) => a.includes('--resume'));
    assert.ok(resumed, 'the new adw-run continued the session');
    assert.equal(resumed[resumed.indexOf('--resume') + 1], sid);
    const ev = await events(adw.id);
    assert.ok(ev.some((e) => e.type === 'SystemInfo' && e.content === `Resuming the plan step's agent session ${sid}, lost with its adw-run`));
  });
});
