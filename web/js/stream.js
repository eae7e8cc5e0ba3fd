// The live event stream: GET /api/stream (Server-Sent Events) read with one
// EventSource per tab.
//
// Design:
// - EventSource, for its built-in resume: after a dropped connection it
//   reconnects by itself (after the server's "retry: 2000") and sends
//   Last-Event-ID, and the server resumes exactly after that id.
// - The server names every frame after the event's type ("event: StepStart"),
//   and EventSource only dispatches a named frame to listeners of that name
//   (onmessage sees unnamed frames only; there is no wildcard). So a listener
//   is registered for every type in `types` plus "message". A frame of a type
//   nobody listens to is dropped by the browser; the page repairs that on its
//   side (see app.js: an id that skips ahead makes it read the skipped ids once
//   from /api/events, where nothing is filtered by type).
// - "resync" (the client fell more than the server's ring behind; the server
//   closes the stream): close this EventSource and open a new one with
//   ?after=<last processed id>; Last-Event-ID only exists on automatic
//   reconnects. A burst of resyncs is spaced out so a server that keeps
//   failing is not hammered.
// - Failure: `maxFailures` errors in a row without an open (or one error
//   that leaves the EventSource CLOSED: the server answered, but not with a
//   stream, e.g. 404 from an older server) gives up and calls onFail; the
//   page then polls and calls open() again later as a probe. A probe gives up
//   at its first error; once open it is an ordinary stream.
// - Event types are free text, so a type could be named like a control
//   event ("error", "open", "resync"); such frames carry an event object
//   ({id, type, ...}) and are told apart by their data.

export class LiveStream {
  /**
   * opts.url(after) → stream URL; opts.types: event types to listen for;
   * opts.onEvent(ev) for every event frame (parsed JSON); opts.onOpen();
   * opts.onDown() (an error; EventSource retries by itself);
   * opts.onFail(why) (given up; closed); opts.onResync(info);
   * opts.cursor() → the last processed id (for ?after= on a reopen).
   */
  constructor(opts) {
    this.opts = opts;
    this.maxFailures = opts.maxFailures || 3;
    this.es = null;
    this.isOpen = false;
    this.probe = false;
    this.failures = 0;
    this.opens = 0;
    this.resyncs = 0;
    this.lastResync = 0;
    this.reopenTimer = null;
    this.typeSet = new Set(opts.types);
  }

  /** Does the stream deliver events of this type (is there a listener)? */
  listens(type) {
    return type === 'message' || type === 'error' || type === 'open' || type === 'resync' || this.typeSet.has(type);
  }

  /** A stream is open, connecting, or about to reopen after a resync. */
  get active() { return this.es !== null || this.reopenTimer !== null; }

  /** Opens the stream from `after` (closing any previous one). */
  open(after, { probe = false } = {}) {
    this.close();
    this.connect(after, probe);
  }

  connect(after, probe) {
    this.probe = probe;
    this.failures = 0;
    const es = new EventSource(this.opts.url(after));
    this.es = es;
    const mine = () => this.es === es;
    const onData = (e) => { if (mine()) this.data(e); };
    for (const type of this.opts.types) {
      if (type !== 'error' && type !== 'open' && type !== 'resync') es.addEventListener(type, onData);
    }
    es.addEventListener('message', onData);
    es.addEventListener('resync', (e) => {
      if (!mine()) return;
      const info = parse(e.data);
      if (isEvent(info)) { this.data(e, info); return; }
      this.resync(info);
    });
    es.addEventListener('open', (e) => {
      if (!mine()) return;
      if (e instanceof MessageEvent) { this.data(e); return; }
      this.isOpen = true;
      this.probe = false;
      this.failures = 0;
      this.opens++;
      this.opts.onOpen();
    });
    es.addEventListener('error', (e) => {
      if (!mine()) return;
      if (e instanceof MessageEvent) { this.data(e); return; }
      this.isOpen = false;
      this.failures++;
      if (es.readyState === EventSource.CLOSED) this.fail('refused');
      else if (this.probe) this.fail('unreachable');
      else if (this.failures >= this.maxFailures) this.fail('unreachable');
      else this.opts.onDown();
    });
  }

  data(e, parsed) {
    const ev = parsed || parse(e.data);
    if (isEvent(ev)) this.opts.onEvent(ev);
  }

  resync(info) {
    this.resyncs++;
    const now = Date.now();
    const soon = now - this.lastResync < 5000;
    this.lastResync = now;
    if (this.opts.onResync) this.opts.onResync(info);
    // The server closes the stream: do not let EventSource reconnect on its
    // own, reopen from what this page processed.
    // isOpen stays as it was: no "Reconnecting" flicker for a routine resync.
    this.es.close();
    this.es = null;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = null;
      this.connect(this.opts.cursor(), false);
    }, soon ? 2000 : 0);
  }

  fail(why) {
    this.close();
    this.opts.onFail(why);
  }

  close() {
    if (this.reopenTimer) { clearTimeout(this.reopenTimer); this.reopenTimer = null; }
    if (this.es) { this.es.close(); this.es = null; }
    this.isOpen = false;
  }
}

function parse(s) {
  try { return JSON.parse(s); } catch { return null; }
}

const isEvent = (ev) => !!ev && typeof ev === 'object' && typeof ev.id === 'number' && typeof ev.type === 'string';
