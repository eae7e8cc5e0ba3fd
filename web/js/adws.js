// The ADWS view: one card per ADW, newest first, each with swimlanes of
// event squares (one lane per step key: "Workflow" first, then adw.steps[]).
import { h, setText, replaceChildren, hueOf } from './dom.js';
import { eventStyle, filterGroup, laneKey, eventLine, ADW_FILTERS } from './events.js';
import { parseTs, fmtDuration, fmtTokens, fmtCost, fmtDateTime, titleCase, shortId, shortModel } from './format.js';
import { Controls, statusNote } from './controls.js';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
export const STATUS_LABEL = {
  pending: 'PENDING', in_progress: 'IN PROGRESS', paused: 'PAUSED', awaiting_input: 'AWAITING INPUT',
  completed: 'COMPLETED', failed: 'FAILED', cancelled: 'CANCELLED',
};
const STEP_LABEL = { pending: 'pending', running: 'running', completed: 'done', failed: 'failed', skipped: 'skipped', cancelled: 'cancelled' };
const BUFFER_MAX = 5000; // events kept per ADW that has no card yet
const LANE_CAP = 400;     // squares drawn per lane before "+N earlier"

export const isTerminal = (status) => TERMINAL.has(status);

export class AdwView {
  /**
   * root: the .adw-list element; filtersEl: where the filter toggles go;
   * opts.onSquare(ev) opens the details; opts.loadEvents(id) → Promise<events[]>
   * (used only in lazy mode, see setLazy). Steering: opts.onAdw(adw) (an ADW
   * from a control's reply), opts.revealAdw(id), opts.openThread(adw),
   * opts.renderQuestion(slot, adw), opts.onUpsert(adw) after every upsert.
   */
  constructor(root, filtersEl, countEl, opts) {
    this.root = root;
    this.countEl = countEl;
    this.opts = opts;
    this.cards = new Map();     // adw id → card
    this.buffer = new Map();    // adw id → events that arrived before the card
    this.squareEvent = new WeakMap();
    this.filters = new Set(ADW_FILTERS.map((f) => f.key));
    this.lazy = false;
    this.deferred = false;
    this.dirty = new Set();      // lanes with undrawn events
    this.dirtyCards = new Set();
    this.loadQueue = [];
    this.loading = 0;
    this.empty = h('div', { class: 'empty', 'data-testid': 'adws-empty' },
      h('div', { class: 'empty-icon' }, '▦'),
      h('div', null, 'No AI Developer Workflows found. Start an ADW from the orchestrator chat.'));
    this.root.append(this.empty);
    this.buildFilters(filtersEl);
    root.addEventListener('click', (e) => {
      const sq = e.target.closest('[data-testid="square"]');
      if (!sq) return;
      const ev = this.squareEvent.get(sq);
      if (!ev) return;
      root.querySelectorAll('.square.selected').forEach((s) => s.classList.remove('selected'));
      sq.classList.add('selected');
      opts.onSquare(ev);
    });
    this.observer = new IntersectionObserver((entries) => {
      for (const en of entries) {
        if (!en.isIntersecting) continue;
        this.observer.unobserve(en.target);
        this.enqueueLoad(en.target.dataset.adwId);
      }
    }, { root: this.root, rootMargin: '400px' });
  }

  buildFilters(el) {
    for (const f of ADW_FILTERS) {
      const b = h('button', { type: 'button', class: 'chip toggle active', 'aria-pressed': 'true', 'data-testid': `filter-${f.key}`, title: `Show ${f.label} events` },
        h('span', { class: 'chip-icon' }, f.icon), h('span', { class: 'chip-label' }, f.label));
      b.addEventListener('click', () => {
        if (this.filters.has(f.key)) {
          if (this.filters.size === 1) return; // the last active one stays on
          this.filters.delete(f.key);
        } else this.filters.add(f.key);
        const on = this.filters.has(f.key);
        b.classList.toggle('active', on);
        b.setAttribute('aria-pressed', String(on));
        this.root.classList.toggle(`hide-${f.key}`, !on);
      });
      el.append(b);
    }
  }

  /** Lazy mode: cards fetch their own events when scrolled into view. */
  setLazy(on) {
    this.lazy = on;
    if (on) for (const c of this.cards.values()) if (!c.loaded) this.observer.observe(c.el);
  }

