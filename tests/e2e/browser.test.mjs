// Browser test of the web dashboard: the real adw-server (dry-run runtime,
// fresh database) served to headless Debian Chromium through playwright-core.
// Run by scripts/test; alone:
//   eval "$(scripts/pg-test.sh start)"; ADW_BUILD_DIR=$PWD/build node --test tests/e2e/browser.test.mjs; scripts/pg-test.sh stop
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, api, waitForAdw, buildDir } from './lib/server.mjs';

const XSS = '<img src=x onerror=alert(1)>';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

let srv;
let browser;
let page;
const pageErrors = [];
const dialogs = [];
let firstAdwId = null;

before(async () => {
  srv = await startServer({ prefix: 'browser' });
  browser = await chromium.launch({
    executablePath: process.env.ADW_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  await page.goto(srv.url + '/');
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (srv) { await srv.stop(); srv.cleanup(); }
});

const tid = (id) => `[data-testid="${id}"]`;
const card = (id) => page.locator(`${tid('adw-card')}[data-adw-id="${id}"]`);

/** Types a message into the chat, sends it with Enter, returns the reply bubble's text. */
async function sendChat(text, replyPattern) {
  const before = await page.locator(`${tid('chat-message')}[data-sender="orchestrator"]`).count();
  await page.keyboard.press('Control+k');
  await page.locator(tid('chat-input')).fill(text);
  await page.locator(tid('chat-input')).press('Enter');
  const reply = page.locator(`${tid('chat-message')}[data-sender="orchestrator"]`).nth(before);
  await reply.waitFor();
  const replyText = await reply.textContent();
  if (replyPattern) assert.match(replyText, replyPattern);
  return replyText;
}

test('the dashboard loads: header, views, chat hints, live connection', async () => {
  assert.equal(await page.title(), 'ADW · AI Developer Workflows');
  // The live stream (GET /api/stream) is open once the initial load is done.
  await page.locator(`${tid('conn')}[data-state="live"]`).waitFor();
  assert.match(await page.locator(tid('conn')).textContent(), /Live/);
  assert.equal(await page.locator(tid('view-adws')).getAttribute('aria-selected'), 'true');
  assert.ok(await page.locator(tid('adws-view')).isVisible());
  await page.locator(tid('adws-empty')).waitFor();
  assert.match(await page.locator(tid('adws-empty')).textContent(), /No AI Developer Workflows found/);
  // Workflow hints come from GET /api/workflows; a click prepares the command.
  await page.locator(`${tid('workflow-hint')}[data-workflow="plan_build_review"]`).click();
  assert.equal(await page.locator(tid('chat-input')).inputValue(), 'start adw: plan_build_review: ');
  await page.locator(tid('chat-input')).fill('');
});

test('an ADW started from the chat appears without reload and completes', { timeout: 90000 }, async () => {
  const reply = await sendChat('start adw: plan_build_review: Add a --version flag to the CLI', UUID);
  const id = reply.match(UUID)[0];
  firstAdwId = id;
  const r = await api(srv.url, 'GET', `/api/adws/${id}`);
  assert.equal(r.status, 200, `reply names ${id}, which the API does not know: ${r.text}`);
  // The user's own message is shown too.
  assert.ok(await page.locator(`${tid('chat-message')}[data-sender="user"]`, { hasText: 'Add a --version flag' }).count() >= 1);

  await card(id).waitFor({ timeout: 10000 });
  await page.locator(`${tid('adw-card')}[data-adw-id="${id}"][data-status="completed"]`).waitFor({ timeout: 60000 });
  const c = card(id);
  assert.match(await c.textContent(), /ADW: plan_build_review/);
  assert.ok(await c.locator(tid('dry-run-badge')).isVisible(), 'dry run badge visible');
  assert.match(await c.locator(tid('dry-run-badge')).textContent(), /no model ran/i);
  assert.equal(await c.locator(tid('adw-progress')).textContent(), '3/3');
  assert.match(await c.locator(tid('adw-cost')).textContent(), /^\$\d+\.\d{4}$/);
  const adw = (await api(srv.url, 'GET', `/api/adws/${id}`)).body.adw;
  if (adw.verdict) assert.match(await c.locator(tid('verdict')).textContent(), new RegExp(adw.verdict));

  // Lanes: Workflow first, then the workflow's steps in order, each with squares
  // (drawn in animation frames, so wait for them).
  await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].slice(0, 4)
    .every((l) => l.querySelector('[data-testid="square"]')), `${tid('adw-card')}[data-adw-id="${id}"] ${tid('lane')}`)
    .catch(() => {});
  const lanes = await c.locator(tid('lane')).evaluateAll((ls) => ls.map((l) => ({
    step: l.dataset.step, squares: l.querySelectorAll('[data-testid="square"]').length,
  })));
  assert.deepEqual(lanes.map((l) => l.step).slice(0, 4), ['Workflow', 'plan', 'build', 'review']);
  for (const l of lanes.slice(0, 4)) assert.ok(l.squares > 0, `lane ${l.step} has no squares: ${JSON.stringify(lanes)}`);
  // Every event of the ADW is drawn as one square.
  await waitForAdw(srv.url, id);
  const evs = (await api(srv.url, 'GET', `/api/adws/${id}/events?limit=5000`)).body.events;
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length >= n,
    [`[data-testid="adw-card"][data-adw-id="${id}"] [data-testid="square"]`, evs.length]);
  const types = await c.locator(`${tid('lane')}[data-step="plan"] ${tid('square')}`).evaluateAll((s) => s.map((x) => x.dataset.type));
  assert.ok(types.includes('StepStart') && types.includes('StepEnd'), `plan lane types: ${types}`);

  // Header counters follow.
  assert.notEqual(await page.locator(tid('stat-events')).textContent(), '0');
  assert.ok(Number(await page.locator(tid('stat-agents')).textContent()) >= 3);
  assert.ok(await page.locator(tid('agent-card'), { hasText: 'STEP: plan' }).count() >= 1);
});

