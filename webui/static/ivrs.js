// ivrs.js: IVR menus (auto attendants, admin only): the list and the
// create/edit form: greeting, one destination per key, what happens on no
// input or a wrong key, and delete (refused while something sends calls
// to the menu).
import { api, query } from './api.js';
import { h, field, collect, notice } from './dom.js';
import { destPicker, loadTargets } from './dest-picker.js';
import { listPage, formPage, takeFlash } from './entity.js';

const KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];
const KEY_IDS = { '*': 'star', '#': 'hash' };
const list = { cursor: '', next: '', stack: [] };

export async function ivrsPage() {
  await listPage({
    title: 'IVR menus',
    intro: 'A menu answers a call, plays its greeting and sends the caller where the key they press says. Dial its number to reach it.',
    newHref: '#/ivrs/new', newLabel: 'New IVR menu', resultsId: 'ivr-results', path: '/ivrs', list, render: renderList,
  });
}

function renderList(items) {
  if (items.length === 0) return h('p', { class: 'empty' }, 'No IVR menus yet.');
  return h('div', { class: 'table-wrap' }, h('table', { id: 'ivr-table' },
    h('caption', { class: 'sr-only' }, 'IVR menus'),
    h('thead', {}, h('tr', {}, ['Number', 'Name', 'Greeting', 'Options', 'No input'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, items.map((v) => h('tr', { 'data-number': v.number },
      h('td', {}, h('a', { href: '#/ivrs/' + encodeURIComponent(v.number) }, v.number)),
      h('td', {}, v.name || '—'),
      h('td', {}, v.greeting || 'built-in welcome'),
      h('td', { class: 'wrap' }, KEYS.filter((k) => v.options[k]).map((k) => `${k} → ${v.options[k]}`).join(', ') || '—'),
      h('td', {}, v.on_timeout))))));
}

/** loadPrompts lists every prompt name, uploaded and built in. */
async function loadPrompts() {
  const out = [];
  let cursor = '';
  do {
    const data = await api('GET', '/prompts' + query({ limit: 500, cursor }));
    out.push(...data.items);
    cursor = data.next_cursor;
  } while (cursor);
  return out;
}

/** promptField is a select of the prompts; "" plays the built-in def. */
function promptField(name, label, value, prompts, def, help) {
  const options = [['', `Built-in “${def}”`]];
  for (const p of prompts) options.push([p.name, p.builtin ? `${p.name} (built in)` : p.name]);
  if (value && !prompts.some((p) => p.name === value)) options.push([value, `${value} (not found)`]);
  return field(name, { label, type: 'select', value: value || '', options, help });
}

export async function ivrPage(number) {
  const isNew = number === null;
  const [v, targets, prompts] = await Promise.all([
    isNew ? Promise.resolve({ options: {} }) : api('GET', '/ivrs/' + encodeURIComponent(number)),
    loadTargets(),
    loadPrompts(),
  ]);
  const numberField = field('number', { label: 'Number', value: v.number,
    help: isNew ? '2 to 10 digits, not used by anything else; cannot be changed later.' : 'Numbers cannot be changed.',
    attrs: { inputmode: 'numeric', autocomplete: 'off', required: true, readonly: !isNew } });
  const numberInput = numberField.querySelector('input');
  const self = { kind: 'ivr', number: () => numberInput.value.trim(), text: 'This menu (repeat it)' };
  const pick = (name, label, value, extra) => destPicker(name, Object.assign({ label, value, targets, self }, extra));

  const optionPickers = KEYS.map((k) => [k, pick('options.' + k, `Key ${k}`, v.options[k] || '',
    { id: 'f-opt-' + (KEY_IDS[k] || k), none: 'Nothing (an invalid key)' })]);
  const onTimeout = pick('on_timeout', 'When nobody presses a key', v.on_timeout || 'hangup',
    { help: 'After the greeting has been played the number of retries.' });
  const onInvalid = pick('on_invalid', 'When a wrong key is pressed too often', v.on_invalid || 'hangup');

  const summary = h('p', { class: 'notice bad form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', id: 'ivr-form', novalidate: true },
    summary,
    h('fieldset', {}, h('legend', {}, 'Menu'),
      numberField,
      field('name', { label: 'Name', value: v.name, attrs: { autocomplete: 'off' } }),
      promptField('greeting', 'Greeting', v.greeting, prompts, 'welcome', 'Upload recordings under Prompts.'),
      field('direct_dial', { label: 'Callers may dial an extension number directly', type: 'checkbox', value: v.direct_dial ?? true })),
    h('fieldset', { id: 'ivr-options' }, h('legend', {}, 'Keys'),
      h('p', { class: 'help' }, 'Where each key sends the caller. A key may repeat this menu or open another one.'),
      h('div', { class: 'options-grid' }, optionPickers.map(([, p]) => p.el)),
      h('div', { 'data-field': 'options' }, h('p', { class: 'error', id: 'f-options-err', hidden: true }))),
    h('fieldset', {}, h('legend', {}, 'No input and wrong keys'),
      field('timeout_s', { label: 'Wait for a key (seconds)', type: 'number', value: v.timeout_s ?? 5, attrs: { min: 1, max: 60 } }),
      field('retries', { label: 'Retries', type: 'number', value: v.retries ?? 3, attrs: { min: 0, max: 10 },
        help: 'How often the greeting is played again after no input or a wrong key.' }),
      onTimeout.el,
      onInvalid.el,
      promptField('timeout_prompt', 'Prompt on no input', v.timeout_prompt, prompts, 'no-input'),
      promptField('invalid_prompt', 'Prompt on a wrong key', v.invalid_prompt, prompts, 'invalid-option')),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, isNew ? 'Create IVR menu' : 'Save changes'),
      h('a', { class: 'button secondary', href: '#/ivrs' }, 'Back to the list')));
  const status = h('div', { id: 'ivr-status' });
  const f = takeFlash();
  if (f) status.append(notice(f));

  formPage({
    form, status, isNew, number, path: '/ivrs', route: 'ivrs', noun: 'IVR menu', what: `IVR menu ${number}`,
    newTitle: 'New IVR menu',
    body: () => {
      const plain = collect(form);
      const body = {
        number: isNew ? plain.number : number,
        name: plain.name,
        greeting: plain.greeting,
        options: {},
        timeout_s: plain.timeout_s,
        retries: plain.retries,
        on_timeout: onTimeout.value(),
        on_invalid: onInvalid.value(),
        direct_dial: plain.direct_dial,
        invalid_prompt: plain.invalid_prompt,
        timeout_prompt: plain.timeout_prompt,
      };
      for (const [k, p] of optionPickers) {
        const d = p.value();
        if (d) body.options[k] = d;
      }
      return body;
    },
  });
}
