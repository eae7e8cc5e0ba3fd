// Steering controls of one ADW: Pause / Resume, Cancel (two clicks: the
// second one, "Confirm cancel", with an optional reason), Redirect (an inline
// form for the new prompt) and the Thread button. Used on every ADW card
// (prefix "adw") and in the thread panel (prefix "thread").
//
// The actions take effect at the runner's next checkpoint: the POST answers
// at once, the ADW's status changes later (AdwUpdated). Until it does, the
// button says "Pausing…" etc.; that state is shared by every Controls of the
// same ADW (card and panel) and expires after REQUEST_TTL_MS.
import { h, setText } from './dom.js';
import { api } from './api.js';
import { fmtTime } from './format.js';

const ENDED = new Set(['completed', 'failed', 'cancelled']);
const PAUSABLE = new Set(['pending', 'in_progress', 'awaiting_input']);
const REQUEST_TTL_MS = 60000;
const ARM_MS = 10000;

/** adw id → {action, at}: an action sent, not yet visible in the status. */
const requested = new Map();
/** Every Controls, to redraw those of one ADW when its request changes. */
const instances = new Set();

export const isEnded = (status) => ENDED.has(status);

/** One line about a paused, waiting or cancelled ADW ('' otherwise). */
export function statusNote(adw) {
  if (!adw) return '';
  if (adw.status === 'paused') {
    const at = adw.paused_at ? ` since ${fmtTime(adw.paused_at)}` : '';
    return `⏸ Paused${at}${adw.pause_reason ? `: ${adw.pause_reason}` : ''}`;
  }
  if (adw.status === 'awaiting_input') return '❓ Waiting for your answer to the agent\'s question';
  if (adw.status === 'cancelled') {
    const by = adw.cancelled_by ? ` by ${adw.cancelled_by}` : '';
    return `✕ Cancelled${by}${adw.cancel_reason ? `: ${adw.cancel_reason}` : ''}`;
  }
  return '';
}

function redraw(id) {
  for (const c of instances) if (c.adw && c.adw.id === id) c.update(c.adw);
}

/** The request still waiting for `adw`'s status to follow, or null. */
function waiting(adw) {
  const r = requested.get(adw.id);
  if (!r) return null;
  const s = adw.status;
  const done = ENDED.has(s) || Date.now() - r.at > REQUEST_TTL_MS
    || (r.action === 'pause' && s === 'paused')
    || (r.action === 'resume' && s !== 'paused');
  if (done) { requested.delete(adw.id); return null; }
  return r;
}

