// The fake Claude CLI itself (tests/fake/claude): stream-json input (user
// messages, interrupts), --resume, and ask_user through an MCP server named
// "adw" from --mcp-config. No adw binaries and no database: the MCP server
// here is a tiny Node script written to a temp dir.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';

const FAKE = resolve(import.meta.dirname, '../fake/claude');
const tmp = mkdtempSync(join(tmpdir(), 'adw-fake-claude-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const BASE = ['--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits'];
const STREAM = ['-p', '--input-format', 'stream-json', ...BASE];
let dirs = 0;
const newDir = () => mkdtempSync(join(tmp, `t${dirs++}-`));

// Runs the fake; collects its stdout lines (parsed) and stderr.
function runFake(args, { env = {}, cwd = tmp } = {}) {
  const p = spawn(FAKE, args, { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const r = { p, lines: [], stderr: '', waiters: [] };
  let buf = '';
  p.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let obj;
      try { obj = JSON.parse(line); } catch { obj = { unparsed: line }; }
      obj.at = Date.now();
      r.lines.push(obj);
      r.waiters = r.waiters.filter((w) => !w());
    }
  });
  p.stderr.on('data', (d) => { r.stderr += d; });
  r.exit = new Promise((res) => p.on('close', (code) => res(code)));
  r.send = (obj) => p.stdin.write((typeof obj === 'string' ? obj : JSON.stringify(obj)) + '\n');
  r.user = (content) => r.send({ type: 'user', message: { role: 'user', content }, parent_tool_use_id: null, session_id: '' });
  r.end = () => p.stdin.end();
  // Resolves with the first line (from index `from`) that matches.
  r.waitFor = (pred, ms = 10000, from = 0) => new Promise((res, rej) => {
    const check = () => {
      const hit = r.lines.slice(from).find(pred);
      if (hit) { clearTimeout(t); res(hit); return true; }
      return false;
    };
    const t = setTimeout(() => rej(new Error(`timed out; stdout:\n${r.lines.map((l) => JSON.stringify(l).slice(0, 200)).join('\n')}\nstderr: ${r.stderr}`)), ms);
    if (!check()) r.waiters.push(check);
  });
  return r;
}

const isInit = (l) => l.type === 'system' && l.subtype === 'init';
const isResult = (l) => l.type === 'result';
const texts = (r) => r.lines.filter((l) => l.type === 'assistant').flatMap((l) => l.message.content)
  .filter((b) => b.type === 'text').map((b) => b.text);

// A minimal stdio MCP server with an ask_user tool; logs what it receives.
function fakeMcpServer(dir, { answer = 'Use PostgreSQL 16', delayMs = 0, isError = false, tools = ['ask_user'] } = {}) {
  const script = join(dir, 'mcp-server.cjs');
  const log = join(dir, 'mcp.log');
  writeFileSync(script, `
const fs = require('fs');
const log = (o) => fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(o) + '\\n');
const send = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const msg = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    log(msg);
    if (msg.method === 'initialize')
      send({ jsonrpc: '2.0', id: msg.id, result: { protocolVersion: msg.params.protocolVersion,
        capabilities: { tools: { listChanged: false } }, serverInfo: { name: 'fake-adw-mcp', version: '0.0.1' } } });
    else if (msg.method === 'tools/list')
      send({ jsonrpc: '2.0', id: msg.id, result: { tools: ${JSON.stringify(tools)}.map((name) => ({ name,
        description: 'Ask the user', inputSchema: { type: 'object', properties: { question: { type: 'string' } }, required: ['question'] } })) } });
    else if (msg.method === 'tools/call')
      setTimeout(() => send({ jsonrpc: '2.0', id: msg.id, result: { content: [{ type: 'text', text: ${JSON.stringify(answer)} }],
        structuredContent: { answer: ${JSON.stringify(answer)} }, isError: ${isError} } }), ${delayMs});
    else if (msg.id !== undefined)
      send({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } });
  }
});
process.stdin.on('end', () => { log({ closed: true, env: process.env.FAKE_MCP_TOKEN }); process.exit(0); });
`);
  const config = { mcpServers: { adw: { type: 'stdio', command: process.execPath, args: [script], env: { FAKE_MCP_TOKEN: 'from-config' } } } };
  const messages = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []);
  return { config, messages };
}

