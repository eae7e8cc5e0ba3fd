// The LOGS view: the event stream as rows, with category toggles, a regex
// search, and auto-follow.
import { h, setText } from './dom.js';
import { CATEGORIES, categoryBadge, eventLine } from './events.js';
import { fmtTime, fmtDateTime, shortId } from './format.js';

const MAX_ROWS = 3000;

export class LogView {
  constructor({ root, filtersEl, search, countEl, clearBtn, followBtn }, opts) {
    this.root = root;
    this.countEl = countEl;
    this.opts = opts; // agentName(id), adwName(id), isVisible()
    this.rows = [];
    this.backlog = [];
    this.line = 0;
    this.follow = true;
    this.hiddenCats = new Set();
    this.re = null;
    this.empty = h('div', { class: 'empty', 'data-testid': 'logs-empty' },
      h('div', { class: 'empty-icon' }, '▦'), h('div', null, 'No events yet. Waiting for agent activity...'));
    root.append(this.empty);

    for (const cat of CATEGORIES) {
      const b = h('button', { type: 'button', class: 'chip toggle active', 'aria-pressed': 'true', 'data-testid': `log-filter-${cat.key}`, style: { '--c': cat.color } },
        h('span', { class: 'chip-icon' }, cat.icon), cat.label);
      b.addEventListener('click', () => {
        const on = this.hiddenCats.has(cat.key);
        if (on) this.hiddenCats.delete(cat.key); else this.hiddenCats.add(cat.key);
        b.classList.toggle('active', on);
        b.setAttribute('aria-pressed', String(on));
        root.classList.toggle(`hide-cat-${cat.key}`, !on);
        this.updateCount();
      });
      filtersEl.append(b);
    }

    let t = null;
    search.addEventListener('input', () => {
      clearTimeout(t);
      t = setTimeout(() => this.setSearch(search.value, search), 120);
    });
    clearBtn.addEventListener('click', () => {
      for (const r of this.rows) r.el.remove();
      this.rows = [];
      this.backlog = [];
      this.empty.hidden = false;
      this.updateCount();
    });
    followBtn.addEventListener('click', () => {
      this.follow = !this.follow;
      followBtn.classList.toggle('active', this.follow);
      followBtn.setAttribute('aria-pressed', String(this.follow));
      if (this.follow) this.scrollToEnd();
    });
    this.followBtn = followBtn;
    root.addEventListener('click', (e) => {
      const row = e.target.closest('.log-row');
      if (!row || e.target.closest('.log-detail')) return;
      this.toggleRow(row);
    });
  }

  setSearch(text, input) {
    text = text.trim();
    if (!text) this.re = null;
    else {
      try { this.re = new RegExp(text, 'im'); input.classList.remove('invalid'); }
      catch { // not a valid regex: match literally
        this.re = new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
        input.classList.add('invalid');
      }
    }
    if (!text) input.classList.remove('invalid');
    for (const r of this.rows) r.el.hidden = !this.matches(r);
    this.updateCount();
  }

  matches(r) {
    if (!this.re) return true;
    this.re.lastIndex = 0;
    return this.re.test(r.hay);
  }

  haystack(ev) {
    const parts = [ev.type, ev.category, ev.step, ev.summary, ev.content, ev.adw_id, ev.agent_id];
    if (ev.agent_id) parts.push(this.opts.agentName(ev.agent_id));
    if (ev.adw_id) parts.push(this.opts.adwName(ev.adw_id));
    if (ev.payload && typeof ev.payload === 'object') {
      for (const k of ['file_path', 'path', 'tool_name', 'name', 'command']) if (typeof ev.payload[k] === 'string') parts.push(ev.payload[k]);
      const inp = ev.payload.input;
      if (inp && typeof inp === 'object') for (const k of ['file_path', 'path', 'command', 'pattern']) if (typeof inp[k] === 'string') parts.push(inp[k]);
    }
    return parts.filter(Boolean).join('\n');
  }

