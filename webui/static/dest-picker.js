// dest-picker.js: a destination picker, reused wherever a form names where
// calls go (IVR options and timeouts, ring-group failover). A kind select
// (extension, voicemail, ring group, IVR menu, conference, number, hang
// up) and, for kinds that need one, a number chosen from the API's lists
// or typed. It produces the API's destination string ("extension:101").
import { api, query } from './api.js';
import { h } from './dom.js';

const KINDS = [
  ['extension', 'Extension'],
  ['voicemail', 'Voicemail box'],
  ['ringgroup', 'Ring group'],
  ['ivr', 'IVR menu'],
  ['conference', 'Conference room'],
  ['number', 'Number (through the dial plan)'],
  ['hangup', 'Hang up'],
];

// Kinds whose number is typed rather than picked: conference rooms have
// no list in the API yet, number: is any dial string.
const TYPED = new Set(['conference', 'number']);

const SELF = '@self';

/** loadTargets reads what a picker offers: {extension, ringgroup, ivr},
 *  each a list of {number, name}, every page of each. */
export async function loadTargets() {
  const all = async (path) => {
    const out = [];
    let cursor = '';
    do {
      const data = await api('GET', path + query({ limit: 500, cursor }));
      out.push(...data.items.map((x) => ({ number: x.number, name: x.name })));
      cursor = data.next_cursor;
    } while (cursor);
    return out;
  };
  const [extension, ringgroup, ivr] = await Promise.all([all('/extensions'), all('/ringgroups'), all('/ivrs')]);
  return { extension, voicemail: extension, ringgroup, ivr };
}

/** parse splits a destination string into {kind, rest}. */
function parse(dest) {
  if (!dest) return { kind: '', rest: '' };
  if (dest === 'hangup') return { kind: 'hangup', rest: '' };
  const i = dest.indexOf(':');
  return i < 0 ? { kind: dest, rest: '' } : { kind: dest.slice(0, i), rest: dest.slice(i + 1) };
}

/** destPicker builds a labelled picker for the API field name. opts:
 *  label, value (a destination string), targets (from loadTargets), id
 *  (the element id of the kind select; default from name), help, none
 *  (the text of an empty choice, e.g. "No option"; absent: a destination
 *  is required), self ({kind, number: () => string, text}: the object
 *  being edited, offered as a choice of its own kind, e.g. "This menu
 *  (repeat)"). Returns {el, value()}; el has data-field=name so the API's
 *  error lands beside it. */
export function destPicker(name, opts) {
  const id = opts.id || 'f-' + name.replace(/[^a-z0-9]+/gi, '-');
  const errId = id + '-err';
  const helpId = opts.help ? id + '-help' : null;
  const describedBy = [helpId, errId].filter(Boolean).join(' ');
  const cur = parse(opts.value || '');
  const self = opts.self;
  const selfNumber = () => (self ? self.number() : '');

  const kinds = KINDS.slice();
  if (cur.kind && !kinds.some(([k]) => k === cur.kind)) kinds.push([cur.kind, cur.kind]); // e.g. trunk:, kept as typed
  const kind = h('select', { id, 'aria-describedby': describedBy, 'data-role': 'kind' },
    opts.none !== undefined && h('option', { value: '' }, opts.none),
    kinds.map(([v, t]) => h('option', { value: v, selected: v === cur.kind }, t)));
  const target = h('select', { id: id + '-target', 'aria-label': opts.label + ': which', 'data-role': 'target' });
  const typed = h('input', { id: id + '-typed', 'aria-label': opts.label + ': number', autocomplete: 'off',
    inputmode: 'tel', 'data-role': 'typed', value: '' });

  const fillTargets = (k, want) => {
    const list = (opts.targets && opts.targets[k]) || [];
    const choices = [];
    if (self && self.kind === k) choices.push([SELF, self.text]);
    for (const t of list) {
      if (self && self.kind === k && t.number === selfNumber()) continue;
      choices.push([t.number, t.name ? `${t.number} — ${t.name}` : t.number]);
    }
    let sel = want;
    if (self && self.kind === k && want && want === selfNumber()) sel = SELF;
    if (want && !choices.some(([v]) => v === sel)) choices.push([want, `${want} (not found)`]);
    if (choices.length === 0) choices.push(['', 'None yet']);
    target.replaceChildren(...choices.map(([v, t]) => h('option', { value: v, selected: v === sel }, t)));
  };
  const show = () => {
    const k = kind.value;
    const needsList = k !== '' && k !== 'hangup' && !TYPED.has(k) && KINDS.some(([x]) => x === k);
    target.hidden = !needsList;
    typed.hidden = !(TYPED.has(k) || (k !== '' && k !== 'hangup' && !KINDS.some(([x]) => x === k)));
  };
  if (TYPED.has(cur.kind) || (cur.kind && !KINDS.some(([k]) => k === cur.kind))) typed.value = cur.rest;
  fillTargets(TYPED.has(cur.kind) ? 'extension' : (cur.kind || 'extension'), TYPED.has(cur.kind) ? '' : cur.rest);
  kind.addEventListener('change', () => {
    if (!TYPED.has(kind.value)) fillTargets(kind.value, '');
    show();
    if (!target.hidden) target.focus();
    else if (!typed.hidden) typed.focus();
  });
  show();

  const el = h('div', { class: 'field', 'data-field': name },
    h('label', { for: id }, opts.label),
    h('div', { class: 'picker' }, kind, target, typed),
    helpId && h('p', { class: 'help', id: helpId }, opts.help),
    h('p', { class: 'error', id: errId, hidden: true }));

  const value = () => {
    const k = kind.value;
    if (k === '' || k === 'hangup') return k;
    if (!target.hidden) return k + ':' + (target.value === SELF ? selfNumber() : target.value);
    return k + ':' + typed.value.trim();
  };
  return { el, value };
}