  enqueueLoad(id) {
    const c = this.cards.get(id);
    if (!c || c.loaded) return;
    c.loaded = true;
    this.loadQueue.push(id);
    this.pump();
  }

  pump() {
    while (this.loading < 2 && this.loadQueue.length) {
      const id = this.loadQueue.shift();
      this.loading++;
      this.opts.loadEvents(id)
        .then((evs) => this.addEvents(evs))
        .catch(() => { const c = this.cards.get(id); if (c) { c.loaded = false; if (this.lazy) this.observer.observe(c.el); } })
        .finally(() => { this.loading--; this.pump(); });
    }
  }

  get size() { return this.cards.size; }
  adw(id) { const c = this.cards.get(id); return c ? c.adw : null; }
  has(id) { return this.cards.has(id); }
  adws() { return Array.from(this.cards.values(), (c) => c.adw); }

  /** Inserts or updates the card of an ADW. */
  upsert(adw) {
    if (!adw || !adw.id) return;
    let c = this.cards.get(adw.id);
    const fresh = !c;
    if (fresh) {
      c = this.createCard(adw);
      this.cards.set(adw.id, c);
      this.place(c);
      const buf = this.buffer.get(adw.id);
      if (buf) { this.buffer.delete(adw.id); this.addEvents(buf); }
      if (this.lazy && !c.loaded) this.observer.observe(c.el);
    }
    c.adw = adw;
    c.receivedAt = Date.now();
    this.updateCard(c);
    this.empty.hidden = this.cards.size > 0;
    setText(this.countEl, this.cards.size ? `${this.cards.size}` : '');
    if (this.opts.onUpsert) this.opts.onUpsert(adw);
    return fresh;
  }

  /** Redraws the question slot of an ADW's card (its questions changed). */
  updateQuestion(id) {
    const c = this.cards.get(id);
    if (c && this.opts.renderQuestion) this.opts.renderQuestion(c.qslot, c.adw);
  }

  /** Newest first (created_at desc, then id desc); the DOM order is kept sorted. */
  place(c) {
    const key = parseTs(c.adw.created_at) || 0;
    for (const el of this.root.children) {
      if (!el.classList.contains('adw-card')) continue;
      const o = this.cards.get(el.dataset.adwId);
      if (!o || o === c) continue;
      const ok = parseTs(o.adw.created_at) || 0;
      if (ok < key || (ok === key && o.adw.id < c.adw.id)) { this.root.insertBefore(c.el, el); return; }
    }
    this.root.append(c.el);
  }