  makeRow(ev) {
    const badge = categoryBadge(ev);
    const agent = ev.agent_id ? this.opts.agentName(ev.agent_id) : null;
    const who = agent || ev.step || (ev.adw_id ? 'workflow' : '—');
    const adwName = ev.adw_id ? this.opts.adwName(ev.adw_id) : null;
    const el = h('div', { class: 'log-row', 'data-testid': 'log-row', dataset: { cat: ev.category || 'other', type: ev.type || '', eventId: ev.id } },
      h('span', { class: 'log-line', title: `event #${ev.id}` }, String(++this.line)),
      h('span', { class: 'cat-badge', style: { '--c': badge.color }, title: ev.category || '' }, `${badge.icon} ${badge.label}`),
      h('span', { class: 'log-who', title: [adwName && `ADW ${adwName}`, ev.step && `step ${ev.step}`, ev.agent_id && `agent ${agent || shortId(ev.agent_id)}`].filter(Boolean).join('\n') || '' }, who),
      h('span', { class: 'log-type' }, ev.type || ''),
      h('span', { class: 'log-summary' }, eventLine(ev)),
      h('span', { class: 'log-time', title: fmtDateTime(ev.created_at) }, fmtTime(ev.created_at)));
    return el;
  }

  toggleRow(el) {
    const r = this.rows.find((x) => x.el === el);
    if (!r) return;
    const open = el.classList.toggle('expanded');
    if (open) {
      let text = r.ev.content ? String(r.ev.content) : '';
      if (!text) { try { text = JSON.stringify(r.ev.payload ?? {}, null, 2); } catch { text = ''; } }
      el.append(h('pre', { class: 'log-detail' }, text || '(no content)'));
    } else {
      const d = el.querySelector('.log-detail');
      if (d) d.remove();
    }
  }

  /**
   * Adds events. While the view is hidden they are only queued (the newest
   * MAX_ROWS), and become rows when it is shown: no DOM work for a hidden view.
   */
  addEvents(events) {
    if (!events.length) return;
    if (!this.opts.isVisible()) {
      for (const ev of events) this.backlog.push(ev);
      if (this.backlog.length > MAX_ROWS * 2) this.backlog.splice(0, this.backlog.length - MAX_ROWS);
      this.pendingCount();
      return;
    }
    this.render(events);
  }

  /** The view became visible: draws the backlog (newest MAX_ROWS). */
  shown() {
    if (this.backlog.length) {
      const evs = this.backlog.length > MAX_ROWS ? this.backlog.slice(-MAX_ROWS) : this.backlog;
      this.backlog = [];
      this.render(evs);
    }
    if (this.follow) this.scrollToEnd();
  }

  pendingCount() {
    const n = Math.min(MAX_ROWS, this.rows.length + this.backlog.length);
    setText(this.countEl, `${n} events`);
  }

  render(events) {
    const visible = this.opts.isVisible();
    const frag = document.createDocumentFragment();
    for (const ev of events) {
      const r = { ev, el: this.makeRow(ev), hay: this.haystack(ev) };
      if (this.re) r.el.hidden = !this.matches(r);
      this.rows.push(r);
      frag.append(r.el);
    }
    this.root.append(frag);
    if (this.rows.length > MAX_ROWS) {
      const drop = this.rows.splice(0, this.rows.length - MAX_ROWS);
      for (const r of drop) r.el.remove();
    }
    this.empty.hidden = this.rows.length > 0;
    this.updateCount();
    if (visible && this.follow) this.scrollToEnd();
  }

  scrollToEnd() {
    if (this.opts.isVisible()) this.root.scrollTop = this.root.scrollHeight;
  }

  updateCount() {
    let shown = 0;
    for (const r of this.rows) if (!r.el.hidden && !this.hiddenCats.has(r.ev.category)) shown++;
    setText(this.countEl, shown === this.rows.length ? `${this.rows.length} events` : `${shown} / ${this.rows.length} events`);
  }
}
