// The right column: orchestrator chat (GET/POST /api/chat) and workflow hints.
import { h, replaceChildren, atBottom } from './dom.js';
import { fmtTime, fmtDateTime, shortId } from './format.js';
import { api } from './api.js';

let localSeq = 0;

export class Chat {
  /** opts.onAdw(adw) receives the ADW a message started; opts.revealAdw(id). */
  constructor({ list, form, input, send, hints }, opts) {
    this.list = list;
    this.input = input;
    this.sendBtn = send;
    this.hints = hints;
    this.opts = opts;
    this.server = [];   // messages from the server, oldest first
    this.local = [];    // {key, sender, message, created_at, state: 'pending'|'error'}
    this.typing = 0;
    this.sig = '';

    form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && !e.ctrlKey && !e.altKey && !e.metaKey) {
        e.preventDefault();
        this.submit();
      }
    });
    input.addEventListener('input', () => this.updateSend());
    // Stay at the newest message when the list resizes (hints load, textarea grows).
    this.stick = true;
    list.addEventListener('scroll', () => { this.stick = atBottom(list, 80); }, { passive: true });
    new ResizeObserver(() => { if (this.stick) list.scrollTop = list.scrollHeight; }).observe(list);
    this.updateSend();
    this.render();
  }

  updateSend() { this.sendBtn.disabled = !this.input.value.trim(); }

  focus() { this.input.focus(); }

  setWorkflows(wfs) {
    replaceChildren(this.hints,
      wfs.length ? h('span', { class: 'hints-label' }, 'Workflows') : null,
      wfs.map((w) => h('button', {
        type: 'button', class: 'chip hint', 'data-testid': 'workflow-hint', dataset: { workflow: w.name },
        title: `${w.description || ''}\nsteps: ${(w.steps || []).join(' → ')}\nClick to start one`,
        onclick: () => {
          this.input.value = `start adw: ${w.name}: `;
          this.updateSend();
          this.input.focus();
          this.input.setSelectionRange(this.input.value.length, this.input.value.length);
        },
      }, h('span', { class: 'chip-icon' }, '🔄'), w.name)));
  }

  setMessages(msgs) {
    this.server = Array.isArray(msgs) ? msgs : [];
    this.render();
  }

  async submit() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = '';
    this.updateSend();
    const pending = { key: `l${++localSeq}`, sender: 'user', message: text, created_at: new Date().toISOString(), state: 'pending' };
    this.local.push(pending);
    this.typing++;
    this.render(true);
    try {
      const r = await api.sendChat(text);
      if (r.adw) this.opts.onAdw(r.adw);
      try {
        const c = await api.chat(200);
        this.server = c.messages || [];
        this.local = this.local.filter((m) => m !== pending);
      } catch {
        // Keep the user's message locally and show the reply we got.
        pending.state = 'sent';
        if (r.reply) this.server = [...this.server, r.reply];
      }
    } catch (e) {
      pending.state = 'sent';
      this.local.push({ key: `l${++localSeq}`, sender: 'orchestrator', message: `Error: ${e.message}`, created_at: new Date().toISOString(), state: 'error' });
    } finally {
      this.typing--;
      this.render(true);
    }
  }

  bubble(m, local) {
    const who = m.sender === 'user' ? 'user' : 'orchestrator';
    return h('div', {
      class: `msg ${who}${local ? ` ${m.state}` : ''}`, 'data-testid': 'chat-message',
      dataset: { sender: who, messageId: local ? null : m.id, state: local ? m.state : null },
    },
    h('div', { class: 'msg-head' },
      h('span', { class: 'msg-who' }, who === 'user' ? 'YOU' : 'ORCHESTRATOR'),
      h('span', { class: 'msg-time', title: fmtDateTime(m.created_at) }, fmtTime(m.created_at))),
    h('div', { class: 'msg-body' }, String(m.message ?? '')),
    m.adw_id ? h('button', { type: 'button', class: 'msg-adw', 'data-testid': 'chat-adw-link', title: m.adw_id, onclick: () => this.opts.revealAdw(m.adw_id) }, `→ ADW ${shortId(m.adw_id)}`) : null);
  }

  render(forceBottom = false) {
    const sig = `${this.server.length}:${this.server.length ? this.server[this.server.length - 1].id : ''}:${this.local.map((m) => m.key + m.state).join(',')}:${this.typing}`;
    if (sig === this.sig && !forceBottom) return;
    this.sig = sig;
    const stick = forceBottom || atBottom(this.list, 80);
    const items = [
      ...this.server.map((m) => ({ t: m.created_at, el: () => this.bubble(m, false) })),
      ...this.local.filter((m) => m.state !== 'pending').map((m) => ({ t: m.created_at, el: () => this.bubble(m, true) })),
    ].sort((a, b) => String(a.t).localeCompare(String(b.t)));
    // A pending message already stored by the server (seen by a refetch) is shown once.
    const recentUser = new Set(this.server.slice(-6).filter((m) => m.sender === 'user').map((m) => m.message));
    const pend = this.local.filter((m) => m.state === 'pending' && !recentUser.has(m.message)).map((m) => this.bubble(m, true));
    const nodes = items.map((i) => i.el());
    if (!nodes.length && !pend.length) {
      nodes.push(h('div', { class: 'empty chat-empty', 'data-testid': 'chat-empty' },
        h('div', { class: 'empty-icon' }, '💬'),
        h('div', { class: 'empty-title' }, 'Start a conversation'),
        h('div', { class: 'muted small' }, 'Try: start adw: plan_build_review: <what to build>')));
    }
    if (this.typing > 0) {
      pend.push(h('div', { class: 'msg orchestrator typing', 'data-testid': 'chat-typing' },
        h('div', { class: 'msg-head' }, h('span', { class: 'msg-who' }, 'ORCHESTRATOR')),
        h('div', { class: 'dots' }, h('i'), h('i'), h('i'))));
    }
    replaceChildren(this.list, nodes, pend);
    if (stick) { this.list.scrollTop = this.list.scrollHeight; this.stick = true; }
  }
}
