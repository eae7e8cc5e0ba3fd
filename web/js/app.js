// adw dashboard: wiring, initial load, and live updates by polling.
//
// Live updates: one loop polls GET /api/events?after=<cursor>&limit=500 every
// second (5 s while the tab is hidden), again at once while full pages come
// back or when an ADW changed status. New events go to a queue that is drawn into the DOM in
// requestAnimationFrame batches. After each poll, every ADW that had events
// is refetched once (GET /api/adws/{id}), agents when an unknown agent or an
// Agent* event appeared, chat on ChatMessage events. Every 15 s the ADW list
// and agents are refreshed as a safety net. Start-up reads the global event
// stream from id 0 in pages of 1000 (at most 10); on a larger history it
// jumps to the last ~2000 events and lets each visible card load its own
// events (GET /api/adws/{id}/events, two at a time) instead: requests stay
// bounded, never one per ADW at once.
import { $, setText } from './dom.js';
import { api, onRequestOutcome } from './api.js';
import { fmtCount, fmtCost } from './format.js';
import { AdwView } from './adws.js';
import { LogView } from './logs.js';
import { AgentList } from './agents.js';
import { Chat } from './chat.js';
import { initDetails, openDetails, closeDetails } from './details.js';

const POLL_MS = 1000;
const HIDDEN_POLL_MS = 5000;
const PAGE = 500;
const BOOT_PAGE = 1000;
const BOOT_MAX_PAGES = 10;
const LIVE_MAX_PAGES = 20;
const LOG_TAIL = 2000;
const REFRESH_MS = 15000;
const BATCH = 100;
const FRAME_BUDGET_MS = 10;
const MAX_SINGLE_ADW_FETCHES = 8;

const t = (id) => $(`[data-testid="${id}"]`);

const state = {
  cursor: 0,
  caughtUp: false,
  events: 0,
  view: 'adws',
  touchedAdws: new Set(),
  needAgents: false,
  needChat: false,
  lastAgentsFetch: 0,
  lastRefresh: 0,
  workflowsLoaded: false,
  wake: null,
};

// ---- components ---------------------------------------------------------
const agents = new AgentList(t('agent-list'), t('agent-count'));
const adwName = (id) => { const a = adwView && adwView.adw(id); return a ? a.name : null; };
const adwView = new AdwView(t('adw-list'), t('adw-filters'), t('adw-count'), {
  onSquare: (ev) => openDetails(ev),
  loadEvents: async (id) => (await api.adwEvents(id, 0, 2000)).events || [],
});
const logView = new LogView({
  root: t('log-list'), filtersEl: t('log-filters'), search: t('log-search'), countEl: t('log-count'),
  clearBtn: t('log-clear'), followBtn: t('log-follow'),
}, { agentName: (id) => agents.name(id), adwName, isVisible: () => state.view === 'logs' });
const chat = new Chat({
  list: t('chat-messages'), form: t('chat-form'), input: t('chat-input'), send: t('chat-send'), hints: t('chat-hints'),
}, {
  onAdw: (adw) => { upsertAdw(adw); wake(); },
  revealAdw: (id) => revealAdw(id),
});
initDetails({ agentName: (id) => agents.name(id), adwName });

// ---- header -------------------------------------------------------------
function setConn(s) {
  const el = t('conn');
  if (el.dataset.state === s) return;
  el.dataset.state = s;
  const text = { connecting: 'Connecting…', polling: 'Polling', connected: 'Connected', disconnected: 'Disconnected' }[s];
  setText(el.querySelector('.conn-text'), text);
  el.title = {
    connecting: 'Connecting to the server',
    polling: 'Connected: live updates by polling every second',
    connected: 'Connected: live stream',
    disconnected: 'Server unreachable: retrying automatically',
  }[s];
}

let failures = 0;
onRequestOutcome((ok) => {
  if (ok) { failures = 0; setConn('polling'); } else if (++failures >= 1) setConn('disconnected');
});

function updateHeader() {
  const tot = agents.totals();
  const running = adwView.adws().filter((a) => a.status === 'in_progress').length;
  setText(t('stat-agents'), String(tot.count));
  setText(t('stat-running'), String(running));
  setText(t('stat-events'), fmtCount(state.events));
  setText(t('stat-cost'), fmtCost(tot.cost, tot.cost < 1 ? 4 : 2));
  const badge = t('running-badge');
  badge.hidden = running === 0;
  setText(badge, String(running));
}

function setView(v) {
  state.view = v;
  for (const b of document.querySelectorAll('.view-btn')) {
    const on = b.dataset.view === v;
    b.classList.toggle('active', on);
    b.setAttribute('aria-selected', String(on));
  }
  t('adws-view').hidden = v !== 'adws';
  t('logs-view').hidden = v !== 'logs';
  if (v === 'logs') logView.shown();
}

