// security.js: SIP abuse protection (admin only): the sources blocked now
// (with Unblock), the allow-list editor, the scanner list and rate limit;
// and the audit log of every change (auditPage).
import { api, query } from './api.js';
import { h, field, showErrors, clearErrors, notice, pager, page, failure } from './dom.js';

const REASONS = { auth_failures: 'repeated authentication failures', scanner: 'scanner user agent' };

export async function securityPage() {
  let allow, settings;
  try {
    [allow, settings] = await Promise.all([api('GET', '/security/allowlist'), api('GET', '/security/settings')]);
  } catch (e) {
    failure('Security', e);
    return;
  }
  const status = h('div', { id: 'security-status', 'aria-live': 'polite' });
  const blocked = h('div', { id: 'blocked-results' });

  const loadBlocked = async () => {
    const out = await api('GET', '/security/blocked');
    if (out.items.length === 0) {
      blocked.replaceChildren(h('p', { class: 'empty' }, 'No source is blocked.'));
      return;
    }
    blocked.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { id: 'blocked-table' },
      h('caption', { class: 'sr-only' }, 'Blocked sources'),
      h('thead', {}, h('tr', {}, ['Source', 'Reason', 'Blocked until', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, out.items.map((b) => h('tr', { 'data-source': b.source },
        h('td', {}, h('code', {}, b.source)),
        h('td', {}, REASONS[b.reason] || b.reason),
        h('td', {}, h('time', { datetime: b.until }, new Date(b.until).toLocaleString())),
        h('td', {}, h('button', { type: 'button', class: 'secondary small unblock', 'aria-label': `Unblock ${b.source}`,
          onclick: () => unblock(b.source) }, 'Unblock'))))))));
  };
  const unblock = async (source) => {
    try {
      await api('DELETE', '/security/blocked/' + encodeURIComponent(source));
      status.replaceChildren(notice(`${source} unblocked.`));
    } catch (err) {
      status.replaceChildren(notice(`${source} could not be unblocked: ${err.message}`, 'bad'));
    }
    await loadBlocked().catch(() => {});
  };
  await loadBlocked();

  page('Security', status,
    h('section', { class: 'card', 'aria-labelledby': 'blocked-h' },
      h('h2', { id: 'blocked-h' }, 'Blocked sources'),
      h('p', {}, 'The PBX drops every SIP packet from these addresses without an answer: they failed to authenticate too often, or announced themselves as a scanner. Blocks end by themselves; unblock a phone that was locked out by mistake.'),
      h('p', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', id: 'blocked-refresh',
        onclick: () => loadBlocked().catch((e) => status.replaceChildren(notice(e.message, 'bad'))) }, 'Refresh')),
      blocked),
    allowListForm(allow.items, status),
    settingsForm(settings, status));
}

/** allowListForm edits the allow-list: one row per network, Add and
 *  Remove, saved as a whole. */
function allowListForm(initial, status) {
  const rows = initial.map((a) => ({ cidr: a.cidr, note: a.note }));
  const list = h('div', { id: 'allow-rows' });
  const summary = h('p', { class: 'notice bad form-error', role: 'alert', hidden: true });
  const render = () => {
    list.replaceChildren(...rows.map((r, i) => h('div', { class: 'allow-row', 'data-row': String(i) },
      entry(`items[${i}].cidr`, `allow-cidr-${i}`, 'Network', r.cidr, (v) => { r.cidr = v; }, 'e.g. 203.0.113.0/24 or 192.0.2.7'),
      entry(`items[${i}].note`, `allow-note-${i}`, 'Note', r.note, (v) => { r.note = v; }, 'e.g. office NAT'),
      h('button', { type: 'button', class: 'secondary small remove', 'aria-label': `Remove ${r.cidr || 'this network'}`,
        onclick: () => { rows.splice(i, 1); render(); } }, 'Remove'))));
    if (rows.length === 0) list.append(h('p', { class: 'empty' }, 'The allow-list is empty: every source can be blocked and rate limited.'));
  };
  render();
  const form = h('form', { class: 'card', id: 'allow-form', novalidate: true, 'aria-labelledby': 'allow-h' },
    h('h2', { id: 'allow-h' }, 'Allow-list'),
    h('p', {}, 'Sources in these networks are never blocked nor rate limited: the office network, the phone company’s servers. Loopback is on it out of the box.'),
    summary, list,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', id: 'allow-add', onclick: () => {
        rows.push({ cidr: '', note: '' });
        render();
        list.querySelector(`#allow-cidr-${rows.length - 1}`).focus();
      } }, 'Add network'),
      h('button', { type: 'submit', id: 'allow-save' }, 'Save allow-list')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    status.replaceChildren();
    try {
      const saved = await api('PUT', '/security/allowlist', { items: rows.map((r) => ({ cidr: r.cidr.trim(), note: r.note.trim() })) });
      rows.splice(0, rows.length, ...saved.items.map((a) => ({ cidr: a.cidr, note: a.note })));
      render();
      status.replaceChildren(notice('Allow-list saved.'));
    } catch (err) {
      showErrors(form, err);
    }
  });
  return form;
}

/** entry is one labelled text input of a list row, with its error slot. */
function entry(name, id, label, value, set, placeholder) {
  const input = h('input', { id, value: value || '', autocomplete: 'off', autocapitalize: 'none', placeholder,
    'aria-describedby': id + '-err' });
  input.addEventListener('input', () => set(input.value));
  return h('div', { class: 'field', 'data-field': name },
    h('label', { for: id }, label), input, h('p', { class: 'error', id: id + '-err', hidden: true }));
}

