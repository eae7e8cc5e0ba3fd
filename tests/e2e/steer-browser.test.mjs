// Browser test of steering running ADWs from the dashboard (issue 4): pause /
// resume, questions answered from the page (title badge, notification),
// the thread panel (instructions and comments, live status chips), cancel
// with its confirm step, and redirect. The real adw-server (dry-run runtime,
// fresh database) served to headless Debian Chromium through playwright-core.
// Run by scripts/test; alone:
//   eval "$(scripts/pg-test.sh start)"; ADW_BUILD_DIR=$PWD/build node --test tests/e2e/steer-browser.test.mjs; scripts/pg-test.sh stop
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, api, waitForAdw, buildDir } from './lib/server.mjs';

const XSS = '<img src=x onerror=alert(1)>';
const TITLE = 'ADW · AI Developer Workflows';

let srv;
let browser;
let page;
const pageErrors = [];
const dialogs = [];
const requests = [];

before(async () => {
  srv = await startServer({ prefix: 'steer' });
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
  page.on('request', (r) => requests.push({ method: r.method(), url: r.url() }));
  // A recording stand-in for the Notification API: permission "default"
  // until requested (headless Chromium has no notification UI).
  await page.addInitScript(() => {
    window.__notes = [];
    window.__permissionAsked = 0;
    let permission = 'default';
    class FakeNotification {
      constructor(title, options) { window.__notes.push({ title, options }); }
      close() {}
      static get permission() { return permission; }
      static requestPermission() { window.__permissionAsked++; permission = 'granted'; return Promise.resolve(permission); }
    }
    window.Notification = FakeNotification;
  });
  await page.goto(srv.url + '/');
  await page.locator(`${tid('conn')}[data-state="live"]`).waitFor();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (srv) { await srv.stop(); srv.cleanup(); }
});

const tid = (id) => `[data-testid="${id}"]`;
const cardSel = (id) => `${tid('adw-card')}[data-adw-id="${id}"]`;
const card = (id) => page.locator(cardSel(id));
const cardIn = (id, status, timeout = 30000) => page.locator(`${cardSel(id)}[data-status="${status}"]`).waitFor({ timeout });
const thread = () => page.locator(tid('thread-panel'));

async function startAdw(prompt, workflow = 'plan_build') {
  const r = await api(srv.url, 'POST', '/api/adws', { workflow, prompt });
  assert.equal(r.status, 201, r.text);
  return r.body.adw.id;
}

