// Roles page (admin): the built-in and custom roles with their permissions, editing (PATCH) and deleting
// (DELETE) a custom role, a form that builds a custom role from permission check boxes, and the per-role
// MFA policy. Built-in roles are read-only. The server enforces roles.manage / settings.manage, asks for a
// step-up on every change (api.ts opens the dialog) and records each one in the audit ledger; this page only
// shows what it answers (e.g. its refusal to delete a role a user still holds).
import { api, type PermissionCatalogue, type Role, type RoleMfaSetting } from '../api';
import { h } from '../dom';
import { errorView } from '../errors';
import { formatDateTime } from '../format';
import { t } from '../i18n';
import { setTitle, type View } from '../view';

export function mountRoles(root: HTMLElement): View {
  let roles: Role[] = [];
  let catalogue: PermissionCatalogue | null = null;
  let mfa: RoleMfaSetting[] | null = null;
  let error: unknown = null;
  let mfaError: unknown = null;
  let notice = '';
  let name = '';
  let busy = false;
  let destroyed = false;
  const chosen = new Set<string>();
  // The custom role being edited and its draft permissions.
  let editing: string | null = null;
  const editDraft = new Set<string>();
  // The role whose MFA relaxation waits for the admin to confirm the warning.
  let relaxing: string | null = null;

  async function load(): Promise<void> {
    try {
      [roles, catalogue] = await Promise.all([api.roles().then((r) => r.data), api.permissions()]);
    } catch (e) {
      error = e;
    }
    try {
      mfa = (await api.mfaPolicy()).data;
      mfaError = null;
    } catch (e) {
      mfa = null;
      mfaError = e;
    }
    if (!destroyed) {
      render();
    }
  }

  // Runs one change; its outcome shows as the notice or the error, then everything is read again.
  async function act(change: () => Promise<string>, onError: (e: unknown) => void = (e) => { error = e; }): Promise<void> {
    if (busy) {
      return;
    }
    busy = true;
    notice = '';
    error = null;
    mfaError = null;
    render();
    try {
      notice = await change();
    } catch (e) {
      onError(e);
    }
    busy = false;
    await load();
  }

  function submit(event: Event): void {
    event.preventDefault();
    void act(async () => {
      const role = await api.createRole(name.trim(), [...chosen]);
      name = '';
      chosen.clear();
      return t('roles.created', { name: role.name });
    });
  }

  function startEdit(role: Role): void {
    editing = role.name;
    editDraft.clear();
    role.permissions.forEach((p) => editDraft.add(p));
    notice = '';
    render();
  }

  function saveEdit(role: Role): void {
    const permissions = (catalogue?.permissions ?? []).filter((p) => editDraft.has(p));
    void act(async () => {
      await api.updateRole(role.name, permissions);
      editing = null;
      return t('roles.updated', { name: role.name });
    });
  }

  function remove(role: Role): void {
    if (!window.confirm(t('roles.confirmDelete', { name: role.name }))) {
      return;
    }
    void act(async () => {
      await api.deleteRole(role.name);
      if (editing === role.name) {
        editing = null;
      }
      return t('roles.deleted', { name: role.name });
    });
  }

  function setMfa(role: string, required: boolean): void {
    relaxing = null;
    void act(async () => {
      await api.setMfaPolicy(role, required);
      return t(required ? 'mfa.policy.requiredNotice' : 'mfa.policy.relaxedNotice', { role });
    }, (e) => { mfaError = e; });
  }

  function permissionBoxes(selected: Set<string>, prefix: string): HTMLElement {
    return h('div', { class: 'permission-list' },
      (catalogue?.permissions ?? []).map((p) =>
        h('label', { class: 'permission' },
          h('input', { type: 'checkbox', value: p, checked: selected.has(p), testid: `${prefix}${p}`,
            onchange: (e: Event) => { if ((e.target as HTMLInputElement).checked) { selected.add(p); } else { selected.delete(p); } } }),
          ' ', p)));
  }

  function roleRow(role: Role): HTMLElement {
    const isEditing = editing === role.name;
    return h('tr', { testid: 'role-row', 'data-role': role.name, 'data-built-in': String(role.built_in) },
      h('td', null, h('strong', null, role.name)),
      h('td', { class: 'muted nowrap' }, role.built_in ? t('roles.builtIn') : t('roles.custom')),
      h('td', { testid: 'role-permissions' },
        isEditing ? permissionBoxes(editDraft, 'edit-perm-') : role.permissions.join(', ')),
      h('td', null,
        role.built_in
          ? h('span', { class: 'muted small' }, t('roles.readOnly'))
          : h('div', { class: 'user-actions' },
            isEditing
              ? [
                h('button', { class: 'btn btn-small btn-primary', type: 'button', testid: 'role-save', disabled: busy, onclick: () => saveEdit(role) }, t('common.save')),
                h('button', { class: 'btn btn-small', type: 'button', testid: 'role-cancel', disabled: busy, onclick: () => { editing = null; render(); } }, t('roles.cancel')),
              ]
              : h('button', { class: 'btn btn-small', type: 'button', testid: 'role-edit', disabled: busy, onclick: () => startEdit(role) }, t('roles.edit')),
            h('button', { class: 'btn btn-small btn-danger', type: 'button', testid: 'role-delete', disabled: busy, onclick: () => remove(role) }, t('common.delete')))));
  }

  function mfaCard(): HTMLElement {
    return h('section', { class: 'card', testid: 'mfa-policy' },
      h('h2', { class: 'card-title' }, t('mfa.policy.title')),
      h('p', { class: 'muted' }, t('mfa.policy.hint')),
      mfaError !== null && errorView(mfaError),
      mfa &&
        h('table', { class: 'table table-compact' },
          h('thead', null, h('tr', null,
            h('th', null, t('mfa.policy.role')), h('th', null, t('mfa.policy.state')),
            h('th', null, t('mfa.policy.changed')), h('th', null, t('common.actions')))),
          h('tbody', null, mfa.map((s) =>
            h('tr', { testid: 'mfa-policy-row', 'data-role': s.role, 'data-required': String(s.mfa_required) },
              h('td', null, s.role),
              h('td', null, h('span', { class: s.mfa_required ? 'badge badge-in' : 'badge badge-out', testid: 'mfa-policy-state' },
                s.mfa_required ? t('mfa.policy.required') : t('mfa.policy.relaxed'))),
              h('td', { class: 'muted small' },
                s.changed_by && s.changed_at ? t('mfa.policy.changedBy', { user: s.changed_by, time: formatDateTime(s.changed_at) }) : t('common.none')),
              h('td', null,
                s.mfa_required
                  ? relaxing === s.role
                    ? h('div', { class: 'alert alert-warning', role: 'alert', testid: 'mfa-relax-warning' },
                      h('strong', null, t('mfa.policy.relaxWarningTitle', { role: s.role })),
                      h('p', { class: 'alert-detail' }, t('mfa.policy.relaxWarning')),
                      h('div', { class: 'user-actions' },
                        h('button', { class: 'btn btn-small btn-danger', type: 'button', testid: 'mfa-relax-confirm', disabled: busy,
                          onclick: () => setMfa(s.role, false) }, t('mfa.policy.relaxConfirm')),
                        h('button', { class: 'btn btn-small', type: 'button', testid: 'mfa-relax-cancel',
                          onclick: () => { relaxing = null; render(); } }, t('roles.cancel'))))
                    : h('button', { class: 'btn btn-small', type: 'button', testid: 'mfa-relax', disabled: busy,
                      onclick: () => { relaxing = s.role; render(); } }, t('mfa.policy.relax'))
                  : h('button', { class: 'btn btn-small btn-primary', type: 'button', testid: 'mfa-require', disabled: busy,
                    onclick: () => setMfa(s.role, true) }, t('mfa.policy.require'))))))),
      h('p', { class: 'muted small' }, t('mfa.policy.customNote')));
  }

  function render(): void {
    setTitle(t('roles.title'));
    const form =
      catalogue &&
      h(
        'form',
        { class: 'role-form', testid: 'role-form', onsubmit: submit },
        h('h2', null, t('roles.create')),
        h('label', null, t('roles.name'), ' ',
          h('input', { name: 'name', value: name, testid: 'role-name', oninput: (e: Event) => { name = (e.target as HTMLInputElement).value; } })),
        permissionBoxes(chosen, 'perm-'),
        h('button', { class: 'btn btn-primary', type: 'submit', testid: 'role-submit', disabled: busy }, t('roles.submit')),
      );
    root.replaceChildren(
      h('div', { class: 'page', testid: 'roles-page' },
        h('div', { class: 'page-head' }, h('h1', null, t('roles.title'))),
        notice && h('p', { class: 'notice', role: 'status', testid: 'roles-notice' }, notice),
        error !== null && errorView(error),
        h('table', { class: 'table', testid: 'roles-table' },
          h('tbody', null, roles.map(roleRow))),
        form,
        (mfa !== null || mfaError !== null) && mfaCard(),
      ),
    );
  }

  render();
  void load();
  return {
    render,
    destroy: () => {
      destroyed = true;
    },
  };
}
