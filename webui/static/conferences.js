// conferences.js: conference rooms (admin only): the list with who is in
// each room now, the create/edit form (PINs, size, tones, music) and, on
// a room's page, its live participants from the event stream, each with
// Mute/Unmute and Remove.
import { api } from './api.js';
import { h, field, collect, notice } from './dom.js';
import { listPage, formPage, takeFlash } from './entity.js';

const list = { cursor: '', next: '', stack: [] };

export async function conferencesPage() {
  await listPage({
    title: 'Conference rooms',
    intro: 'A conference room is a number callers dial to meet: everyone hears everyone else. In a call, *6 mutes and unmutes yourself; a moderator\'s *7 locks the room and *8 mutes everyone else.',
    newHref: '#/conferences/new', newLabel: 'New conference room', resultsId: 'conf-results', path: '/conferences', list,
    render: renderList,
  });
}

function renderList(items) {
  if (items.length === 0) return h('p', { class: 'empty' }, 'No conference rooms yet.');
  return h('div', { class: 'table-wrap' }, h('table', { id: 'conf-table' },
    h('caption', { class: 'sr-only' }, 'Conference rooms'),
    h('thead', {}, h('tr', {}, ['Number', 'Name', 'PIN', 'Size', 'In the room now'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, items.map((c) => h('tr', { 'data-number': c.number },
      h('td', {}, h('a', { href: '#/conferences/' + encodeURIComponent(c.number) }, c.number)),
      h('td', {}, c.name || '—'),
      h('td', {}, c.pin ? 'yes' : 'no'),
      h('td', { class: 'num' }, String(c.max_participants)),
      h('td', {}, c.participants ? `${c.participants}${c.locked ? ' (locked)' : ''}` : '—'))))));
}

/** conferencePage is a room's form and, for an existing room, its live
 *  participants; it returns the page's teardown (closes the stream). */
export async function conferencePage(number) {
  const isNew = number === null;
  const c = isNew ? { max_participants: 20, announce: true } : await api('GET', '/conferences/' + encodeURIComponent(number));

  const summary = h('p', { class: 'notice bad form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', id: 'conf-form', novalidate: true },
    summary,
    h('fieldset', {}, h('legend', {}, 'Conference room'),
      field('number', { label: 'Number', value: c.number,
        help: isNew ? '2 to 10 digits, not used by anything else; cannot be changed later.' : 'Numbers cannot be changed.',
        attrs: { inputmode: 'numeric', autocomplete: 'off', required: true, readonly: !isNew } }),
      field('name', { label: 'Name', value: c.name, attrs: { autocomplete: 'off' } })),
    h('fieldset', {}, h('legend', {}, 'Who may join'),
      field('pin', { label: 'PIN', value: c.pin, help: 'Digits every caller enters; empty for none.',
        attrs: { inputmode: 'numeric', autocomplete: 'off' } }),
      field('moderator_pin', { label: 'Moderator PIN', value: c.moderator_pin,
        help: 'Entered instead of the PIN, makes the caller a moderator (*7 lock, *8 mute everyone else). Empty for none.',
        attrs: { inputmode: 'numeric', autocomplete: 'off' } }),
      field('max_participants', { label: 'Most callers at once', type: 'number', value: c.max_participants,
        attrs: { min: 2, max: 500 } })),
    h('fieldset', {}, h('legend', {}, 'Sounds'),
      field('announce', { label: 'Tones when callers join and leave; tell the first caller they are alone', type: 'checkbox', value: c.announce }),
      field('music_when_alone', { label: 'Music on hold while one caller is alone', type: 'checkbox', value: c.music_when_alone })),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, isNew ? 'Create conference room' : 'Save changes'),
      h('a', { class: 'button secondary', href: '#/conferences' }, 'Back to the list')));
  const status = h('div', { id: 'conf-status' });
  const f = takeFlash();
  if (f) status.append(notice(f));

  const live = isNew ? null : liveRoom(number);
  formPage({
    form, status, isNew, number, path: '/conferences', route: 'conferences', noun: 'Conference room', what: `conference room ${number}`,
    newTitle: 'New conference room',
    extra: live && live.el,
    body: () => {
      const plain = collect(form);
      return {
        number: isNew ? plain.number : number,
        name: plain.name,
        pin: plain.pin,
        moderator_pin: plain.moderator_pin,
        max_participants: plain.max_participants,
        announce: plain.announce,
        music_when_alone: plain.music_when_alone,
      };
    },
  });
  return live ? live.close : null;
}

/** liveRoom is the room's live participant table, fed by the event
 *  stream's "conferences" events; rows are kept by participant and
 *  updated in place so a focused button keeps focus. */
