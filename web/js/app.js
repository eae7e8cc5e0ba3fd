// adw dashboard: wiring, initial load, and live updates (stream or polling).
//
// Start-up reads the global event log from id 0 in pages of 1000 (at most
// 10); on a larger history it jumps to the last ~2000 events and lets each
// visible card load its own events (GET /api/adws/{id}/events, two at a
// time) instead: requests stay bounded, never one per ADW at once.
//
// Live updates, once the initial load is done: one EventSource per tab on
// GET /api/stream?after=<last id loaded> (stream.js). Every event, from the
// stream or from polling, goes through take()/takeEvent(): the last processed
// id is the cursor and an event with id <= cursor is ignored, so nothing is
// processed twice (EventSource resumes with Last-Event-ID, this is the safety
// net; it also makes the hand-over between polling and the stream safe).
// New events go to a queue that is drawn into the DOM in requestAnimationFrame
// batches within a time budget, so a burst of events never blocks the page.
// Follow-ups are the same as polling's: every ADW that had events is
// refetched once (GET /api/adws/{id}), agents when an unknown agent or an
// Agent* event appeared, chat on ChatMessage events; on the stream they run
// at most every 300 ms, one run at a time.
//
// Stream trouble: EventSource reconnects by itself with Last-Event-ID; on
// "resync" the page reopens with ?after=<cursor>. After 3 errors in a row
// without an open (or a refusal such as 404) the page falls back to the
// polling loop: GET /api/events?after=<cursor>&limit=500 every second (5 s
// while the tab is hidden), again at once while full pages come back or when
// an ADW changed status; it tries the stream again every 10 s and switches
// back when it opens. Header indicator: Live (stream open), Polling
// (fallback, requests work), Disconnected (nothing works), Connecting…
// (start-up, or the first seconds of a dropped stream).
//
// Unknown event types: EventSource only delivers the types it has listeners
// for (events.js EVENT_TYPES), and has no wildcard. Ids normally have gaps
// (rolled-back inserts), so a gap is not an error; but when a stream event
// skips ids, the skipped range is read once from /api/events (throttled, one
// request at a time) and whatever is there, i.e. events of types the page
// does not listen for, is processed then; an empty range is simply
// forgotten. Unlistened events after the last streamed one leave no gap, so
// once the stream has been quiet for 5 s one small request reads past the
// cursor for them (again every 5 s, backing off to 60 s while none turn
// up). Both paths record the ids they processed, so each is taken once.
//
// Every 15 s the ADW list and agents are refreshed as a safety net (and at
// once when the stream comes back after a drop).
import { $, setText } from './dom.js';
import { api, onRequestOutcome } from './api.js';
import { fmtCount, fmtCost } from './format.js';
import { AdwView } from './adws.js';
import { LogView } from './logs.js';
import { AgentList } from './agents.js';
import { Chat } from './chat.js';
import { initDetails, openDetails, closeDetails } from './details.js';
import { LiveStream } from './stream.js';
import { EVENT_TYPES, THREAD_TYPES, QUESTION_TYPES } from './events.js';
import { Questions } from './questions.js';
import { ThreadPanel } from './thread.js';

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
const FOLLOW_MS = 300;          // follow-ups on the stream: at most this often
const FOLLOW_RETRY_MS = 2000;   // ... after a failed run
const STREAM_RETRY_MS = 10000;  // while polling: try the stream again this often
const REPAIR_MS = 1000;         // gap repair: at most one request this often
const REPAIR_MAX_GAPS = 1000;   // older unrepaired gaps are forgotten
const TAIL_MS = 5000;           // a quiet stream: look for unlistened types past the cursor
const TAIL_MAX_MS = 60000;      // ... backing off to this while nothing turns up

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
  backlog: false, // the last poll stopped at its page limit
  gaps: [],       // [lo, hi]: ids lo < id < hi skipped by the stream, not yet read
  extra: new Set(), // ids processed by repair() or tailCheck() (not the stream)
  tailDone: 0,    // tailCheck() has read every event up to this id
  lastStreamed: 0, // when the last stream event came
  tailEvery: TAIL_MS,
  repaired: 0,    // events processed by repair() or tailCheck()
};

/**
 * How live updates arrive: 'boot' (initial load by polling), 'stream'
 * (EventSource; open or reconnecting by itself), 'poll' (fallback).
 */
