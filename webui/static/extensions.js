// extensions.js: the extension list (search, paging by the API's cursor)
// and the create/edit form with SIP credentials and a phone set-up sheet.
import { api, query } from './api.js';
import { h, field, collect, showErrors, clearErrors, notice, pager, page } from './dom.js';
import { destPicker, loadTargets } from './dest-picker.js';

const PAGE_SIZE = 25;
const list = { q: '', cursor: '', next: '', stack: [] }; // kept while the console is open
let flash = null; // a message for the next page ("Extension 101 deleted")

export function takeFlash() { const f = flash; flash = null; return f; }

export async function extensionsPage() {
  const search = h('input', { id: 'ext-search', type: 'search', name: 'q', value: list.q,
    placeholder: 'Number, name or email', 'aria-describedby': 'ext-search-help' });
  const form = h('form', { class: 'search', role: 'search' },
    h('label', { for: 'ext-search' }, 'Search extensions'), search,
    h('button', { type: 'submit', class: 'secondary' }, 'Search'),
    h('p', { class: 'help', id: 'ext-search-help' }, 'Numbers match from the start; names and emails anywhere.'));
  const results = h('div', { id: 'ext-results', 'aria-live': 'polite' });
  const f = takeFlash();
  page('Extensions',
    f && notice(f),
    h('p', {}, h('a', { class: 'button', href: '#/extensions/new' }, 'New extension')),
    form, results);

  let timer = null;
  const reload = async () => {
    results.setAttribute('aria-busy', 'true');
    try {
      const data = await api('GET', '/extensions' + query({ limit: PAGE_SIZE, q: list.q, cursor: list.cursor }));
      list.next = data.next_cursor;
      results.replaceChildren(renderList(data.items), (list.stack.length || list.next) ? pager(list, reload) : '');
    } catch (e) {
      results.replaceChildren(notice(e.message, 'bad'));
    } finally {
      results.removeAttribute('aria-busy');
    }
  };
  const searchNow = () => {
    clearTimeout(timer);
    list.q = search.value.trim();
    list.cursor = '';
    list.stack = [];
    reload();
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); searchNow(); });
  search.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(searchNow, 300); });
  await reload();
}

