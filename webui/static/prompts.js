// prompts.js: audio prompts (admin only): the list with an in-browser
// player per prompt, upload of WAV files, and delete.
import { api, upload } from './api.js';
import { h, field, showErrors, clearErrors, notice, page, failure } from './dom.js';

const MOH = 'music-on-hold';

/** duration shows seconds as "3.2 s" or "1:05". */
function duration(s) {
  if (s < 60) return `${Math.round(s * 10) / 10} s`;
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s - m * 60)).padStart(2, '0')}`;
}

export async function promptsPage() {
  let data;
  try {
    data = await loadAll();
  } catch (e) {
    failure('Prompts', e);
    return;
  }
  const status = h('div', { id: 'prompt-status' });
  const results = h('div', { id: 'prompt-results', 'aria-live': 'polite' });
  const reload = async () => {
    try {
      results.replaceChildren(renderList(await loadAll(), status, reload));
    } catch (e) {
      results.replaceChildren(notice(e.message, 'bad'));
    }
  };
  page('Prompts',
    h('p', {}, 'Recordings the PBX plays to callers: greetings and music on hold. ',
      `Upload a WAV file named ${MOH} to replace the built-in music on hold; delete it to bring the built-in music back.`),
    status,
    uploadForm(status, reload),
    results);
  results.replaceChildren(renderList(data, status, reload));
}

/** loadAll reads every page of the prompt list (there are few). */
async function loadAll() {
  const items = [];
  let cursor = '';
  do {
    const d = await api('GET', '/prompts?limit=500' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    items.push(...d.items);
    cursor = d.next_cursor;
  } while (cursor);
  return items;
}

function uploadForm(status, reload) {
  const summary = h('p', { class: 'notice bad form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', id: 'prompt-form', novalidate: true },
    h('h2', {}, 'Upload a prompt'),
    summary,
    field('name', { label: 'Name', help: 'Lower-case letters, digits, “_” and “-”, e.g. welcome or after-hours.',
      attrs: { autocomplete: 'off', autocapitalize: 'none', required: true, maxlength: 64 } }),
    field('file', { label: 'WAV file', type: 'file', help: 'Any sample rate, bit depth or channels (PCM, float, A-law, µ-law); converted to 8 kHz mono. At most 20 MiB and 10 minutes.',
      attrs: { accept: '.wav,audio/wav,audio/x-wav', required: true } }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Upload')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    status.replaceChildren();
    const fd = new FormData();
    fd.append('name', form.elements.name.value.trim());
    const file = form.elements.file.files[0];
    if (file) fd.append('file', file);
    try {
      const p = await upload('/prompts', fd);
      form.reset();
      await reload();
      status.replaceChildren(notice(p.name === MOH
        ? `Uploaded ${p.name} (${duration(p.duration_s)}): held callers hear it from the next hold on.`
        : `Uploaded ${p.name} (${duration(p.duration_s)}).`));
    } catch (err) {
      showErrors(form, err);
    }
  });
  return form;
}

function renderList(items, status, reload) {
  if (items.length === 0) return h('p', { class: 'empty' }, 'No prompts.');
  return h('div', { class: 'table-wrap' }, h('table', { id: 'prompt-table' },
    h('caption', { class: 'sr-only' }, 'Prompts'),
    h('thead', {}, h('tr', {}, ['Name', 'Length', 'Source', 'Listen', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, items.map((p) => h('tr', { 'data-name': p.name },
      h('td', {}, p.name),
      h('td', {}, duration(p.duration_s)),
      h('td', {}, p.builtin ? 'built in' : `uploaded ${new Date(p.created_at).toLocaleString()}`),
      h('td', {}, h('audio', { controls: true, preload: 'none', src: '/api/v1/prompts/' + encodeURIComponent(p.name),
        'aria-label': 'Play ' + p.name })),
      h('td', {}, p.builtin ? '' : deleteButton(p, status, reload)))))));
}

/** deleteButton asks once more in place before deleting. */
function deleteButton(p, status, reload) {
  const what = p.name === MOH ? `Delete ${p.name}? Held callers hear the built-in music again.` : `Delete ${p.name}?`;
  const wrap = h('div', { class: 'actions' });
  const start = h('button', { type: 'button', class: 'danger delete', 'aria-expanded': 'false' }, 'Delete');
  const yes = h('button', { type: 'button', class: 'danger confirm-yes' }, `Yes, delete ${p.name}`);
  const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const ask = h('div', { class: 'confirm', hidden: true, role: 'group' }, h('p', {}, what), yes, no);
  start.addEventListener('click', () => { ask.hidden = false; start.setAttribute('aria-expanded', 'true'); no.focus(); });
  no.addEventListener('click', () => { ask.hidden = true; start.setAttribute('aria-expanded', 'false'); start.focus(); });
  yes.addEventListener('click', async () => {
    try {
      await api('DELETE', '/prompts/' + encodeURIComponent(p.name));
      await reload();
      status.replaceChildren(notice(p.name === MOH ? `Deleted ${p.name}: the built-in music on hold plays again.` : `Deleted ${p.name}.`));
    } catch (err) {
      status.replaceChildren(notice(err.message, 'bad'));
    }
  });
  wrap.append(start, ask);
  return wrap;
}