describe('fake claude: --input-format stream-json', () => {
  test('the first user message is the prompt: init … result; EOF exits 0; stdin is logged', async () => {
    const dir = newDir();
    const sid = randomUUID();
    const stdinLog = join(dir, 'stdin.jsonl');
    const r = runFake([...STREAM, '--session-id', sid, '--allowedTools', 'Read,Write'], { cwd: dir, env: { FAKE_CLAUDE_STDIN_LOG: stdinLog } });
    await sleep(200);
    assert.equal(r.lines.length, 0, 'nothing is printed before the first user message');
    r.user([{ type: 'text', text: 'Add a --version flag\nOutput file: specs/plan.md' }]);
    const result = await r.waitFor(isResult);
    r.end();
    assert.equal(await r.exit, 0, r.stderr);
    assert.ok(isInit(r.lines[0]));
    assert.equal(r.lines[0].session_id, sid);
    assert.equal(result.subtype, 'success');
    assert.equal(result.is_error, false);
    assert.equal(r.lines.at(-1), result);
    assert.ok(r.lines.every((l) => l.session_id === sid));
    assert.match(readFileSync(join(dir, 'specs/plan.md'), 'utf8'), /^# Plan: Add a --version flag/);
    const logged = readFileSync(stdinLog, 'utf8').trim().split('\n');
    assert.equal(logged.length, 1);
    assert.equal(JSON.parse(logged[0]).type, 'user');
  });

  test('a user message sent mid-run is its own query after the first result', async () => {
    const r = runFake([...STREAM, '--session-id', randomUUID(), '--allowedTools', 'Read']);
    r.user('Explain the code [fake:long]');
    await r.waitFor(isInit);
    r.user('Also mention the tests');
    r.send('this is not json');
    const results = () => r.lines.filter(isResult);
    await r.waitFor((l) => isResult(l) && l.result.startsWith('Acknowledged'), 10000);
    r.end();
    assert.equal(await r.exit, 0);
    assert.equal(results().length, 2);
    assert.equal(r.lines.filter(isInit).length, 2);
    const [first, second] = results();
    assert.match(first.result, /^Done: Explain the code\./);
    const secondInit = r.lines.findLastIndex(isInit);
    assert.ok(secondInit > r.lines.indexOf(first), 'the second init follows the first result');
    assert.equal(r.lines[secondInit].session_id, first.session_id);
    assert.ok(texts(r).includes('Acknowledged instruction: Also mention the tests'));
    assert.equal(second.result, 'Acknowledged instruction: Also mention the tests');
    assert.equal(second.num_turns, 1);
    assert.ok(second.total_cost_usd > 0 && second.total_cost_usd < 0.01);
    assert.match(r.stderr, /Error parsing streaming input line: this is not json/);
  });

  test('interrupt aborts the running query promptly with error_during_execution', async () => {
    const r = runFake([...STREAM, '--session-id', randomUUID(), '--allowedTools', 'Read,Bash']);
    r.user('Run the checks [fake:long]');
    await r.waitFor((l) => l.type === 'assistant' && l.message.content[0].type === 'tool_use');
    const before = r.lines.length;
    r.send({ type: 'control_request', request_id: 'req_1_abc', request: { subtype: 'interrupt' } });
    const resp = await r.waitFor((l) => l.type === 'control_response', 2000, before);
    const result = await r.waitFor(isResult, 2000, before);
    assert.deepEqual(resp.response, { subtype: 'success', request_id: 'req_1_abc', response: {} });
    assert.ok(r.lines.indexOf(resp) < r.lines.indexOf(result));
    assert.equal(result.subtype, 'error_during_execution');
    assert.equal(result.is_error, true);
    assert.deepEqual(result.errors, ['Request was aborted.']);
    assert.equal('result' in result, false);
    // Nothing more of the aborted query; no second result.
    await sleep(800);
    assert.equal(r.lines.filter(isResult).length, 1);
    assert.equal(r.lines.at(-1), result);
    // Idle: interrupt is still answered; unknown subtypes are errors.
    r.send({ type: 'control_request', request_id: 'r2', request: { subtype: 'interrupt' } });
    r.send({ type: 'control_request', request_id: 'r3', request: { subtype: 'set_model', model: 'opus' } });
    await r.waitFor((l) => l.type === 'control_response' && l.response.request_id === 'r3');
    assert.deepEqual(r.lines.find((l) => l.response?.request_id === 'r2').response, { subtype: 'success', request_id: 'r2', response: {} });
    assert.deepEqual(r.lines.at(-1).response, { subtype: 'error', request_id: 'r3', error: 'unsupported in fake' });
    r.end();
    assert.equal(await r.exit, 0);
  });

  test('the slow scenario and [fake:delay=MS] are interruptible too', async () => {
    const r = runFake([...STREAM, '--session-id', randomUUID(), '--allowedTools', 'Read']);
    r.user('Wait [fake:slow]');
    await sleep(300);
    r.send({ type: 'control_request', request_id: 'x', request: { subtype: 'interrupt' } });
    const result = await r.waitFor(isResult, 2000);
    assert.equal(result.subtype, 'error_during_execution');
    r.user('Next one [fake:delay=5000]');
    await sleep(300);
    r.send({ type: 'control_request', request_id: 'y', request: { subtype: 'interrupt' } });
    await r.waitFor((l) => isResult(l) && l !== result, 2000);
    r.end();
    assert.equal(await r.exit, 0);
  });

  test('flags are checked like the real CLI', async () => {
    const sid = randomUUID();
    let r = runFake(['-p', '--input-format', 'stream-json', '--output-format', 'json', '--session-id', sid, '--permission-mode', 'acceptEdits', '--allowedTools', 'Read']);
    assert.equal(await r.exit, 1);
    assert.match(r.stderr, /--input-format=stream-json requires output-format=stream-json/);
    assert.equal(r.lines.length, 0);
    r = runFake(['-p', '--input-format', 'yaml', ...BASE, '--session-id', sid, '--allowedTools', 'Read']);
    assert.equal(await r.exit, 1);
    assert.match(r.stderr, /argument 'yaml' is invalid/);
    r = runFake([...STREAM, '--session-id', sid, '--allowedTools', 'Read', '--bogus']);
    assert.equal(await r.exit, 1);
    assert.match(r.stderr, /unknown option '--bogus'/);
    r = runFake([...STREAM, '--session-id', sid, '--allowedTools', 'Read', '--mcp-config']);
    assert.equal(await r.exit, 1);
    assert.match(r.stderr, /argument missing/);
  });
});

describe('fake claude: --resume', () => {
  test('the lines carry the resumed session id (argv prompt and stdin prompt)', async () => {
    const sid = randomUUID();
    let r = runFake(['-p', 'Fix the review findings', ...BASE, '--resume', sid, '--allowedTools', 'Read,Edit']);
    assert.equal(await r.exit, 0, r.stderr);
    assert.ok(r.lines.length > 2 && r.lines.every((l) => l.session_id === sid));
    r = runFake([...STREAM, `--resume=${sid}`, '--allowedTools', 'Read']);
    r.user('continue');
    await r.waitFor(isResult);
    r.end();
    assert.equal(await r.exit, 0);
    assert.ok(r.lines.every((l) => l.session_id === sid));
  });

  test('--session-id with --resume needs --fork-session; the id must be a UUID', async () => {
    const a = randomUUID(), b = randomUUID();
    let r = runFake(['-p', 'x', ...BASE, '-r', a, '--session-id', b, '--allowedTools', 'Read']);
    assert.equal(await r.exit, 1);
    assert.match(r.stderr, /--session-id can only be used with --continue or --resume if --fork-session is also specified/);
    r = runFake(['-p', 'x', ...BASE, '-r', a, '--session-id', b, '--fork-session', '--allowedTools', 'Read']);
    assert.equal(await r.exit, 0, r.stderr);
    assert.ok(r.lines.every((l) => l.session_id === b));
    r = runFake(['-p', 'x', ...BASE, '--resume', 'not-a-uuid', '--allowedTools', 'Read']);
    assert.equal(await r.exit, 1);
    assert.match(r.stderr, /No conversation found with session ID: not-a-uuid/);
  });
});

describe('fake claude: [fake:ask=…] through the MCP server "adw"', () => {
  test('tool_use, tool_result and the answer in the artifact (stream-json input, config file)', async () => {
    const dir = newDir();
    const mcp = fakeMcpServer(dir, { delayMs: 300 });
    const cfgFile = join(dir, 'mcp.json');
    writeFileSync(cfgFile, JSON.stringify(mcp.config));
    const r = runFake([...STREAM, '--session-id', randomUUID(), '--allowedTools', 'Read,Write,mcp__adw__ask_user', '--mcp-config', cfgFile], { cwd: dir });
    r.user('Plan the storage [fake:ask=Which database?|PostgreSQL 16|SQLite] [fake:ask_default=PostgreSQL 16]\nOutput file: specs/plan.md');
    const result = await r.waitFor(isResult);
    r.end();
    assert.equal(await r.exit, 0, r.stderr);
    assert.equal(result.is_error, false);
    const use = r.lines.find((l) => l.type === 'assistant' && l.message.content[0].type === 'tool_use' && l.message.content[0].name === 'mcp__adw__ask_user');
    assert.ok(use, 'an mcp__adw__ask_user tool_use line');
    const block = use.message.content[0];
    assert.deepEqual(block.input, { question: 'Which database?', options: ['PostgreSQL 16', 'SQLite'], default: 'PostgreSQL 16' });
    const res = r.lines.find((l) => l.type === 'user' && l.message.content[0].tool_use_id === block.id);
    assert.equal(res.message.content[0].content, 'Use PostgreSQL 16');
    assert.equal(res.message.content[0].is_error, false);
    assert.ok(r.lines.indexOf(use) > r.lines.findIndex((l) => l.type === 'assistant' && l.message.content[0].type === 'text'),
      'asked after the first assistant text');
    assert.ok(texts(r).includes('The user answered: Use PostgreSQL 16'));
    const plan = readFileSync(join(dir, 'specs/plan.md'), 'utf8');
    assert.match(plan, /Which database\?/);
    assert.match(plan, /Use PostgreSQL 16/);
    // The handshake, the call, and stdin closed at the end (the server exited).
    const msgs = mcp.messages();
    assert.equal(msgs[0].method, 'initialize');
    assert.equal(msgs[0].params.protocolVersion, '2025-11-25');
    assert.equal(msgs[0].params.clientInfo.name, 'claude-code');
    assert.equal(msgs[1].method, 'notifications/initialized');
    assert.equal(msgs[1].id, undefined);
    assert.equal(msgs[2].method, 'tools/list');
    assert.deepEqual(msgs[3].params, { name: 'ask_user', arguments: block.input });
    assert.deepEqual(msgs.at(-1), { closed: true, env: 'from-config' });
  });

  test('inline JSON config, argv prompt, server-wide permission; the result text has the answer', async () => {
    const dir = newDir();
    const mcp = fakeMcpServer(dir, { answer: 'yes' });
    const r = runFake(['-p', 'Should I proceed? [fake:ask=Proceed?]', ...BASE, '--session-id', randomUUID(), '--allowedTools', 'Read,mcp__adw', '--mcp-config', JSON.stringify(mcp.config)], { cwd: dir });
    assert.equal(await r.exit, 0, r.stderr);
    const result = r.lines.at(-1);
    assert.equal(result.is_error, false);
    assert.match(result.result, /The user answered: yes/);
    assert.deepEqual(r.lines.find((l) => l.message?.content[0].name === 'mcp__adw__ask_user').message.content[0].input, { question: 'Proceed?' });
  });

  test('not in --allowedTools: the call is denied and the run goes on', async () => {
    const dir = newDir();
    const mcp = fakeMcpServer(dir);
    const r = runFake(['-p', 'Plan it [fake:ask=Which one?]\nOutput file: plan.md', ...BASE, '--session-id', randomUUID(), '--allowedTools', 'Read,Write', '--mcp-config', JSON.stringify(mcp.config)], { cwd: dir });
    assert.equal(await r.exit, 0, r.stderr);
    const res = r.lines.find((l) => l.type === 'user' && l.message.content[0].is_error);
    assert.match(res.message.content[0].content, /permissions to use mcp__adw__ask_user/);
    const result = r.lines.at(-1);
    assert.equal(result.is_error, false);
    assert.equal(result.permission_denials.length, 1);
    assert.equal(result.permission_denials[0].tool_name, 'mcp__adw__ask_user');
    assert.ok(!mcp.messages().some((m) => m.method === 'tools/call'));
    assert.doesNotMatch(readFileSync(join(dir, 'plan.md'), 'utf8'), /Answer from the user/);
  });

  test('interrupt while waiting for the answer cancels the call', async () => {
    const dir = newDir();
    const mcp = fakeMcpServer(dir, { delayMs: 60000 });
    const r = runFake([...STREAM, '--session-id', randomUUID(), '--allowedTools', 'mcp__adw__ask_user', '--mcp-config', JSON.stringify(mcp.config)], { cwd: dir });
    r.user('Ask [fake:ask=Anyone there?]');
    await r.waitFor((l) => l.message?.content[0].name === 'mcp__adw__ask_user');
    await sleep(200);
    r.send({ type: 'control_request', request_id: 'i', request: { subtype: 'interrupt' } });
    const result = await r.waitFor(isResult, 2000);
    assert.equal(result.subtype, 'error_during_execution');
    assert.equal(result.terminal_reason, 'aborted_tools');
    r.end();
    assert.equal(await r.exit, 0);
    const msgs = mcp.messages();
    assert.ok(msgs.some((m) => m.method === 'notifications/cancelled'));
    assert.deepEqual(msgs.at(-1), { closed: true, env: 'from-config' });
  });

  test('a server that cannot be spawned: an error on stderr and an error result', async () => {
    const config = { mcpServers: { adw: { command: join(tmp, 'no-such-adw-mcp'), args: [] } } };
    const r = runFake(['-p', 'Ask [fake:ask=Hello?]', ...BASE, '--session-id', randomUUID(), '--allowedTools', 'mcp__adw', '--mcp-config', JSON.stringify(config)]);
    assert.equal(await r.exit, 1);
    assert.match(r.stderr, /MCP server "adw" failed to start: .*ENOENT/);
    const result = r.lines.at(-1);
    assert.equal(result.type, 'result');
    assert.equal(result.is_error, true);
    assert.match(result.errors[0], /ENOENT/);
  });

  test('a bad --mcp-config is rejected at startup', async () => {
    let r = runFake(['-p', 'x', ...BASE, '--session-id', randomUUID(), '--allowedTools', 'Read', '--mcp-config', join(tmp, 'missing.json')]);
    assert.equal(await r.exit, 1);
    assert.match(r.stderr, /MCP config file not found/);
    r = runFake(['-p', 'x', ...BASE, '--session-id', randomUUID(), '--allowedTools', 'Read', '--mcp-config', '{"mcpServers": 3}']);
    assert.equal(await r.exit, 1);
    assert.match(r.stderr, /Invalid MCP configuration/);
  });
});
