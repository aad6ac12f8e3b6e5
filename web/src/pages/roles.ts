// Roles page (admin): the built-in and custom roles with their permissions, and a form that builds a
// custom role from permission check boxes. The server enforces roles.manage; this page only shows it.
import { api, type PermissionCatalogue, type Role } from '../api';
import { h } from '../dom';
import { errorView } from '../errors';
import { t } from '../i18n';
import { setTitle, type View } from '../view';

export function mountRoles(root: HTMLElement): View {
  let roles: Role[] = [];
  let catalogue: PermissionCatalogue | null = null;
  let error: unknown = null;
  let notice = '';
  let name = '';
  const chosen = new Set<string>();

  async function load(): Promise<void> {
    try {
      [roles, catalogue] = await Promise.all([api.roles().then((r) => r.data), api.permissions()]);
      error = null;
    } catch (e) {
      error = e;
    }
    render();
  }

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    try {
      const role = await api.createRole(name.trim(), [...chosen]);
      notice = t('roles.created', { name: role.name });
      name = '';
      chosen.clear();
      await load();
    } catch (e) {
      error = e;
      render();
    }
  }

  function render(): void {
    setTitle(t('roles.title'));
    const form =
      catalogue &&
      h(
        'form',
        { class: 'role-form', testid: 'role-form', onsubmit: (e: Event) => void submit(e) },
        h('h2', null, t('roles.create')),
        h('label', null, t('roles.name'), ' ',
          h('input', { name: 'name', value: name, testid: 'role-name', oninput: (e: Event) => { name = (e.target as HTMLInputElement).value; } })),
        h('div', { class: 'permission-list' },
          catalogue.permissions.map((p) =>
            h('label', { class: 'permission' },
              h('input', { type: 'checkbox', value: p, checked: chosen.has(p), testid: `perm-${p}`,
                onchange: (e: Event) => { if ((e.target as HTMLInputElement).checked) { chosen.add(p); } else { chosen.delete(p); } } }),
              ' ', p))),
        h('button', { class: 'btn btn-primary', type: 'submit', testid: 'role-submit' }, t('roles.submit')),
      );
    root.replaceChildren(
      h('div', { class: 'page', testid: 'roles-page' },
        h('div', { class: 'page-head' }, h('h1', null, t('roles.title'))),
        notice && h('p', { class: 'notice', testid: 'roles-notice' }, notice),
        error !== null && errorView(error),
        h('table', { class: 'table', testid: 'roles-table' },
          h('tbody', null, roles.map((r) =>
            h('tr', null,
              h('td', null, r.name),
              h('td', { class: 'muted' }, r.built_in ? t('roles.builtIn') : t('roles.custom')),
              h('td', null, r.permissions.join(', ')))))),
        form,
      ),
    );
  }

  render();
  void load();
  return { render };
}
