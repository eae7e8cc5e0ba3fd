// Helpers for end-to-end tests: a fresh database on the private test
// cluster (ADW_TEST_DATABASE_URL, started by scripts/test), a real
// adw-server on a free loopback port, and small HTTP helpers.
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const buildDir = process.env.ADW_BUILD_DIR || resolve(import.meta.dirname, '../../../build');
export const sourceDir = resolve(import.meta.dirname, '../../..');
export const bin = {
  server: join(buildDir, 'backend/adw-server'),
  run: join(buildDir, 'adws/adw-run'),
  cli: join(buildDir, 'adws/adw'),
  emit: join(buildDir, 'tests/adw-emit'),
};

let dbCounter = 0;

/** Creates an empty database and returns its conninfo. */
export function createDatabase(prefix = 'e2e') {
  const base = process.env.ADW_TEST_DATABASE_URL;
  if (!base) throw new Error('ADW_TEST_DATABASE_URL is unset: run through scripts/test');
  const name = `adw_${prefix}_${process.pid}_${++dbCounter}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  for (const sql of [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, `CREATE DATABASE ${name} TEMPLATE template0`]) {
    const r = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', base, '-c', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  }
  return `${base} dbname=${name}`;
}

/** Runs SQL on a database and returns stdout rows (psql -At). */
export function sql(dbUrl, query) {
  const r = spawnSync('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', dbUrl, '-c', query], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * Starts adw-server on 127.0.0.1:0 with a fresh database (or opts.dbUrl),
 * a private ADW_HOME and working dir, the dry-run runtime unless opts.env
 * says otherwise. Resolves when it prints its URL.
 */
export async function startServer(opts = {}) {
  const home = opts.home || mkdtempSync(join(tmpdir(), 'adw-home-'));
  const workdir = opts.workdir || mkdtempSync(join(tmpdir(), 'adw-work-'));
  const dbUrl = opts.dbUrl || createDatabase(opts.prefix || 'srv');
  const env = {
    ...process.env,
    DATABASE_URL: dbUrl,
    ADW_HOME: home,
    ADW_WORKDIR: workdir,
    ADW_RUNTIME: 'dry-run',
    ADW_LISTEN: '127.0.0.1:0',
    ...(opts.env || {}),
  };
  const proc = spawn(opts.serverBin || bin.server, opts.args || [], { env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; if (process.env.ADW_E2E_VERBOSE) process.stderr.write(d); });
  const url = await new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`adw-server did not start:\n${stderr}`)), 20000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) { clearTimeout(timer); resolveUrl(m[1].replace(/\/$/, '')); }
    });
    proc.on('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`adw-server exited (${code ?? sig}):\n${stderr}`)); });
  });
  const server = {
    url, proc, dbUrl, home, workdir, env,
    get stderr() { return stderr; },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise((r) => proc.on('exit', r));
      proc.kill(signal);
      await Promise.race([done, new Promise((r) => setTimeout(r, 10000))]);
      if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGKILL'); await done; }
    },
    cleanup() {
      if (!opts.home) rmSync(home, { recursive: true, force: true });
      if (!opts.workdir) rmSync(workdir, { recursive: true, force: true });
    },
  };
  return server;
}

/** fetch + JSON: resolves {status, body}. */
export async function api(base, method, path, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['content-type'] = 'application/json';
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { json = null; }
  return { status: res.status, body: json, text, headers: res.headers };
}

/** Polls GET /api/adws/{id} until its status is terminal or timeoutMs passes. */
export async function waitForAdw(base, id, timeoutMs = 60000, statuses = ['completed', 'failed', 'cancelled']) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    const r = await api(base, 'GET', `/api/adws/${id}`);
    last = r.body && r.body.adw;
    if (last && statuses.includes(last.status)) return last;
    await new Promise((r2) => setTimeout(r2, 100));
  }
  throw new Error(`adw ${id} did not reach ${statuses.join('/')}: last ${JSON.stringify(last)}`);
}

export function readText(path) { return readFileSync(path, 'utf8'); }

/**
 * A Server-Sent Events client over node:http that keeps every event it
 * gets: {id, type, data}. opts: after, lastEventId, query (string), onEvent.
 * Resolves to a handle with close() and a `done` promise that resolves when
 * the server ends the stream.
 */
export function sseConnect(base, opts = {}) {
  return new Promise((resolveConn, reject) => {
    const qs = new URLSearchParams();
    if (opts.after !== undefined) qs.set('after', String(opts.after));
    if (opts.query) for (const [k, v] of new URLSearchParams(opts.query)) qs.set(k, v);
    const headers = { accept: 'text/event-stream' };
    if (opts.lastEventId !== undefined) headers['last-event-id'] = String(opts.lastEventId);
    const url = `${base}/api/stream${qs.toString() ? `?${qs}` : ''}`;
    const req = http.get(url, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`stream: HTTP ${res.statusCode}`)); res.resume(); return; }
      let buf = '';
      let cur = { id: undefined, type: 'message', data: [] };
      let endResolve;
      const handle = {
        res, req, events: [], comments: 0, retry: undefined,
        done: new Promise((r) => { endResolve = r; }),
        close() { req.destroy(); },
      };
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          if (line === '') {
            if (cur.data.length || cur.id !== undefined) {
              const ev = { id: cur.id === undefined ? undefined : Number(cur.id), type: cur.type, data: cur.data.join('\n') };
              handle.events.push(ev);
              if (opts.onEvent) opts.onEvent(ev, handle);
            }
            cur = { id: undefined, type: 'message', data: [] };
          } else if (line.startsWith(':')) {
            handle.comments++;
          } else {
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            let value = i < 0 ? '' : line.slice(i + 1);
            if (value.startsWith(' ')) value = value.slice(1);
            if (field === 'id') cur.id = value;
            else if (field === 'event') cur.type = value;
            else if (field === 'data') cur.data.push(value);
            else if (field === 'retry') handle.retry = Number(value);
          }
        }
      });
      res.on('end', () => endResolve('end'));
      res.on('error', () => endResolve('error'));
      res.on('close', () => endResolve('close'));
      resolveConn(handle);
    });
    req.on('error', (e) => reject(e));
  });
}