  createCard(adw) {
    const c = { adw, lanes: new Map(), seen: new Set(), events: 0, loaded: false };
    c.wf = h('span', { class: 'wf' });
    c.name = h('span', { class: 'adw-name', 'data-testid': 'adw-name' });
    c.pill = h('span', { class: 'pill', 'data-testid': 'adw-status' });
    c.dry = h('span', { class: 'badge dry', 'data-testid': 'dry-run-badge', title: 'Dry-run runtime: no model ran. Each step produced a deterministic placeholder result.', hidden: true }, 'DRY RUN · no model ran');
    c.verdict = h('span', { class: 'badge verdict', 'data-testid': 'verdict', hidden: true });
    c.dur = h('span', { class: 'dur', 'data-testid': 'adw-duration', title: 'Duration' });
    c.bar = h('span', { class: 'bar-fill' });
    c.progress = h('span', { class: 'progress-text', 'data-testid': 'adw-progress' });
    c.step = h('span', { class: 'meta-val', 'data-testid': 'adw-current-step' });
    c.tokens = h('span', { class: 'meta-val', 'data-testid': 'adw-tokens' });
    c.cost = h('span', { class: 'meta-val cost', 'data-testid': 'adw-cost' });
    c.model = h('span', { class: 'meta-val' });
    c.idEl = h('span', { class: 'meta-val id', title: adw.id }, shortId(adw.id));
    c.prompt = h('div', { class: 'card-prompt', 'data-testid': 'adw-prompt' });
    c.error = h('div', { class: 'card-error', 'data-testid': 'adw-error', hidden: true });
    c.artifacts = h('div', { class: 'card-artifacts', 'data-testid': 'adw-artifacts', hidden: true });
    c.gitBranch = h('span', { class: 'meta-val', 'data-testid': 'adw-branch' });
    c.gitDiff = h('span', { class: 'meta-val', 'data-testid': 'adw-diffstat' });
    c.git = h('span', { class: 'meta', 'data-testid': 'adw-git', hidden: true },
      h('span', { class: 'meta-key' }, 'branch'), c.gitBranch, ' ', c.gitDiff);
    c.placeholder = h('div', { class: 'placeholder', 'data-testid': 'adw-placeholder', hidden: true });
    c.note = h('div', { class: 'card-note', 'data-testid': 'adw-status-note', hidden: true });
    const link = (testid, cls, key) => h('button', {
      type: 'button', class: `link-btn ${cls}`, 'data-testid': testid, hidden: true,
      onclick: () => { const to = c.adw[key]; if (to && this.opts.revealAdw) this.opts.revealAdw(to); },
    });
    c.linkTo = link('adw-redirected-to', 'redirect-to', 'redirected_to');
    c.linkFrom = link('adw-redirected-from', 'redirect-from', 'redirected_from');
    c.links = h('div', { class: 'card-links', hidden: true }, c.linkFrom, c.linkTo);
    c.qslot = h('div', { class: 'card-question', 'data-testid': 'adw-question', hidden: true });
    c.controls = new Controls({
      prefix: 'adw', redirect: true,
      onThread: this.opts.openThread ? (a) => this.opts.openThread(a || c.adw) : null,
      onAdw: this.opts.onAdw, revealAdw: this.opts.revealAdw,
    });
    c.lanesEl = h('div', { class: 'lanes' });
    c.el = h('article', { class: 'adw-card', 'data-testid': 'adw-card', dataset: { adwId: adw.id } },
      h('header', { class: 'card-head' },
        h('div', { class: 'card-row' }, c.wf, c.name, c.pill, c.dry, c.verdict, c.dur),
        h('div', { class: 'card-meta' },
          h('span', { class: 'meta progress', title: 'Completed steps / total steps' }, h('span', { class: 'bar' }, c.bar), c.progress),
          h('span', { class: 'meta' }, h('span', { class: 'meta-key' }, 'step'), c.step),
          h('span', { class: 'meta', title: 'Input / output tokens' }, h('span', { class: 'meta-key' }, 'tokens'), c.tokens),
          h('span', { class: 'meta', title: 'Cost (USD)' }, c.cost),
          h('span', { class: 'meta' }, h('span', { class: 'meta-key' }, 'model'), c.model),
          h('span', { class: 'meta' }, h('span', { class: 'meta-key' }, 'id'), c.idEl),
          c.git),
        c.prompt, c.note, c.links, c.error, c.artifacts, c.controls.el),
      c.qslot,
      c.placeholder,
      c.lanesEl);
    return c;
  }

