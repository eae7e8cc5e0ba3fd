// The live event stream (GET /api/stream): SSE framing, resume, filters,
// exactly-once delivery in id order under concurrent writers and
// reconnecting clients, and the slow-client resync. Real server, real
// PostgreSQL, writers that use adw's own write path (tests/tools/adw_emit.c).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startServer, api, sql, sseConnect, bin } from './lib/server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function emit(srv, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin.emit, args, { env: { ...process.env, DATABASE_URL: srv.dbUrl }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`adw-emit ${args.join(' ')}: ${code} ${err}`))));
  });
}

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/* A reader that reconnects from its last id whenever the server ends its stream (resync). */
async function resilientReader(srv, start) {
  const r = { ids: [], resyncs: 0, reconnects: 0, conn: null, stopped: false };
  const connect = async () => {
    r.conn = await sseConnect(srv.url, {
      lastEventId: r.ids.length ? r.ids.at(-1) : start,
      onEvent: (ev) => { if (ev.type === 'resync') r.resyncs++; else r.ids.push(ev.id); },
    });
    r.conn.done.then(() => { if (!r.stopped) { r.reconnects++; setTimeout(connect, 10); } });
  };
  await connect();
  r.stop = () => { r.stopped = true; r.conn.close(); };
  return r;
}

const maxId = (srv) => Number(sql(srv.dbUrl, 'SELECT COALESCE(max(id), 0) FROM events'));
const idsAfter = (srv, after) => sql(srv.dbUrl, `SELECT id FROM events WHERE id > ${after} ORDER BY id`).split('\n').filter(Boolean).map(Number);

describe('SSE protocol', () => {
  let srv;
  before(async () => { srv = await startServer({ prefix: 'sse' }); });
  after(async () => { await srv.stop(); srv.cleanup(); });

  test('frames carry id, event type and the event JSON; retry is set', async () => {
    const start = maxId(srv);
    const s = await sseConnect(srv.url, { after: start });
    const chat = await api(srv.url, 'POST', '/api/chat', { message: 'hello stream' });
    assert.equal(chat.status, 200);
    await until(() => s.events.length >= 2, 5000, 'chat events');
    s.close();
    assert.equal(s.retry, 2000);
    const first = s.events[0];
    assert.equal(first.type, 'ChatMessage');
    const data = JSON.parse(first.data);
    assert.equal(data.id, first.id);
    assert.equal(data.type, 'ChatMessage');
    assert.equal(data.content, 'hello stream');
    assert.match(data.created_at, /Z$/);
    assert.deepEqual(s.events.map((e) => e.id), idsAfter(srv, start).slice(0, s.events.length));
  });

  test('Last-Event-ID resumes exactly after it and wins over ?after=', async () => {
    await emit(srv, ['--count', '30', '--tag', 'resume']);
    const all = idsAfter(srv, 0);
    const mid = all[Math.floor(all.length / 2)];
    const s = await sseConnect(srv.url, { lastEventId: mid, after: 0 });
    await until(() => s.events.length >= all.filter((i) => i > mid).length, 5000, 'catch-up');
    s.close();
    assert.deepEqual(s.events.map((e) => e.id), all.filter((i) => i > mid));
  });

  test('no cursor means only new events; filters by adw and topic', async () => {
    const live = await sseConnect(srv.url);
    const chatOnly = await sseConnect(srv.url, { query: 'topics=chat' });
    const r = await api(srv.url, 'POST', '/api/chat', { message: 'start adw: plan_build: Filtered stream' });
    const id = r.body.adw.id;
    const byAdw = await sseConnect(srv.url, { after: 0, query: `adw_id=${id}` });
    await until(async () => (await api(srv.url, 'GET', `/api/adws/${id}`)).body.adw.status === 'completed', 20000, 'adw');
    const total = idsAfter(srv, 0);
    const adwIds = sql(srv.dbUrl, `SELECT id FROM events WHERE adw_id = '${id}' ORDER BY id`).split('\n').map(Number);
    await until(() => byAdw.events.length >= adwIds.length, 5000, 'adw events');
    await until(() => live.events.length > 0 && live.events.at(-1).id === total.at(-1), 5000, 'live events');
    for (const s of [live, chatOnly, byAdw]) s.close();
    assert.deepEqual(byAdw.events.map((e) => e.id), adwIds);
    assert.ok(live.events[0].id > 0 && live.events.every((e) => total.includes(e.id)));
    assert.ok(chatOnly.events.length >= 2 && chatOnly.events.every((e) => e.type === 'ChatMessage'));
  });

  test('bad parameters are refused', async () => {
    let r = await api(srv.url, 'GET', '/api/stream?after=abc');
    assert.equal(r.status, 400);
    r = await api(srv.url, 'GET', '/api/stream?topics=nope');
    assert.equal(r.status, 422);
    r = await api(srv.url, 'GET', '/api/stream?adw_id=xyz');
    assert.equal(r.status, 422);
    r = await api(srv.url, 'POST', '/api/stream', {});
    assert.equal(r.status, 405);
  });
});

