// trunks.js: SIP trunks (admin only): the list with live registration
// status (refreshed every 5 s while shown) and the create/edit form; a
// delete is refused while the dial plan or a destination uses the trunk.
import { api } from './api.js';
import { h, field, collect, notice, page, clearErrors, showErrors } from './dom.js';
import { deleteSection } from './delete.js';

const TRANSPORTS = [['udp', 'UDP'], ['tcp', 'TCP'], ['tls', 'TLS']];

function statusText(s) {
  if (!s) return '—';
  if (s.state === 'registered') return 'registered' + (s.expires_at ? ` (until ${new Date(s.expires_at).toLocaleTimeString()})` : '');
  if (s.state === 'failed') return `failed: ${s.last_error || ''}` + (s.next_retry ? `; retry at ${new Date(s.next_retry).toLocaleTimeString()}` : '');
  return 'unregistered';
}

export async function trunksPage() {
  const results = h('div', { id: 'trunk-results' });
  const load = async () => {
    const out = await api('GET', '/trunks');
    if (out.items.length === 0) {
      results.replaceChildren(h('p', { class: 'empty' }, 'No trunks yet.'));
      return;
    }
    results.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { id: 'trunk-table' },
      h('caption', { class: 'sr-only' }, 'Trunks'),
      h('thead', {}, h('tr', {}, ['Name', 'Host', 'Registers', 'Inbound context', 'Status'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, out.items.map((t) => h('tr', { 'data-name': t.name },
        h('td', {}, h('a', { href: '#/trunks/' + encodeURIComponent(t.name) }, t.name)),
        h('td', {}, `${t.host}:${t.port}/${t.transport}`),
        h('td', {}, t.register ? 'yes' : 'no (by address)'),
        h('td', {}, t.context),
        h('td', { class: 'trunk-status', 'data-state': t.status.state }, statusText(t.status))))))));
  };
  await load();
  page('Trunks',
    h('p', {}, 'Trunks connect the PBX to the phone company. Calls leave through them when the dial plan dials trunk:NAME:NUMBER.'),
    h('p', {}, h('a', { class: 'button', href: '#/trunks/new' }, 'New trunk')),
    results);
  const timer = setInterval(() => {
    if (!document.body.contains(results)) { clearInterval(timer); return; }
    load().catch(() => {});
  }, 5000);
}

export async function trunkPage(name) {
  const isNew = name === null;
  const t = isNew ? { port: 5060, transport: 'udp', expires: 300, context: 'from-trunk', match: [] }
    : await api('GET', '/trunks/' + encodeURIComponent(name));
  const form = h('form', { class: 'card', id: 'trunk-form', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'Provider'),
      field('name', { label: 'Name', value: t.name, help: isNew ? 'Used in destinations, e.g. trunk:pstn:${number}; cannot be changed later.' : 'Names cannot be changed.',
        attrs: { autocomplete: 'off', required: true, readonly: !isNew } }),
      field('host', { label: 'Host', value: t.host, attrs: { autocomplete: 'off', required: true } }),
      field('port', { label: 'Port', type: 'number', value: t.port, attrs: { min: 1, max: 65535 } }),
      field('transport', { label: 'Transport', type: 'select', value: t.transport, options: TRANSPORTS })),
    h('fieldset', {}, h('legend', {}, 'Credentials and registration'),
      field('username', { label: 'Username', value: t.username, attrs: { autocomplete: 'off' } }),
      field('secret', { label: 'Password', type: 'password', value: '',
        help: t.has_secret ? 'Leave empty to keep the stored password.' : '', attrs: { autocomplete: 'new-password' } }),
      field('register', { label: 'Register to the provider', type: 'select', value: t.register ? 'yes' : 'no',
        options: [['yes', 'Yes'], ['no', 'No: trusted by source address']] }),
      field('expires', { label: 'Registration expiry (seconds)', type: 'number', value: t.expires, attrs: { min: 5, max: 86400 } })),
    h('fieldset', {}, h('legend', {}, 'Calls'),
      field('from_user', { label: 'Caller ID number for outbound calls', value: t.from_user, help: 'Sent in From and P-Asserted-Identity unless the dial-plan rule sets callerid number. Empty: the caller’s extension number.' }),
      field('context', { label: 'Dial-plan context for inbound calls', value: t.context }),
      field('match', { label: 'Source addresses (comma-separated IP, IP:PORT or CIDR)', value: (t.match || []).join(', ') })),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, isNew ? 'Create trunk' : 'Save changes'),
      h('a', { class: 'button secondary', href: '#/trunks' }, 'Back to the list')));
  const status = h('div', { id: 'trunk-status' });
  if (!isNew) status.append(h('p', { id: 'trunk-live', 'data-state': t.status.state }, 'Status: ' + statusText(t.status)));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const p = collect(form);
    const body = {
      name: isNew ? p.name : name, host: p.host, port: Number(p.port), transport: p.transport, username: p.username,
      register: p.register === 'yes', expires: Number(p.expires), from_user: p.from_user, context: p.context,
      match: String(p.match || '').split(',').map((s) => s.trim()).filter((s) => s),
    };
    if (p.secret) body.secret = p.secret;
    try {
      if (isNew) {
        const created = await api('POST', '/trunks', body);
        location.hash = '#/trunks/' + encodeURIComponent(created.name);
      } else {
        await api('PUT', '/trunks/' + encodeURIComponent(name), body);
        status.replaceChildren(notice(`Trunk ${name} saved.`));
      }
    } catch (err) {
      showErrors(form, err);
    }
  });
  const content = [status, form];
  if (!isNew) {
    content.push(deleteSection({ what: `trunk ${name}`, path: '/trunks/' + encodeURIComponent(name),
      done: () => { location.hash = '#/trunks'; } }));
  }
  page(isNew ? 'New trunk' : `Trunk ${name}`, ...content);
}
