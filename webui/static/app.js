// app.js: the console's shell: who is logged in, the navigation, the
// hash router and the login page.
import { api, ApiError } from './api.js';
import { h, notice, page, failure } from './dom.js';
import { extensionsPage, extensionPage } from './extensions.js';
import { usersPage, userPage } from './users.js';
import { mePage } from './me.js';
import { dashboardPage } from './dashboard.js';
import { historyPage } from './history.js';
import { promptsPage } from './prompts.js';
import { dialplanPage } from './dialplan.js';
import { ivrsPage, ivrPage } from './ivrs.js';
import { ringGroupsPage, ringGroupPage } from './ringgroups.js';
import { trunksPage, trunkPage } from './trunks.js';
import { conferencesPage, conferencePage } from './conferences.js';
import { voicemailPage } from './voicemail.js';
import { emailPage } from './email.js';
import { securityPage, auditPage } from './security.js';

const session = { me: null };
let cleanup = null; // the current page's teardown (closes live streams)


function isAdmin() { return session.me && session.me.role === 'admin'; }

function renderNav() {
  const links = isAdmin()
    ? [['#/dashboard', 'Dashboard'], ['#/history', 'Call history'], ['#/extensions', 'Extensions'], ['#/ringgroups', 'Ring groups'],
      ['#/ivrs', 'IVR menus'], ['#/conferences', 'Conferences'], ['#/voicemail', 'Voicemail'], ['#/users', 'Users'], ['#/prompts', 'Prompts'], ['#/dialplan', 'Dial plan'], ['#/trunks', 'Trunks'],
      ['#/email', 'E-mail'], ['#/security', 'Security'], ['#/audit', 'Audit log']]
    : [['#/dashboard', 'Dashboard'], ['#/history', 'Call history'], ['#/me', 'My extension']];
  const cur = location.hash.split('/').slice(0, 2).join('/');
  document.getElementById('nav').replaceChildren(...links.map(([href, text]) =>
    h('li', {}, h('a', { href, 'aria-current': href === cur ? 'page' : null }, text))));
  document.getElementById('who').textContent = `${session.me.username} (${session.me.role})`;
  document.getElementById('top').hidden = false;
}

async function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  if (!session.me) { loginPage(); return; }
  renderNav();
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  try {
    switch (parts[0]) {
      case '':
      case 'dashboard': cleanup = dashboardPage(session.me); break;
      case 'history': await historyPage(session.me); break;
      case 'extensions':
        if (parts[1]) await extensionPage(parts[1] === 'new' ? null : parts[1]);
        else await extensionsPage();
        break;
      case 'users':
        if (parts[1]) await userPage(parts[1] === 'new' ? null : parts[1]);
        else await usersPage();
        break;
      case 'ringgroups':
        if (parts[1]) await ringGroupPage(parts[1] === 'new' ? null : parts[1]);
        else await ringGroupsPage();
        break;
      case 'ivrs':
        if (parts[1]) await ivrPage(parts[1] === 'new' ? null : parts[1]);
        else await ivrsPage();
        break;
      case 'conferences':
        if (parts[1]) cleanup = await conferencePage(parts[1] === 'new' ? null : parts[1]);
        else await conferencesPage();
        break;
      case 'trunks':
        if (parts[1]) await trunkPage(parts[1] === 'new' ? null : parts[1]);
        else await trunksPage();
        break;
      case 'voicemail': await voicemailPage(parts[1] || ''); break;
      case 'prompts': await promptsPage(); break;
      case 'dialplan': await dialplanPage(); break;
      case 'email': await emailPage(); break;
      case 'security': await securityPage(); break;
      case 'audit': await auditPage(); break;
      case 'me': await mePage(session.me); break;
      default: page('Not found', notice('There is no page here.', 'bad'), h('p', {}, h('a', { href: '#/dashboard' }, 'Go to the dashboard')));
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return; // the login page is on its way
    failure('Error', err);
  }
}

function loginPage() {
  document.getElementById('top').hidden = true;
  const err = h('p', { class: 'notice bad', role: 'alert', id: 'login-error', hidden: true });
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none' });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'card narrow', id: 'login-form', novalidate: true },
    err,
    h('div', { class: 'field' }, h('label', { for: 'username' }, 'Username'), user),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), pass),
    h('button', { type: 'submit' }, 'Log in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    if (!user.value || !pass.value) {
      err.textContent = 'Enter your username and password.';
      err.hidden = false;
      return;
    }
    try {
      await api('POST', '/auth/login', { username: user.value, password: pass.value });
      session.me = await api('GET', '/auth/me');
      if (!location.hash || location.hash === '#/' || location.hash === '#/login') {
        location.hash = session.me.role === 'admin' ? '#/dashboard' : '#/me';
        return; // hashchange routes
      }
      route();
    } catch (e) {
      if (e.status === 401) err.textContent = 'Wrong username or password.';
      else if (e.status === 429) err.textContent = 'Too many failed attempts. ' + capitalize(e.message.replace(/^too many failed login attempts; /, '')) + '.';
      else err.textContent = e.message;
      err.hidden = false;
      pass.select();
    }
  });
  page('Log in to the PBX', form);
  user.focus();
}

function capitalize(s) { return s.charAt(0).toUpperCase() + s.slice(1); }

async function logout() {
  try { await api('POST', '/auth/logout'); } catch (e) { /* the session is gone either way */ }
  session.me = null;
  location.hash = '#/login';
  route();
}

async function start() {
  document.getElementById('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  window.addEventListener('pbx:unauthenticated', () => {
    if (session.me) { session.me = null; route(); }
  });
  try {
    session.me = await api('GET', '/auth/me');
  } catch (e) {
    session.me = null;
  }
  if (session.me && (!location.hash || location.hash === '#/login')) {
    location.hash = session.me.role === 'admin' ? '#/dashboard' : '#/me';
    return; // hashchange routes
  }
  route();
}

start();
