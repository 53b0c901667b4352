// dialplan.js: the dial plan page (admin only): a text editor with a line
// number gutter where errors are marked, the list of errors, the saved
// versions (view, restore) and the trace tool, which shows the steps a
// call would take through the saved plan.
import { api, getText, putText, query } from './api.js';
import { h, field, collect, showErrors, clearErrors, notice, pager, page, failure } from './dom.js';

const VERSIONS_PAGE = 10;

export async function dialplanPage() {
  let cur;
  try {
    cur = await getText('/dialplan');
  } catch (e) {
    if (e.status !== 404) { failure('Dial plan', e); return; }
    cur = { text: '', version: null }; // nothing saved yet
  }
  const state = { saved: cur.text, version: cur.version };
  const ed = editor(cur.text);
  const status = h('div', { id: 'dp-status' });
  const errors = errorList(ed);
  const versionNote = h('span', { id: 'dp-version', class: 'muted' });
  const showVersion = () => {
    versionNote.textContent = state.version ? `Saved version ${state.version}.` : 'No plan saved yet.';
  };
  showVersion();

  const comment = h('input', { id: 'dp-comment', name: 'comment', maxlength: 200, autocomplete: 'off',
    placeholder: 'What changed (optional)', 'aria-label': 'Comment for this version' });
  const save = h('button', { type: 'button', id: 'dp-save' }, 'Save');
  const versions = versionList(state, ed, errors, status, (text, version) => {
    state.saved = text;
    state.version = version;
    showVersion();
  });

  save.addEventListener('click', async () => {
    status.replaceChildren();
    save.disabled = true;
    try {
      const text = ed.value();
      const res = await putText('/dialplan' + query({ comment: comment.value.trim() }), text);
      state.saved = text;
      state.version = String(res.version);
      showVersion();
      comment.value = '';
      errors.show([]);
      status.replaceChildren(notice(`Saved as version ${res.version}. It routes the next call.`));
      await versions.reload();
    } catch (err) {
      errors.show(err.errors || []);
      status.replaceChildren(notice(err.errors && err.errors.length
        ? `Not saved: the ${err.message}. The saved plan is unchanged.`
        : err.message, 'bad'));
    } finally {
      save.disabled = false;
    }
  });

  page('Dial plan',
    h('p', {}, 'Routes beyond the numbering plan: outbound trunks, inbound numbers, time conditions. ',
      'Extensions, ring groups, IVR menus, rooms and feature codes work without any rule here. ',
      'A saved plan routes the next call; every saved version is kept.'),
    status,
    h('section', { class: 'card', 'aria-labelledby': 'dp-editor-h' },
      h('h2', { id: 'dp-editor-h' }, 'Editor'),
      ed.el,
      errors.el,
      h('div', { class: 'actions dp-save-row' }, comment, save, versionNote)),
    traceForm(ed, state),
    versions.el);
  await versions.reload();
}

/** editor is a textarea with a line-number gutter that follows its
 *  scrolling and line count; lines can be marked (errors) and highlighted
 *  (a trace step). */
function editor(text) {
  const gutter = h('div', { class: 'dp-gutter', id: 'dp-gutter', 'aria-hidden': 'true' });
  const ta = h('textarea', { id: 'dp-text', class: 'dp-text', spellcheck: 'false', wrap: 'off', autocomplete: 'off',
    autocapitalize: 'none', 'aria-label': 'Dial plan text', 'aria-describedby': 'dp-errors-h' });
  ta.value = text;
  const marks = new Map(); // line -> messages
  let highlighted = 0;
  let rendered = -1;

  const lineCount = () => ta.value.split('\n').length;
  const render = () => {
    const n = lineCount();
    const rows = [];
    for (let i = 1; i <= n; i++) {
      const cls = ['ln'];
      if (marks.has(i)) cls.push('err');
      if (i === highlighted) cls.push('hl');
      rows.push(h('div', { class: cls.join(' '), 'data-line': i, title: marks.has(i) ? marks.get(i).join('\n') : null }, String(i)));
    }
    rows.push(h('div', { class: 'spacer' })); // room for the textarea's scroll bar
    gutter.replaceChildren(...rows);
    rendered = n;
    gutter.scrollTop = ta.scrollTop;
  };
  ta.addEventListener('scroll', () => { gutter.scrollTop = ta.scrollTop; });
  ta.addEventListener('input', () => {
    if (lineCount() !== rendered) render();
    gutter.scrollTop = ta.scrollTop;
  });

  /** offsetOf is the string offset of line:col (both from 1). */
  const offsetOf = (line, col) => {
    const lines = ta.value.split('\n');
    let off = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) off += lines[i].length + 1;
    const len = (lines[line - 1] || '').length;
    return off + Math.min(Math.max(col - 1, 0), len);
  };
  const scrollTo = (line) => {
    const lh = parseFloat(getComputedStyle(ta).lineHeight) || 20;
    const top = (line - 1) * lh;
    if (top < ta.scrollTop || top > ta.scrollTop + ta.clientHeight - 2 * lh) {
      ta.scrollTop = Math.max(0, top - ta.clientHeight / 3);
    }
    gutter.scrollTop = ta.scrollTop;
  };

  render();
  return {
    el: h('div', { class: 'dp-editor' }, gutter, ta),
    value: () => ta.value,
    setValue(v) { ta.value = v; marks.clear(); highlighted = 0; ta.scrollTop = 0; render(); },
    mark(list) {
      marks.clear();
      for (const e of list) marks.set(e.line, [...(marks.get(e.line) || []), e.message]);
      render();
    },
    /** caret puts the caret at line:col and brings it into view. */
    caret(line, col) {
      const off = offsetOf(line, col);
      ta.focus();
      ta.setSelectionRange(off, off);
      scrollTo(line);
    },
    /** highlight selects a whole line and marks it in the gutter. */
    highlight(line) {
      highlighted = line;
      render();
      const start = offsetOf(line, 1);
      const end = start + (ta.value.split('\n')[line - 1] || '').length;
      ta.focus();
      ta.setSelectionRange(start, end);
      scrollTo(line);
    },
  };
}

