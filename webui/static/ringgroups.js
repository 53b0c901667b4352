// ringgroups.js: ring groups (admin only): the list and the create/edit
// form: strategy, members in ring order (add, remove, move up and down),
// ring times and where unanswered calls go; delete is refused while
// something sends calls to the group.
import { api } from './api.js';
import { h, field, collect, notice } from './dom.js';
import { destPicker, loadTargets } from './dest-picker.js';
import { listPage, formPage, takeFlash } from './entity.js';

const STRATEGIES = [['ringall', 'Ring all at once'], ['hunt', 'Hunt: one after another, in order']];
const list = { cursor: '', next: '', stack: [] };

export async function ringGroupsPage() {
  await listPage({
    title: 'Ring groups',
    intro: 'A ring group is a number that rings several extensions: all at once, or one after another.',
    newHref: '#/ringgroups/new', newLabel: 'New ring group', resultsId: 'rg-results', path: '/ringgroups', list,
    render: renderList,
  });
}

function renderList(items) {
  if (items.length === 0) return h('p', { class: 'empty' }, 'No ring groups yet.');
  return h('div', { class: 'table-wrap' }, h('table', { id: 'rg-table' },
    h('caption', { class: 'sr-only' }, 'Ring groups'),
    h('thead', {}, h('tr', {}, ['Number', 'Name', 'Strategy', 'Members', 'No answer'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, items.map((g) => h('tr', { 'data-number': g.number },
      h('td', {}, h('a', { href: '#/ringgroups/' + encodeURIComponent(g.number) }, g.number)),
      h('td', {}, g.name || '—'),
      h('td', {}, g.strategy === 'hunt' ? 'hunt' : 'ring all'),
      h('td', { class: 'wrap' }, g.members.join(', ')),
      h('td', {}, g.on_no_answer || 'hang up'))))));
}

/** memberList is the ordered member editor: the list with Up, Down and
 *  Remove per member and an extension select with Add. */
function memberList(initial, extensions) {
  const members = initial.slice();
  const names = new Map(extensions.map((e) => [e.number, e.name]));
  const ol = h('ol', { class: 'members', id: 'rg-members', 'aria-labelledby': 'members-label', 'aria-describedby': 'f-members-help f-members-err' });
  const add = h('select', { id: 'f-members', 'aria-describedby': 'f-members-help f-members-err' });
  const addBtn = h('button', { type: 'button', class: 'secondary', id: 'member-add' }, 'Add');
  const live = h('p', { class: 'sr-only', 'aria-live': 'polite', id: 'members-live' });
  const label = (n) => (names.get(n) ? `${n} — ${names.get(n)}` : n);

  const render = (focus) => {
    ol.replaceChildren(...members.map((n, i) => h('li', { 'data-member': n },
      h('span', { class: 'pos', 'aria-hidden': 'true' }, `${i + 1}.`),
      h('span', { class: 'member-name' }, label(n)),
      h('span', { class: 'member-actions' },
        h('button', { type: 'button', class: 'secondary small up', disabled: i === 0, 'aria-label': `Move ${n} up`,
          onclick: () => move(i, -1) }, '↑'),
        h('button', { type: 'button', class: 'secondary small down', disabled: i === members.length - 1, 'aria-label': `Move ${n} down`,
          onclick: () => move(i, 1) }, '↓'),
        h('button', { type: 'button', class: 'secondary small remove', 'aria-label': `Remove ${n}`,
          onclick: () => remove(i) }, 'Remove')))));
    if (members.length === 0) ol.append(h('li', { class: 'empty' }, 'No members yet: add at least one extension.'));
    const free = extensions.filter((e) => !members.includes(e.number));
    add.replaceChildren(...(free.length
      ? free.map((e) => h('option', { value: e.number }, e.name ? `${e.number} — ${e.name}` : e.number))
      : [h('option', { value: '' }, 'Every extension is a member')]));
    add.disabled = addBtn.disabled = free.length === 0;
    if (focus) focus();
  };
  const move = (i, d) => {
    [members[i], members[i + d]] = [members[i + d], members[i]];
    live.textContent = `${members[i + d]} moved to position ${i + d + 1}.`;
    render(() => {
      const li = ol.children[i + d];
      const btn = li && li.querySelector(d < 0 ? 'button.up' : 'button.down');
      (btn && !btn.disabled ? btn : li.querySelector('button.remove')).focus();
    });
  };
  const remove = (i) => {
    const [n] = members.splice(i, 1);
    live.textContent = `${n} removed.`;
    render(() => add.focus());
  };
  addBtn.addEventListener('click', () => {
    if (!add.value) return;
    members.push(add.value);
    live.textContent = `${add.value} added at position ${members.length}.`;
    render(() => add.focus());
  });
  render();
  const el = h('div', { class: 'field', 'data-field': 'members' },
    h('span', { class: 'label', id: 'members-label' }, 'Members, in ring order'),
    ol,
    h('div', { class: 'picker' }, h('label', { for: 'f-members', class: 'sr-only' }, 'Extension to add'), add, addBtn),
    h('p', { class: 'help', id: 'f-members-help' }, 'Hunt rings the first member first. Ring all rings everyone at once.'),
    h('p', { class: 'error', id: 'f-members-err', hidden: true }),
    live);
  return { el, value: () => members.slice() };
}

export async function ringGroupPage(number) {
  const isNew = number === null;
  const [g, targets] = await Promise.all([
    isNew ? Promise.resolve({ members: [] }) : api('GET', '/ringgroups/' + encodeURIComponent(number)),
    loadTargets(),
  ]);
  const members = memberList(g.members, targets.extension);
  const onNoAnswer = destPicker('on_no_answer', { label: 'When nobody answers', value: g.on_no_answer || '', targets,
    none: 'Hang up', help: 'Not this group itself.' });

  const summary = h('p', { class: 'notice bad form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card', id: 'rg-form', novalidate: true },
    summary,
    h('fieldset', {}, h('legend', {}, 'Ring group'),
      field('number', { label: 'Number', value: g.number,
        help: isNew ? '2 to 10 digits, not used by anything else; cannot be changed later.' : 'Numbers cannot be changed.',
        attrs: { inputmode: 'numeric', autocomplete: 'off', required: true, readonly: !isNew } }),
      field('name', { label: 'Name', value: g.name, attrs: { autocomplete: 'off' } }),
      field('strategy', { label: 'Strategy', type: 'select', value: g.strategy || 'ringall', options: STRATEGIES })),
    h('fieldset', {}, h('legend', {}, 'Members'), members.el),
    h('fieldset', {}, h('legend', {}, 'Timing and no answer'),
      field('ring_seconds', { label: 'Ring the group for (seconds)', type: 'number', value: g.ring_seconds ?? 30, attrs: { min: 5, max: 600 } }),
      field('member_seconds', { label: 'Ring each member for (seconds, hunt)', type: 'number', value: g.member_seconds ?? 15,
        attrs: { min: 5, max: 300 } }),
      onNoAnswer.el),
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, isNew ? 'Create ring group' : 'Save changes'),
      h('a', { class: 'button secondary', href: '#/ringgroups' }, 'Back to the list')));
  const status = h('div', { id: 'rg-status' });
  const f = takeFlash();
  if (f) status.append(notice(f));

  formPage({
    form, status, isNew, number, path: '/ringgroups', route: 'ringgroups', noun: 'Ring group', what: `ring group ${number}`,
    newTitle: 'New ring group',
    body: () => {
      const plain = collect(form);
      return {
        number: isNew ? plain.number : number,
        name: plain.name,
        strategy: plain.strategy,
        members: members.value(),
        ring_seconds: plain.ring_seconds,
        member_seconds: plain.member_seconds,
        on_no_answer: onNoAnswer.value(),
      };
    },
  });
}
