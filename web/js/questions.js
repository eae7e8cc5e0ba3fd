// Decision questions asked by agents (GET /api/questions, QuestionAsked /
// QuestionAnswered / QuestionClosed events, adw.question): the "needs your
// input" area above the views, a question card on the ADW's card, the
// document title's badge "(N) ..." and a silent browser notification (only
// once the user allowed them with the "Enable notifications" button: the
// permission is never asked for on load).
//
// A question only ever goes from pending to answered / timed_out /
// cancelled, so a closed one is never reopened by an older copy (a list or
// an ADW fetched before the close).
import { h, setText, replaceChildren } from './dom.js';
import { api } from './api.js';
import { fmtTime, fmtDateTime, shortId } from './format.js';

const CLOSED_KEEP = 500;     // closed questions remembered (for the "answered" notes)
const NOTIFY_DELAY_MS = 400; // a question answered at once is not notified

export class Questions {
  /**
   * els: inbox (the area), list (its cards), count, notifyBtn.
   * opts.revealAdw(id); opts.onChange(adwId) after a question of that ADW changed.
   */
  constructor({ inbox, list, count, notifyBtn }, opts) {
    this.inbox = inbox;
    this.list = list;
    this.count = count;
    this.notifyBtn = notifyBtn;
    this.opts = opts;
    this.baseTitle = document.title;
    this.pending = new Map();  // id → question
    this.closed = new Map();   // id → question, oldest first
    this.seenAt = new Map();   // id → when last seen pending
    this.busy = new Set();     // ids being answered
    this.errors = new Map();   // id → error text
    this.inboxCards = new Map(); // id → card element in the inbox
    this.notified = new Set();
    this.ready = false;
    this.initNotify();
    this.render();
  }

  // ---- state ------------------------------------------------------------
  /** A question object from an event, the API or an ADW. */
  apply(q) {
    if (!q || typeof q !== 'object' || !q.id) return;
    if (q.status === 'pending') {
      if (this.closed.has(q.id)) return; // never reopened
      const was = this.pending.get(q.id);
      const next = was ? { ...was, ...q } : q;
      this.seenAt.set(q.id, Date.now());
      if (was && JSON.stringify(was) === JSON.stringify(next)) return; // nothing new
      this.pending.set(q.id, next);
      if (!was) this.notify(q);
    } else {
      this.pending.delete(q.id);
      this.seenAt.delete(q.id);
      this.busy.delete(q.id);
      this.errors.delete(q.id);
      const old = this.closed.get(q.id);
      this.closed.delete(q.id);
      this.closed.set(q.id, old ? { ...old, ...q } : q);
      if (this.closed.size > CLOSED_KEEP) this.closed.delete(this.closed.keys().next().value);
    }
    this.changed(q.adw_id);
  }

  /** An ADW object (its pending question, if any). */
  fromAdw(adw) {
    if (adw && adw.question && adw.question.status === 'pending') {
      this.apply({ adw_name: adw.name, ...adw.question, adw_id: adw.question.adw_id || adw.id });
    }
  }

  /** GET /api/questions?status=pending: adds new ones, closes the ones gone since. */
  async refresh() {
    const started = Date.now();
    let list;
    try {
      list = (await api.questions('pending')).questions || [];
    } catch (e) {
      if (e.status === 404 || e.status === 405) return; // an older server: no questions
      throw e;
    }
    const ids = new Set(list.map((q) => q.id));
    for (const q of list) this.apply(q);
    for (const [id] of this.pending) {
      if (ids.has(id) || (this.seenAt.get(id) || 0) >= started) continue;
      api.question(id).then((r) => this.apply(r.question)).catch((e) => {
        if (e.status === 404) { const q = this.pending.get(id); if (q) this.apply({ ...q, status: 'cancelled' }); }
      });
    }
  }

  /** The initial load is done: questions pending now are not notified. */
  setReady() {
    if (this.ready) return;
    this.ready = true;
    for (const id of this.pending.keys()) this.notified.add(id);
  }

  /** The newest pending question of an ADW, or null. */
  pendingFor(adwId) {
    let best = null;
    for (const q of this.pending.values()) {
      if (q.adw_id === adwId && (!best || String(q.created_at) >= String(best.created_at))) best = q;
    }
    return best;
  }

