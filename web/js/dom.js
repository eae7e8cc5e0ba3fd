// DOM helpers. Data is only ever inserted as text: h() turns every string
// child into a text node and every prop into an attribute or property; there
// is no innerHTML anywhere in this UI.

/**
 * Creates an element. props: class, text, dataset {}, style {} (custom
 * properties allowed), on<event> handlers, anything else → setAttribute.
 * Children: Nodes, strings/numbers (→ text nodes), arrays, null/false (skipped).
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'dataset') { for (const [dk, dv] of Object.entries(v)) if (dv != null) el.dataset[dk] = String(dv); }
      else if (k === 'style') { for (const [sk, sv] of Object.entries(v)) if (sv != null) el.style.setProperty(sk, String(sv)); }
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  appendChildren(el, children);
  return el;
}

export function appendChildren(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Sets an element's text only when it changed (avoids layout churn). */
export function setText(el, text) {
  const t = text == null ? '' : String(text);
  if (el.textContent !== t) el.textContent = t;
}

/** Replaces all children of el with the given children. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  return appendChildren(el, children);
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/** Stable 32-bit string hash (FNV-1a). */
export function hashString(s) {
  let x = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { x ^= s.charCodeAt(i); x = Math.imul(x, 0x01000193); }
  return x >>> 0;
}

/** HSL hue (0–359) for a name; used for lane tints and agent borders. */
export const hueOf = (name) => hashString(String(name)) % 360;

/** Is the element scrolled (nearly) to the bottom? */
export const atBottom = (el, slack = 40) => el.scrollHeight - el.scrollTop - el.clientHeight <= slack;
