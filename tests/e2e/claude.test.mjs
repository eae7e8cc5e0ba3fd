// The claude runtime end to end: adw-server runs adw-run children that run
// tests/fake/claude, which speaks Claude Code's stream-json and checks the
// arguments it is given (the real CLI cannot run here).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, api, waitForAdw, sourceDir } from './lib/server.mjs';

let srv;
const argsLog = join(mkdtempSync(join(tmpdir(), 'adw-fake-')), 'args.jsonl');
before(async () => {
  srv = await startServer({
    prefix: 'claude',
    env: { ADW_RUNTIME: 'claude', ADW_CLAUDE_BIN: join(sourceDir, 'tests/fake/claude'), ADW_MODEL: 'claude-sonnet-4-5', FAKE_CLAUDE_ARGS_LOG: argsLog },
  });
});
after(async () => { await srv.stop(); srv.cleanup(); });

async function run(workflow, prompt) {
  const r = await api(srv.url, 'POST', '/api/chat', { message: `start adw: ${workflow}: ${prompt}` });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.adw.runtime, 'claude');
  const done = await waitForAdw(srv.url, r.body.adw.id, 60000);
  const events = (await api(srv.url, 'GET', `/api/adws/${done.id}/events?limit=5000`)).body.events;
  return { done, events };
}

describe('claude runtime with the fake CLI', () => {
  for (const [workflow, marker, steps, verdict] of [
    ['plan_build', '', ['plan', 'build'], null],
    ['plan_build_review', '', ['plan', 'build', 'review'], 'PASS'],
    ['plan_build_review_fix', ' [fake:review_fail]', ['plan', 'build', 'review', 'fix'], 'FAIL'],
  ]) {
    test(`${workflow} completes from the agent's stream-json`, async () => {
      const { done, events } = await run(workflow, `Add a --version flag${marker}`);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.deepEqual(done.steps.filter((s) => s.status === 'completed').map((s) => s.name), steps);
      assert.equal(done.verdict, verdict);
      assert.ok(done.input_tokens > 0 && done.output_tokens > 0, 'tokens from the result lines');
      assert.ok(done.cost_usd > 0, 'cost from total_cost_usd');
      assert.ok(existsSync(done.artifacts.plan));
      for (const step of steps) {
        const types = new Set(events.filter((e) => e.step === step).map((e) => e.type));
        for (const t of ['StepStart', 'SystemInfo', 'Result', 'Stop', 'StepEnd']) assert.ok(types.has(t), `${step} has ${t}: ${[...types]}`);
        assert.ok(types.has('TextBlock'), `${step} has text`);
      }
      const plan = events.filter((e) => e.step === 'plan');
      for (const t of ['ThinkingBlock', 'ToolUseBlock', 'PreToolUse', 'PostToolUse', 'ToolResultBlock']) assert.ok(plan.some((e) => e.type === t), `plan has ${t}`);
      const pre = plan.find((e) => e.type === 'PreToolUse' && e.payload.tool_name === 'Write');
      assert.ok(pre, 'the plan was written with the Write tool');
      const post = plan.find((e) => e.type === 'PostToolUse' && e.payload.tool_use_id === pre.payload.tool_use_id);
      assert.ok(post && post.id > pre.id, 'PostToolUse pairs with its PreToolUse');
      assert.match(pre.summary, /^Write: /);
      const result = plan.find((e) => e.type === 'Result');
      assert.equal(result.payload.is_error, false);
      const agents = (await api(srv.url, 'GET', '/api/agents')).body.agents.filter((a) => a.adw_id === done.id);
      assert.ok(agents.every((a) => a.session_id && a.status === 'complete' && a.model === 'claude-sonnet-4-5'));
      const sum = agents.reduce((s, a) => s + a.cost_usd, 0);
      assert.ok(Math.abs(sum - done.cost_usd) < 1e-6, 'ADW cost is the sum of its agents');
    });
  }

  test('the CLI is run in print mode with stream-json, per-step tools and the chosen session id', () => {
    const calls = readFileSync(argsLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(calls.length >= 9);
    for (const argv of calls) {
      const flag = (f) => argv[argv.indexOf(f) + 1];
      assert.ok(argv.includes('-p'));
      assert.equal(flag('--input-format'), 'stream-json');
      assert.equal(flag('--output-format'), 'stream-json');
      // The agent can ask a person through adw-mcp, told where the runner listens.
      const mcp = JSON.parse(flag('--mcp-config')).mcpServers.adw;
      assert.match(mcp.command, /adw-mcp$/);
      assert.match(mcp.env.ADW_ASK_SOCKET, /^@adw-ask-\d+-[0-9a-f]{16}$/);
      assert.ok(argv.includes('--verbose'));
      assert.match(flag('--session-id'), /^[0-9a-f-]{36}$/);
      assert.equal(flag('--model'), 'claude-sonnet-4-5');
      assert.equal(flag('--permission-mode'), 'acceptEdits');
    }
    // The prompt goes in on stdin, never on the command line.
    assert.ok(!calls.some((a) => a.some((x) => x.includes('REVIEW step'))));
    const tools = calls.map((a) => a[a.indexOf('--allowedTools') + 1]);
    assert.ok(tools.includes('Read,Glob,Grep,Bash,Write,mcp__adw__ask_user'), tools.join('\n'));
  });

  test('an API error (is_error true with subtype success) fails the step', async () => {
    const { done, events } = await run('plan_build', 'Break [fake:api_error]');
    assert.equal(done.status, 'failed');
    assert.equal(done.error_step, 'plan');
    assert.match(done.error, /529/);
    const result = events.find((e) => e.type === 'Result');
    assert.equal(result.payload.is_error, true);
    assert.equal(result.payload.subtype, 'success');
    const agent = (await api(srv.url, 'GET', '/api/agents')).body.agents.find((a) => a.adw_id === done.id);
    assert.equal(agent.status, 'blocked');
  });

  test('error_max_turns fails the step with the CLI\'s message', async () => {
    const { done } = await run('plan_build_review', 'Loop [fake:max_turns]');
    assert.equal(done.status, 'failed');
    assert.match(done.error, /error_max_turns: Reached maximum number of turns/);
  });

  test('a CLI that dies without a result fails the step with its exit status', async () => {
    const { done } = await run('plan_build', 'Crash [fake:crash]');
    assert.equal(done.status, 'failed');
    assert.match(done.error, /exited with status 3 without a result/);
  });

  test('unknown line types and non-JSON lines are kept, never fatal; a missing output file fails the step', async () => {
    // The garbage transcript succeeds (is_error false) but writes no plan file.
    const { done, events } = await run('plan_build', 'Noisy [fake:garbage]');
    assert.ok(events.some((e) => e.type === 'SystemWarning' && /not JSON/.test(e.content)));
    assert.ok(events.some((e) => e.type === 'SystemInfo' && /rate_limit_event/.test(e.summary)));
    assert.ok(events.some((e) => e.type === 'Result' && e.payload.is_error === false));
    assert.equal(done.status, 'failed');
    assert.match(done.error, /Plan step failed: the plan step did not write its output file/);
  });
});
