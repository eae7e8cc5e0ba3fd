// The thread panel of one ADW: its messages oldest first (GET
// /api/adws/{id}/messages when it opens, then live from the ThreadMessage /
// ThreadMessageUpdated events the page receives anyway: no polling of its
// own), a box to send a comment or an instruction, and the control buttons.
//
// A message's action_status only moves forward (pending → acknowledged →
// processed | ignored), so an older copy (a GET answered after an event)
// never takes a message back.
import { h, $, setText, replaceChildren, atBottom } from './dom.js';
import { api } from './api.js';
import { fmtTime, fmtDateTime, shortId } from './format.js';
import { Controls, isEnded, statusNote } from './controls.js';
import { STATUS_LABEL } from './adws.js';

const PAGE = 1000;
const RANK = { pending: 0, acknowledged: 1, processed: 2, ignored: 2 };
const WHO = { user: 'YOU', agent: 'AGENT', system: 'SYSTEM' };
const STATUS_TEXT = { pending: 'pending', acknowledged: 'acknowledged', processed: 'processed', ignored: 'ignored' };

const tid = (id) => $(`[data-testid="${id}"]`);

export class ThreadPanel {
  /** opts.adw(id) → the ADW shown on the page or null; opts.onAdw(adw); opts.revealAdw(id). */
  constructor(opts) {
    this.opts = opts;
    this.panel = tid('thread-panel');
    this.list = tid('thread-messages');
    this.input = tid('thread-input');
    this.nameEl = tid('thread-adw');
    this.pill = tid('thread-status');
    this.note = tid('thread-status-note');
    this.formMsg = tid('thread-form-msg');
    this.sendComment = tid('thread-send-comment');
    this.sendInstruction = tid('thread-send-instruction');
    this.adwId = null;
    this.adw = null;
    this.gen = 0;
    this.messages = new Map(); // id → message
    this.rows = new Map();     // id → row element
    this.sending = false;
    this.loaded = false;
    this.controls = new Controls({ prefix: 'thread', redirect: false, onAdw: opts.onAdw, revealAdw: opts.revealAdw });
    tid('thread-controls').append(this.controls.el);
    tid('thread-close').addEventListener('click', () => this.close());
    this.nameEl.addEventListener('click', () => { if (this.adwId) opts.revealAdw(this.adwId); });
    this.panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.stopPropagation(); this.close(); } });
    tid('thread-form').addEventListener('submit', (e) => { e.preventDefault(); this.send('comment'); });
    this.sendComment.addEventListener('click', () => this.send('comment'));
    this.sendInstruction.addEventListener('click', () => this.send('instruction'));
    this.input.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.altKey) return;
      e.preventDefault();
      this.send(e.ctrlKey || e.metaKey ? 'instruction' : 'comment');
    });
    this.input.addEventListener('input', () => this.updateForm());
    this.stick = true;
    this.list.addEventListener('scroll', () => { this.stick = atBottom(this.list, 60); }, { passive: true });
  }

  get isOpen() { return this.panel.classList.contains('open'); }

  /** Opens the panel on an ADW (an object, or an id). */
  async open(adwOrId) {
    const id = typeof adwOrId === 'string' ? adwOrId : adwOrId && adwOrId.id;
    if (!id) return;
    const adw = (typeof adwOrId === 'object' && adwOrId) || this.opts.adw(id);
    if (this.adwId !== id) {
      this.adwId = id;
      this.adw = null;
      this.messages.clear();
      this.rows.clear();
      this.list.replaceChildren();
      this.input.value = '';
      this.say('');
      this.stick = true;
    }
    this.panel.dataset.adwId = id;
    this.panel.classList.add('open');
    this.panel.setAttribute('aria-hidden', 'false');
    this.adwChanged(adw || { id, status: '' });
    this.input.focus({ preventScroll: true });
    await this.load();
  }

  close() {
    this.panel.classList.remove('open');
    this.panel.setAttribute('aria-hidden', 'true');
    this.gen++; // a load in flight is dropped
  }

  /** Every message of the ADW (pages of PAGE), merged with what events brought meanwhile. */
  async load() {
    const gen = ++this.gen;
    const id = this.adwId;
    this.loaded = false;
    this.renderEmpty('Loading…');
    try {
      for (let after = 0; ;) {
        const r = await api.messages(id, after, PAGE);
        if (gen !== this.gen) return;
        const ms = r.messages || [];
        for (const m of ms) this.merge(m);
        if (ms.length < PAGE) break;
        after = ms[ms.length - 1].id;
      }
      this.loaded = true;
      this.render();
    } catch (e) {
      if (gen === this.gen) this.renderEmpty(`Could not load the thread: ${e.message}`);
    }
  }

  /** A message from an event (ThreadMessage, ThreadMessageUpdated). */
  onMessage(m) {
    if (!m || !this.adwId || m.adw_id !== this.adwId) return;
    if (this.merge(m)) this.render();
  }

  /** The ADW changed (any upsert): the header, controls and the form follow. */
  adwChanged(adw) {
    if (!adw || adw.id !== this.adwId) return;
    this.adw = adw;
    setText(this.nameEl, adw.name || shortId(adw.id));
    this.nameEl.title = `${adw.id}\nShow the ADW's card`;
    setText(this.pill, STATUS_LABEL[adw.status] || String(adw.status || '').toUpperCase());
    this.pill.dataset.status = adw.status || '';
    const note = statusNote(adw);
    this.note.hidden = !note;
    setText(this.note, note);
    this.controls.update(adw);
    this.updateForm();
  }

  /** Stores a message; true when something shown changed. */
  merge(m) {
    if (!m || typeof m.id !== 'number') return false;
    const old = this.messages.get(m.id);
    if (old && (RANK[old.action_status] ?? 0) > (RANK[m.action_status] ?? 0)) return false;
    if (old && JSON.stringify(old) === JSON.stringify(m)) return false;
    this.messages.set(m.id, m);
    return true;
  }

  // ---- sending ------------------------------------------------------------
  ended() { return !!this.adw && isEnded(this.adw.status); }

  updateForm() {
    const ended = this.ended();
    const empty = !this.input.value.trim();
    this.input.disabled = ended;
    this.input.placeholder = ended ? 'This ADW has ended: its thread is read-only.'
      : 'A comment for the record, or an instruction for the running agent…';
    this.sendComment.disabled = ended || empty || this.sending;
    this.sendInstruction.disabled = ended || empty || this.sending;
  }

  say(text, error = false) {
    this.formMsg.hidden = !text;
    setText(this.formMsg, text || '');
    this.formMsg.classList.toggle('error', error);
  }

  async send(actionType) {
    const content = this.input.value.trim();
    const id = this.adwId;
    if (!id || !content || this.sending || this.ended()) return;
    this.sending = true;
    this.say('');
    this.updateForm();
    try {
      const r = await api.postMessage(id, actionType, content);
      if (this.adwId === id) {
        this.input.value = '';
        if (r.message && this.merge(r.message)) { this.stick = true; this.render(); }
      }
    } catch (e) {
      if (this.adwId === id) this.say(e.status === 409 ? `Not sent: ${e.message}` : `Could not send: ${e.message}`, true);
    } finally {
      this.sending = false;
      this.updateForm();
    }
  }

  // ---- drawing --------------------------------------------------------------
  renderEmpty(text) {
    if (this.messages.size) return;
    replaceChildren(this.list, h('div', { class: 'empty small', 'data-testid': 'thread-empty' }, text));
  }

  render() {
    if (!this.messages.size) {
      this.renderEmpty(this.loaded ? 'No messages yet. Comments, instructions and control actions show up here.' : 'Loading…');
      return;
    }
    const stick = this.stick || atBottom(this.list, 60);
    const empty = this.list.querySelector('[data-testid="thread-empty"]');
    if (empty) empty.remove();
    const ids = [...this.messages.keys()].sort((a, b) => a - b);
    let prev = null;
    for (const id of ids) {
      const m = this.messages.get(id);
      let row = this.rows.get(id);
      const sig = JSON.stringify(m);
      if (!row || row.msig !== sig) {
        const fresh = this.row(m);
        fresh.msig = sig;
        if (row) row.replaceWith(fresh);
        row = fresh;
        this.rows.set(id, row);
      }
      const want = prev ? prev.nextSibling : this.list.firstChild;
      if (want !== row) this.list.insertBefore(row, want);
      prev = row;
    }
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }

  row(m) {
    const meta = m.metadata && typeof m.metadata === 'object' ? m.metadata : {};
    const status = m.action_status || 'pending';
    const times = [
      m.created_at && `sent ${fmtDateTime(m.created_at)}`,
      m.acknowledged_at && `acknowledged ${fmtDateTime(m.acknowledged_at)}`,
      m.processed_at && `${status} ${fmtDateTime(m.processed_at)}`,
    ].filter(Boolean).join('\n');
    const opts = Array.isArray(meta.options) ? meta.options : [];
    const extra = [m.step ? `step ${m.step}` : null, meta.source ? `via ${meta.source}` : null].filter(Boolean).join(' · ');
    return h('div', {
      class: `tmsg sender-${m.sender || 'system'} action-${m.action_type || 'comment'}`, 'data-testid': 'thread-message',
      dataset: { messageId: m.id, sender: m.sender || '', actionType: m.action_type || '', actionStatus: status },
    },
    h('div', { class: 'tmsg-head' },
      h('span', { class: 'tmsg-who' }, WHO[m.sender] || String(m.sender || '').toUpperCase()),
      h('span', { class: 'tmsg-type', 'data-testid': 'thread-message-type' }, String(m.action_type || 'comment')),
      h('span', { class: 'tmsg-status', 'data-testid': 'thread-message-status', dataset: { status }, title: times },
        STATUS_TEXT[status] || String(status)),
      h('span', { class: 'tmsg-time', title: times }, fmtTime(m.created_at))),
    h('div', { class: 'tmsg-body', 'data-testid': 'thread-message-content' }, String(m.content ?? '')),
    opts.length ? h('div', { class: 'tmsg-options' }, opts.map((o) => h('span', { class: 'tmsg-option' }, String(o)))) : null,
    m.status_reason ? h('div', { class: 'tmsg-reason', 'data-testid': 'thread-message-reason' }, String(m.status_reason)) : null,
    meta.redirected_to ? h('button', {
      type: 'button', class: 'link-btn', 'data-testid': 'thread-redirect-link', title: String(meta.redirected_to),
      onclick: () => this.opts.revealAdw(String(meta.redirected_to)),
    }, `→ new ADW ${shortId(meta.redirected_to)}`) : null,
    extra ? h('div', { class: 'tmsg-extra' }, extra) : null);
  }
}