function renderList(items) {
  if (items.length === 0) {
    return h('p', { class: 'empty' }, list.q
      ? `No extension matches “${list.q}”.`
      : 'No extensions yet. Create the first one to connect a phone.');
  }
  return h('div', { class: 'table-wrap' }, h('table', { id: 'ext-table' },
    h('caption', { class: 'sr-only' }, 'Extensions'),
    h('thead', {}, h('tr', {}, ['Number', 'Name', 'Email', 'Outbound', 'Voicemail', 'DND'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, items.map((e) => h('tr', { 'data-number': e.number },
      h('td', {}, h('a', { href: '#/extensions/' + encodeURIComponent(e.number) }, e.number)),
      h('td', {}, e.name || '—'), h('td', { class: 'wrap' }, e.email || '—'), h('td', {}, e.outbound),
      h('td', {}, e.voicemail.enabled ? 'on' : 'off'), h('td', {}, e.dnd ? 'on' : 'off'))))));
}

const DEST_HELP = 'Empty for none, or a destination: extension:102, voicemail:101, number:0123456789, hangup.';

/** extensionFields are the inputs of the extension resource, shared with
 *  nothing else: every field the API has. */
function extensionFields(e, isNew, operator) {
  const algs = e.auth_algorithms || ['MD5'];
  const vm = e.voicemail || {};
  return [
    h('fieldset', {}, h('legend', {}, 'Extension'),
      field('number', { label: 'Number', value: e.number, help: isNew ? '2 to 10 digits; cannot be changed later.' : 'Numbers cannot be changed.',
        attrs: { inputmode: 'numeric', autocomplete: 'off', required: true, readonly: !isNew } }),
      field('name', { label: 'Name', value: e.name, attrs: { autocomplete: 'off' } }),
      field('email', { label: 'Email', type: 'email', value: e.email, attrs: { autocomplete: 'off' } }),
      field('ring_seconds', { label: 'Ring time (seconds)', type: 'number', value: e.ring_seconds ?? 20, attrs: { min: 5, max: 300 } }),
      field('outbound', { label: 'Outbound calls allowed', type: 'select', value: e.outbound || 'internal',
        options: [['internal', 'Internal only'], ['local', 'Local'], ['national', 'National'], ['international', 'International']],
        help: 'Calls through a trunk: local numbers have no prefix, national ones start with 0 or 1, international ones with +, 00 or 011. Emergency numbers always work.' }),
      field('max_calls', { label: 'Most calls at once', type: 'number', value: e.max_calls ?? 0, attrs: { min: 0, max: 1000 },
        help: '0: no limit. Beyond it, calls this extension places are refused and calls to it are busy.' }),
      field('srtp', { label: 'Encrypted media (SRTP)', type: 'select', value: e.srtp || 'optional',
        options: [['optional', 'When the phone uses TLS'], ['required', 'Required'], ['off', 'Off']],
        help: 'Required: calls without SRTP over TLS are refused and only TLS registrations ring.' }),
      field('pickup_group', { label: 'Pickup group', value: e.pickup_group,
        help: 'Empty for the default group every extension shares, or up to 32 of a-z, 0-9, _ and -. Members pick up each other’s ringing calls with *8.',
        attrs: { autocomplete: 'off', maxlength: 32 } }),
      h('div', { class: 'field', 'data-field': 'auth_algorithms' },
        h('fieldset', { class: 'inline', 'aria-describedby': 'f-auth_algorithms-help f-auth_algorithms-err' },
          h('legend', {}, 'Digest algorithms'),
          ['MD5', 'SHA-256'].map((a) => h('span', { class: 'check' },
            h('input', { type: 'checkbox', id: 'f-alg-' + a, name: 'auth_algorithms[]', value: a, checked: algs.includes(a) }),
            h('label', { for: 'f-alg-' + a }, a)))),
        h('p', { class: 'help', id: 'f-auth_algorithms-help' }, 'MD5 alone suits most phones; some fail when SHA-256 is offered.'),
        h('p', { class: 'error', id: 'f-auth_algorithms-err', hidden: true }))),
    h('fieldset', {}, h('legend', {}, 'Voicemail'),
      field('voicemail.enabled', { label: 'Voicemail box enabled', type: 'checkbox', value: vm.enabled ?? true,
        help: 'Unanswered, busy, do-not-disturb and unregistered calls go to the box.' }),
      field('voicemail.pin', { label: 'Voicemail PIN', value: vm.pin ?? '', help: 'Empty, or 4 to 10 digits.',
        attrs: { inputmode: 'numeric', autocomplete: 'off' } }),
      field('voicemail.skip_pin_own', { label: 'No PIN when calling *97 from this extension', type: 'checkbox', value: vm.skip_pin_own ?? true }),
      field('voicemail.max_seconds', { label: 'Longest message (seconds)', type: 'number', value: vm.max_seconds ?? 120, attrs: { min: 10, max: 600 } }),
      field('voicemail.max_messages', { label: 'Messages the box holds', type: 'number', value: vm.max_messages ?? 100, attrs: { min: 1, max: 1000 } }),
      field('voicemail.delete_after_days', { label: 'Delete messages after (days)', type: 'number', value: vm.delete_after_days ?? 0,
        help: '0 keeps messages until they are deleted.', attrs: { min: 0, max: 3650 } }),
      operator.el,
      field('voicemail.email', { label: 'E-mail new messages to the extension’s email address', type: 'checkbox', value: vm.email ?? false })),
    forwardFields(e),
  ];
}

/** forwardFields are forwarding, DND and call waiting, shared with the
 *  self-service page. */
export function forwardFields(e) {
  const fw = e.forward || {};
  return h('fieldset', {}, h('legend', {}, 'Forwarding'),
    field('forward.always', { label: 'Forward all calls to', value: fw.always, help: DEST_HELP, attrs: { autocomplete: 'off' } }),
    field('forward.busy', { label: 'Forward when busy to', value: fw.busy, attrs: { autocomplete: 'off' } }),
    field('forward.no_answer', { label: 'Forward when not answered to', value: fw.no_answer, attrs: { autocomplete: 'off' } }),
    field('dnd', { label: 'Do not disturb', type: 'checkbox', value: e.dnd }),
    field('call_waiting', { label: 'Call waiting', type: 'checkbox', value: e.call_waiting ?? true,
      help: 'A second call rings while you are on a call. Off: it is busy (and goes to the busy forward, if set).' }));
}

export async function extensionPage(number) {
  const isNew = number === null;
  const [e, targets] = await Promise.all([
    isNew ? Promise.resolve({}) : api('GET', '/extensions/' + encodeURIComponent(number)),
    loadTargets(),
  ]);
  const operator = destPicker('voicemail.operator', { label: 'Key 0 while leaving a message goes to',
    value: (e.voicemail && e.voicemail.operator) || '', targets, none: 'Nowhere (no operator)',
    help: 'An operator or reception, for callers who would rather speak to someone.' });
  const summary = h('p', { class: 'notice bad form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', id: 'ext-form', novalidate: true },
    summary,
    extensionFields(e, isNew, operator),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, isNew ? 'Create extension' : 'Save changes'),
      h('a', { class: 'button secondary', href: '#/extensions' }, 'Back to the list'),
      !isNew && h('a', { class: 'button secondary', href: '#/voicemail/' + encodeURIComponent(number) }, 'Voicemail messages')));
  const status = h('div', { id: 'ext-status' });
  const f = takeFlash();
  if (f) status.append(notice(f));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = collect(form);
    body.voicemail = Object.assign(body.voicemail || {}, { operator: operator.value() });
    try {
      if (isNew) {
        const created = await api('POST', '/extensions', body);
        flash = `Extension ${created.number} created. Its SIP password is in the set-up sheet below.`;
        location.hash = '#/extensions/' + encodeURIComponent(created.number);
      } else {
        delete body.number;
        await api('PUT', '/extensions/' + encodeURIComponent(number), Object.assign(body, { number }));
        status.replaceChildren(notice(`Extension ${number} saved.`));
      }
    } catch (err) {
      showErrors(form, err);
    }
  });

  const content = [status, form];
  if (!isNew) content.push(credentials(e), deleteSection(number));
  page(isNew ? 'New extension' : `Extension ${number}`, ...content);
}

