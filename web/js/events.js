// Event presentation: icon, colour and filter group of each event (the
// original dashboard's tables), and the category badges of the LOGS view.

const C = {
  cyan: '#06b6d4', green: '#10b981', amber: '#fbbf24', orange: '#fb923c', yellow: '#eab308',
  purple: '#a855f7', blue: '#3b82f6', red: '#ef4444', slate: '#94a3b8', teal: '#14b8a6',
  warning: '#f59e0b', pink: '#ec4899',
};

/** type → [icon, colour]. */
const BY_TYPE = {
  StepStart: ['▶', C.cyan],
  StepEnd: ['■', C.green],
  PreToolUse: ['🪝', C.amber],
  PostToolUse: ['🪝', C.orange],
  ToolUseBlock: ['🛠️', C.yellow],
  ToolResultBlock: ['📤', C.teal],
  ThinkingBlock: ['🧠', C.purple],
  TextBlock: ['💬', C.blue],
  text: ['💬', C.blue],
  Result: ['✓', C.green],
  result: ['✓', C.green],
  Stop: ['⏹', C.red],
  SystemInfo: ['ℹ️', C.slate],
  SystemWarning: ['⚠️', C.warning],
  SystemError: ['❌', C.red],
  SystemDebug: ['🔍', C.slate],
  AdwCreated: ['✚', C.cyan],
  AdwUpdated: ['⚙️', C.slate],
  AgentCreated: ['🤖', C.slate],
  AgentUpdated: ['🤖', C.slate],
  ChatMessage: ['🗨️', C.pink],
  // Steering (category "control"): the thread of an ADW and its questions.
  ThreadMessage: ['✉️', C.teal],
  ThreadMessageUpdated: ['✉️', C.slate],
  QuestionAsked: ['❓', C.pink],
  QuestionAnswered: ['✔', C.pink],
  QuestionClosed: ['✖', C.slate],
};

/** Event types that carry steering state: {message} or {question} payloads. */
export const THREAD_TYPES = new Set(['ThreadMessage', 'ThreadMessageUpdated']);
export const QUESTION_TYPES = new Set(['QuestionAsked', 'QuestionAnswered', 'QuestionClosed']);

/**
 * Event types the page listens for on the live stream (EventSource needs one
 * listener per name). Types outside this list still reach the page: see the
 * gap repair in app.js.
 */
export const EVENT_TYPES = Object.keys(BY_TYPE);

/** Filter group of the ADWS view (original §2e mapping), or null = always shown. */
export function filterGroup(ev) {
  const t = ev.type || '';
  if (t === 'TextBlock' || t === 'text' || t === 'Result' || t === 'result') return 'response';
  if (t === 'ToolUseBlock' || t === 'ToolResultBlock') return 'tool';
  if (t === 'ThinkingBlock') return 'thinking';
  if (t === 'PreToolUse' || t === 'PostToolUse' || ev.category === 'hook') return 'hook';
  if (t === 'StepStart' || t === 'StepEnd' || t === 'Stop' || t.startsWith('System')
      || ev.category === 'system' || ev.category === 'control' || ev.category === 'adw_step') return 'system';
  return null;
}

export const ADW_FILTERS = [
  { key: 'response', icon: '💬', label: 'Response' },
  { key: 'tool', icon: '🛠️', label: 'Tool' },
  { key: 'thinking', icon: '🧠', label: 'Thinking' },
  { key: 'hook', icon: '🪝', label: 'Hook' },
  { key: 'system', icon: '⚙️', label: 'System' },
];

/** Icon and colour of an event square. */
export function eventStyle(ev) {
  const t = ev.type || '';
  if (BY_TYPE[t]) return { icon: BY_TYPE[t][0], color: BY_TYPE[t][1] };
  if (t.startsWith('System') || ev.category === 'system') return { icon: '⚙️', color: C.slate };
  return { icon: '📋', color: C.slate };
}

/** Category badges for the LOGS view. */
export const CATEGORIES = [
  { key: 'response', icon: '💬', label: 'RESPONSE', color: C.blue },
  { key: 'hook', icon: '🪝', label: 'HOOK', color: C.amber },
  { key: 'adw_step', icon: '▶', label: 'STEP', color: C.cyan },
  { key: 'system', icon: '⚙️', label: 'SYSTEM', color: C.slate },
  { key: 'control', icon: '🎛️', label: 'CONTROL', color: C.teal },
  { key: 'chat', icon: '🗨️', label: 'CHAT', color: C.pink },
  { key: 'file_tracking', icon: '📁', label: 'FILES', color: C.purple },
];
const CAT_BY_KEY = Object.fromEntries(CATEGORIES.map((c) => [c.key, c]));

/** Badge for an event's category; the response category is refined by type. */
export function categoryBadge(ev) {
  const t = ev.type || '';
  if (ev.category === 'response') {
    if (t === 'ToolUseBlock' || t === 'ToolResultBlock') return { icon: '🛠️', label: 'TOOL', color: C.yellow };
    if (t === 'ThinkingBlock') return { icon: '🧠', label: 'THINKING', color: C.purple };
  }
  return CAT_BY_KEY[ev.category] || { icon: '📋', label: String(ev.category || 'OTHER').toUpperCase(), color: C.slate };
}

/** Key of the lane an event belongs to. */
export const laneKey = (ev) => (ev.step ? String(ev.step) : '_workflow');

/** One-line description used in tooltips and rows. */
export const eventLine = (ev) => ev.summary || (ev.content ? String(ev.content).split('\n', 1)[0].slice(0, 200) : '') || `${ev.type} event`;