  updateCard(c) {
    const a = c.adw;
    const el = c.el;
    if (el.dataset.status !== a.status) el.dataset.status = a.status || 'pending';
    setText(c.wf, `ADW: ${a.workflow || '?'}`);
    setText(c.name, a.name || shortId(a.id));
    c.name.title = a.description ? `${a.name}\n${a.description}` : (a.name || '');
    setText(c.pill, STATUS_LABEL[a.status] || String(a.status || '').toUpperCase());
    const note = statusNote(a);
    c.pill.title = note;
    c.note.hidden = !note;
    setText(c.note, note);
    c.note.dataset.status = a.status || '';
    this.updateLinks(c);
    c.controls.update(a);
    if (this.opts.renderQuestion) this.opts.renderQuestion(c.qslot, a);
    c.dry.hidden = a.runtime !== 'dry-run';
    if (a.verdict) {
      c.verdict.hidden = false;
      setText(c.verdict, a.verdict === 'PASS' ? '✓ PASS' : `✗ ${a.verdict}`);
      c.verdict.dataset.verdict = a.verdict;
    } else c.verdict.hidden = true;
    const total = Number(a.total_steps) || (a.steps ? a.steps.length : 0);
    const done = Number(a.completed_steps) || 0;
    setText(c.progress, `${done}/${total}`);
    c.bar.style.width = `${total ? Math.min(100, (100 * done) / total) : 0}%`;
    setText(c.step, a.status === 'completed' ? 'done'
      : a.status === 'failed' ? (a.error_step || a.current_step || '—')
        : (a.current_step || (a.status === 'pending' ? 'queued' : '—')));
    setText(c.tokens, `${fmtTokens(a.input_tokens)} in / ${fmtTokens(a.output_tokens)} out`);
    setText(c.cost, fmtCost(a.cost_usd));
    setText(c.model, shortModel(a.model) || (a.runtime === 'dry-run' ? 'none' : 'default'));
    c.model.title = `${a.model || 'runtime default'} · runtime ${a.runtime || '?'}`;
    setText(c.prompt, a.prompt || '');
    c.prompt.title = a.prompt || '';
    c.prompt.hidden = !a.prompt;
    if (a.status === 'failed' || (a.error && a.status !== 'completed')) {
      c.error.hidden = false;
      setText(c.error, a.error_step ? `failed at ${a.error_step}: ${a.error || 'unknown error'}` : `${a.status === 'failed' ? 'failed' : a.status}: ${a.error || 'unknown error'}`);
    } else c.error.hidden = true;
    // The ADW's own git branch and diff stat, when it ran in a repository.
    const g = a.git && typeof a.git === 'object' ? a.git : null;
    c.git.hidden = !g || !g.branch;
    if (g && g.branch) {
      setText(c.gitBranch, g.branch);
      const d = g.diff || { files: 0, insertions: 0, deletions: 0 };
      setText(c.gitDiff, `${d.files} file${d.files === 1 ? '' : 's'} +${d.insertions} −${d.deletions}`);
      c.git.title = [`worktree ${g.worktree || '?'}${g.worktree_removed ? ' (removed; the branch keeps the work)' : ''}`,
        g.base_commit && `from ${String(g.base_commit).slice(0, 12)}`].filter(Boolean).join('\n');
    }
    const arts = a.artifacts && typeof a.artifacts === 'object' ? Object.entries(a.artifacts).filter(([, v]) => v) : [];
    c.artifacts.hidden = arts.length === 0;
    if (arts.length) {
      const sig = JSON.stringify(arts);
      if (c.artSig !== sig) {
        c.artSig = sig;
        replaceChildren(c.artifacts, arts.map(([k, v]) => h('span', { class: 'artifact', title: String(v) }, h('span', { class: 'meta-key' }, k), String(v))));
      }
    }
    c.el.title = '';
    c.dur.title = [a.created_at && `created ${fmtDateTime(a.created_at)}`, a.started_at && `started ${fmtDateTime(a.started_at)}`,
      a.completed_at && `ended ${fmtDateTime(a.completed_at)}`].filter(Boolean).join('\n');
    this.syncLanes(c);
    this.updateDuration(c, Date.now());
    this.updatePlaceholder(c);
  }

  /** "← redirected from <name>" / "→ redirected to <name>". */
  updateLinks(c) {
    const a = c.adw;
    const set = (el, id, name, arrow, verb) => {
      el.hidden = !id;
      if (!id) return;
      setText(el, `${arrow} ${verb} ${name || shortId(id)}`);
      el.title = `${id}\nShow that ADW`;
      el.dataset.targetId = id;
    };
    set(c.linkTo, a.redirected_to, a.redirected_to_name, '→', 'redirected to');
    set(c.linkFrom, a.redirected_from, a.redirected_from_name, '←', 'redirected from');
    c.links.hidden = !a.redirected_to && !a.redirected_from;
  }

  updatePlaceholder(c) {
    const s = c.adw.status;
    let stepEvents = 0;
    for (const [k, lane] of c.lanes) if (k !== '_workflow') stepEvents += lane.evs.length;
    const text = s === 'pending' ? 'Waiting to start...' : s === 'in_progress' && stepEvents === 0 ? 'Running...'
      : c.events === 0 ? 'No events' : '';
    c.placeholder.hidden = !text;
    setText(c.placeholder, text);
  }

  /** Elapsed time: final duration once ended, ticking while running. */
  durationMs(c, now) {
    const a = c.adw;
    if (isTerminal(a.status)) {
      if (a.duration_ms != null) return Number(a.duration_ms);
      const s = parseTs(a.started_at); const e = parseTs(a.completed_at);
      return Number.isNaN(s) || Number.isNaN(e) ? null : e - s;
    }
    if (a.status === 'pending') return null;
    // Skew-free: the server's elapsed time at fetch plus local time since then.
    if (a.duration_ms != null) return Number(a.duration_ms) + (now - c.receivedAt);
    const s = parseTs(a.started_at);
    return Number.isNaN(s) ? null : Math.max(0, now - s);
  }

