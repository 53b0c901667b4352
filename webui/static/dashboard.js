// dashboard.js: live registrations and active calls from the event stream
// (GET /api/v1/events), with a Hang up button per call for administrators.
import { api } from './api.js';
import { h, notice, page } from './dom.js';

/** dashboardPage renders the dashboard and returns its teardown (closes
 *  the stream, stops the duration clock). */
export function dashboardPage(me) {
  const admin = me.role === 'admin';
  const status = h('p', { class: 'muted', id: 'live-status', role: 'status' }, 'Connecting…');
  const regBody = h('tbody', { id: 'registrations' });
  const regEmpty = h('p', { class: 'empty', id: 'registrations-empty', hidden: true }, 'No phone is registered right now.');
  const regTable = h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', { class: 'sr-only' }, 'Registered phones'),
    h('thead', {}, h('tr', {}, ['Extension', 'Contact', 'Source', 'Phone', 'Expires'].map((t) => h('th', { scope: 'col' }, t)))),
    regBody));

  const calls = callsPanel(admin);
  page('Dashboard',
    h('section', { class: 'card', 'aria-labelledby': 'calls-h' },
      h('h2', { id: 'calls-h' }, 'Active calls'), calls.el),
    h('section', { class: 'card', 'aria-labelledby': 'reg-h' },
      h('h2', { id: 'reg-h' }, 'Registrations'), status, regEmpty, regTable));

  const es = new EventSource('/api/v1/events');
  es.addEventListener('open', () => { status.textContent = 'Live: updates as phones register and calls change.'; });
  es.addEventListener('error', () => {
    status.textContent = 'Connection lost; reconnecting…';
    calls.stale();
    // A stream refused at once usually means the session ended.
    if (es.readyState === EventSource.CLOSED) api('GET', '/auth/me').catch(() => {});
  });
  es.addEventListener('registrations', (ev) => {
    const items = JSON.parse(ev.data).items || [];
    regBody.replaceChildren(...items.map((r) => h('tr', { 'data-extension': r.extension },
      h('td', {}, r.extension), h('td', { class: 'wrap' }, r.contact), h('td', {}, r.source),
      h('td', {}, r.user_agent || '—'), h('td', {}, new Date(r.expires_at).toLocaleTimeString()))));
    regEmpty.hidden = items.length > 0;
    regTable.hidden = items.length === 0;
    status.textContent = `Live: ${items.length} registered ${items.length === 1 ? 'phone' : 'phones'}.`;
  });
  es.addEventListener('calls', (ev) => calls.update(JSON.parse(ev.data).items || []));
  const clock = setInterval(calls.tick, 1000);
  return () => { es.close(); clearInterval(clock); };
}

/** callsPanel is the live call list. Rows are kept by call ID and updated
 *  in place, so a focused Hang up button keeps focus as other calls change. */
function callsPanel(admin) {
  const msg = h('div', { id: 'calls-status' });
  const empty = h('p', { class: 'empty', id: 'calls-empty' }, 'Waiting for the live call list…');
  const body = h('tbody', { id: 'calls' });
  const heads = ['From', 'To', 'State', 'Duration', 'Codecs'];
  if (admin) heads.push('Actions');
  const table = h('div', { class: 'table-wrap', hidden: true }, h('table', {},
    h('caption', { class: 'sr-only' }, 'Calls in progress'),
    h('thead', {}, h('tr', {}, heads.map((t) => h('th', { scope: 'col' }, t)))),
    body));
  const rows = new Map(); // call ID -> {tr, call, cells}

  const render = (r) => {
    const c = r.call;
    r.cells.from.textContent = c.from_name ? `${c.from_name} (${c.from})` : c.from;
    r.cells.to.textContent = c.to;
    r.cells.state.textContent = c.state;
    r.cells.codecs.textContent = codecs(c.legs);
    r.cells.duration.textContent = duration(c);
    r.tr.dataset.state = c.state;
  };

  const hangup = async (r, button) => {
    const c = r.call;
    const who = `${c.from} → ${c.to}`;
    button.disabled = true;
    msg.replaceChildren(notice(`Hanging up the call ${who}…`));
    try {
      await api('DELETE', '/calls/' + encodeURIComponent(c.id));
      msg.replaceChildren(notice(`Call ${who} hung up.`));
    } catch (err) {
      button.disabled = false;
      const text = err.status === 404
        ? `The call ${who} had already ended.`
        : `Could not hang up the call ${who}: ${err.message}`;
      msg.replaceChildren(notice(text, 'bad'));
    }
  };

  const row = (c) => {
    const cells = { from: h('td', {}), to: h('td', {}), state: h('td', {}), duration: h('td', { class: 'num' }), codecs: h('td', {}) };
    const tr = h('tr', { 'data-call-id': c.id }, cells.from, cells.to, cells.state, cells.duration, cells.codecs);
    const r = { tr, cells, call: c };
    if (admin) {
      const button = h('button', { type: 'button', class: 'danger small hangup', 'aria-label': `Hang up the call from ${c.from} to ${c.to}` }, 'Hang up');
      button.addEventListener('click', () => hangup(r, button));
      tr.append(h('td', {}, button));
    }
    return r;
  };

  return {
    el: h('div', {}, msg, empty, table),
    update(items) {
      const seen = new Set();
      const order = items.map((c) => {
        seen.add(c.id);
        let r = rows.get(c.id);
        if (!r) { r = row(c); rows.set(c.id, r); }
        r.call = c;
        render(r);
        return r.tr;
      });
      for (const [id, r] of rows) if (!seen.has(id)) { r.tr.remove(); rows.delete(id); }
      // Move rows only when the order changed: moving a focused button blurs it.
      const cur = Array.from(body.children);
      if (cur.length !== order.length || order.some((tr, i) => cur[i] !== tr)) body.replaceChildren(...order);
      empty.textContent = 'No calls in progress.';
      empty.hidden = items.length > 0;
      table.hidden = items.length === 0;
    },
    tick() { for (const r of rows.values()) r.cells.duration.textContent = duration(r.call); },
    stale() { empty.textContent = 'The live call list is reconnecting…'; },
  };
}

/** codecs lists the legs' codecs in leg order (caller first). */
function codecs(legs) {
  const list = (legs || []).map((l) => l.codec).filter(Boolean);
  return list.length ? list.join(' / ') : '—';
}

/** duration is the time since the call was answered, or its state before. */
function duration(c) {
  if (!c.answered_at) return c.state === 'ending' ? 'ending' : 'ringing';
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(c.answered_at)) / 1000));
  return clock(s);
}

/** clock formats seconds as m:ss or h:mm:ss. */
export function clock(s) {
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}