export class Controls {
  /**
   * opts.prefix: data-testid prefix ("adw" or "thread"); opts.redirect: show
   * Redirect; opts.onThread(adw): show the Thread button; opts.onAdw(adw): an
   * ADW from a reply (upsert it); opts.revealAdw(id).
   */
  constructor(opts) {
    this.opts = opts;
    this.adw = null;
    this.busy = false;
    this.armTimer = null;
    const p = opts.prefix;
    const btn = (testid, text, title, onclick, cls = '') => h('button', {
      type: 'button', class: `btn ctl ${cls}`.trim(), 'data-testid': `${p}-${testid}`, title, onclick,
    }, text);
    this.pauseBtn = btn('pause', '⏸ Pause', 'Pause at the next checkpoint', () => this.act('pause'));
    this.resumeBtn = btn('resume', '▶ Resume', 'Resume the paused ADW', () => this.act('resume'));
    this.cancelBtn = btn('cancel', '✕ Cancel', 'Cancel this ADW (asks to confirm)', () => this.arm(), 'danger');
    this.reason = h('input', {
      type: 'text', class: 'ctl-input', 'data-testid': `${p}-cancel-reason`, placeholder: 'reason (optional)',
      maxlength: '500', spellcheck: 'false', autocomplete: 'off',
    });
    this.reason.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); this.confirmCancel(); } else if (e.key === 'Escape') this.disarm();
    });
    this.reason.addEventListener('input', () => this.keepArmed());
    this.confirmBtn = btn('cancel-confirm', 'Confirm cancel', 'Cancel it now', () => this.confirmCancel(), 'danger armed');
    this.keepBtn = btn('cancel-keep', 'Keep running', 'Do not cancel', () => this.disarm());
    this.confirmBox = h('span', { class: 'ctl-confirm', hidden: true }, this.reason, this.confirmBtn, this.keepBtn);
    const parts = [this.pauseBtn, this.resumeBtn, this.cancelBtn, this.confirmBox];
    if (opts.redirect) {
      this.redirectBtn = btn('redirect', '↪ Redirect', 'Cancel this ADW and start a new one with another prompt', () => this.toggleForm());
      this.prompt = h('textarea', {
        class: 'ctl-input ctl-prompt', 'data-testid': `${p}-redirect-prompt`, rows: '2', spellcheck: 'false',
        placeholder: 'The new prompt: this ADW is cancelled and a new one of the same workflow starts with it',
      });
      this.prompt.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.submitRedirect(); } else if (e.key === 'Escape') this.toggleForm(false);
      });
      this.prompt.addEventListener('input', () => { this.submitBtn.disabled = this.busy || !this.prompt.value.trim(); });
      this.submitBtn = h('button', { type: 'submit', class: 'btn primary', 'data-testid': `${p}-redirect-submit`, disabled: true }, 'Start redirected ADW');
      this.form = h('form', { class: 'ctl-redirect', 'data-testid': `${p}-redirect-form`, hidden: true, autocomplete: 'off' },
        this.prompt,
        h('div', { class: 'ctl-row' }, this.submitBtn,
          h('button', { type: 'button', class: 'btn', 'data-testid': `${p}-redirect-cancel`, onclick: () => this.toggleForm(false) }, 'Close')));
      this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submitRedirect(); });
      parts.push(this.redirectBtn);
    }
    if (opts.onThread) {
      this.threadBtn = btn('thread-open', '✉ Thread', 'Messages, instructions and control actions of this ADW', () => opts.onThread(this.adw));
      parts.push(this.threadBtn);
    }
    this.msg = h('span', { class: 'ctl-msg', 'data-testid': `${p}-control-msg`, role: 'status', hidden: true });
    this.el = h('div', { class: 'controls', 'data-testid': `${p}-controls` },
      h('div', { class: 'ctl-row' }, parts, this.msg), this.form || null);
    instances.add(this);
  }

  /** Shows what applies to the ADW's status. */
  update(adw) {
    this.adw = adw;
    if (!adw) return;
    const s = adw.status;
    const ended = ENDED.has(s);
    const req = waiting(adw);
    this.el.dataset.status = s || '';
    this.pauseBtn.hidden = ended || !(PAUSABLE.has(s) || (req && req.action === 'pause'));
    this.resumeBtn.hidden = ended || s !== 'paused';
    this.cancelBtn.hidden = ended || !this.confirmBox.hidden;
    if (ended) { this.disarm(); this.toggleForm(false); }
    const label = (b, action, idle, going) => {
      const on = req && req.action === action;
      setText(b, on ? going : idle);
      b.disabled = this.busy || !!on || !!(req && req.action === 'cancel');
      b.classList.toggle('waiting', !!on);
    };
    label(this.pauseBtn, 'pause', '⏸ Pause', 'Pausing…');
    label(this.resumeBtn, 'resume', '▶ Resume', 'Resuming…');
    label(this.cancelBtn, 'cancel', '✕ Cancel', 'Cancelling…');
    if (this.redirectBtn) {
      this.redirectBtn.hidden = ended;
      this.redirectBtn.disabled = this.busy || !!(req && req.action === 'cancel');
    }
  }

  say(text, error = false) {
    this.msg.hidden = !text;
    setText(this.msg, text || '');
    this.msg.classList.toggle('error', error);
  }

  async act(action, reason) {
    const adw = this.adw;
    if (!adw || this.busy) return;
    this.busy = true;
    this.say('');
    this.update(adw);
    try {
      const r = await api.control(adw.id, action, reason);
      requested.set(adw.id, { action, at: Date.now() });
      setTimeout(() => redraw(adw.id), REQUEST_TTL_MS + 100);
      if (r.adw && this.opts.onAdw) this.opts.onAdw(r.adw);
    } catch (e) {
      this.say(`${action} failed: ${e.message}`, true);
    } finally {
      this.busy = false;
      redraw(adw.id);
    }
  }

  // ---- cancel: arm, then confirm ----------------------------------------
  arm() {
    this.confirmBox.hidden = false;
    this.cancelBtn.hidden = true;
    this.confirmBtn.focus();
    this.keepArmed();
  }

  /** The confirm step goes away by itself unless a reason is being typed. */
  keepArmed() {
    clearTimeout(this.armTimer);
    this.armTimer = setTimeout(() => {
      if (this.reason.value.trim() || this.confirmBox.contains(document.activeElement)) this.keepArmed();
      else this.disarm();
    }, ARM_MS);
  }

  disarm() {
    clearTimeout(this.armTimer);
    this.armTimer = null;
    if (this.confirmBox.hidden) return;
    this.confirmBox.hidden = true;
    this.reason.value = '';
    if (this.adw) this.update(this.adw);
  }

  confirmCancel() {
    const reason = this.reason.value.trim();
    this.disarm();
    this.act('cancel', reason || undefined);
  }

  // ---- redirect ---------------------------------------------------------
  toggleForm(show) {
    if (!this.form) return;
    const on = show === undefined ? this.form.hidden : show;
    if (on === !this.form.hidden) return;
    this.form.hidden = !on;
    if (this.redirectBtn) this.redirectBtn.classList.toggle('active', on);
    if (on) {
      this.submitBtn.disabled = this.busy || !this.prompt.value.trim();
      this.prompt.focus();
    }
  }

  async submitRedirect() {
    const adw = this.adw;
    const prompt = this.prompt.value.trim();
    if (!adw || !prompt || this.busy) return;
    this.busy = true;
    this.submitBtn.disabled = true;
    this.say('');
    try {
      const r = await api.redirect(adw.id, prompt);
      this.prompt.value = '';
      this.toggleForm(false);
      requested.set(adw.id, { action: 'cancel', at: Date.now() });
      setTimeout(() => redraw(adw.id), REQUEST_TTL_MS + 100);
      if (r.adw && this.opts.onAdw) this.opts.onAdw(r.adw);
      if (r.adw && this.opts.revealAdw) this.opts.revealAdw(r.adw.id);
    } catch (e) {
      this.say(`redirect failed: ${e.message}`, true);
    } finally {
      this.busy = false;
      this.submitBtn.disabled = !this.prompt.value.trim();
      redraw(adw.id);
    }
  }
}
