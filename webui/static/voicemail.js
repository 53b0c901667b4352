// voicemail.js: a voicemail box's messages: play in the page, mark read or
// unread, download, delete. Admins pick any box (#/voicemail/NUMBER); a
// user sees the inbox of their own box on "My extension". The audio
// element fetches the message with the session cookie, as prompts do.
import { api, query } from './api.js';
import { h, notice, pager, page, failure } from './dom.js';

const PAGE_SIZE = 25;

/** duration shows seconds as "3.2 s" or "1:05". */
function duration(s) {
  if (s < 60) return `${Math.round(s * 10) / 10} s`;
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s - m * 60)).padStart(2, '0')}`;
}

function base(box) {
  return '/voicemail/' + encodeURIComponent(box) + '/messages';
}

/** voicemailPage is the admins' page: a box picker and the box's inbox. */
export async function voicemailPage(box) {
  let exts = [];
  try {
    let cursor = '';
    do {
      const d = await api('GET', '/extensions' + query({ limit: 500, cursor }));
      exts.push(...d.items);
      cursor = d.next_cursor;
    } while (cursor);
  } catch (err) {
    failure('Voicemail', err);
    return;
  }
  const pick = h('select', { id: 'vm-box' },
    h('option', { value: '' }, 'Choose a box…'),
    exts.map((e) => h('option', { value: e.number, selected: e.number === box },
      e.name ? `${e.number} — ${e.name}` : e.number)));
  pick.addEventListener('change', () => {
    if (pick.value) location.hash = '#/voicemail/' + encodeURIComponent(pick.value);
  });
  const content = [
    h('div', { class: 'card' }, h('div', { class: 'field' }, h('label', { for: 'vm-box' }, 'Voicemail box'), pick)),
  ];
  if (box) content.push(inbox(box));
  else content.push(h('p', { class: 'empty' }, 'Choose a box to see its messages.'));
  page(box ? `Voicemail ${box}` : 'Voicemail', ...content);
}

/** inbox is the message list of box with its own status line and pager;
 *  it loads itself. */
export function inbox(box) {
  const state = { cursor: '', next: '', stack: [] };
  const status = h('div', { id: 'vm-status' });
  const results = h('div', { id: 'vm-results', 'aria-live': 'polite' });
  const reload = async () => {
    results.setAttribute('aria-busy', 'true');
    try {
      const d = await api('GET', base(box) + query({ limit: PAGE_SIZE, cursor: state.cursor }));
      if (d.items.length === 0 && state.stack.length > 0) { // the page emptied: back one
        state.cursor = state.stack.pop();
        return reload();
      }
      state.next = d.next_cursor;
      results.replaceChildren(renderList(box, d.items, status, reload),
        (state.next || state.stack.length) ? pager(state, reload) : '');
    } catch (err) {
      results.replaceChildren(notice(err.message, 'bad'));
    } finally {
      results.removeAttribute('aria-busy');
    }
  };
  reload();
  return h('section', { class: 'voicemail', id: 'vm-inbox', 'aria-labelledby': 'vm-h' },
    h('h2', { id: 'vm-h' }, `Messages in box ${box}`), status, results);
}

function renderList(box, items, status, reload) {
  if (items.length === 0) return h('p', { class: 'empty', id: 'vm-empty' }, 'No messages.');
  return h('div', { class: 'table-wrap' }, h('table', { id: 'vm-table' },
    h('caption', { class: 'sr-only' }, `Voicemail messages in box ${box}`),
    h('thead', {}, h('tr', {}, ['Received', 'From', 'Length', 'Listen', 'Status', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, items.map((m) => row(box, m, status, reload)))));
}

function row(box, m, status, reload) {
  const url = '/api/v1' + base(box) + '/' + m.id + '/audio';
  const from = m.caller_name ? `${m.caller_name} (${m.caller || 'unknown'})` : (m.caller || 'Unknown caller');
  const when = new Date(m.received_at).toLocaleString();
  const state = h('td', { class: 'vm-state' }, m.read ? 'Old' : h('strong', {}, 'New'));
  const audio = h('audio', { controls: true, preload: 'metadata', src: url, 'aria-label': `Play the message from ${from}, ${when}` });
  const toggle = h('button', { type: 'button', class: 'secondary vm-toggle' }, m.read ? 'Mark unread' : 'Mark read');
  const setRead = async (read) => {
    try {
      m = await api('PATCH', base(box) + '/' + m.id, { read });
      state.replaceChildren(m.read ? 'Old' : h('strong', {}, 'New'));
      toggle.textContent = m.read ? 'Mark unread' : 'Mark read';
    } catch (err) {
      status.replaceChildren(notice(err.message, 'bad'));
    }
  };
  toggle.addEventListener('click', () => setRead(!m.read));
  // Listening makes a message old, as on the phone.
  audio.addEventListener('play', () => { if (!m.read) setRead(true); });
  const download = h('a', { class: 'button secondary vm-download', href: url + '?download=1',
    download: `voicemail-${box}-${m.id}.wav` }, 'Download');
  return h('tr', { 'data-id': String(m.id) },
    h('td', {}, when),
    h('td', {}, from),
    h('td', {}, duration(m.duration_s)),
    h('td', {}, audio),
    state,
    h('td', {}, h('div', { class: 'actions' }, toggle, download, deleteButton(box, m, from, status, reload))));
}

/** deleteButton asks once more in place before deleting. */
function deleteButton(box, m, from, status, reload) {
  const wrap = h('div', { class: 'actions' });
  const start = h('button', { type: 'button', class: 'danger delete', 'aria-expanded': 'false' }, 'Delete');
  const yes = h('button', { type: 'button', class: 'danger confirm-yes' }, 'Yes, delete it');
  const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const ask = h('div', { class: 'confirm', hidden: true, role: 'group' }, h('p', {}, `Delete the message from ${from}? This cannot be undone.`), yes, no);
  start.addEventListener('click', () => { ask.hidden = false; start.setAttribute('aria-expanded', 'true'); no.focus(); });
  no.addEventListener('click', () => { ask.hidden = true; start.setAttribute('aria-expanded', 'false'); start.focus(); });
  yes.addEventListener('click', async () => {
    try {
      await api('DELETE', base(box) + '/' + m.id);
      await reload();
      status.replaceChildren(notice(`Deleted the message from ${from}.`));
    } catch (err) {
      status.replaceChildren(notice(err.message, 'bad'));
    }
  });
  wrap.append(start, ask);
  return wrap;
}