// ---- data ---------------------------------------------------------------
function upsertAdw(adw) {
  if (!adw) return;
  adwView.upsert(adw);
  scheduleHeader();
}

/**
 * An ADW refetched because of new events is applied once those events are
 * drawn, so a card never shows "completed" above lanes still being filled.
 */
const pendingAdws = new Map();
function upsertAdwAfterEvents(adw) {
  if (!adw) return;
  if (!queue.length && !adwView.deferred) { upsertAdw(adw); return; }
  pendingAdws.set(adw.id, adw);
  scheduleFrame();
}

async function revealAdw(id) {
  setView('adws');
  if (!adwView.reveal(id)) {
    try { upsertAdw((await api.adw(id)).adw); adwView.reveal(id); } catch { /* gone */ }
  }
}

const queue = [];
let frameScheduled = false;
function scheduleFrame() {
  if (frameScheduled) return;
  frameScheduled = true;
  requestAnimationFrame(drawFrame);
}
function scheduleHeader() { scheduleFrame(); }

/** Draws queued events in small batches within a time budget per frame. */
function drawFrame() {
  frameScheduled = false;
  const start = performance.now();
  while (queue.length && performance.now() - start < FRAME_BUDGET_MS) {
    const batch = queue.splice(0, BATCH);
    adwView.addEvents(batch);
    logView.addEvents(batch);
    agents.pulse(batch);
  }
  if (!queue.length && state.caughtUp && adwView.deferred) adwView.setDeferred(false);
  if (!queue.length && !adwView.deferred && pendingAdws.size) {
    for (const adw of pendingAdws.values()) adwView.upsert(adw);
    pendingAdws.clear();
  }
  updateHeader();
  if (queue.length) scheduleFrame();
}

/** Takes a page of events from the global stream. */
function take(r) {
  const evs = (r && r.events) || [];
  let max = state.cursor;
  for (const ev of evs) {
    if (!ev || typeof ev.id !== 'number' || ev.id <= state.cursor) continue;
    if (ev.id > max) max = ev.id;
    queue.push(ev);
    state.events++;
    if (ev.adw_id) state.touchedAdws.add(ev.adw_id);
    if (ev.type === 'AgentCreated' || ev.type === 'AgentUpdated' || (ev.agent_id && !agents.knows(ev.agent_id))) state.needAgents = true;
    else if (ev.agent_id && Date.now() - state.lastAgentsFetch > 3000) state.needAgents = true; // tokens/cost move
    if (ev.type === 'ChatMessage') state.needChat = true;
  }
  if (typeof r.next_after === 'number' && r.next_after > max) max = r.next_after;
  state.cursor = max;
  if (evs.length) scheduleFrame();
  return evs.length;
}

/** Largest event id, by probing after=N&limit=1 (gallop, then bisect). */
async function findLastId(from) {
  let lo = from;
  let step = 1024;
  let hi;
  for (;;) {
    const r = await api.events(lo + step, 1);
    if (!r.events || !r.events.length) { hi = lo + step; break; }
    lo = r.events[0].id;
    step *= 2;
  }
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const r = await api.events(mid, 1);
    if (r.events && r.events.length) lo = r.events[0].id; else hi = mid;
  }
  return lo;
}

/** One poll: read the stream until a partial page, then refetch what changed. */
async function pollOnce() {
  const size = state.caughtUp ? PAGE : BOOT_PAGE;
  const maxPages = state.caughtUp ? LIVE_MAX_PAGES : BOOT_MAX_PAGES;
  let more = false;
  for (let pages = 1; ; pages++) {
    const n = take(await api.events(state.cursor, size));
    if (n < size) { state.caughtUp = true; break; }
    if (pages >= maxPages) {
      if (!state.caughtUp) {
        // A long history: show its tail in LOGS; cards load their own events.
        const last = await findLastId(state.cursor);
        state.cursor = Math.max(state.cursor, last - LOG_TAIL);
        adwView.setLazy(true);
        state.caughtUp = true;
      }
      more = true;
      break;
    }
  }
  if (adwView.deferred && state.caughtUp) scheduleFrame(); // draw the caught-up model
  // A status change often comes with events written after our read: read again now.
  if (await followUps()) more = true;
  return more;
}

