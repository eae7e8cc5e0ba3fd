// The left column: agents from GET /api/agents.
import { h, setText, replaceChildren, hueOf } from './dom.js';
import { fmtTokens, fmtCost, shortModel, fmtDateTime } from './format.js';

const STATUS_ORDER = { executing: 0, waiting: 1, blocked: 2, idle: 3, complete: 4 };
const STATUS_TEXT = {
  idle: 'Ready for tasks', executing: 'Processing task...', waiting: 'Waiting for dependencies',
  blocked: 'Blocked - needs attention', complete: 'Task completed',
};
const PULSE_TYPES = new Set(['ToolUseBlock', 'ToolResultBlock', 'PreToolUse', 'PostToolUse', 'ThinkingBlock', 'TextBlock']);

export class AgentList {
  constructor(root, countEl) {
    this.root = root;
    this.countEl = countEl;
    this.agents = new Map(); // id → agent (including archived, for names)
    this.cards = new Map();  // id → element
    this.sig = '';
    this.empty = h('div', { class: 'empty small', 'data-testid': 'agents-empty' }, 'No agents yet. Each ADW step runs one agent.');
    root.append(this.empty);
  }

  name(id) { const a = this.agents.get(id); return a ? a.name : null; }
  knows(id) { return this.agents.has(id); }

  totals() {
    let count = 0; let cost = 0; let running = 0;
    for (const a of this.agents.values()) {
      cost += Number(a.cost_usd) || 0;
      if (a.archived) continue;
      count++;
      if (a.status === 'executing') running++;
    }
    return { count, cost, running };
  }

  setAgents(list) {
    this.agents = new Map(list.map((a) => [a.id, a]));
    const visible = list.filter((a) => !a.archived).sort((x, y) =>
      (STATUS_ORDER[x.status] ?? 9) - (STATUS_ORDER[y.status] ?? 9) || String(y.updated_at || y.created_at).localeCompare(String(x.updated_at || x.created_at)));
    const sig = JSON.stringify(visible);
    if (sig === this.sig) return;
    this.sig = sig;
    const next = new Map();
    const els = visible.map((a) => {
      const el = this.render(a);
      next.set(a.id, el);
      return el;
    });
    this.cards = next;
    replaceChildren(this.root, this.empty, els);
    this.empty.hidden = els.length > 0;
    setText(this.countEl, `${visible.length} Total`);
  }

  render(a) {
    const hue = hueOf(`${a.name}${a.id}`);
    const status = a.status || 'idle';
    const task = a.adw_step ? `STEP: ${a.adw_step}` : STATUS_TEXT[status] || status;
    return h('div', { class: 'agent-card', 'data-testid': 'agent-card', dataset: { agentId: a.id, status }, style: { '--hue': hue },
      title: `${a.name}\n${a.id}\n${a.working_dir || ''}\nupdated ${fmtDateTime(a.updated_at)}` },
    h('span', { class: 'avatar', 'aria-hidden': 'true' }, (a.name || '?').replace(/[^a-z0-9]/gi, '').charAt(0).toUpperCase() || '?', h('i', { class: 'avatar-dot' })),
    h('div', { class: 'agent-body' },
      h('div', { class: 'agent-top' },
        h('span', { class: 'agent-name' }, a.name || a.id),
        h('span', { class: 'status-badge', 'data-testid': 'agent-status' }, status.toUpperCase())),
      h('div', { class: 'agent-task', 'data-testid': 'agent-step' }, task),
      h('div', { class: 'agent-foot' },
        h('span', { class: 'agent-model', title: a.model || '' }, shortModel(a.model) || a.runtime || '—'),
        h('span', { class: 'agent-tokens', title: 'Input / output tokens' }, `${fmtTokens(a.input_tokens)}/${fmtTokens(a.output_tokens)}`),
        h('span', { class: 'agent-cost' }, fmtCost(a.cost_usd, 3)))));
  }

  /** Briefly highlights the agents that produced tool/hook/thinking/text events. */
  pulse(events) {
    const ids = new Set();
    for (const ev of events) if (ev.agent_id && PULSE_TYPES.has(ev.type)) ids.add(ev.agent_id);
    for (const id of ids) {
      const el = this.cards.get(id);
      // The Web Animations API: no forced reflow, even in a burst of events.
      if (el && el.animate) el.animate([{ boxShadow: '0 0 0 0 var(--ac)' }, { boxShadow: '0 0 0 4px transparent' }], { duration: 335, easing: 'ease-out' });
    }
  }
}
