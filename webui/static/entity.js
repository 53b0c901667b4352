// entity.js: what the pages of numbered entities (IVR menus, ring groups)
// share: the paged list, saving the form (a create then shows the new
// entity, an update stays), and the delete section; a notice carried over
// to the next page ("created", "deleted").
import { api, query } from './api.js';
import { h, clearErrors, showErrors, notice, pager, page } from './dom.js';
import { deleteSection } from './delete.js';

const PAGE_SIZE = 25;
let flash = null;

/** takeFlash returns the notice left for this page, once. */
export function takeFlash() { const f = flash; flash = null; return f; }

/**
 * listPage shows a collection page by page: title, intro text, a "new"
 * link, then the items as render(items) draws them, with a pager when
 * there is more than one page. list keeps the cursors across reloads.
 */
export async function listPage({ title, intro, newHref, newLabel, resultsId, path, list, render }) {
  const results = h('div', { id: resultsId, 'aria-live': 'polite' });
  const f = takeFlash();
  page(title,
    f && notice(f),
    h('p', {}, intro),
    h('p', {}, h('a', { class: 'button', href: newHref }, newLabel)),
    results);
  const reload = async () => {
    results.setAttribute('aria-busy', 'true');
    try {
      const data = await api('GET', path + query({ limit: PAGE_SIZE, cursor: list.cursor }));
      list.next = data.next_cursor;
      results.replaceChildren(render(data.items), (list.stack.length || list.next) ? pager(list, reload) : '');
    } catch (e) {
      results.replaceChildren(notice(e.message, 'bad'));
    } finally {
      results.removeAttribute('aria-busy');
    }
  };
  await reload();
}

/**
 * formPage shows an entity's form and saves it: a new one by POST (then
 * its own page, #/ROUTE/NUMBER), an existing one by PUT (a notice in
 * status); the API's errors go beside their fields. body() builds the
 * request from the form. extra, if given, goes below the form (a live
 * view). An existing entity gets a delete section too.
 * noun names it in notices ("IVR menu"), what in the delete section.
 */
export function formPage({ form, status, isNew, number, path, route, noun, what, newTitle, body, extra }) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    try {
      if (isNew) {
        const created = await api('POST', path, body());
        flash = `${noun} ${created.number} created.`;
        location.hash = `#/${route}/` + encodeURIComponent(created.number);
      } else {
        await api('PUT', path + '/' + encodeURIComponent(number), body());
        status.replaceChildren(notice(`${noun} ${number} saved.`));
      }
    } catch (err) {
      showErrors(form, err);
    }
  });
  const content = [status, form];
  if (extra) content.push(extra);
  if (!isNew) {
    content.push(deleteSection({
      what,
      path: path + '/' + encodeURIComponent(number),
      done: () => { flash = `${noun} ${number} deleted.`; location.hash = `#/${route}`; },
    }));
  }
  page(isNew ? newTitle : `${noun} ${number}`, ...content);
}