/** credentials shows the SIP secret on demand, regenerates it, and gives the
 *  phone set-up sheet: what to type into a desk phone or softphone. */
function credentials(e) {
  let secret = e.secret;
  let shown = false;
  const secretOut = h('code', { id: 'secret-value' }, '••••••••••');
  const show = h('button', { type: 'button', class: 'secondary', id: 'secret-show', 'aria-controls': 'secret-value', 'aria-pressed': 'false' }, 'Show');
  const regen = h('button', { type: 'button', class: 'secondary', id: 'secret-regen' }, 'Regenerate');
  const status = h('div', { id: 'secret-status' });
  const render = () => {
    secretOut.textContent = shown ? secret : '••••••••••';
    show.textContent = shown ? 'Hide' : 'Show';
    show.setAttribute('aria-pressed', String(shown));
  };
  show.addEventListener('click', () => { shown = !shown; render(); });
  regen.addEventListener('click', async () => {
    try {
      secret = (await api('POST', `/extensions/${encodeURIComponent(e.number)}/secret`)).secret;
      shown = true;
      render();
      status.replaceChildren(notice('New SIP password saved. Phones with the old one stop working at their next registration: update them.'));
    } catch (err) {
      status.replaceChildren(notice(err.message, 'bad'));
    }
  });
  const row = (k, ...v) => [h('dt', {}, k), h('dd', {}, ...v)];
  return h('section', { class: 'card', 'aria-labelledby': 'sheet-h', id: 'setup-sheet' },
    h('h2', { id: 'sheet-h' }, 'Phone set-up sheet'),
    h('p', {}, 'Enter these in the phone’s or softphone’s SIP account settings.'),
    h('dl', { class: 'sheet' },
      row('SIP server', h('code', {}, location.hostname)),
      row('Port', h('code', {}, '5060'), ' (5061 for TLS, if enabled)'),
      row('Transport', 'UDP or TCP'),
      row('Username', h('code', {}, e.number)),
      row('Authentication name', h('code', {}, e.number)),
      row('Password', secretOut, ' ', show, ' ', regen)),
    status);
}

function deleteSection(number) {
  const confirmBox = h('div', { class: 'confirm', id: 'delete-confirm', hidden: true, role: 'group', 'aria-labelledby': 'delete-q' },
    h('p', { id: 'delete-q' }, `Delete extension ${number}? Its phones are unregistered. This cannot be undone.`),
    h('button', { type: 'button', class: 'danger', id: 'delete-yes' }, `Yes, delete ${number}`),
    h('button', { type: 'button', class: 'secondary', id: 'delete-no' }, 'Cancel'));
  const status = h('div', {});
  const start = h('button', { type: 'button', class: 'danger', id: 'delete-start', 'aria-expanded': 'false', 'aria-controls': 'delete-confirm' }, 'Delete extension');
  start.addEventListener('click', () => {
    confirmBox.hidden = false;
    start.setAttribute('aria-expanded', 'true');
    confirmBox.querySelector('#delete-no').focus();
  });
  confirmBox.querySelector('#delete-no').addEventListener('click', () => {
    confirmBox.hidden = true;
    start.setAttribute('aria-expanded', 'false');
    start.focus();
  });
  confirmBox.querySelector('#delete-yes').addEventListener('click', async () => {
    try {
      await api('DELETE', '/extensions/' + encodeURIComponent(number));
      flash = `Extension ${number} deleted.`;
      location.hash = '#/extensions';
    } catch (err) {
      status.replaceChildren(notice(err.message, 'bad'));
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'danger-h' },
    h('h2', { id: 'danger-h' }, 'Delete'), start, confirmBox, status);
}