test('clicking a square opens the event details with its payload', async () => {
  assert.ok(firstAdwId, 'needs the ADW of the previous test');
  const details = page.locator(tid('event-details'));
  assert.ok(!(await details.isVisible()));
  const sq = card(firstAdwId).locator(`${tid('lane')}[data-step="plan"] ${tid('square')}[data-type="StepStart"]`).first();
  assert.match(await sq.getAttribute('title'), /^StepStart: /);
  await sq.click();
  await details.waitFor({ state: 'visible' });
  assert.equal(await page.locator(tid('details-type')).textContent(), 'StepStart');
  assert.equal(await page.locator(tid('details-step')).textContent(), 'plan');
  assert.match(await page.locator(tid('details-time')).textContent(), /^\d\d:\d\d:\d\d$/);
  const payload = await page.locator(tid('details-payload')).textContent();
  assert.doesNotThrow(() => JSON.parse(payload), `payload is JSON: ${payload}`);
  await page.locator(tid('details-close')).click();
  await details.waitFor({ state: 'hidden' });
  // A click elsewhere closes it too; a Workflow square says "workflow" as its step.
  await card(firstAdwId).locator(`${tid('lane')}[data-step="Workflow"] ${tid('square')}`).first().click();
  await details.waitFor({ state: 'visible' });
  assert.equal(await page.locator(tid('details-step')).textContent(), 'workflow');
  await page.locator(tid('adw-list')).click({ position: { x: 5, y: 5 } });
  await details.waitFor({ state: 'hidden' });
});

test('text from prompts and agents is shown as text, never as HTML', { timeout: 90000 }, async () => {
  const reply = await sendChat(`start adw: plan_build: Show ${XSS} as text`, UUID);
  const id = reply.match(UUID)[0];
  await page.locator(`${tid('adw-card')}[data-adw-id="${id}"][data-status="completed"]`).waitFor({ timeout: 60000 });
  assert.equal(await card(id).locator(tid('adw-prompt')).textContent(), `Show ${XSS} as text`);
  assert.ok(await page.locator(`${tid('chat-message')}[data-sender="user"]`, { hasText: XSS }).count() >= 1);
  assert.equal(await page.locator('img').count(), 0, 'an <img> element was created from data');
  assert.deepEqual(dialogs, []);
  // The newest card is first.
  assert.equal(await page.locator(tid('adw-card')).first().getAttribute('data-adw-id'), id);
  mkdirSync(buildDir, { recursive: true });
  await page.screenshot({ path: join(buildDir, 'e2e-dashboard.png') });
});

test('LOGS view: Ctrl+J toggles, rows expand, search filters', async () => {
  await page.keyboard.press('Control+j');
  await page.locator(tid('logs-view')).waitFor({ state: 'visible' });
  assert.equal(await page.locator(tid('view-logs')).getAttribute('aria-selected'), 'true');
  const rows = page.locator(tid('log-row'));
  assert.ok(await rows.count() > 10);
  const row = page.locator(`${tid('log-row')}[data-type="StepStart"]`).first();
  await row.click();
  await row.locator('.log-detail').waitFor();
  await page.locator(tid('log-search')).fill('^StepEnd$');
  await page.waitForFunction(() => {
    const vis = [...document.querySelectorAll('[data-testid="log-row"]')].filter((r) => !r.hidden);
    return vis.length > 0 && vis.every((r) => r.dataset.type === 'StepEnd');
  });
  await page.locator(tid('log-search')).fill('');
  await page.keyboard.press('Control+j');
  await page.locator(tid('adws-view')).waitFor({ state: 'visible' });
});

test('no script errors on the page', () => {
  assert.deepEqual(pageErrors, []);
});

test('losing the server shows Disconnected, and a chat error bubble', { timeout: 30000 }, async () => {
  await srv.stop();
  await page.locator(`${tid('conn')}[data-state="disconnected"]`).waitFor({ timeout: 15000 });
  assert.match(await page.locator(tid('conn')).textContent(), /Disconnected/);
  const text = await sendChat('hello?');
  assert.match(text, /Error: /);
});