const conn = { mode: 'boot', reqOk: null, down: false, retryTimer: null };

// ---- components ---------------------------------------------------------
const agents = new AgentList(t('agent-list'), t('agent-count'));
const adwName = (id) => { const a = adwView && adwView.adw(id); return a ? a.name : null; };
const adwView = new AdwView(t('adw-list'), t('adw-filters'), t('adw-count'), {
  onSquare: (ev) => openDetails(ev),
  loadEvents: async (id) => (await api.adwEvents(id, 0, 2000)).events || [],
  // Steering: controls on the cards, the thread panel, questions.
  onAdw: (adw) => { upsertAdw(adw); wake(); },
  revealAdw: (id) => revealAdw(id),
  openThread: (adw) => { closeDetails(); thread.open(adw); },
  renderQuestion: (slot, adw) => questions.renderSlot(slot, adw),
  onUpsert: (adw) => { questions.fromAdw(adw); thread.adwChanged(adw); },
});
const questions = new Questions({
  inbox: t('questions-inbox'), list: t('questions-list'), count: t('questions-count'), notifyBtn: t('notify-enable'),
}, {
  revealAdw: (id) => revealAdw(id),
  onChange: (adwId) => adwView.updateQuestion(adwId),
});
const thread = new ThreadPanel({
  adw: (id) => adwView.adw(id),
  onAdw: (adw) => { upsertAdw(adw); wake(); },
  revealAdw: (id) => revealAdw(id),
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
  const text = {
    connecting: conn.down ? 'Reconnecting…' : 'Connecting…', live: 'Live', polling: 'Polling', disconnected: 'Disconnected',
  }[s];
  if (el.dataset.state === s && el.querySelector('.conn-text').textContent === text) return;
  el.dataset.state = s;
  setText(el.querySelector('.conn-text'), text);
  el.title = {
    connecting: conn.down ? 'Live stream lost: reconnecting' : 'Connecting to the server',
    live: 'Connected: live event stream',
    polling: 'Connected: the live stream is unavailable, updates by polling every second (the stream is retried every 10 s)',
    disconnected: 'Server unreachable: retrying automatically',
  }[s];
}

/** The indicator from the live-update mode, the stream and the last request. */
function updateConn() {
  let s;
  if (conn.mode === 'stream') {
    if (stream.isOpen) s = conn.reqOk === false ? 'disconnected' : 'live';
    else s = stream.failures > 1 || conn.reqOk === false ? 'disconnected' : 'connecting';
  } else if (conn.mode === 'poll') s = conn.reqOk ? 'polling' : conn.reqOk === false ? 'disconnected' : 'connecting';
  else s = conn.reqOk === false ? 'disconnected' : 'connecting';
  setConn(s);
}

onRequestOutcome((ok) => { conn.reqOk = ok; updateConn(); });

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

/** One new event: queued for drawing, and what it touched noted for the follow-ups. */
function takeEvent(ev) {
  queue.push(ev);
  state.events++;
  if (ev.adw_id) state.touchedAdws.add(ev.adw_id);
  if (ev.type === 'AgentCreated' || ev.type === 'AgentUpdated' || (ev.agent_id && !agents.knows(ev.agent_id))) state.needAgents = true;
  else if (ev.agent_id && Date.now() - state.lastAgentsFetch > 3000) state.needAgents = true; // tokens/cost move
  if (ev.type === 'ChatMessage') state.needChat = true;
  steer(ev);
}

/** Steering events update the thread panel and the questions at once. */
function steer(ev) {
  const p = ev.payload;
  if (!p || typeof p !== 'object') return;
  if (THREAD_TYPES.has(ev.type)) thread.onMessage(p.message);
  else if (QUESTION_TYPES.has(ev.type)) questions.apply(p.question);
}

/** Takes a page of events from the global event log (polling). */
function take(r) {
  const evs = (r && r.events) || [];
  let max = state.cursor;
  for (const ev of evs) {
    if (!ev || typeof ev.id !== 'number' || ev.id <= max) continue;
    max = ev.id;
    if (!state.extra.has(ev.id)) takeEvent(ev);
  }
  if (typeof r.next_after === 'number' && r.next_after > max) max = r.next_after;
  state.cursor = max;
  if (evs.length) scheduleFrame();
  return evs.length;
}

/** One event from the live stream. */
function takeStreamed(ev) {
  if (ev.id <= state.cursor) return; // already processed: never twice
  if (ev.id > state.cursor + 1 && state.caughtUp) noteGap(state.cursor, ev.id);
  state.cursor = ev.id;
  state.lastStreamed = Date.now();
  if (state.tailEvery !== TAIL_MS) { state.tailEvery = TAIL_MS; scheduleTail(TAIL_MS); }
  if (state.extra.has(ev.id)) return;
  takeEvent(ev);
  scheduleFrame();
  scheduleFollowUps();
}

// ---- events the stream does not deliver (types without a listener) -------
// Such an event is only ever processed here (takeExtra), and `extra` keeps
// the ids processed here, so each is processed once whichever check finds it.
function takeExtra(ev) {
  state.extra.add(ev.id);
  takeEvent(ev);
  state.repaired++;
}

function noteGap(lo, hi) {
  state.gaps.push([lo, hi]);
  if (state.gaps.length > REPAIR_MAX_GAPS) state.gaps.splice(0, state.gaps.length - REPAIR_MAX_GAPS);
  scheduleRepair();
}

/** Forgets extra ids that no gap or tail check can meet again. */
function pruneExtra() {
  const floor = Math.min(state.gaps.length ? state.gaps[0][0] : Infinity, state.cursor, state.tailDone);
  for (const id of state.extra) if (id <= floor) state.extra.delete(id);
}

let repairTimer = null;
let lastRepair = 0;
function scheduleRepair(delay) {
  if (repairTimer || !state.gaps.length) return;
  const wait = delay ?? Math.max(0, lastRepair + REPAIR_MS - Date.now());
  repairTimer = setTimeout(repair, wait);
}

/**
 * Reads the first gaps (as many as fit in one page) from /api/events and
 * processes the events that lie inside a gap: the stream's cursor had passed
 * them, so the stream never will deliver them.
 */
async function repair() {
  lastRepair = Date.now();
  if (!state.gaps.length) { repairTimer = null; return; }
  const gaps = state.gaps;
  const lo = gaps[0][0];
  let hi = gaps[0][1];
  for (const g of gaps) { if (g[1] - lo - 1 <= PAGE) hi = g[1]; else break; }
  const limit = Math.max(1, Math.min(PAGE, hi - lo - 1));
  let ok = false;
  try {
    const evs = (await api.events(lo, limit)).events || [];
    let n = 0;
    for (const ev of evs) {
      if (!ev || typeof ev.id !== 'number' || state.extra.has(ev.id)) continue;
      if (!state.gaps.some((x) => x[0] < ev.id && ev.id < x[1])) continue;
      takeExtra(ev);
      n++;
    }
    // Everything up to `seen` has been read (a short page: everything).
    const seen = evs.length < limit ? Infinity : evs[evs.length - 1].id;
    state.gaps = state.gaps.filter((x) => x[1] - 1 > seen).map((x) => (x[0] < seen ? [seen, x[1]] : x));
    pruneExtra();
    if (n) { scheduleFrame(); scheduleFollowUps(); }
    ok = true;
  } catch { /* retried later */ }
  repairTimer = null;
  scheduleRepair(ok ? undefined : FOLLOW_RETRY_MS * 2);
}

/**
 * The newest events, past the stream's cursor: those of a type without a
 * listener are processed (nothing after them on the stream would show their
 * ids as a gap). Runs once the stream has been quiet for TAIL_MS (while
 * events flow, a later one reveals them as a gap), every TAIL_MS doubling up
 * to TAIL_MAX_MS while nothing turns up; a streamed event resets that.
 */
let tailTimer = null;
function scheduleTail(ms) {
  clearTimeout(tailTimer);
  tailTimer = setTimeout(tailTick, ms);
}
async function tailTick() {
  tailTimer = null;
  if (conn.mode !== 'stream' || !stream.isOpen) { scheduleTail(TAIL_MS); return; }
  const quiet = Date.now() - state.lastStreamed;
  if (quiet < TAIL_MS) { scheduleTail(TAIL_MS - quiet); return; }
  try {
    const found = await tailCheck();
    state.tailEvery = found ? TAIL_MS : Math.min(TAIL_MAX_MS, state.tailEvery * 2);
  } catch { state.tailEvery = Math.min(TAIL_MAX_MS, state.tailEvery * 2); }
  if (!tailTimer) scheduleTail(state.tailEvery);
}

async function tailCheck() {
  let n = 0;
  for (let pages = 0; pages < 10; pages++) {
    const from = Math.max(state.cursor, state.tailDone);
    const evs = (await api.events(from, PAGE)).events || [];
    for (const ev of evs) {
      if (!ev || typeof ev.id !== 'number') continue;
      if (ev.id > state.cursor && !stream.listens(ev.type) && !state.extra.has(ev.id)) { takeExtra(ev); n++; }
      if (ev.id > state.tailDone) state.tailDone = ev.id;
    }
    if (evs.length < PAGE) break;
  }
  pruneExtra();
  if (n) { scheduleFrame(); scheduleFollowUps(); }
  return n;
}

// ---- follow-ups on the stream -------------------------------------------
let followTimer = null;
let followBusy = false;
let lastFollow = 0;
let followFailed = false;
function scheduleFollowUps() {
  if (followTimer || followBusy) return;
  if (!state.touchedAdws.size && !state.needAgents && !state.needChat) return;
  const wait = Math.max(0, lastFollow + (followFailed ? FOLLOW_RETRY_MS : FOLLOW_MS) - Date.now());
  followTimer = setTimeout(runFollowUps, wait);
}
async function runFollowUps() {
  followTimer = null;
  if (conn.mode !== 'stream') return; // the polling loop does them
  followBusy = true;
  lastFollow = Date.now();
  try { await followUps(); followFailed = false; } catch { followFailed = true; }
  followBusy = false;
  scheduleFollowUps();
}

// ---- the live stream ----------------------------------------------------
const stream = new LiveStream({
  url: (after) => `/api/stream?after=${encodeURIComponent(after)}`,
  types: EVENT_TYPES,
  cursor: () => state.cursor,
  onEvent: takeStreamed,
  onOpen: () => {
    const wasDown = conn.down || conn.mode !== 'stream';
    conn.mode = 'stream';
    conn.down = false;
    clearTimeout(conn.retryTimer);
    conn.retryTimer = null;
    if (wasDown) {
      // Back after a drop or from polling: the stream resumes the events;
      // refresh the lists at once in case something changed without one.
      conn.reqOk = null;
      state.lastRefresh = 0;
      wake();
    }
    scheduleFollowUps();
    updateConn();
  },
  onDown: () => { conn.down = true; updateConn(); },
  onResync: (info) => { console.info('adw: stream resync', info); },
  onFail: (why) => {
    if (conn.mode === 'stream') {
      console.warn(`adw: live stream ${why}: polling instead`);
      // Unreachable: say so only once a poll has answered (or not).
      if (why === 'unreachable') conn.reqOk = null;
    }
    conn.mode = 'poll';
    conn.down = true;
    updateConn();
    wake(); // poll now
    clearTimeout(conn.retryTimer);
    conn.retryTimer = setTimeout(retryStream, STREAM_RETRY_MS);
  },
});

function startStream() {
  if (typeof EventSource !== 'function') { conn.mode = 'poll'; updateConn(); return; } // polling for good
  conn.mode = 'stream';
  stream.open(state.cursor);
  state.lastStreamed = Date.now();
  scheduleTail(TAIL_MS);
  updateConn();
}

/** While polling: one attempt at the stream; it takes over when it opens. */
function retryStream() {
  conn.retryTimer = null;
  if (conn.mode !== 'poll' || stream.active) return;
  stream.open(state.cursor, { probe: true });
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
  state.backlog = more;
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
  const jobs = [refreshAdws(), refreshAgents(), questions.refresh()];
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

/**
 * The initial load, then polling while there is no stream; with the stream
 * only the 15 s refresh.
 */
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
      if (conn.mode === 'stream') {
        delay = Math.max(100, state.lastRefresh + REFRESH_MS - Date.now());
      } else {
        if (await pollOnce()) delay = 0;
        if (state.caughtUp) questions.setReady();
        // The initial load is done: live updates come from the stream now.
        if (conn.mode === 'boot' && state.caughtUp && !state.backlog) {
          startStream();
          delay = Math.max(100, state.lastRefresh + REFRESH_MS - Date.now());
        }
      }
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
  else if (k === 'k') { e.preventDefault(); closeDetails(); thread.close(); chat.focus(); }
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

// For debugging in the console (and the browser tests).
window.adw = { state, conn, stream, adwView, logView, agents, chat, questions, thread };
