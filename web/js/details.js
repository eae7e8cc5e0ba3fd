// The slide-out Event Details panel.
import { h, $, replaceChildren } from './dom.js';
import { eventStyle, categoryBadge, eventLine } from './events.js';
import { fmtTime, fmtDateTime, shortId } from './format.js';

let panel;
let body;
let currentId = null;
let nameOf = () => null;

/** opts.agentName(id) → name or null; opts.adwName(id) → name or null. */
export function initDetails(opts = {}) {
  panel = $('[data-testid="event-details"]');
  body = $('[data-testid="details-body"]');
  nameOf = opts;
  $('[data-testid="details-close"]').addEventListener('click', closeDetails);
  // Click anywhere else closes the panel (squares open it themselves).
  document.addEventListener('mousedown', (e) => {
    if (!isOpen()) return;
    if (panel.contains(e.target) || e.target.closest('[data-testid="square"]')) return;
    closeDetails();
  });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && isOpen()) closeDetails(); });
}

export const isOpen = () => panel.classList.contains('open');

export function closeDetails() {
  panel.classList.remove('open');
  panel.setAttribute('aria-hidden', 'true');
  currentId = null;
  document.querySelectorAll('.square.selected').forEach((s) => s.classList.remove('selected'));
}

const row = (k, v, extra = {}) => h('div', { class: 'kv' }, h('span', { class: 'k' }, k), h('span', { class: 'v', ...extra }, v));

export function openDetails(ev) {
  currentId = ev.id;
  const st = eventStyle(ev);
  const cat = categoryBadge(ev);
  let payloadText;
  try { payloadText = JSON.stringify(ev.payload ?? null, null, 2); } catch { payloadText = String(ev.payload); }
  const agentName = ev.agent_id ? (nameOf.agentName && nameOf.agentName(ev.agent_id)) : null;
  const adwName = ev.adw_id ? (nameOf.adwName && nameOf.adwName(ev.adw_id)) : null;
  replaceChildren(body,
    h('div', { class: 'summary-box', style: { '--c': st.color } },
      h('span', { class: 'summary-icon' }, st.icon),
      h('div', { class: 'summary-text', 'data-testid': 'details-summary' }, ev.summary || `${ev.type} event`)),
    h('div', { class: 'kv-grid' },
      row('Type', ev.type || '', { 'data-testid': 'details-type' }),
      row('Category', h('span', { class: 'cat-badge', style: { '--c': cat.color } }, `${cat.icon} ${cat.label}`), { 'data-testid': 'details-category', title: ev.category || '' }),
      row('Step', ev.step || 'workflow', { 'data-testid': 'details-step' }),
      row('Time', fmtTime(ev.created_at), { title: fmtDateTime(ev.created_at), 'data-testid': 'details-time' }),
      row('Event', `#${ev.id}`),
      ev.adw_id ? row('ADW', adwName ? `${adwName} (${shortId(ev.adw_id)})` : ev.adw_id, { title: ev.adw_id }) : null,
      ev.agent_id ? row('Agent', agentName || shortId(ev.agent_id), { title: ev.agent_id }) : null),
    h('div', { class: 'section-title' }, 'Payload'),
    h('pre', { class: 'code', 'data-testid': 'details-payload' }, payloadText),
    h('div', { class: 'section-title' }, 'Content'),
    ev.content
      ? h('pre', { class: 'code content', 'data-testid': 'details-content' }, String(ev.content))
      : h('div', { class: 'muted small', 'data-testid': 'details-content' }, eventLine(ev) === ev.summary ? 'No content.' : eventLine(ev)),
  );
  body.scrollTop = 0;
  panel.classList.add('open');
  panel.setAttribute('aria-hidden', 'false');
}

export const detailsEventId = () => currentId;