/** errorList shows a refused plan's errors; a click puts the caret there. */
function errorList(ed) {
  const list = h('ul', { id: 'dp-errors', class: 'dp-errors' });
  const heading = h('h3', { id: 'dp-errors-h' });
  const box = h('div', { id: 'dp-errors-box', class: 'dp-errors-box', hidden: true, role: 'alert' }, heading, list);
  return {
    el: box,
    show(errs) {
      ed.mark(errs);
      box.hidden = errs.length === 0;
      heading.textContent = errs.length === 1 ? '1 error' : `${errs.length} errors`;
      list.replaceChildren(...errs.map((e) => h('li', {},
        h('button', { type: 'button', class: 'link dp-error', 'data-line': e.line,
          onclick: () => ed.caret(e.line, e.col) }, `Line ${e.line}, column ${e.col}`), ': ', e.message)));
    },
  };
}

/** versionList is the saved versions, newest first, with view and restore. */
function versionList(state, ed, errors, status, onRestored) {
  const nav = { cursor: '', next: '', stack: [] };
  const results = h('div', { id: 'dp-versions-results', 'aria-live': 'polite' });
  const viewer = h('div', { id: 'dp-view', class: 'dp-view', hidden: true });
  const el = h('section', { class: 'card', 'aria-labelledby': 'dp-versions-h' },
    h('h2', { id: 'dp-versions-h' }, 'Versions'), results, viewer);

  const view = async (v) => {
    try {
      const { text } = await getText(`/dialplan/versions/${v.id}`);
      const load = h('button', { type: 'button', class: 'secondary', id: 'dp-view-load' }, 'Copy into the editor');
      const close = h('button', { type: 'button', class: 'secondary', id: 'dp-view-close' }, 'Close');
      load.addEventListener('click', () => {
        ed.setValue(text);
        errors.show([]);
        status.replaceChildren(notice(`Version ${v.id} is in the editor, not yet saved.`));
      });
      close.addEventListener('click', () => { viewer.hidden = true; viewer.replaceChildren(); });
      viewer.replaceChildren(h('h3', {}, `Version ${v.id}`), h('pre', { id: 'dp-view-text' }, text),
        h('div', { class: 'actions' }, load, close));
      viewer.hidden = false;
      close.focus();
    } catch (err) {
      status.replaceChildren(notice(err.message, 'bad'));
    }
  };

  const restore = async (v) => {
    status.replaceChildren();
    try {
      const res = await api('POST', `/dialplan/versions/${v.id}/restore`);
      const { text, version } = await getText('/dialplan');
      ed.setValue(text);
      errors.show([]);
      onRestored(text, version);
      status.replaceChildren(notice(`Version ${v.id} restored as version ${res.version}. It routes the next call.`));
      nav.cursor = ''; nav.stack = [];
      await reload();
    } catch (err) {
      if (err.errors && err.errors.length) {
        // Its errors are at its own lines: show them on its text.
        const { text } = await getText(`/dialplan/versions/${v.id}`);
        ed.setValue(text);
        errors.show(err.errors);
        status.replaceChildren(notice(`Version ${v.id} was not restored: it names what no longer exists (${err.message}). ` +
          'It is in the editor to fix and save; the saved plan is unchanged.', 'bad'));
      } else {
        status.replaceChildren(notice(err.message, 'bad'));
      }
    }
  };

  const restoreButton = (v) => {
    const start = h('button', { type: 'button', class: 'secondary small restore', 'aria-expanded': 'false' }, 'Restore');
    const yes = h('button', { type: 'button', class: 'small confirm-yes' }, `Yes, restore version ${v.id}`);
    const no = h('button', { type: 'button', class: 'secondary small' }, 'Cancel');
    const ask = h('div', { class: 'confirm', hidden: true, role: 'group' },
      h('p', {}, `Restore version ${v.id}? It is saved as a new version and replaces the editor’s text.`), yes, no);
    start.addEventListener('click', () => { ask.hidden = false; start.setAttribute('aria-expanded', 'true'); no.focus(); });
    no.addEventListener('click', () => { ask.hidden = true; start.setAttribute('aria-expanded', 'false'); start.focus(); });
    yes.addEventListener('click', () => restore(v));
    return [start, ask];
  };

  const render = (items) => {
    if (items.length === 0) return h('p', { class: 'empty' }, 'No versions yet.');
    return h('div', { class: 'table-wrap' }, h('table', { id: 'dp-versions' },
      h('caption', { class: 'sr-only' }, 'Saved versions, newest first'),
      h('thead', {}, h('tr', {}, ['Version', 'Saved', 'By', 'Comment', 'Lines', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, items.map((v) => {
        const current = String(v.id) === String(state.version);
        return h('tr', { 'data-id': v.id },
          h('td', { class: 'num' }, String(v.id), current ? [' ', h('span', { class: 'tag answered' }, 'current')] : ''),
          h('td', { class: 'num' }, new Date(v.created_at).toLocaleString()),
          h('td', {}, v.created_by || 'system'),
          h('td', { class: 'wrap' }, v.comment || '—'),
          h('td', { class: 'num' }, String(v.lines)),
          h('td', {}, h('div', { class: 'actions' },
            h('button', { type: 'button', class: 'secondary small view', onclick: () => view(v) }, 'View'),
            current ? '' : restoreButton(v))));
      }))));
  };

  const reload = async () => {
    try {
      const d = await api('GET', '/dialplan/versions' + query({ limit: VERSIONS_PAGE, cursor: nav.cursor }));
      nav.next = d.next_cursor;
      results.replaceChildren(render(d.items), (nav.stack.length || nav.next) ? pager(nav, reload) : '');
    } catch (err) {
      results.replaceChildren(notice(err.message, 'bad'));
    }
  };
  return { el, reload };
}

const OUTCOME = {
  route: 'The call tries',
  no_match: 'No route',
  refused: 'Refused',
  hangup: 'The plan hangs up',
};

/** traceForm asks the PBX how a call would be routed by the saved plan. */
function traceForm(ed, state) {
  const summary = h('p', { class: 'notice bad form-error', role: 'alert', hidden: true });
  const result = h('div', { id: 'dp-trace', 'aria-live': 'polite' });
  const form = h('form', { id: 'dp-trace-form', class: 'filters', novalidate: true },
    summary,
    h('div', { class: 'filter-fields' },
      field('context', { label: 'Context', value: 'internal', help: 'internal for calls from extensions; a trunk’s context for inbound calls.',
        attrs: { autocomplete: 'off', autocapitalize: 'none' } }),
      field('number', { label: 'Number dialled', attrs: { inputmode: 'tel', autocomplete: 'off', required: true } }),
      field('from', { label: 'Caller number', help: 'An extension’s number also gives its name and outbound class.',
        attrs: { inputmode: 'tel', autocomplete: 'off' } }),
      field('at', { label: 'Time', type: 'datetime-local', help: 'Empty for now.', attrs: { step: 60 } })),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Trace')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = collect(form);
    if (body.at) body.at = new Date(body.at).toISOString();
    for (const k of Object.keys(body)) if (body[k] === '') delete body[k];
    try {
      const tr = await api('POST', '/dialplan/trace', body);
      result.replaceChildren(...renderTrace(tr, ed, ed.value() !== state.saved));
    } catch (err) {
      showErrors(form, err);
      result.replaceChildren();
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'dp-trace-h' },
    h('h2', { id: 'dp-trace-h' }, 'Trace a call'),
    h('p', { class: 'help' }, 'Shows the steps a call would take through the saved plan, without placing it.'),
    form, result);
}

function renderTrace(tr, ed, dirty) {
  let end;
  if (tr.outcome === 'route') {
    end = [OUTCOME.route, ' ', tr.attempts.map((a, i) => [i ? ', then ' : '', h('code', {}, a.destination),
      a.ring_s ? ` (ringing ${a.ring_s} s)` : '']), '.'];
  } else {
    end = [OUTCOME[tr.outcome] || tr.outcome, tr.reason ? `: ${tr.reason}` : '', '.'];
  }
  const caller = tr.caller_name ? `${tr.caller_name} (${tr.caller_number})` : tr.caller_number;
  return [
    dirty ? notice('The editor has unsaved changes: this trace used the saved plan.', 'bad') : '',
    h('p', { id: 'dp-trace-outcome', class: 'dp-outcome', 'data-outcome': tr.outcome }, h('strong', {}, 'Ends: '), end),
    h('p', { class: 'muted' }, `Number ${tr.number || '—'} in context ${tr.context}` + (caller ? `, caller ${caller}` : '') + '.'),
    h('ol', { id: 'dp-steps', class: 'dp-steps' }, tr.steps.map((s) => h('li', { 'data-line': s.line },
      s.line ? h('button', { type: 'button', class: 'link step-line', onclick: () => ed.highlight(s.line),
        'aria-label': `Show line ${s.line} in the editor` }, `line ${s.line}`) : h('span', { class: 'muted' }, '—'),
      ' ', s.text))),
  ];
}
