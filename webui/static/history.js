// history.js: call history (GET /api/v1/cdr) with filters, cursor paging
// and a CSV download of the same selection (GET /api/v1/cdr.csv).
import { api, query } from './api.js';
import { h, field, showErrors, clearErrors, notice, pager, page } from './dom.js';
import { clock } from './dashboard.js';

const PAGE_SIZE = 50;
// Kept while the console is open, for one user: another login starts afresh.
let state = null;

function fresh(me) {
  return { owner: me.username, number: '', from: '', to: '', cursor: '', next: '', stack: [] };
}

/** dayStart is local midnight of a YYYY-MM-DD date, plus days, as the
 *  RFC 3339 UTC time the API takes: the office's day, not UTC's. */
function dayStart(date, days) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(y, m - 1, d + days).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** filters are the API query parameters of the current selection; the
 *  "to" date is inclusive, so the range ends at the next day's start. */
function filters() {
  return {
    number: state.number,
    from: state.from ? dayStart(state.from, 0) : '',
    to: state.to ? dayStart(state.to, 1) : '',
  };
}

export async function historyPage(me) {
  const admin = me.role === 'admin';
  if (!state || state.owner !== me.username) state = fresh(me);
  if (!admin && !me.extension) {
    page('Call history', h('p', { class: 'empty' }, 'No extension is assigned to you, so you have no call history. Ask an administrator to link one to your user.'));
    return;
  }

  const summary = h('p', { class: 'notice bad form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card filters', id: 'cdr-form', role: 'search', 'aria-label': 'Filter calls', novalidate: true },
    summary,
    h('div', { class: 'filter-fields' },
      admin
        ? field('number', { label: 'Number', value: state.number, help: 'Caller or callee, exactly.',
          attrs: { inputmode: 'tel', autocomplete: 'off', placeholder: 'e.g. 101' } })
        : h('p', { class: 'help' }, `Calls from and to your extension ${me.extension}.`),
      field('from', { label: 'From date', type: 'date', value: state.from }),
      field('to', { label: 'To date', type: 'date', value: state.to, help: 'Inclusive.' })),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, 'Show calls'),
      h('button', { type: 'reset', class: 'secondary' }, 'Clear filters')));
  const csv = h('a', { class: 'button secondary', id: 'cdr-csv', download: 'cdr.csv' }, 'Download CSV');
  const results = h('div', { id: 'cdr-results', 'aria-live': 'polite' });
  page('Call history', form, h('p', { class: 'actions' }, csv), results);

  const reload = async () => {
    csv.href = '/api/v1/cdr.csv' + query(filters());
    results.setAttribute('aria-busy', 'true');
    try {
      const data = await api('GET', '/cdr' + query(Object.assign(filters(), { limit: PAGE_SIZE, cursor: state.cursor })));
      state.next = data.next_cursor;
      clearErrors(form);
      results.replaceChildren(renderTable(data.items), (state.stack.length || state.next) ? pager(state, reload) : '');
    } catch (err) {
      if (err.status === 400 || err.status === 422) showErrors(form, err);
      results.replaceChildren(notice(`The call history could not be loaded: ${err.message}`, 'bad'));
    } finally {
      results.removeAttribute('aria-busy');
    }
  };
  const apply = () => {
    const v = (name) => { const el = form.elements[name]; return el ? el.value.trim() : ''; };
    Object.assign(state, { number: v('number'), from: v('from'), to: v('to'), cursor: '', next: '', stack: [] });
    reload();
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); apply(); });
  // After the reset has cleared the inputs.
  form.addEventListener('reset', () => setTimeout(apply, 0));
  await reload();
}

function renderTable(items) {
  const filtered = state.number || state.from || state.to;
  if (items.length === 0) {
    return h('p', { class: 'empty', id: 'cdr-empty' }, filtered
      ? 'No calls match these filters.'
      : 'No calls yet. Finished calls appear here.');
  }
  return h('div', { class: 'table-wrap' }, h('table', { id: 'cdr-table' },
    h('caption', { class: 'sr-only' }, 'Call history, newest first'),
    h('thead', {}, h('tr', {}, ['Started', 'Caller', 'Callee', 'Disposition', 'Duration', 'Billed', 'Cause']
      .map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, items.map((c) => h('tr', { 'data-id': c.id, 'data-disposition': c.disposition },
      h('td', {}, h('time', { datetime: c.started_at }, new Date(c.started_at).toLocaleString())),
      h('td', {}, c.caller_name ? `${c.caller} (${c.caller_name})` : c.caller),
      h('td', {}, c.callee),
      h('td', {}, h('span', { class: 'tag ' + c.disposition }, c.disposition.replace('_', ' '))),
      h('td', { class: 'num' }, clock(c.duration_s)),
      h('td', { class: 'num' }, clock(c.billsec)),
      h('td', { class: 'wrap' }, c.hangup_cause || '—'))))));
}
