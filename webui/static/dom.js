// dom.js: small helpers to build the DOM without innerHTML (no markup
// injection from data) and to show the API's validation messages.
import { ApiError } from './api.js';

/** h creates an element: h('p', {class: 'x'}, 'text', child). Attributes
 *  starting with "on" are event listeners; true/false toggle boolean ones. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** fieldId turns an API field name ("voicemail.pin") into an element id. */
export function fieldId(name) {
  return 'f-' + name.replace(/[^a-z0-9]+/gi, '-');
}

/** field is a labelled input with a slot for its error message. opts:
 *  label, type, value, help, options (for a select: [[value, text]]),
 *  attrs (extra input attributes). */
export function field(name, opts) {
  const id = fieldId(name);
  const errId = id + '-err';
  const helpId = opts.help ? id + '-help' : null;
  const describedBy = [helpId, errId].filter(Boolean).join(' ');
  let input;
  const common = Object.assign({ id, name, 'aria-describedby': describedBy }, opts.attrs || {});
  if (opts.type === 'select') {
    input = h('select', common, opts.options.map(([v, t]) => h('option', { value: v, selected: v === opts.value }, t)));
  } else if (opts.type === 'checkbox') {
    input = h('input', Object.assign(common, { type: 'checkbox', checked: !!opts.value }));
    return h('div', { class: 'field check', 'data-field': name },
      input, h('label', { for: id }, opts.label),
      helpId && h('p', { class: 'help', id: helpId }, opts.help),
      h('p', { class: 'error', id: errId, hidden: true }));
  } else {
    input = h('input', Object.assign(common, { type: opts.type || 'text', value: opts.value ?? '' }));
  }
  return h('div', { class: 'field', 'data-field': name },
    h('label', { for: id }, opts.label),
    input,
    helpId && h('p', { class: 'help', id: helpId }, opts.help),
    h('p', { class: 'error', id: errId, hidden: true }));
}

/** clearErrors removes every field message and the form's summary. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.error')) { el.textContent = ''; el.hidden = true; }
  const s = form.querySelector('.form-error');
  if (s) { s.textContent = ''; s.hidden = true; }
}

/** showErrors puts each of the API's field messages next to its input and
 *  the overall message in the form's summary; focus goes to the first
 *  invalid input so keyboard and screen-reader users land on it. */
export function showErrors(form, err) {
  clearErrors(form);
  let first = null;
  const unplaced = [];
  for (const [name, msg] of Object.entries(err.fields || {})) {
    const wrap = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (!wrap) { unplaced.push(`${name}: ${msg}`); continue; }
    const e = wrap.querySelector('.error');
    e.textContent = msg;
    e.hidden = false;
    for (const input of wrap.querySelectorAll('input, select')) input.setAttribute('aria-invalid', 'true');
    first = first || wrap.querySelector('input, select');
  }
  const s = form.querySelector('.form-error');
  if (s) {
    s.textContent = [err.message, ...unplaced].join(' — ');
    s.hidden = false;
  }
  if (first) first.focus();
}

/** collect reads a form's named inputs into a nested object:
 *  "voicemail.pin" becomes {voicemail: {pin}}. Checkbox groups named
 *  "x[]" become arrays of the checked values. */
export function collect(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.dataset.skip) continue;
    let name = el.name;
    let v;
    if (name.endsWith('[]')) {
      name = name.slice(0, -2);
      const arr = getPath(out, name) || [];
      if (el.checked) arr.push(el.value);
      setPath(out, name, arr);
      continue;
    }
    if (el.type === 'checkbox') v = el.checked;
    else if (el.type === 'number') v = el.value === '' ? null : Number(el.value);
    else v = el.value;
    setPath(out, name, v);
  }
  return out;
}

function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o ? o[k] : undefined), obj);
}

function setPath(obj, path, v) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] = o[k] || {};
  o[keys[keys.length - 1]] = v;
}

/** notice is a status line (polite live region) for a page. */
export function notice(text, kind) {
  return h('p', { class: 'notice ' + (kind || 'ok'), role: kind === 'bad' ? 'alert' : 'status' }, text);
}

/** pager renders Previous/Next for a cursor-paged list. */
export function pager(state, reload) {
  const prev = h('button', { type: 'button', class: 'secondary', disabled: state.stack.length === 0,
    onclick: () => { state.cursor = state.stack.pop() || ''; reload(); } }, '← Previous');
  const next = h('button', { type: 'button', class: 'secondary', disabled: !state.next,
    onclick: () => { state.stack.push(state.cursor); state.cursor = state.next; reload(); } }, 'Next →');
  return h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, h('span', { class: 'muted' }, `Page ${state.stack.length + 1}`), next);
}

/** page replaces the main area with a titled page and focuses its heading,
 *  so keyboard and screen-reader users start at the top of the new page. */
export function page(title, ...content) {
  document.title = title + ' · PBX';
  const heading = h('h1', { tabindex: '-1' }, title);
  document.getElementById('main').replaceChildren(heading, ...content);
  heading.focus();
  return document.getElementById('main');
}

/** failure shows an error state for a page that could not load. */
export function failure(title, err) {
  const msg = err instanceof ApiError && err.status === 403
    ? 'This page is for administrators only. Ask an administrator if you need access.'
    : err.message;
  page(title, notice(msg, 'bad'));
}