  /** The last closed question of an ADW, or null. */
  closedFor(adwId) {
    let last = null;
    for (const q of this.closed.values()) if (q.adw_id === adwId && (!last || String(q.created_at) >= String(last.created_at))) last = q;
    return last;
  }

  changed(adwId) {
    this.render();
    if (adwId && this.opts.onChange) this.opts.onChange(adwId);
  }

  // ---- answering ----------------------------------------------------------
  async answer(q, text) {
    const answer = String(text ?? '').trim();
    if (!answer || this.busy.has(q.id)) return;
    this.busy.add(q.id);
    this.errors.delete(q.id);
    this.changed(q.adw_id);
    try {
      const r = await api.answer(q.id, answer);
      this.busy.delete(q.id);
      this.apply(r.question || { ...q, status: 'answered', answer });
    } catch (e) {
      this.busy.delete(q.id);
      if (e.status === 409 || e.status === 404) {
        // No longer pending: show what happened to it.
        try { this.apply((await api.question(q.id)).question); } catch { this.apply({ ...q, status: 'cancelled' }); }
      } else {
        this.errors.set(q.id, `Could not send the answer: ${e.message}`);
        this.changed(q.adw_id);
      }
    }
  }

  // ---- drawing ------------------------------------------------------------
  /** A question card; `place` is "inbox" or "adw". */
  card(q, place) {
    const form = h('form', { class: 'qcard-free', autocomplete: 'off' });
    const input = h('input', {
      type: 'text', class: 'ctl-input', 'data-testid': 'question-text', maxlength: '10000', spellcheck: 'false',
      placeholder: (q.options || []).length ? 'Or type another answer…' : 'Your answer…',
    });
    const submit = h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'question-submit', disabled: true }, 'Answer');
    input.addEventListener('input', () => { submit.disabled = this.busy.has(q.id) || !input.value.trim(); });
    form.append(input, submit);
    form.addEventListener('submit', (e) => { e.preventDefault(); this.answer(this.pending.get(q.id) || q, input.value); });
    const el = h('div', {
      class: `qcard qcard-${place}`, 'data-testid': 'question-card', role: 'group', 'aria-label': 'Question from an agent',
      dataset: { questionId: q.id, adwId: q.adw_id, place },
    });
    el.qparts = { input, submit, form };
    this.fill(el, q);
    return el;
  }

  /** (Re)draws a card's content, keeping the free-text field and its text. */
  fill(el, q) {
    const p = el.qparts;
    const busy = this.busy.has(q.id);
    const sig = JSON.stringify([q.question, q.context, q.options, q.default_answer, q.timeout_at, q.adw_name, q.step, busy, this.errors.get(q.id)]);
    if (el.qsig === sig) return;
    el.qsig = sig;
    el.classList.toggle('busy', busy);
    const opts = Array.isArray(q.options) ? q.options : [];
    const place = el.dataset.place;
    const meta = [
      q.default_answer ? `default: ${q.default_answer}` : null,
      q.timeout_at ? `answer by ${fmtTime(q.timeout_at)} (then ${q.default_answer ? 'the default is taken' : 'the ADW is cancelled'})` : null,
    ].filter(Boolean).join(' · ');
    p.input.disabled = busy;
    p.submit.disabled = busy || !p.input.value.trim();
    const err = this.errors.get(q.id);
    replaceChildren(el,
      h('div', { class: 'qcard-head' },
        h('span', { class: 'qcard-icon', 'aria-hidden': 'true' }, '❓'),
        h('span', { class: 'qcard-title' }, 'NEEDS YOUR INPUT'),
        place === 'inbox'
          ? h('button', {
            type: 'button', class: 'qcard-link', 'data-testid': 'question-adw', title: q.adw_id,
            onclick: () => this.opts.revealAdw && this.opts.revealAdw(q.adw_id),
          }, `ADW ${q.adw_name || shortId(q.adw_id)}`)
          : null,
        q.step ? h('span', { class: 'qcard-step' }, `step ${q.step}`) : null,
        h('span', { class: 'qcard-time', title: fmtDateTime(q.created_at) }, fmtTime(q.created_at))),
      h('div', { class: 'qcard-question', 'data-testid': 'question-question' }, String(q.question ?? '')),
      q.context ? h('div', { class: 'qcard-context', 'data-testid': 'question-context' }, String(q.context)) : null,
      opts.length ? h('div', { class: 'qcard-options' }, opts.map((o) => h('button', {
        type: 'button', class: `btn qopt${q.default_answer === o ? ' default' : ''}`, 'data-testid': 'question-option',
        dataset: { option: String(o) }, disabled: busy, title: `Answer "${o}"`,
        onclick: () => this.answer(this.pending.get(q.id) || q, o),
      }, String(o)))) : null,
      p.form,
      meta ? h('div', { class: 'qcard-meta muted small' }, meta) : null,
      err ? h('div', { class: 'qcard-error', 'data-testid': 'question-error', role: 'alert' }, err) : null);
  }

  /** The ADW card's question slot: the pending question, or the last answer. */
  renderSlot(slot, adw) {
    if (!slot || !adw) return;
    const q = this.pendingFor(adw.id);
    if (q) {
      let el = slot.firstChild;
      if (!el || el.dataset.questionId !== q.id) {
        el = this.card(q, 'adw');
        replaceChildren(slot, el);
      } else this.fill(el, q);
      slot.qsig = '';
      slot.hidden = false;
      return;
    }
    const c = this.closedFor(adw.id);
    if (c) {
      const what = c.status === 'answered' ? `✔ Answered “${c.question}”: ${c.answer ?? ''}${c.answered_by ? ` (${c.answered_by})` : ''}`
        : c.status === 'timed_out' ? `⌛ “${c.question}” timed out${c.answer ? `: took ${c.answer}` : ''}`
          : `✖ “${c.question}” was ${c.status || 'closed'}`;
      const sig = `closed:${c.id}:${what}`;
      if (slot.qsig !== sig) {
        slot.qsig = sig;
        replaceChildren(slot, h('div', { class: 'qnote', 'data-testid': 'question-answered', dataset: { questionId: c.id, status: c.status } }, what));
      }
      slot.hidden = false;
      return;
    }
    slot.qsig = '';
    slot.replaceChildren();
    slot.hidden = true;
  }

  /** The inbox, the title badge and the notification button. */
  render() {
    const qs = [...this.pending.values()].sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
    for (const [id, el] of this.inboxCards) if (!this.pending.has(id)) { el.remove(); this.inboxCards.delete(id); }
    let prev = null;
    for (const q of qs) {
      let el = this.inboxCards.get(q.id);
      if (!el) { el = this.card(q, 'inbox'); this.inboxCards.set(q.id, el); } else this.fill(el, q);
      const want = prev ? prev.nextSibling : this.list.firstChild;
      if (want !== el) this.list.insertBefore(el, want);
      prev = el;
    }
    this.inbox.hidden = qs.length === 0;
    setText(this.count, qs.length ? String(qs.length) : '');
    const title = qs.length ? `(${qs.length}) ${this.baseTitle}` : this.baseTitle;
    if (document.title !== title) document.title = title;
  }

  // ---- notifications ------------------------------------------------------
  initNotify() {
    const b = this.notifyBtn;
    if (!b) return;
    const sync = () => { b.hidden = !('Notification' in window) || Notification.permission !== 'default'; };
    sync();
    b.addEventListener('click', async () => {
      if (!('Notification' in window)) return;
      try { await Notification.requestPermission(); } catch { /* refused */ }
      sync();
    });
  }

  /** A silent browser notification for a new question, if allowed. */
  notify(q) {
    if (!this.ready || this.notified.has(q.id)) return;
    this.notified.add(q.id);
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    setTimeout(() => {
      const cur = this.pending.get(q.id);
      if (!cur) return;
      try {
        const n = new Notification(`ADW ${cur.adw_name || shortId(cur.adw_id)} needs your input`, {
          body: String(cur.question ?? ''), tag: `adw-question-${cur.id}`, silent: true,
        });
        n.onclick = () => { window.focus(); if (this.opts.revealAdw) this.opts.revealAdw(cur.adw_id); n.close(); };
      } catch { /* not allowed here */ }
    }, NOTIFY_DELAY_MS);
  }
}
