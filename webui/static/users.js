// users.js: web/API users (admin only): list, create, edit, delete.
import { api, query } from './api.js';
import { h, field, collect, showErrors, clearErrors, notice, pager, page, failure } from './dom.js';

const PAGE_SIZE = 25;
const list = { cursor: '', next: '', stack: [] };
let flash = null;

export async function usersPage() {
  const results = h('div', { id: 'user-results', 'aria-live': 'polite' });
  let data;
  try {
    data = await api('GET', '/users' + query({ limit: PAGE_SIZE, cursor: list.cursor }));
  } catch (e) {
    failure('Users', e);
    return;
  }
  const f = flash;
  flash = null;
  page('Users',
    f && notice(f),
    h('p', {}, 'Users log in to this console and the API. Role admin manages everything; role user manages their own extension.'),
    h('p', {}, h('a', { class: 'button', href: '#/users/new' }, 'New user')),
    results);
  const render = (d) => {
    list.next = d.next_cursor;
    results.replaceChildren(d.items.length === 0
      ? h('p', { class: 'empty' }, 'No users on this page.')
      : h('div', { class: 'table-wrap' }, h('table', { id: 'user-table' },
        h('caption', { class: 'sr-only' }, 'Users'),
        h('thead', {}, h('tr', {}, ['Username', 'Role', 'Extension'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, d.items.map((u) => h('tr', { 'data-username': u.username },
          h('td', {}, h('a', { href: '#/users/' + encodeURIComponent(u.username) }, u.username)),
          h('td', {}, u.role), h('td', {}, u.extension || '—')))))),
    (list.stack.length || list.next) ? pager(list, reload) : '');
  };
  const reload = async () => {
    try {
      render(await api('GET', '/users' + query({ limit: PAGE_SIZE, cursor: list.cursor })));
    } catch (e) {
      results.replaceChildren(notice(e.message, 'bad'));
    }
  };
  render(data);
}

export async function userPage(name) {
  const isNew = name === null;
  let u = { role: 'user', extension: '' };
  if (!isNew) {
    try {
      u = await api('GET', '/users/' + encodeURIComponent(name));
    } catch (e) {
      failure('User', e);
      return;
    }
  }
  const summary = h('p', { class: 'notice bad form-error', role: 'alert', hidden: true });
  const status = h('div', {});
  const form = h('form', { class: 'card', id: 'user-form', novalidate: true },
    summary,
    field('username', { label: 'Username', value: u.username, help: isNew ? 'Letters, digits, “.”, “_”, “@” and “-”; cannot be changed later.' : null,
      attrs: { autocomplete: 'off', readonly: !isNew, autocapitalize: 'none', required: true } }),
    field('password', { label: isNew ? 'Password' : 'New password', type: 'password',
      help: isNew ? 'At least 8 characters.' : 'Leave empty to keep the current password. A new one logs the user out everywhere.',
      attrs: { autocomplete: 'new-password' } }),
    field('role', { label: 'Role', type: 'select', value: u.role, options: [['user', 'user: own extension only'], ['admin', 'admin: everything']] }),
    field('extension', { label: 'Extension', value: u.extension, help: 'The extension this user manages on the self-service page; may be empty.',
      attrs: { inputmode: 'numeric', autocomplete: 'off' } }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, isNew ? 'Create user' : 'Save changes'),
      h('a', { class: 'button secondary', href: '#/users' }, 'Back to the list')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const body = collect(form);
    if (!isNew && body.password === '') delete body.password;
    try {
      if (isNew) {
        await api('POST', '/users', body);
        flash = `User ${body.username} created.`;
        location.hash = '#/users';
      } else {
        await api('PUT', '/users/' + encodeURIComponent(name), body);
        status.replaceChildren(notice(`User ${name} saved.`));
      }
    } catch (err) {
      showErrors(form, err);
    }
  });
  const content = [status, form];
  if (!isNew) {
    const del = h('button', { type: 'button', class: 'danger', id: 'user-delete' }, `Delete user ${name}`);
    const delStatus = h('div', {});
    let armed = false;
    del.addEventListener('click', async () => {
      if (!armed) {
        armed = true;
        del.textContent = `Click again to delete ${name}`;
        return;
      }
      try {
        await api('DELETE', '/users/' + encodeURIComponent(name));
        flash = `User ${name} deleted.`;
        location.hash = '#/users';
      } catch (err) {
        delStatus.replaceChildren(notice(err.message, 'bad'));
      }
    });
    content.push(h('section', { class: 'card', 'aria-labelledby': 'udel-h' }, h('h2', { id: 'udel-h' }, 'Delete'), del, delStatus));
  }
  page(isNew ? 'New user' : `User ${name}`, ...content);
}
