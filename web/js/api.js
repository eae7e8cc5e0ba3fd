// JSON API client. Every request has a timeout; outcomes are reported to a
// listener so the header's connection indicator can follow them.

const TIMEOUT_MS = 15000;
let listener = () => {};

/** Registers fn(ok: boolean, error?) called after every request. */
export function onRequestOutcome(fn) { listener = fn; }

export class ApiError extends Error {
  constructor(message, status, code) { super(message); this.status = status; this.code = code; }
}

async function request(method, path, body) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: ctl.signal,
      cache: 'no-store',
    });
  } catch (e) {
    clearTimeout(timer);
    const err = new ApiError(e.name === 'AbortError' ? 'request timed out' : 'server unreachable', 0, 'network');
    listener(false, err);
    throw err;
  }
  let json = null;
  try { json = await res.json(); } catch { json = null; } finally { clearTimeout(timer); }
  // The server answered: the connection is fine even when the request was refused,
  // except for 503 (database unavailable) which means the service is down.
  listener(res.status !== 503 && (res.ok || json !== null), null);
  if (!res.ok) {
    const e = json && json.error;
    throw new ApiError(e && e.message ? e.message : `HTTP ${res.status}`, res.status, e && e.code);
  }
  if (json === null) throw new ApiError('invalid JSON from server', res.status, 'bad_json');
  return json;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body);

const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  const str = s.toString();
  return str ? `?${str}` : '';
};

export const api = {
  workflows: () => get('/api/workflows'),
  agents: () => get('/api/agents'),
  adws: (limit = 50, status) => get(`/api/adws${q({ limit, status })}`),
  adw: (id) => get(`/api/adws/${encodeURIComponent(id)}`),
  adwEvents: (id, after = 0, limit = 2000) => get(`/api/adws/${encodeURIComponent(id)}/events${q({ after, limit })}`),
  events: (after = 0, limit = 500) => get(`/api/events${q({ after, limit })}`),
  chat: (limit = 200) => get(`/api/chat${q({ limit })}`),
  sendChat: (message) => post('/api/chat', { message }),
  // Steering (issue 4): the thread of an ADW, control actions, questions.
  messages: (id, after = 0, limit) => get(`/api/adws/${encodeURIComponent(id)}/messages${q({ after, limit })}`),
  postMessage: (id, actionType, content, metadata) => post(`/api/adws/${encodeURIComponent(id)}/messages`,
    metadata ? { action_type: actionType, content, metadata } : { action_type: actionType, content }),
  /** action: pause | resume | cancel; reason optional. */
  control: (id, action, reason) => post(`/api/adws/${encodeURIComponent(id)}/${action}`, reason ? { reason } : {}),
  redirect: (id, prompt) => post(`/api/adws/${encodeURIComponent(id)}/redirect`, { prompt }),
  questions: (status = 'pending') => get(`/api/questions${q({ status })}`),
  question: (id) => get(`/api/questions/${encodeURIComponent(id)}`),
  answer: (id, answer) => post(`/api/questions/${encodeURIComponent(id)}/answer`, { answer }),
};
