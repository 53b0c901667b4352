// email.js: outgoing e-mail settings (admin only): the SMTP server that
// voicemail to e-mail uses, and a test mail to check them.
import { api } from './api.js';
import { h, field, collect, showErrors, clearErrors, notice, page, failure } from './dom.js';

export async function emailPage() {
  let s;
  try {
    s = await api('GET', '/settings/smtp');
  } catch (e) {
    failure('E-mail', e);
    return;
  }
  const summary = h('p', { class: 'notice bad form-error', role: 'alert', hidden: true });
  const status = h('div', { id: 'smtp-status' });
  const form = h('form', { class: 'card', id: 'smtp-form', novalidate: true },
    summary,
    field('enabled', { label: 'Send voicemail by e-mail', type: 'checkbox', value: s.enabled,
      help: 'New messages go to the extension’s e-mail address when its voicemail settings ask for it.' }),
    field('host', { label: 'SMTP server', value: s.host, help: 'Host name or IP address, e.g. smtp.example.com.',
      attrs: { autocomplete: 'off', autocapitalize: 'none' } }),
    field('port', { label: 'Port', type: 'number', value: s.port, help: '587 for STARTTLS, 465 for TLS.',
      attrs: { min: 1, max: 65535 } }),
    field('security', { label: 'Security', type: 'select', value: s.security, options: [
      ['starttls', 'STARTTLS (upgrade, usually port 587)'], ['tls', 'TLS from the start (usually port 465)'],
      ['none', 'None (local relay only)']] }),
    field('username', { label: 'Username', value: s.username, help: 'Leave empty if the server needs no login.',
      attrs: { autocomplete: 'off', autocapitalize: 'none' } }),
    field('password', { label: 'Password', type: 'password',
      help: s.password_set ? 'A password is stored. Leave empty to keep it.' : 'No password stored.',
      attrs: { autocomplete: 'new-password' } }),
    field('from', { label: 'From address', value: s.from, help: 'The sender of voicemail e-mails, e.g. pbx@example.com.',
      attrs: { type: 'email', autocomplete: 'off' } }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    status.replaceChildren();
    const body = collect(form);
    if (body.password === '') delete body.password; // keep the stored one
    try {
      const saved = await api('PUT', '/settings/smtp', body);
      form.elements.password.value = '';
      form.querySelector('#f-password-help').textContent = saved.password_set
        ? 'A password is stored. Leave empty to keep it.' : 'No password stored.';
      status.replaceChildren(notice('E-mail settings saved.'));
    } catch (err) {
      showErrors(form, err);
    }
  });

  const testSummary = h('p', { class: 'notice bad form-error', role: 'alert', hidden: true });
  const testStatus = h('div', { id: 'smtp-test-status', 'aria-live': 'polite' });
  const test = h('form', { class: 'card', id: 'smtp-test-form', novalidate: true },
    h('h2', { id: 'smtp-test-h' }, 'Send a test mail'),
    h('p', {}, 'Sends a short mail with the saved settings (save first), even while sending is switched off.'),
    testSummary,
    field('to', { label: 'To', help: 'Where to send the test mail.', attrs: { type: 'email', autocomplete: 'email' } }),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'smtp-test' }, 'Send test mail')),
    testStatus);
  test.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(test);
    testStatus.replaceChildren(notice('Sending…'));
    const btn = test.querySelector('#smtp-test');
    btn.disabled = true;
    try {
      const r = await api('POST', '/settings/smtp/test', collect(test));
      testStatus.replaceChildren(notice(`Test mail sent to ${r.to}.`));
    } catch (err) {
      testStatus.replaceChildren();
      showErrors(test, err);
    } finally {
      btn.disabled = false;
    }
  });
  page('E-mail', status,
    h('p', {}, 'The mail server the PBX sends voicemail through. A message that cannot be sent is retried for a day; it always stays in the mailbox.'),
    form, test);
}
