// me.js: the self-service page of role user: their own extension's
// voicemail inbox, forwarding, do-not-disturb, call waiting and voicemail
// PIN.
import { api } from './api.js';
import { h, field, collect, showErrors, clearErrors, notice, page, failure } from './dom.js';
import { forwardFields } from './extensions.js';
import { inbox } from './voicemail.js';

export async function mePage(me) {
  if (!me.extension) {
    page('My extension', h('p', { class: 'empty' }, 'No extension is assigned to you. Ask an administrator to link one to your user.'));
    return;
  }
  let e;
  try {
    e = await api('GET', '/extensions/' + encodeURIComponent(me.extension));
  } catch (err) {
    failure('My extension', err);
    return;
  }
  const summary = h('p', { class: 'notice bad form-error', role: 'alert', hidden: true });
  const status = h('div', { id: 'me-status' });
  const form = h('form', { class: 'card', id: 'me-form', novalidate: true },
    summary,
    forwardFields(e),
    h('fieldset', {}, h('legend', {}, 'Voicemail'),
      field('voicemail.pin', { label: 'Voicemail PIN', value: e.voicemail.pin, help: 'Empty, or 4 to 10 digits. You enter it when you dial *97.',
        attrs: { inputmode: 'numeric', autocomplete: 'off' } })),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    status.replaceChildren();
    try {
      await api('PATCH', '/extensions/' + encodeURIComponent(me.extension), collect(form));
      status.replaceChildren(notice('Saved. Calls follow the new settings from now on.'));
    } catch (err) {
      showErrors(form, err);
    }
  });
  page(`My extension ${me.extension}`,
    h('p', {}, `${e.name || 'Extension ' + e.number}. Your calls, your choice: where they go when you are away or busy.`),
    inbox(me.extension),
    status, form);
}
