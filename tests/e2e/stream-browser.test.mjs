// Browser test of the dashboard's live stream (GET /api/stream through
// EventSource): live cards, reconnection after a server restart without a
// lost or doubled event, resync, and the polling fallback. The real
// adw-server (dry-run runtime, fresh database) and headless Debian Chromium
// through playwright-core. Run by scripts/test; alone:
//   eval "$(scripts/pg-test.sh start)"; ADW_BUILD_DIR=$PWD/build node --test tests/e2e/stream-browser.test.mjs; scripts/pg-test.sh stop
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, api, waitForAdw, buildDir, sql } from './lib/server.mjs';

const servers = [];
let srv;
let listen;
let browser;
let page;
const pageErrors = [];
const requests = [];
let navigations = 0;

/** A free loopback port (the server is restarted on the same one). */
async function freePort() {
  const s = createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function newPage(url, opts = {}) {
  const p = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  p.setDefaultTimeout(15000);
  p.on('pageerror', (e) => pageErrors.push(e.message));
  if (opts.route) await opts.route(p);
  await p.goto(url + '/');
  return p;
}

before(async () => {
  listen = `127.0.0.1:${await freePort()}`;
  srv = await startServer({ prefix: 'stream', env: { ADW_LISTEN: listen } });
  servers.push(srv);
  browser = await chromium.launch({
    executablePath: process.env.ADW_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('request', (r) => requests.push({ url: r.url(), at: Date.now() }));
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
  await page.goto(srv.url + '/');
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  for (const s of servers) {
    await s.stop('SIGKILL').catch(() => {});
    s.cleanup();
  }
});

const tid = (id) => `[data-testid="${id}"]`;
const cardSel = (id) => `${tid('adw-card')}[data-adw-id="${id}"]`;
const conn = (p, state) => p.locator(`${tid('conn')}[data-state="${state}"]`);

async function startAdw(base, workflow, prompt) {
  const r = await api(base, 'POST', '/api/adws', { workflow, prompt });
  assert.equal(r.status, 201, r.text);
  return r.body.adw.id;
}

async function adwEvents(base, id) {
  const r = await api(base, 'GET', `/api/adws/${id}/events?limit=5000`);
  assert.equal(r.status, 200, r.text);
  return r.body.events;
}

async function allEvents(base) {
  const all = [];
  for (let after = 0; ;) {
    const r = await api(base, 'GET', `/api/events?after=${after}&limit=1000`);
    assert.equal(r.status, 200, r.text);
    all.push(...r.body.events);
    if (!r.body.events.length) return all;
    after = r.body.next_after;
  }
}

/** The data-event-id of every square of a card. */
const squareIds = (p, id) => p.locator(`${cardSel(id)} ${tid('square')}`)
  .evaluateAll((els) => els.map((e) => Number(e.dataset.eventId)));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The card shows exactly the ADW's events, each once, as the API lists them
 * (compared until they agree: a run may still add an event after its status
 * changed), and the page processed every event of the log exactly once.
 */
async function assertExactlyOnce(p, base, id) {
  await assertAllOnce(p, base);
  let want; let got;
  for (const end = Date.now() + 15000; ;) {
    want = (await adwEvents(base, id)).map((e) => e.id).sort((a, b) => a - b);
    got = await squareIds(p, id);
    assert.equal(new Set(got).size, got.length, `a square is drawn twice: ${got}`);
    got.sort((a, b) => a - b);
    if (got.join() === want.join() || Date.now() > end) break;
    await sleep(200);
  }
  assert.deepEqual(got, want, 'the card shows every event of the ADW once');
}

/**
 * Every event of the log went through the page once (it loaded from id 0),
 * each from the stream or polling itself: none was found only by the page's
 * gap repair (which reads ids the stream skipped), so a resume that lost
 * events cannot hide behind it.
 */
async function assertAllOnce(p, base, repaired = 0) {
  let total; let seen;
  for (const end = Date.now() + 15000; ;) {
    total = (await allEvents(base)).length;
    seen = await p.evaluate(() => window.adw.state.events);
    if (seen === total || Date.now() > end) break;
    await sleep(200);
  }
  assert.equal(seen, total, 'events processed by the page = events in the log');
  if (total < 1000) { // shown as "5.2k" from 1,000 on
    await p.waitForFunction((n) => document.querySelector('[data-testid="stat-events"]').textContent === n, String(total)).catch(() => {});
    assert.equal(await p.locator(tid('stat-events')).textContent(), String(total));
  }
  assert.equal(await p.evaluate(() => window.adw.state.repaired), repaired, 'events found by gap repair');
}

test('the page goes Live on the stream after the initial load', async () => {
  await page.evaluate(() => { window.__noReload = 'marker'; });
  await conn(page, 'live').waitFor();
  assert.equal((await page.locator(tid('conn')).textContent()).trim(), 'Live');
  assert.equal(await page.evaluate(() => window.adw.conn.mode), 'stream');
  mkdirSync(buildDir, { recursive: true });
  await page.locator('.app-header').screenshot({ path: join(buildDir, 'e2e-stream-live.png') });
});

test('an ADW started through the API appears at once and completes live', { timeout: 60000 }, async () => {
  const since = Date.now();
  const id = await startAdw(srv.url, 'plan_build', 'Live card [dry-run:delay=400]');
  const t0 = Date.now();
  await page.locator(cardSel(id)).waitFor({ timeout: 5000 });
  const appearedMs = Date.now() - t0;
  assert.ok(appearedMs < 3000, `the card took ${appearedMs} ms to appear`);
  // Statuses, counters and squares move while it runs.
  await page.locator(`${cardSel(id)}[data-status="in_progress"]`).waitFor({ timeout: 10000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="stat-running"]').textContent === '1');
  await page.locator(`${cardSel(id)} ${tid('lane')}[data-step="plan"] ${tid('square')}`).first().waitFor();
  await page.locator(`${cardSel(id)}[data-status="completed"]`).waitFor({ timeout: 30000 });
  assert.equal(await page.locator(`${cardSel(id)} ${tid('adw-progress')}`).textContent(), '2/2');
  await page.waitForFunction(() => document.querySelector('[data-testid="stat-running"]').textContent === '0');
  assert.match(await page.locator(`${cardSel(id)} ${tid('adw-cost')}`).textContent(), /^\$\d+\.\d{4}$/);
  await assertExactlyOnce(page, srv.url, id);
  // The events came from the stream: the page did not poll the event log.
  const polled = requests.filter((r) => r.at >= since && /\/api\/events\?/.test(r.url));
  assert.deepEqual(polled.map((r) => r.url), [], 'no polling while the stream is live');
  assert.equal(await page.evaluate(() => window.__noReload), 'marker', 'the page did not reload');
  assert.equal(await page.locator(tid('conn')).getAttribute('data-state'), 'live');
});

test('killing and restarting the server mid-run: the page resumes by itself, every event once', { timeout: 120000 }, async () => {
  const id = await startAdw(srv.url, 'plan_build_review', 'Restart mid-run [dry-run:delay=1500]');
  await page.locator(cardSel(id)).waitFor({ timeout: 5000 });
  // Kill the server while the ADW is in its second step.
  const end = Date.now() + 30000;
  for (;;) {
    const a = (await api(srv.url, 'GET', `/api/adws/${id}`)).body.adw;
    if (a.current_step === 'build' && a.status === 'in_progress') break;
    assert.ok(Date.now() < end && a.status !== 'completed', `never saw the build step: ${JSON.stringify(a)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const opensBefore = await page.evaluate(() => window.adw.stream.opens);
  await srv.stop('SIGKILL');
  // The page notices (Reconnecting… / Disconnected), without reloading.
  await page.waitForFunction(() => document.querySelector('[data-testid="conn"]').dataset.state !== 'live', null, { timeout: 10000 });
  const seenState = await page.locator(tid('conn')).getAttribute('data-state');
  // The same port, database, home and working dir; the adw-run child (its own
  // process group) survived the SIGKILL and is adopted by the new server.
  srv = await startServer({ dbUrl: srv.dbUrl, home: srv.home, workdir: srv.workdir, env: { ADW_LISTEN: listen } });
  servers.push(srv);
  await conn(page, 'live').waitFor({ timeout: 30000 });
  const after = await page.evaluate(() => ({ opens: window.adw.stream.opens, mode: window.adw.conn.mode }));
  assert.equal(after.mode, 'stream');
  assert.ok(after.opens > opensBefore, 'the stream reopened');
  const adw = await waitForAdw(srv.url, id, 60000);
  assert.equal(adw.status, 'completed', JSON.stringify(adw));
  await page.locator(`${cardSel(id)}[data-status="completed"]`).waitFor({ timeout: 15000 });
  assert.equal(await page.locator(`${cardSel(id)} ${tid('adw-progress')}`).textContent(), '3/3');
  await assertExactlyOnce(page, srv.url, id);
  assert.equal(await page.evaluate(() => window.__noReload), 'marker', 'the page did not reload');
  assert.equal(navigations, 1, 'one navigation: the first load');
  console.log(`# restart: indicator went ${seenState}, stream opens ${opensBefore} -> ${after.opens}`);
});

test('without /api/stream (404) the page polls, says so, and goes Live when the stream comes back', { timeout: 90000 }, async () => {
  let block = true;
  const p = await newPage(srv.url, {
    route: (pg) => pg.route('**/api/stream*', (r) => (block
      ? r.fulfill({ status: 404, contentType: 'application/json', body: '{"error":{"code":"not_found","message":"no"}}' })
      : r.fallback())),
  });
  try {
    await conn(p, 'polling').waitFor({ timeout: 15000 });
    assert.equal((await p.locator(tid('conn')).textContent()).trim(), 'Polling');
    await p.locator('.app-header').screenshot({ path: join(buildDir, 'e2e-stream-polling.png') });
    const id = await startAdw(srv.url, 'plan_build', 'Polled card [dry-run:delay=100]');
    await p.locator(`${cardSel(id)}[data-status="completed"]`).waitFor({ timeout: 30000 });
    await assertExactlyOnce(p, srv.url, id);
    // The stream is retried every ~10 s in the background.
    block = false;
    await conn(p, 'live').waitFor({ timeout: 20000 });
    const id2 = await startAdw(srv.url, 'plan_build', 'Live again [dry-run:delay=100]');
    await p.locator(`${cardSel(id2)}[data-status="completed"]`).waitFor({ timeout: 30000 });
    await assertExactlyOnce(p, srv.url, id2);
  } finally {
    await p.close();
  }
});

test('resync (a small server ring): the page reopens from its last event, nothing lost or doubled', { timeout: 120000 }, async () => {
  // A 16-event ring: any burst longer than that resyncs a live client.
  const small = await startServer({ prefix: 'resync', env: { ADW_STREAM_RING: '16' } });
  servers.push(small);
  const p = await newPage(small.url);
  try {
    await conn(p, 'live').waitFor();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await startAdw(small.url, 'plan_build_review', `Burst ${i} [dry-run:delay=300]`));
    // 300 events in one statement: the streamer reads them at once, the ring
    // (16) overflows, and every live client is told to resync.
    await new Promise((r) => setTimeout(r, 500));
    sql(small.dbUrl, "INSERT INTO events (category, type, content, summary) SELECT 'system', 'SystemInfo', 'burst ' || g, 'burst ' || g FROM generate_series(1, 300) g");
    for (const id of ids) await waitForAdw(small.url, id, 60000);
    for (const id of ids) await p.locator(`${cardSel(id)}[data-status="completed"]`).waitFor({ timeout: 15000 });
    for (const id of ids) await assertExactlyOnce(p, small.url, id);
    const st = await p.evaluate(() => ({ resyncs: window.adw.stream.resyncs, mode: window.adw.conn.mode, repaired: window.adw.state.repaired }));
    console.log(`# resync: ${JSON.stringify(st)}`);
    assert.ok(st.resyncs > 0, 'the server sent resync at least once');
    assert.equal(st.mode, 'stream');
    await conn(p, 'live').waitFor();
  } finally {
    await p.close();
  }
});

test('events of types the page has no stream listener for are still processed, once', { timeout: 60000 }, async () => {
  await conn(page, 'live').waitFor();
  // One statement: ids in order, known and unknown types interleaved.
  const rows = ['SystemInfo', 'FutureType', 'SystemInfo', 'AnotherNewType', 'AnotherNewType', 'AnotherNewType', 'SystemWarning', 'FutureType']
    .map((type, i) => `('system', '${type}', 'typed ${i}', 'typed ${i}')`).join(', ');
  sql(srv.dbUrl, `INSERT INTO events (category, type, content, summary) VALUES ${rows}`);
  await assertAllOnce(page, srv.url, 5);
  // Each shows up once in LOGS (which draws every event it was given).
  await page.keyboard.press('Control+j');
  await page.locator(tid('logs-view')).waitFor({ state: 'visible' });
  const logIds = await page.locator(tid('log-row')).evaluateAll((els) => els.map((e) => Number(e.dataset.eventId)));
  assert.equal(new Set(logIds).size, logIds.length, 'a log row is shown twice');
  assert.equal(logIds.length, (await allEvents(srv.url)).length);
  assert.equal(await page.locator(`${tid('log-row')}[data-type="FutureType"]`).count(), 2);
  assert.equal(await page.locator(`${tid('log-row')}[data-type="AnotherNewType"]`).count(), 3);
  await page.keyboard.press('Control+j');
  await page.locator(tid('adws-view')).waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => window.__noReload), 'marker', 'the page did not reload');
});

test('a burst of 1,000 events/s is drawn in animation frames without freezing the page', { timeout: 90000 }, async () => {
  await conn(page, 'live').waitFor();
  const id = await startAdw(srv.url, 'plan_build', 'Burst target [dry-run:delay=0]');
  await waitForAdw(srv.url, id);
  await page.locator(`${cardSel(id)}[data-status="completed"]`).waitFor();
  await assertAllOnce(page, srv.url, 5);
  // Frame gaps and long tasks on the page's main thread during the burst.
  await page.evaluate(() => {
    const m = { maxGap: 0, frames: 0, longest: 0, stop: false };
    window.__burst = m;
    let last = performance.now();
    const tick = (now) => { m.maxGap = Math.max(m.maxGap, now - last); last = now; m.frames++; if (!m.stop) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    new PerformanceObserver((l) => { for (const e of l.getEntries()) m.longest = Math.max(m.longest, e.duration); }).observe({ type: 'longtask' });
  });
  const t0 = Date.now();
  for (let i = 0; i < 50; i++) {
    // 100 events per statement, ten statements a second: 5,000 in about 5 s.
    sql(srv.dbUrl, `INSERT INTO events (adw_id, step, category, type, content, summary) SELECT '${id}', 'build', 'response', 'TextBlock', 'burst ' || g, 'burst ' || g FROM generate_series(1, 100) g`);
    const wait = t0 + (i + 1) * 100 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const secs = (Date.now() - t0) / 1000;
  await assertAllOnce(page, srv.url, 5);
  const m = await page.evaluate(() => { window.__burst.stop = true; return window.__burst; });
  console.log(`# burst: 5000 events in ${secs.toFixed(1)} s; ${m.frames} frames, longest frame gap ${Math.round(m.maxGap)} ms, longest task ${Math.round(m.longest)} ms`);
  assert.ok(m.maxGap < 2000, `a frame gap of ${Math.round(m.maxGap)} ms`);
  // The card's build lane shows the newest squares (older ones behind "+N earlier").
  const lane = page.locator(`${cardSel(id)} ${tid('lane')}[data-step="build"]`);
  assert.match(await lane.locator(tid('lane-more')).textContent(), /^\+\d+ earlier$/);
  assert.equal(await page.locator(tid('conn')).getAttribute('data-state'), 'live');
});

test('no script errors on the pages', () => {
  assert.deepEqual(pageErrors, []);
});
