// Formatting of times, durations, tokens and costs.

/** Parses the API's ISO-8601 timestamps (microseconds allowed) → ms, or NaN. */
export function parseTs(s) {
  if (!s) return NaN;
  // Trim fractional seconds to milliseconds: not every engine parses 6 digits.
  return Date.parse(String(s).replace(/(\.\d{3})\d+/, '$1'));
}

const pad = (n) => String(n).padStart(2, '0');

/** HH:MM:SS in local time. */
export function fmtTime(s) {
  const t = parseTs(s);
  if (Number.isNaN(t)) return '';
  const d = new Date(t);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Full local date-time, for tooltips. */
export function fmtDateTime(s) {
  const t = parseTs(s);
  if (Number.isNaN(t)) return '';
  const d = new Date(t);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "850ms", "45s", "3m 12s", "1h 05m". */
export function fmtDuration(ms) {
  if (ms == null || !Number.isFinite(Number(ms)) || ms < 0) return '—';
  ms = Number(ms);
  if (ms < 1000) return ms === 0 ? '0s' : `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${pad(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${pad(m % 60)}m`;
}

/** "950", "12.3k", "1.25M". */
export function fmtTokens(n) {
  n = Number(n) || 0;
  if (n < 1000) return String(n);
  if (n < 1e6) return `${(n / 1000).toFixed(n < 10000 ? 2 : 1).replace(/\.?0+$/, '')}k`;
  return `${(n / 1e6).toFixed(2).replace(/\.?0+$/, '')}M`;
}

/** "$0.0123" (digits default 4). */
export function fmtCost(v, digits = 4) {
  const n = Number(v);
  return `$${(Number.isFinite(n) ? n : 0).toFixed(digits)}`;
}

/** Compact count for the header: 999, 1.2k, 34k. */
export function fmtCount(n) {
  n = Number(n) || 0;
  if (n < 1000) return String(n);
  if (n < 10000) return `${(n / 1000).toFixed(1)}k`;
  if (n < 1e6) return `${Math.round(n / 1000)}k`;
  return `${(n / 1e6).toFixed(1)}M`;
}

/** "plan" → "Plan", "_workflow" → "Workflow", "security_audit" → "Security Audit". */
export function titleCase(step) {
  if (!step || step === '_workflow') return 'Workflow';
  return String(step).split(/[_\-\s]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join(' ');
}

/** "claude-sonnet-4-5-20250929" → "sonnet-4.5"; anything else unchanged. */
export function shortModel(m) {
  if (!m) return '';
  const x = String(m).match(/(opus|sonnet|haiku)-(\d+)(?:[-.](\d))?/i);
  return x ? `${x[1].toLowerCase()}-${x[2]}${x[3] ? `.${x[3]}` : ''}` : String(m);
}

export const shortId = (id) => (id ? String(id).slice(0, 8) : '');
