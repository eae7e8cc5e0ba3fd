// adw-mcp, the MCP stdio server adw-run gives the Claude Code CLI: the real
// binary speaking JSON-RPC lines on stdin/stdout, forwarding ask_user
// questions over a real abstract unix socket that this test serves in
// adw-run's place.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { buildDir } from './lib/server.mjs';

const mcpBin = join(buildDir, 'adws/adw-mcp');

// A stand-in for adw-run's ask socket: records each request line and
// answers with reply(request) (an object, sent as one JSON line). Node 20's
// libuv binds an abstract name padded with NULs to the whole sun_path, so
// the name fills all 107 bytes: then padded and exact addresses agree.
async function startAskServer(reply) {
  const name = `adw-ask-e2e-${process.pid}-${randomBytes(8).toString('hex')}-`.padEnd(107, 'x');
  const requests = [];
  const server = net.createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const req = JSON.parse(buf.slice(0, nl));
      requests.push(req);
      conn.end(JSON.stringify(reply(req)) + '\n');
    });
    conn.on('error', () => {});
  });
  await new Promise((res, rej) => {
    server.once('error', rej);
    server.listen({ path: '\0' + name }, res);
  });
  return { name: '@' + name, requests, close: () => new Promise((res) => server.close(res)) };
}

// adw-mcp as an MCP client sees it: requests with ids, replies matched by id.
function startMcp(env = {}) {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const proc = spawn(mcpBin, [], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  const waiting = new Map();
  let out = '';
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (d) => {
    out += d;
    let nl;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      lines.push(line);
      const msg = JSON.parse(line); // nothing but JSON-RPC on stdout
      const w = waiting.get(JSON.stringify(msg.id));
      if (w) { waiting.delete(JSON.stringify(msg.id)); w(msg); }
    }
  });
  const exited = new Promise((res) => proc.on('exit', (code, signal) => res({ code, signal })));
  let nextId = 0;
  return {
    proc,
    lines,
    exited,
    get stderr() { return stderr; },
    send(obj) { proc.stdin.write(typeof obj === 'string' ? obj : JSON.stringify(obj) + '\n'); },
    request(method, params, id = nextId++) {
      const msg = { jsonrpc: '2.0', id, method };
      if (params !== undefined) msg.params = params;
      const p = new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no reply to ${method}; stderr:\n${stderr}`)), 15000);
        waiting.set(JSON.stringify(id), (m) => { clearTimeout(timer); res(m); });
      });
      this.send(msg);
      return p;
    },
    notify(method, params) { this.send({ jsonrpc: '2.0', method, ...(params ? { params } : {}) }); },
    async close() { proc.stdin.end(); return exited; },
  };
}

async function handshake(mcp) {
  const init = await mcp.request('initialize', {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'adw-e2e', version: '0.0.1' },
  });
  mcp.notify('notifications/initialized');
  return init;
}

describe('adw-mcp', () => {
  test('--help, --version and usage errors', () => {
    let r = spawnSync(mcpBin, ['--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /ask_user/);
    assert.match(r.stdout, /ADW_ASK_SOCKET/);
    r = spawnSync(mcpBin, ['--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^adw-mcp \d+\.\d+\.\d+\n$/);
    r = spawnSync(mcpBin, ['--bogus'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    r = spawnSync(mcpBin, ['extra'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^adw: usage: adw-mcp/);
  });

  test('handshake, tools/list and ask_user answered over the ask socket', async () => {
    const ask = await startAskServer((req) => ({ answer: `take ${req.options[1]}` }));
    const mcp = startMcp({ ADW_ASK_SOCKET: ask.name });
    try {
      const init = await handshake(mcp);
      assert.equal(init.id, 0);
      assert.equal(init.result.protocolVersion, '2025-06-18');
      assert.deepEqual(init.result.capabilities, { tools: { listChanged: false } });
      assert.equal(init.result.serverInfo.name, 'adw');
      assert.match(init.result.serverInfo.version, /^\d+\.\d+\.\d+/);

      const ping = await mcp.request('ping', undefined, 'p-1');
      assert.deepEqual(ping, { jsonrpc: '2.0', id: 'p-1', result: {} });
      const discover = await mcp.request('server/discover', {});
      assert.equal(discover.error.code, -32601);

      const list = await mcp.request('tools/list', {});
      assert.equal(list.result.tools.length, 1);
      const tool = list.result.tools[0];
      assert.equal(tool.name, 'ask_user');
      assert.equal(tool.title, 'Ask the user');
      assert.equal(tool.inputSchema.type, 'object');
      assert.deepEqual(tool.inputSchema.required, ['question']);
      assert.equal(tool.inputSchema.additionalProperties, false);
      assert.deepEqual(Object.keys(tool.inputSchema.properties).sort(), ['context', 'default', 'options', 'question']);
      assert.deepEqual(tool.outputSchema.required, ['answer']);

      const args = {
        question: 'Which queue library?',
        options: ['none: use LISTEN/NOTIFY', 'pgmq — "extension"'],
        context: 'We need at-least-once delivery.\nLine two ✓',
        default: 'none: use LISTEN/NOTIFY',
      };
      const call = await mcp.request('tools/call', { name: 'ask_user', arguments: args, _meta: { progressToken: 7 } });
      assert.equal(call.error, undefined);
      assert.equal(call.result.isError, false);
      assert.deepEqual(call.result.content, [{ type: 'text', text: 'take pgmq — "extension"' }]);
      assert.deepEqual(call.result.structuredContent, { answer: 'take pgmq — "extension"' });
      assert.deepEqual(ask.requests, [args]);

      // Bad arguments never reach the socket.
      const bad = await mcp.request('tools/call', { name: 'ask_user', arguments: { question: 'q', options: ['a', 'a'] } });
      assert.equal(bad.result.isError, true);
      assert.match(bad.result.content[0].text, /repeats/);
      assert.equal(ask.requests.length, 1);

      const unknown = await mcp.request('tools/call', { name: 'nope', arguments: {} });
      assert.equal(unknown.error.code, -32602);
    } finally {
      const { code } = await mcp.close();
      await ask.close();
      assert.equal(code, 0, mcp.stderr);
    }
    // Every stdout line was one JSON-RPC reply; notifications got none.
    assert.equal(mcp.lines.length, 7);
    for (const line of mcp.lines) assert.equal(JSON.parse(line).jsonrpc, '2.0');
  });

  test('an error from adw-run comes back as a tool error', async () => {
    const ask = await startAskServer(() => ({ error: 'the ADW was cancelled' }));
    const mcp = startMcp({ ADW_ASK_SOCKET: ask.name });
    try {
      await handshake(mcp);
      const call = await mcp.request('tools/call', { name: 'ask_user', arguments: { question: 'Continue?' } });
      assert.equal(call.result.isError, true);
      assert.deepEqual(call.result.content, [{ type: 'text', text: 'the ADW was cancelled' }]);
      assert.equal(call.result.structuredContent, undefined);
      assert.deepEqual(ask.requests, [{ question: 'Continue?' }]);
    } finally {
      assert.equal((await mcp.close()).code, 0);
      await ask.close();
    }
  });

  test('without ADW_ASK_SOCKET every question fails, the protocol still works', async () => {
    const mcp = startMcp({ ADW_ASK_SOCKET: undefined });
    try {
      await handshake(mcp);
      const call = await mcp.request('tools/call', { name: 'ask_user', arguments: { question: 'Hello?' } });
      assert.equal(call.result.isError, true);
      assert.equal(call.result.content[0].text, 'adw-mcp: ADW_ASK_SOCKET is not set (not started by adw-run)');
      // Malformed input: parse error and batch, both with id null.
      mcp.send('{"jsonrpc":"2.0",\n');
      mcp.send('[{"jsonrpc":"2.0","id":99,"method":"ping"}]\n');
      const last = await mcp.request('ping', undefined, 0);
      assert.equal(last.id, 0);
    } finally {
      assert.equal((await mcp.close()).code, 0);
    }
    const errors = mcp.lines.map((l) => JSON.parse(l)).filter((m) => m.id === null);
    assert.deepEqual(errors.map((m) => m.error.code), [-32700, -32600]);
    assert.match(mcp.stderr, /ADW_ASK_SOCKET is not set/);
  });
});