/** Refetches what the new events touched; true when an ADW changed status. */
async function followUps() {
  const jobs = [];
  let changed = false;
  const ids = [...state.touchedAdws];
  state.touchedAdws.clear();
  if (ids.length > MAX_SINGLE_ADW_FETCHES) jobs.push(refreshAdws());
  else {
    for (const id of ids) {
      const before = pendingAdws.get(id) || adwView.adw(id);
      jobs.push(api.adw(id).then((r) => {
        if (r.adw && (!before || before.status !== r.adw.status)) changed = true;
        upsertAdwAfterEvents(r.adw);
      }).catch((e) => {
        if (e.status !== 404) { state.touchedAdws.add(id); throw e; }
      }));
    }
  }
  if (state.needAgents) { state.needAgents = false; jobs.push(refreshAgents().catch((e) => { state.needAgents = true; throw e; })); }
  if (state.needChat) { state.needChat = false; jobs.push(refreshChat().catch((e) => { state.needChat = true; throw e; })); }
  const res = await Promise.allSettled(jobs);
  const bad = res.find((x) => x.status === 'rejected');
  if (bad) throw bad.reason;
  return changed;
}

async function refreshAdws() {
  const r = await api.adws(50);
  for (const a of (r.adws || []).slice().reverse()) upsertAdw(a);
}
async function refreshAgents() {
  state.lastAgentsFetch = Date.now();
  const r = await api.agents();
  agents.setAgents(r.agents || []);
  scheduleHeader();
}
async function refreshChat() {
  const r = await api.chat(200);
  chat.setMessages(r.messages || []);
}
async function refreshWorkflows() {
  const r = await api.workflows();
  chat.setWorkflows(r.workflows || []);
  state.workflowsLoaded = true;
}

/** The ADW list, agents (and workflows until loaded): at start and every 15 s. */
async function refreshAll(withChat) {
  state.lastRefresh = Date.now();
  const jobs = [refreshAdws(), refreshAgents()];
  if (withChat) jobs.push(refreshChat());
  if (!state.workflowsLoaded) jobs.push(refreshWorkflows());
  const res = await Promise.allSettled(jobs);
  const bad = res.find((x) => x.status === 'rejected');
  if (bad) throw bad.reason;
}

const sleep = (ms) => new Promise((resolve) => {
  const timer = setTimeout(done, ms);
  function done() { clearTimeout(timer); state.wake = null; resolve(); }
  state.wake = done;
});
function wake() { if (state.wake) state.wake(); }

async function loop() {
  let backoff = 0;
  let booted = false;
  for (;;) {
    let delay = document.hidden ? HIDDEN_POLL_MS : POLL_MS;
    try {
      if (!booted || Date.now() - state.lastRefresh > REFRESH_MS) {
        await refreshAll(!booted);
        booted = true;
      }
      if (await pollOnce()) delay = 0;
      backoff = 0;
    } catch (e) {
      backoff = Math.min(backoff ? backoff * 2 : 1000, 10000);
      delay = backoff;
      if (e && e.code !== 'network' && e.status !== 503) console.warn('adw: poll failed:', e);
    }
    if (delay) await sleep(delay);
  }
}

// ---- UI wiring ----------------------------------------------------------
for (const b of document.querySelectorAll('.view-btn')) b.addEventListener('click', () => setView(b.dataset.view));

document.addEventListener('keydown', (e) => {
  if (!(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
  const k = e.key.toLowerCase();
  if (k === 'j') { e.preventDefault(); setView(state.view === 'adws' ? 'logs' : 'adws'); }
  else if (k === 'k') { e.preventDefault(); closeDetails(); chat.focus(); }
});

const collapseBtn = t('collapse-agents');
function setCollapsed(on) {
  document.body.classList.toggle('left-collapsed', on);
  setText(collapseBtn, on ? '›' : '‹');
  collapseBtn.setAttribute('aria-label', on ? 'Expand agents' : 'Collapse agents');
  try { localStorage.setItem('adw.agentsCollapsed', on ? '1' : '0'); } catch { /* private mode */ }
}
collapseBtn.addEventListener('click', () => setCollapsed(!document.body.classList.contains('left-collapsed')));
try { if (localStorage.getItem('adw.agentsCollapsed') === '1') setCollapsed(true); } catch { /* private mode */ }

const refreshBtn = t('adw-refresh');
refreshBtn.addEventListener('click', async () => {
  refreshBtn.disabled = true;
  setText(refreshBtn, 'Loading...');
  try { await refreshAll(true); } catch { /* shown by the indicator */ }
  refreshBtn.disabled = false;
  setText(refreshBtn, 'Refresh');
});

document.addEventListener('visibilitychange', () => { if (!document.hidden) wake(); });
setInterval(() => adwView.tick(), 1000);

setView('adws');
updateHeader();
adwView.setDeferred(true); // the initial catch-up fills the model, then draws once
loop();

// For debugging in the console.
window.adw = { state, adwView, logView, agents, chat };