  updateDuration(c, now) {
    const ms = this.durationMs(c, now);
    setText(c.dur, ms == null ? (c.adw.status === 'pending' ? 'queued' : '—') : `⏱ ${fmtDuration(ms)}`);
    for (const [key, lane] of c.lanes) {
      if (key === '_workflow') continue;
      const st = lane.stepInfo;
      let txt = '';
      if (st) {
        if (st.duration_ms != null && st.status !== 'running') txt = fmtDuration(st.duration_ms);
        else if (st.status === 'running' && st.started_at && !isTerminal(c.adw.status)) {
          const s = parseTs(st.started_at);
          if (!Number.isNaN(s)) txt = fmtDuration(Math.max(0, now - s));
        }
      }
      setText(lane.dur, txt);
    }
  }

  /** Called every second: ticks the running cards. */
  tick() {
    const now = Date.now();
    for (const c of this.cards.values()) if (!isTerminal(c.adw.status) && c.adw.status !== 'pending') this.updateDuration(c, now);
  }

  laneOrder(c) {
    const keys = ['_workflow'];
    for (const s of c.adw.steps || []) if (s && s.name && !keys.includes(s.name)) keys.push(s.name);
    for (const k of c.lanes.keys()) if (!keys.includes(k)) keys.push(k); // steps seen only in events
    return keys;
  }

  makeLane(key) {
    const hue = hueOf(key);
    // evs: every event of the lane in id order; the DOM holds the squares of
    // evs[first..drawn) (at most LANE_CAP until the lane is expanded).
    const lane = { key, evs: [], first: 0, drawn: 0, expanded: false, rebuild: false };
    lane.count = h('span', { class: 'lane-count', title: 'Events' }, '0');
    lane.more = h('button', { type: 'button', class: 'lane-more', 'data-testid': 'lane-more', hidden: true, title: 'Show every event of this lane' });
    lane.more.addEventListener('click', () => this.expandLane(lane));
    lane.status = h('span', { class: 'lane-status' });
    lane.dur = h('span', { class: 'lane-dur' });
    lane.squares = h('div', { class: 'squares' });
    lane.el = h('section', { class: 'lane', 'data-testid': 'lane', dataset: { step: key === '_workflow' ? 'Workflow' : key }, style: { '--hue': hue } },
      h('div', { class: 'lane-head' }, h('span', { class: 'lane-name' }, titleCase(key)), lane.status, h('span', { class: 'spacer' }), lane.more, lane.dur, lane.count),
      lane.squares);
    return lane;
  }

  /** Creates lanes for every step (events or not), in order, and updates their status. */
  syncLanes(c) {
    const order = this.laneOrder(c);
    for (const key of order) if (!c.lanes.has(key)) c.lanes.set(key, this.makeLane(key));
    let prev = null;
    for (const key of order) {
      const lane = c.lanes.get(key);
      const want = prev ? prev.el.nextSibling : c.lanesEl.firstChild;
      if (want !== lane.el) c.lanesEl.insertBefore(lane.el, want);
      prev = lane;
      let status;
      if (key === '_workflow') {
        lane.stepInfo = null;
        status = c.adw.status === 'in_progress' || c.adw.status === 'paused' || c.adw.status === 'awaiting_input' ? 'running'
          : c.adw.status === 'pending' ? 'pending' : c.adw.status;
      } else {
        lane.stepInfo = (c.adw.steps || []).find((s) => s && s.name === key) || null;
        status = lane.stepInfo ? lane.stepInfo.status : (lane.evs.length ? 'running' : 'pending');
        if (lane.stepInfo && lane.stepInfo.verdict) status = `${status}`;
      }
      if (lane.el.dataset.stepStatus !== status) lane.el.dataset.stepStatus = status || 'pending';
      let label = key === '_workflow' ? (STATUS_LABEL[c.adw.status] || '').toLowerCase() : (STEP_LABEL[status] || status || '');
      if (lane.stepInfo && lane.stepInfo.verdict) label += ` · ${lane.stepInfo.verdict}`;
      setText(lane.status, label);
      lane.status.title = lane.stepInfo && lane.stepInfo.error ? lane.stepInfo.error : (lane.stepInfo && lane.stepInfo.artifact ? lane.stepInfo.artifact : '');
    }
  }