function liveRoom(number) {
  const status = h('p', { class: 'muted', id: 'room-status', role: 'status' }, 'Connecting…');
  const msg = h('div', { id: 'room-msg' });
  const empty = h('p', { class: 'empty', id: 'room-empty', hidden: true }, 'Nobody is in the room.');
  const body = h('tbody', { id: 'participants' });
  const table = h('div', { class: 'table-wrap', hidden: true }, h('table', {},
    h('caption', { class: 'sr-only' }, 'Participants'),
    h('thead', {}, h('tr', {}, ['Caller', 'Joined', 'Talking', 'Muted', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
    body));
  const rows = new Map(); // participant id -> {tr, cells, mute, p}
  const path = (p) => `/conferences/${encodeURIComponent(number)}/participants/${encodeURIComponent(p.id)}`;
  const who = (p) => (p.caller_name ? `${p.caller_name} (${p.caller})` : p.caller);

  const act = async (r, button, what, fn) => {
    button.disabled = true;
    try {
      await fn();
      msg.replaceChildren(notice(what + '.'));
    } catch (err) {
      msg.replaceChildren(notice(err.status === 404 ? `${who(r.p)} has left the room.` : `Could not ${what.toLowerCase()}: ${err.message}`, 'bad'));
    } finally {
      button.disabled = false;
    }
  };
  const render = (r) => {
    const p = r.p;
    r.cells.caller.textContent = who(p) + (p.moderator ? ' — moderator' : '');
    r.cells.joined.textContent = new Date(p.joined_at).toLocaleTimeString();
    r.cells.talking.textContent = p.talking ? 'talking' : '';
    r.cells.muted.textContent = p.muted ? 'muted' : '';
    r.mute.textContent = p.muted ? 'Unmute' : 'Mute';
    r.mute.setAttribute('aria-label', `${p.muted ? 'Unmute' : 'Mute'} ${who(p)}`);
    r.kick.setAttribute('aria-label', `Remove ${who(p)} from the room`);
    r.tr.dataset.muted = String(p.muted);
    r.tr.dataset.talking = String(p.talking);
  };
  const row = (p) => {
    const cells = { caller: h('td', {}), joined: h('td', {}), talking: h('td', {}), muted: h('td', {}) };
    const mute = h('button', { type: 'button', class: 'secondary small mute' });
    const kick = h('button', { type: 'button', class: 'danger small kick' }, 'Remove');
    const tr = h('tr', { 'data-caller': p.caller }, cells.caller, cells.joined, cells.talking, cells.muted, h('td', {}, mute, ' ', kick));
    const r = { tr, cells, mute, kick, p };
    mute.addEventListener('click', () => {
      const muted = !r.p.muted;
      act(r, mute, `${muted ? 'Muted' : 'Unmuted'} ${who(r.p)}`, () => api('PATCH', path(r.p), { muted }));
    });
    kick.addEventListener('click', () => act(r, kick, `Removed ${who(r.p)}`, () => api('DELETE', path(r.p))));
    return r;
  };
  const update = (room) => {
    const items = room ? room.participants : [];
    const seen = new Set();
    const order = items.map((p) => {
      seen.add(p.id);
      let r = rows.get(p.id);
      if (!r) { r = row(p); rows.set(p.id, r); }
      r.p = p;
      render(r);
      return r.tr;
    });
    for (const [id, r] of rows) if (!seen.has(id)) { r.tr.remove(); rows.delete(id); }
    const cur = Array.from(body.children);
    if (cur.length !== order.length || order.some((tr, i) => cur[i] !== tr)) body.replaceChildren(...order);
    empty.hidden = items.length > 0;
    table.hidden = items.length === 0;
    const n = items.length;
    status.textContent = `Live: ${n} ${n === 1 ? 'caller' : 'callers'} in the room${room && room.locked ? ' (locked by a moderator)' : ''}.`;
  };

  const es = new EventSource('/api/v1/events');
  es.addEventListener('error', () => {
    status.textContent = 'Connection lost; reconnecting…';
    if (es.readyState === EventSource.CLOSED) api('GET', '/auth/me').catch(() => {});
  });
  es.addEventListener('conferences', (ev) => {
    const rooms = JSON.parse(ev.data).items || [];
    update(rooms.find((r) => r.number === number));
  });
  const el = h('section', { class: 'card', 'aria-labelledby': 'room-h', id: 'room-live' },
    h('h2', { id: 'room-h' }, 'In the room now'), status, msg, empty, table);
  return { el, close: () => es.close() };
}