async function getAdw(id) {
  const r = await api(srv.url, 'GET', `/api/adws/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.body.adw;
}

/** A running ADW with a slow first step, its card shown in_progress. */
async function slowRunningAdw(label, delay = 4000) {
  const id = await startAdw(`${label} [dry-run:delay=${delay}]`);
  await card(id).waitFor({ timeout: 10000 });
  await cardIn(id, 'in_progress', 20000);
  return id;
}

async function openThread(id) {
  await card(id).locator(tid('adw-thread-open')).click();
  await page.locator(`${tid('thread-panel')}[data-adw-id="${id}"]`).waitFor({ state: 'visible' });
}

async function closeThread() {
  await page.locator(tid('thread-close')).click();
  await thread().waitFor({ state: 'hidden' });
}

test('the page asks for notification permission only from the button', async () => {
  assert.equal(await page.evaluate(() => window.__permissionAsked), 0, 'permission was asked on load');
  assert.equal(await page.title(), TITLE);
  const btn = page.locator(tid('notify-enable'));
  await btn.waitFor({ state: 'visible' });
  await btn.click();
  await btn.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => window.__permissionAsked), 1);
  assert.ok(!(await page.locator(tid('questions-inbox')).isVisible()), 'no questions yet');
});

test('(a) pause and resume a running ADW from its card', { timeout: 120000 }, async () => {
  const id = await slowRunningAdw('Pause me');
  const c = card(id);
  assert.ok(await c.locator(tid('adw-pause')).isVisible());
  assert.ok(!(await c.locator(tid('adw-resume')).isVisible()), 'no Resume while running');
  await c.locator(tid('adw-pause')).click();
  // Effective at the runner's next checkpoint.
  await cardIn(id, 'paused', 30000);
  assert.equal(await c.locator(tid('adw-status')).textContent(), 'PAUSED');
  assert.match(await c.locator(tid('adw-status-note')).textContent(), /Paused/);
  await c.locator(tid('adw-resume')).waitFor({ state: 'visible' });
  assert.ok(!(await c.locator(tid('adw-pause')).isVisible()), 'no Pause while paused');
  assert.equal((await getAdw(id)).status, 'paused');

  await c.locator(tid('adw-resume')).click();
  await cardIn(id, 'in_progress', 30000);
  assert.ok(!(await c.locator(tid('adw-status-note')).isVisible()), 'the pause note is gone');
  const done = await waitForAdw(srv.url, id, 90000);
  assert.equal(done.status, 'completed');
  await cardIn(id, 'completed');
  for (const ctl of ['adw-pause', 'adw-resume', 'adw-cancel', 'adw-redirect']) {
    assert.ok(!(await c.locator(tid(ctl)).isVisible()), `${ctl} is shown on an ended ADW`);
  }
  assert.ok(await c.locator(tid('adw-thread-open')).isVisible(), 'the thread stays readable');
  // The thread records both actions, processed.
  await openThread(id);
  for (const type of ['pause', 'resume']) {
    await thread().locator(`${tid('thread-message')}[data-action-type="${type}"][data-action-status="processed"]`).waitFor();
  }
  await closeThread();
});

test('(b) a question: card, title badge, notification, answered by an option', { timeout: 120000 }, async () => {
  const id = await startAdw('Pick a database [dry-run:ask=Which database?|postgres|sqlite]');
  const inboxCard = page.locator(`${tid('questions-inbox')} ${tid('question-card')}`);
  await inboxCard.waitFor({ timeout: 30000 });
  const onCard = card(id).locator(tid('question-card'));
  await onCard.waitFor();
  const qid = await onCard.getAttribute('data-question-id');
  assert.ok(qid, 'the question card names its question');
  assert.equal(await inboxCard.getAttribute('data-question-id'), qid);
  assert.equal(await onCard.locator(tid('question-question')).textContent(), 'Which database?');
  assert.deepEqual(await onCard.locator(tid('question-option')).allTextContents(), ['postgres', 'sqlite']);
  assert.ok(await onCard.locator(tid('question-text')).isVisible());
  assert.ok(await onCard.locator(tid('question-submit')).isVisible());
  await page.waitForFunction((t) => document.title === `(1) ${t}`, TITLE);
  await cardIn(id, 'awaiting_input');
  // A silent notification (permission was granted by the first test).
  await page.waitForFunction(() => window.__notes.length > 0);
  const notes = await page.evaluate(() => window.__notes);
  assert.equal(notes.length, 1, JSON.stringify(notes));
  assert.equal(notes[0].options.silent, true);
  assert.equal(notes[0].options.body, 'Which database?');

  await onCard.locator(`${tid('question-option')}[data-option="sqlite"]`).click();
  await page.locator(tid('question-card')).first().waitFor({ state: 'detached' });
  assert.equal(await page.locator(tid('question-card')).count(), 0);
  assert.ok(!(await page.locator(tid('questions-inbox')).isVisible()), 'the inbox is hidden again');
  await page.waitForFunction((t) => document.title === t, TITLE);
  assert.match(await card(id).locator(tid('question-answered')).textContent(), /sqlite/);
  const q = (await api(srv.url, 'GET', `/api/questions/${qid}`)).body.question;
  assert.equal(q.status, 'answered');
  assert.equal(q.answer, 'sqlite');

  const done = await waitForAdw(srv.url, id, 90000);
  assert.equal(done.status, 'completed');
  await cardIn(id, 'completed');
  // The thread shows the question and the answer.
  await openThread(id);
  const asked = thread().locator(`${tid('thread-message')}[data-action-type="question"]`);
  await asked.first().waitFor();
  assert.match(await asked.first().textContent(), /Which database\?/);
  const answered = thread().locator(`${tid('thread-message')}[data-action-type="answer"]`);
  await answered.first().waitFor();
  assert.match(await answered.first().locator(tid('thread-message-content')).textContent(), /sqlite/);
  // The thread form is read-only once the ADW ended.
  assert.ok(await page.locator(tid('thread-input')).isDisabled());
  await closeThread();
});

test('(b2) a free-text answer from the "needs your input" area', { timeout: 120000 }, async () => {
  const id = await startAdw('Pick again [dry-run:ask=Which port?|8080|9090]');
  const inboxCard = page.locator(`${tid('questions-inbox')} ${tid('question-card')}`);
  await inboxCard.waitFor({ timeout: 30000 });
  assert.equal(await inboxCard.getAttribute('data-adw-id'), id);
  await page.waitForFunction((t) => document.title === `(1) ${t}`, TITLE);
  assert.ok(await inboxCard.locator(tid('question-submit')).isDisabled(), 'an empty answer cannot be sent');
  await inboxCard.locator(tid('question-text')).fill('  7070  ');
  await inboxCard.locator(tid('question-submit')).click();
  await inboxCard.waitFor({ state: 'detached' });
  await card(id).locator(tid('question-answered')).waitFor();
  assert.match(await card(id).locator(tid('question-answered')).textContent(), /7070/);
  await page.waitForFunction((t) => document.title === t, TITLE);
  const adw = await waitForAdw(srv.url, id, 90000);
  assert.equal(adw.status, 'completed');
  const qs = (await api(srv.url, 'GET', `/api/questions?status=answered`)).body.questions;
  assert.ok(qs.some((q) => q.adw_id === id && q.answer === '7070'), JSON.stringify(qs));
});

test('(c) the thread panel: an instruction is processed, a comment is recorded as text', { timeout: 120000 }, async () => {
  const id = await slowRunningAdw('Instruct me', 6000);
  await openThread(id);
  const input = page.locator(tid('thread-input'));
  assert.ok(await page.locator(tid('thread-send-instruction')).isDisabled(), 'nothing to send yet');
  await input.fill('Also add a --help flag');
  await page.locator(tid('thread-send-instruction')).click();
  const instr = thread().locator(`${tid('thread-message')}[data-sender="user"][data-action-type="instruction"]`);
  await instr.waitFor();
  assert.equal(await instr.locator(tid('thread-message-content')).textContent(), 'Also add a --help flag');
  assert.equal(await input.inputValue(), '', 'the input is cleared after sending');
  // Live from ThreadMessageUpdated: pending → acknowledged → processed.
  await thread().locator(`${tid('thread-message')}[data-sender="user"][data-action-type="instruction"][data-action-status="processed"]`).waitFor({ timeout: 30000 });
  assert.equal(await instr.locator(tid('thread-message-status')).textContent(), 'processed');
  // Live from the stream: the thread was read once, when the panel opened.
  const reads = requests.filter((r) => r.method === 'GET' && r.url.includes(`/api/adws/${id}/messages`));
  assert.equal(reads.length, 1, `thread reads: ${JSON.stringify(reads)}`);

  await input.fill(`note: ${XSS}`);
  await page.locator(tid('thread-send-comment')).click();
  const comment = thread().locator(`${tid('thread-message')}[data-sender="user"][data-action-type="comment"]`);
  await comment.waitFor();
  assert.equal(await comment.locator(tid('thread-message-content')).textContent(), `note: ${XSS}`);
  assert.equal(await page.locator('img').count(), 0, 'an <img> element was created from data');
  // The panel matches the API, oldest first.
  const msgs = (await api(srv.url, 'GET', `/api/adws/${id}/messages`)).body.messages;
  const userMsgs = msgs.filter((m) => m.sender === 'user').map((m) => m.action_type);
  assert.deepEqual(userMsgs, ['instruction', 'comment']);
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length >= n, [`${tid('thread-panel')} ${tid('thread-message')}`, msgs.length]);
  const shown = await thread().locator(tid('thread-message')).evaluateAll((els) => els.map((e) => Number(e.dataset.messageId)));
  assert.deepEqual(shown, [...shown].sort((a, b) => a - b), 'oldest first');
  for (const m of msgs) assert.ok(shown.includes(m.id), `message ${m.id} is not shown`);
  // The panel's own controls.
  await page.locator(tid('thread-pause')).click();
  await cardIn(id, 'paused', 30000);
  await page.locator(`${tid('thread-status')}`, { hasText: 'PAUSED' }).waitFor();
  await page.locator(tid('thread-resume')).click();
  await cardIn(id, 'in_progress', 30000);
  await closeThread();
  await waitForAdw(srv.url, id, 90000);
});

test('(d) cancel needs a second click and shows the reason', { timeout: 120000 }, async () => {
  const id = await slowRunningAdw('Cancel me');
  const c = card(id);
  // "Keep running" takes the confirm step back.
  await c.locator(tid('adw-cancel')).click();
  await c.locator(tid('adw-cancel-confirm')).waitFor({ state: 'visible' });
  assert.ok(!(await c.locator(tid('adw-cancel')).isVisible()));
  await c.locator(tid('adw-cancel-keep')).click();
  await c.locator(tid('adw-cancel')).waitFor({ state: 'visible' });
  // One click alone cancels nothing.
  await c.locator(tid('adw-cancel')).click();
  await c.locator(tid('adw-cancel-confirm')).waitFor({ state: 'visible' });
  const msgs = (await api(srv.url, 'GET', `/api/adws/${id}/messages`)).body.messages;
  assert.equal(msgs.filter((m) => m.action_type === 'cancel').length, 0, 'cancel sent without a confirm');
  assert.notEqual((await getAdw(id)).status, 'cancelled');

  await c.locator(tid('adw-cancel-reason')).fill('Wrong approach');
  await c.locator(tid('adw-cancel-confirm')).click();
  await cardIn(id, 'cancelled', 30000);
  assert.equal(await c.locator(tid('adw-status')).textContent(), 'CANCELLED');
  const note = await c.locator(tid('adw-status-note')).textContent();
  assert.match(note, /Wrong approach/);
  const adw = await getAdw(id);
  assert.equal(adw.cancel_reason, 'Wrong approach');
  assert.ok(adw.cancelled_by, 'cancelled_by is set');
  assert.ok(note.includes(adw.cancelled_by), `the note names who cancelled: ${note}`);
  for (const ctl of ['adw-pause', 'adw-resume', 'adw-cancel', 'adw-cancel-confirm', 'adw-redirect']) {
    assert.ok(!(await c.locator(tid(ctl)).isVisible()), `${ctl} is shown on a cancelled ADW`);
  }
});

test('(e) redirect starts a new ADW and links the two cards', { timeout: 120000 }, async () => {
  const id = await slowRunningAdw('Redirect me');
  const c = card(id);
  assert.ok(!(await c.locator(tid('adw-redirect-prompt')).isVisible()));
  await c.locator(tid('adw-redirect')).click();
  await c.locator(tid('adw-redirect-prompt')).waitFor({ state: 'visible' });
  assert.ok(await c.locator(tid('adw-redirect-submit')).isDisabled(), 'an empty prompt cannot be sent');
  await c.locator(tid('adw-redirect-prompt')).fill('Take the other road [dry-run:delay=0]');
  await c.locator(tid('adw-redirect-submit')).click();

  const to = c.locator(tid('adw-redirected-to'));
  await to.waitFor({ state: 'visible' });
  const newId = await to.getAttribute('data-target-id');
  assert.ok(newId && newId !== id, `redirected to ${newId}`);
  await card(newId).waitFor();
  assert.equal(await card(newId).locator(tid('adw-prompt')).textContent(), 'Take the other road [dry-run:delay=0]');
  const old = await waitForAdw(srv.url, id, 60000);
  assert.equal(old.status, 'cancelled');
  assert.equal(old.redirected_to, newId);
  await cardIn(id, 'cancelled');
  assert.match(await to.textContent(), new RegExp(`redirected to ${old.redirected_to_name}`));
  const from = card(newId).locator(tid('adw-redirected-from'));
  await from.waitFor({ state: 'visible' });
  assert.match(await from.textContent(), new RegExp(`redirected from ${old.name}`));
  assert.equal(await from.getAttribute('data-target-id'), id);
  // The links scroll to and highlight the other card.
  await from.click();
  await page.locator(`${cardSel(id)}.revealed`).waitFor();
  await to.click();
  await page.locator(`${cardSel(newId)}.revealed`).waitFor();
  const done = await waitForAdw(srv.url, newId, 60000);
  assert.equal(done.status, 'completed');
  await cardIn(newId, 'completed');
  mkdirSync(buildDir, { recursive: true });
  await page.screenshot({ path: join(buildDir, 'steer-dashboard.png') }).catch(() => {});
});

test('(f) without the live stream (polling) questions and the thread still follow', { timeout: 120000 }, async () => {
  const p = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  p.setDefaultTimeout(15000);
  p.on('pageerror', (e) => pageErrors.push(e.message));
  await p.route('**/api/stream*', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":{"code":"not_found","message":"no stream"}}' }));
  await p.goto(srv.url + '/');
  await p.locator(`${tid('conn')}[data-state="polling"]`).waitFor({ timeout: 30000 });
  const id = await startAdw('Polling [dry-run:ask=Ship it?|yes|no] [dry-run:delay=3000]');
  const onCard = p.locator(`${cardSel(id)} ${tid('question-card')}`);
  await onCard.waitFor({ timeout: 30000 });
  await p.waitForFunction((t) => document.title === `(1) ${t}`, TITLE);
  await p.locator(`${cardSel(id)} ${tid('adw-thread-open')}`).click();
  await p.locator(`${tid('thread-panel')}[data-adw-id="${id}"]`).waitFor({ state: 'visible' });
  await p.locator(`${tid('thread-panel')} ${tid('thread-message')}[data-action-type="question"]`).waitFor();
  await onCard.locator(`${tid('question-option')}[data-option="yes"]`).click();
  await onCard.waitFor({ state: 'detached' });
  await p.locator(`${tid('thread-panel')} ${tid('thread-message')}[data-action-type="answer"]`).waitFor();
  await p.waitForFunction((t) => document.title === t, TITLE);
  // The main page (on the stream) saw the question come and go as well.
  await page.waitForFunction((t) => document.title === t, TITLE);
  assert.equal(await page.locator(tid('question-card')).count(), 0);
  await waitForAdw(srv.url, id, 90000);
  await p.locator(`${cardSel(id)}[data-status="completed"]`).waitFor({ timeout: 30000 });
  await p.close();
});

test('no script errors and no dialogs on the page', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(dialogs, []);
});
