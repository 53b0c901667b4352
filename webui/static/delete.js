// delete.js: the "Delete" card of an edit page: a confirmation step, then
// the DELETE; a refusal (409: something still sends calls here, named in
// the message) is shown in the card.
import { api } from './api.js';
import { h, notice } from './dom.js';

/** deleteSection builds the card. opts: what ("IVR menu 500"), path (the
 *  API path to DELETE), done (called after the delete succeeded). */
export function deleteSection(opts) {
  const no = h('button', { type: 'button', class: 'secondary', id: 'delete-no' }, 'Cancel');
  const yes = h('button', { type: 'button', class: 'danger', id: 'delete-yes' }, `Yes, delete ${opts.what}`);
  const confirmBox = h('div', { class: 'confirm', id: 'delete-confirm', hidden: true, role: 'group', 'aria-labelledby': 'delete-q' },
    h('p', { id: 'delete-q' }, `Delete ${opts.what}? This cannot be undone.`), yes, no);
  const status = h('div', { id: 'delete-status' });
  const start = h('button', { type: 'button', class: 'danger', id: 'delete-start', 'aria-expanded': 'false', 'aria-controls': 'delete-confirm' },
    `Delete ${opts.what}`);
  const close = () => {
    confirmBox.hidden = true;
    start.setAttribute('aria-expanded', 'false');
  };
  start.addEventListener('click', () => {
    status.replaceChildren();
    confirmBox.hidden = false;
    start.setAttribute('aria-expanded', 'true');
    no.focus();
  });
  no.addEventListener('click', () => { close(); start.focus(); });
  yes.addEventListener('click', async () => {
    try {
      await api('DELETE', opts.path);
      opts.done();
    } catch (err) {
      close();
      status.replaceChildren(notice(capitalize(err.message) + (err.status === 409 ? '. Change those first.' : ''), 'bad'));
      start.focus();
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'danger-h' },
    h('h2', { id: 'danger-h' }, 'Delete'), start, confirmBox, status);
}

function capitalize(s) { return s.charAt(0).toUpperCase() + s.slice(1); }