describe('exactly once, in order, across reconnects', () => {
  const writers = 16;
  const perWriter = Number(process.env.ADW_STREAM_TEST_EVENTS || 1000);

  test(`${writers} writers x ${perWriter} events, 8 readers, 4 of them reconnecting`, { timeout: 240000 }, async () => {
    // A small ring, so reconnecting readers also catch up from the table and
    // live readers may be told to resync: both paths must stay exact.
    const srv = await startServer({ prefix: 'exact', env: { ADW_STREAM_RING: '512' } });
    try {
      const start = maxId(srv);
      const readers = [];
      for (let i = 0; i < 8; i++) {
        const r = { ids: [], resyncs: 0, reconnects: 0, flaky: i < 4, conn: null, stopped: false };
        const connect = async () => {
          const last = r.ids.length ? r.ids.at(-1) : start;
          r.conn = await sseConnect(srv.url, {
            lastEventId: last,
            onEvent: (ev) => {
              if (ev.type === 'resync') { r.resyncs++; return; }
              r.ids.push(ev.id);
            },
          });
          r.conn.done.then(() => { if (!r.stopped) { r.reconnects++; setTimeout(connect, 10); } });
        };
        await connect();
        readers.push(r);
      }
      // The flaky readers drop their connection at random moments.
      const chaos = setInterval(() => {
        for (const r of readers) if (r.flaky && !r.stopped && Math.random() < 0.3 && r.conn) r.conn.close();
      }, 150);
      await Promise.all(Array.from({ length: writers }, (_, w) => emit(srv, ['--count', String(perWriter), '--batch', String(1 + (w % 8) * 9), '--tag', `w${w}`])));
      clearInterval(chaos);
      const expected = idsAfter(srv, start);
      assert.equal(expected.length, writers * perWriter);
      await until(() => readers.every((r) => r.ids.length >= expected.length || (r.ids.length && r.ids.at(-1) >= expected.at(-1))), 60000, 'every reader to catch up');
      for (const r of readers) { r.stopped = true; r.conn.close(); }
      readers.forEach((r, i) => {
        assert.equal(r.ids.length, expected.length, `reader ${i}: ${r.ids.length} of ${expected.length} (reconnects ${r.reconnects})`);
        assert.deepEqual(r.ids, expected, `reader ${i} got every event once, in id order`);
      });
      assert.ok(readers.slice(0, 4).every((r) => r.reconnects > 0), 'the flaky readers did reconnect');
    } finally { await srv.stop(); srv.cleanup(); }
  });
});

describe('slow clients', () => {
  test('a client that stops reading gets resync and is dropped; the others are unaffected', { timeout: 120000 }, async () => {
    const srv = await startServer({ prefix: 'slow', env: { ADW_STREAM_RING: '256' } });
    try {
      const start = maxId(srv);
      const slow = await sseConnect(srv.url, { after: start });
      slow.res.pause(); // stop reading: the kernel buffers fill, then the server's cursor stalls
      // The others read on; should one of them fall behind on a slow machine, it too
      // comes back from its last id, so each still gets every event exactly once.
      const fast = await Promise.all([resilientReader(srv, start), resilientReader(srv, start)]);
      const n = 3000;
      await emit(srv, ['--count', String(n), '--size', '8192', '--tag', 'big']);
      const expected = idsAfter(srv, start);
      await until(() => fast.every((f) => f.ids.length >= expected.length), 90000, 'the other clients');
      for (const f of fast) { f.stop(); assert.deepEqual(f.ids, expected); }
      slow.res.resume();
      const how = await Promise.race([slow.done, sleep(30000).then(() => 'timeout')]);
      assert.notEqual(how, 'timeout', 'the slow client was dropped');
      const last = slow.events.at(-1);
      assert.equal(last.type, 'resync', `last event of the slow client: ${last && last.type}`);
      const got = slow.events.filter((e) => e.type !== 'resync').map((e) => e.id);
      assert.ok(got.length < expected.length, 'it fell behind');
      assert.deepEqual(got, expected.slice(0, got.length), 'what it got is an exact prefix');
      assert.equal(JSON.parse(last.data).last_event_id, got.at(-1));
      // It comes back losslessly from its last id.
      const again = await sseConnect(srv.url, { lastEventId: got.at(-1) });
      await until(() => again.events.length >= expected.length - got.length, 30000, 'the slow client to catch up');
      again.close();
      assert.deepEqual([...got, ...again.events.map((e) => e.id)], expected);
    } finally { await srv.stop(); srv.cleanup(); }
  });
});

describe('idle clients', () => {
  test('idle streams get pings; disconnected clients are detected and freed', { timeout: 60000 }, async () => {
    const srv = await startServer({ prefix: 'idle', env: { ADW_STREAM_PING_MS: '300' } });
    try {
      const clients = await Promise.all(Array.from({ length: 5 }, () => sseConnect(srv.url)));
      await until(async () => (await api(srv.url, 'GET', '/healthz')).body.stream_clients === 5, 5000, '5 clients');
      await until(() => clients.every((c) => c.comments >= 2), 5000, 'pings');
      for (const c of clients) c.close();
      await until(async () => (await api(srv.url, 'GET', '/healthz')).body.stream_clients === 0, 10000, 'clients to be freed');
    } finally { await srv.stop(); srv.cleanup(); }
  });
});