/** settingsForm edits the scanner list and the per-source rate limit. */
function settingsForm(s, status) {
  const agents = h('textarea', { id: 'f-scanner-user-agents', rows: 6, spellcheck: 'false',
    'aria-describedby': 'f-scanner-user-agents-help f-scanner-user-agents-err' });
  agents.value = s.scanner_user_agents.join('\n');
  const summary = h('p', { class: 'notice bad form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', id: 'scanner-form', novalidate: true, 'aria-labelledby': 'scanner-h' },
    h('h2', { id: 'scanner-h' }, 'Scanners and rate limit'),
    summary,
    h('div', { class: 'field', 'data-field': 'scanner_user_agents' },
      h('label', { for: 'f-scanner-user-agents' }, 'Scanner user agents'),
      agents,
      h('p', { class: 'help', id: 'f-scanner-user-agents-help' }, 'One per line. A request whose User-Agent contains one of these (any case) is dropped unanswered and its source blocked.'),
      h('p', { class: 'error', id: 'f-scanner-user-agents-err', hidden: true })),
    field('rate_per_second', { label: 'Requests a second per source', type: 'number', value: s.rate_per_second,
      help: 'Average SIP packets a second one address may send; the excess is dropped. 0 turns the limit off.', attrs: { min: 0 } }),
    field('rate_burst', { label: 'Burst', type: 'number', value: s.rate_burst,
      help: 'Packets one address may send at once, e.g. when all phones behind one router start together.', attrs: { min: 0 } }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    status.replaceChildren();
    const num = (name) => (form.elements[name].value === '' ? undefined : Number(form.elements[name].value));
    const body = {
      scanner_user_agents: agents.value.split('\n').map((l) => l.trim()).filter((l) => l !== ''),
      rate_per_second: num('rate_per_second'),
      rate_burst: num('rate_burst'),
    };
    try {
      const saved = await api('PUT', '/security/settings', body);
      agents.value = saved.scanner_user_agents.join('\n');
      form.elements.rate_per_second.value = saved.rate_per_second;
      form.elements.rate_burst.value = saved.rate_burst;
      status.replaceChildren(notice('Scanner list and rate limit saved.'));
    } catch (err) {
      // Errors of single lines (scanner_user_agents[2]) belong to the list.
      const fields = {};
      for (const [k, v] of Object.entries(err.fields || {})) {
        const m = k.match(/^scanner_user_agents\[(\d+)\]$/);
        fields[m ? 'scanner_user_agents' : k] = m ? `line ${Number(m[1]) + 1}: ${v}` : v;
      }
      err.fields = fields;
      showErrors(form, err);
    }
  });
  return form;
}

const PAGE_SIZE = 50;
let audit = { username: '', cursor: '', next: '', stack: [] };

/** auditPage is the audit log: every change, newest first, paged, with a
 *  filter by user. */
export async function auditPage() {
  const form = h('form', { class: 'card filters', id: 'audit-form', role: 'search', 'aria-label': 'Filter the audit log', novalidate: true },
    h('p', { class: 'notice bad form-error', role: 'alert', hidden: true }),
    field('username', { label: 'User', value: audit.username, help: 'Only this user’s changes (exact name).',
      attrs: { autocomplete: 'off', autocapitalize: 'none' } }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Show')));
  const results = h('div', { id: 'audit-results', 'aria-live': 'polite' });
  page('Audit log',
    h('p', {}, 'Every change made through the console or the API, and every login attempt: who, what, when, from where, and the answer.'),
    form, results);
  const reload = async () => {
    results.setAttribute('aria-busy', 'true');
    try {
      const data = await api('GET', '/audit' + query({ username: audit.username, limit: PAGE_SIZE, cursor: audit.cursor }));
      audit.next = data.next_cursor;
      clearErrors(form);
      results.replaceChildren(auditTable(data.items), (audit.stack.length || audit.next) ? pager(audit, reload) : '');
    } catch (err) {
      if (err.status === 400) showErrors(form, err);
      results.replaceChildren(notice(`The audit log could not be loaded: ${err.message}`, 'bad'));
    } finally {
      results.removeAttribute('aria-busy');
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    audit = { username: form.elements.username.value.trim(), cursor: '', next: '', stack: [] };
    reload();
  });
  await reload();
}

function auditTable(items) {
  if (items.length === 0) return h('p', { class: 'empty', id: 'audit-empty' }, 'No entries.');
  return h('div', { class: 'table-wrap' }, h('table', { id: 'audit-table' },
    h('caption', { class: 'sr-only' }, 'Audit log, newest first'),
    h('thead', {}, h('tr', {}, ['When', 'User', 'Action', 'Entity', 'From', 'Result'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, items.map((e) => h('tr', { 'data-id': e.id, 'data-status': String(e.status) },
      h('td', {}, h('time', { datetime: e.at }, new Date(e.at).toLocaleString())),
      h('td', {}, e.username || '—'),
      h('td', { class: 'wrap' }, h('code', {}, `${e.method} ${e.path}`)),
      h('td', { class: 'wrap' }, e.entity || '—'),
      h('td', {}, e.remote_ip),
      h('td', {}, h('span', { class: 'tag ' + (e.status < 400 ? 'answered' : 'failed') }, String(e.status))))))));
}