  makeSquare(ev) {
    const st = eventStyle(ev);
    const sq = h('span', {
      class: 'square', 'data-testid': 'square', role: 'button', tabindex: '-1',
      dataset: { type: ev.type || '', filter: filterGroup(ev) || 'none', eventId: ev.id },
      style: { '--c': st.color }, title: `${ev.type}: ${eventLine(ev)}`,
    }, st.icon);
    this.squareEvent.set(sq, ev);
    return sq;
  }

  /**
   * Adds events (any ADWs) to their cards' lanes: the model at once, the
   * squares at the next flush() (so a burst draws each lane once).
   */
  addEvents(events) {
    for (const ev of events) {
      if (!ev || !ev.adw_id) continue;
      const c = this.cards.get(ev.adw_id);
      if (!c) {
        let buf = this.buffer.get(ev.adw_id);
        if (!buf) { buf = []; this.buffer.set(ev.adw_id, buf); }
        if (buf.length < BUFFER_MAX) buf.push(ev);
        continue;
      }
      if (c.seen.has(ev.id)) continue;
      c.seen.add(ev.id);
      const key = laneKey(ev);
      let lane = c.lanes.get(key);
      if (!lane) { lane = this.makeLane(key); c.lanes.set(key, lane); this.syncLanes(c); }
      const n = lane.evs.length;
      if (!n || lane.evs[n - 1].id < ev.id) lane.evs.push(ev);
      else {
        // An older event (lazy load after live ones): insert in id order.
        let lo = 0; let hi = n;
        while (lo < hi) { const mid = (lo + hi) >> 1; if (lane.evs[mid].id < ev.id) lo = mid + 1; else hi = mid; }
        if (lane.evs[lo] && lane.evs[lo].id === ev.id) continue;
        lane.evs.splice(lo, 0, ev);
        lane.rebuild = true;
      }
      c.events++;
      this.dirty.add(lane);
      this.dirtyCards.add(c);
    }
    if (!this.deferred) this.flush();
  }

  /** While deferred (the initial catch-up), events only update the model. */
  setDeferred(on) {
    this.deferred = on;
    if (!on) this.flush();
  }

  /** Draws the squares of the lanes that changed since the last flush. */
  flush() {
    for (const lane of this.dirty) {
      const n = lane.evs.length;
      const first = lane.expanded ? 0 : Math.max(0, n - LANE_CAP);
      if (lane.rebuild || n - lane.drawn > LANE_CAP || first > lane.drawn) {
        // Redraw the window evs[first..n).
        const frag = document.createDocumentFragment();
        for (let i = first; i < n; i++) frag.append(this.makeSquare(lane.evs[i]));
        lane.squares.replaceChildren(frag);
      } else {
        // Append the new tail, drop squares that left the window.
        const frag = document.createDocumentFragment();
        for (let i = lane.drawn; i < n; i++) frag.append(this.makeSquare(lane.evs[i]));
        for (let k = first - lane.first; k > 0 && lane.squares.firstChild; k--) lane.squares.firstChild.remove();
        lane.squares.append(frag);
      }
      lane.first = first;
      lane.drawn = n;
      lane.rebuild = false;
      setText(lane.count, String(n));
      lane.more.hidden = first === 0;
      if (first) setText(lane.more, `+${first} earlier`);
    }
    this.dirty.clear();
    for (const c of this.dirtyCards) this.updatePlaceholder(c);
    this.dirtyCards.clear();
  }

  expandLane(lane) {
    if (lane.expanded) return;
    lane.expanded = true;
    lane.rebuild = true;
    this.dirty.add(lane);
    this.flush();
  }

  /** Scrolls to a card and flashes it. */
  reveal(id) {
    const c = this.cards.get(id);
    if (!c) return false;
    c.el.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    if (c.el.animate) c.el.animate([{ boxShadow: '0 0 0 2px #06b6d4' }, { boxShadow: '0 0 0 2px transparent' }], { duration: 1200, easing: 'ease-out' });
    c.el.classList.add('revealed');
    clearTimeout(c.revealTimer);
    c.revealTimer = setTimeout(() => c.el.classList.remove('revealed'), 2500);
    return true;
  }
}
