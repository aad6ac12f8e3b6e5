// Users & teams page (admin): staff accounts with their role, team and status; creating a user; per user
// changing role and team, disabling/enabling, signing out everywhere and resetting MFA; listing and creating
// teams. The server enforces users.manage (a 403 shows as the error view) and asks for a step-up on the
// sensitive calls (api.ts opens the dialog and retries).
import { ApiError, api, type Role, type StaffUser, type Team } from '../api';
import { h } from '../dom';
import { errorHeadline, errorView } from '../errors';
import { formatDateTime } from '../format';
import { t } from '../i18n';
import { currentUser } from '../session';
import { setTitle, type View } from '../view';

// Offered when the caller may not list roles (roles.manage); POST /users also takes any existing custom role.
const kBuiltInRoles = ['admin', 'sales', 'marketing', 'support', 'analyst', 'auditor'];
const kFormFields = ['username', 'display_name', 'role', 'team_id', 'password'] as const;

interface Draft {
  username: string;
  display_name: string;
  role: string;
  team_id: string; // '' = no team
  password: string;
}

const emptyDraft = (): Draft => ({ username: '', display_name: '', role: 'sales', team_id: '', password: '' });

export function mountUsers(root: HTMLElement): View {
  let users: StaffUser[] | null = null;
  let teams: Team[] = [];
  let roles: Role[] = [];
  let error: unknown = null; // loading or a per-user action
  let createError: unknown = null;
  let teamError: unknown = null;
  let notice = '';
  let draft = emptyDraft();
  let teamName = '';
  let busy = false;
  let destroyed = false;
  // Per-user role/team edits not yet saved, by user id.
  const edits = new Map<number, { role: string; team_id: string }>();

  async function load(): Promise<void> {
    try {
      users = (await api.users()).data;
      error = null;
      // Roles need roles.manage, teams users.manage; without roles the built-in ones are offered.
      const [roleList, teamList] = await Promise.all([
        api.roles().then((r) => r.data).catch(() => null),
        api.teams().then((r) => r.data).catch(() => [] as Team[]),
      ]);
      roles = roleList ?? kBuiltInRoles.map((name) => ({ name, description: '', built_in: true, permissions: [] }));
      teams = teamList;
    } catch (e) {
      users = null;
      error = e;
    }
    edits.clear();
    if (!destroyed) {
      render();
    }
  }

  // Runs one action, then reloads the list; the outcome shows as a notice or as the error.
  async function act(action: () => Promise<string>): Promise<void> {
    if (busy) {
      return;
    }
    busy = true;
    notice = '';
    error = null;
    render();
    try {
      notice = await action();
    } catch (e) {
      error = e;
    }
    busy = false;
    await load();
  }

  async function createUser(event: Event): Promise<void> {
    event.preventDefault();
    if (busy) {
      return;
    }
    busy = true;
    createError = null;
    notice = '';
    render();
    const teamId = draft.team_id ? Number(draft.team_id) : null;
    try {
      const user = await api.createUser({
        username: draft.username.trim(),
        display_name: draft.display_name.trim(),
        role: draft.role,
        password: draft.password,
      });
      // POST /users takes no team: it is set right after, through PUT …/access.
      if (teamId !== null) {
        try {
          await api.setUserAccess(user.id, { team_id: teamId });
        } catch (e) {
          // Never leave the account usable outside the team it was meant for: disable it, and say so.
          await api.setUserDisabled(user.id, true).catch(() => undefined);
          notice = t('users.createdDisabled', { username: user.username });
          throw e;
        }
      }
      notice = t('users.created', { username: user.username });
      draft = emptyDraft();
    } catch (e) {
      createError = e;
    }
    busy = false;
    await load();
  }

  async function createTeam(event: Event): Promise<void> {
    event.preventDefault();
    if (busy) {
      return;
    }
    busy = true;
    teamError = null;
    notice = '';
    try {
      const team = await api.createTeam(teamName.trim());
      notice = t('users.teamCreated', { name: team.name });
      teamName = '';
    } catch (e) {
      teamError = e;
    }
    busy = false;
    await load();
  }

  function teamLabel(id: number | null | undefined): string {
    if (id === null || id === undefined) {
      return t('users.noTeam');
    }
    return teams.find((team) => team.id === id)?.name ?? `#${id}`;
  }

  function saveAccess(user: StaffUser): void {
    const edit = edits.get(user.id);
    if (!edit) {
      return;
    }
    const body: { role?: string; team_id?: number | null } = {};
    if (edit.role !== user.role) {
      body.role = edit.role;
    }
    const team = edit.team_id ? Number(edit.team_id) : null;
    if (team !== (user.team_id ?? null)) {
      body.team_id = team;
    }
    if (body.role === undefined && body.team_id === undefined) {
      return;
    }
    void act(async () => {
      await api.setUserAccess(user.id, body);
      return t('users.accessSaved', { username: user.username });
    });
  }

  function toggleDisabled(user: StaffUser): void {
    if (!user.disabled && !window.confirm(t('users.confirmDisable', { username: user.username }))) {
      return;
    }
    void act(async () => {
      await api.setUserDisabled(user.id, !user.disabled);
      return t(user.disabled ? 'users.enabled' : 'users.disabledNotice', { username: user.username });
    });
  }

  function endSessions(user: StaffUser): void {
    if (!window.confirm(t('users.confirmSignOut', { username: user.username }))) {
      return;
    }
    void act(async () => {
      await api.endUserSessions(user.id);
      return t('users.signedOut', { username: user.username });
    });
  }

  function resetMfa(user: StaffUser): void {
    if (!window.confirm(t('users.confirmResetMfa', { username: user.username }))) {
      return;
    }
    void act(async () => {
      await api.resetUserMfa(user.id);
      return t('users.mfaReset', { username: user.username });
    });
  }

  function roleOptions(selected: string): HTMLOptionElement[] {
    const names = roles.map((r) => r.name);
    if (!names.includes(selected)) {
      names.push(selected); // a role the list does not know (yet): keep it selectable
    }
    return names.map((name) => {
      const custom = roles.find((r) => r.name === name)?.built_in === false;
      return h('option', { value: name, selected: name === selected }, custom ? `${name} (${t('roles.custom')})` : name);
    });
  }

  function teamOptions(selected: string): HTMLOptionElement[] {
    return [
      h('option', { value: '', selected: selected === '' }, t('users.noTeam')),
      ...teams.map((team) => h('option', { value: String(team.id), selected: String(team.id) === selected }, team.name)),
    ];
  }

  function userRow(user: StaffUser): HTMLElement {
    // Disabling yourself would lock you out mid-session; another admin can do it.
    const self = user.username === currentUser()?.username;
    const edit = edits.get(user.id) ?? { role: user.role, team_id: user.team_id ? String(user.team_id) : '' };
    const setEdit = (change: Partial<{ role: string; team_id: string }>): void => {
      edits.set(user.id, { ...edit, ...change });
      Object.assign(edit, change);
    };
    return h('tr', { testid: 'user-row', 'data-id': user.id, 'data-username': user.username },
      h('td', null, h('strong', { testid: 'user-username' }, user.username)),
      h('td', { testid: 'user-display-name' }, user.display_name || t('common.none')),
      h('td', { testid: 'user-role' }, user.role),
      h('td', { testid: 'user-team' }, 'team_id' in user ? teamLabel(user.team_id) : t('common.none')),
      h('td', null,
        h('span', { class: user.disabled ? 'badge badge-out' : 'badge badge-in', testid: 'user-status', 'data-disabled': String(user.disabled) },
          user.disabled ? t('users.statusDisabled') : t('users.statusActive'))),
      h('td', { class: 'muted small' }, formatDateTime(user.created_at)),
      h('td', null,
        h('div', { class: 'user-actions' },
          h('label', { class: 'field-inline' }, h('span', { class: 'sr-only' }, t('users.role')),
            h('select', { testid: 'user-role-select', 'aria-label': t('users.role'), disabled: busy,
              onchange: (e: Event) => setEdit({ role: (e.target as HTMLSelectElement).value }) }, roleOptions(edit.role))),
          h('label', { class: 'field-inline' }, h('span', { class: 'sr-only' }, t('users.team')),
            h('select', { testid: 'user-team-select', 'aria-label': t('users.team'), disabled: busy,
              onchange: (e: Event) => setEdit({ team_id: (e.target as HTMLSelectElement).value }) }, teamOptions(edit.team_id))),
          h('button', { class: 'btn btn-small', type: 'button', testid: 'user-access-save', disabled: busy, onclick: () => saveAccess(user) },
            t('users.saveAccess')),
          h('button', { class: user.disabled ? 'btn btn-small' : 'btn btn-small btn-danger', type: 'button', testid: 'user-toggle-disabled',
            disabled: busy || (self && !user.disabled), title: self ? t('users.selfDisable') : null,
          onclick: () => toggleDisabled(user) }, user.disabled ? t('users.enable') : t('users.disable')),
          h('button', { class: 'btn btn-small', type: 'button', testid: 'user-sign-out', disabled: busy, onclick: () => endSessions(user) },
            t('users.signOutEverywhere')),
          h('button', { class: 'btn btn-small btn-danger', type: 'button', testid: 'user-reset-mfa', disabled: busy, onclick: () => resetMfa(user) },
            t('users.resetMfa')))));
  }

  // The create form; each refused field gets its reason beside it (aria-invalid, aria-describedby).
  function createForm(): HTMLElement {
    const fieldErrors = createError instanceof ApiError ? createError.fieldErrors : [];
    const reasonOf = (field: string): string | null => fieldErrors.find((f) => f.field === field)?.reason ?? null;
    const unmatched = fieldErrors.filter((f) => !(kFormFields as readonly string[]).includes(f.field));
    const field = (name: (typeof kFormFields)[number], label: string, control: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLElement => {
      const reason = reasonOf(name);
      const id = `user-new-${name}`;
      control.id = id;
      if (reason) {
        control.setAttribute('aria-invalid', 'true');
        control.setAttribute('aria-describedby', `${id}-error`);
      }
      return h('label', { class: 'field', for: id },
        h('span', { class: 'field-label' }, label), control,
        hint && h('span', { class: 'muted small' }, hint),
        reason && h('span', { class: 'field-error', id: `${id}-error`, testid: 'user-field-error', 'data-field': name }, reason));
    };
    const input = (name: keyof Draft, type = 'text', extra: Record<string, string> = {}): HTMLInputElement =>
      h('input', { type, name, value: draft[name], testid: `new-user-${name.replace('_', '-')}`, ...extra,
        oninput: (e: Event) => { draft[name] = (e.target as HTMLInputElement).value; } });
    const select = (name: 'role' | 'team_id', options: HTMLOptionElement[]): HTMLSelectElement =>
      h('select', { name, testid: `new-user-${name.replace('_', '-')}`,
        onchange: (e: Event) => { draft[name] = (e.target as HTMLSelectElement).value; } }, options);
    return h('form', { class: 'card user-form', testid: 'user-form', novalidate: true, onsubmit: (e: Event) => void createUser(e) },
      h('h2', { class: 'card-title' }, t('users.create')),
      createError !== null &&
        h('div', { class: 'alert alert-error', role: 'alert', testid: 'user-form-error' },
          h('strong', null, errorHeadline(createError)),
          (fieldErrors.length === 0 || unmatched.length > 0) && createError instanceof ApiError && createError.problem.detail &&
            h('p', { class: 'alert-detail' }, createError.problem.detail),
          unmatched.map((f) => h('p', { class: 'alert-detail' }, `${f.field}: ${f.reason}`))),
      h('div', { class: 'form-grid' },
        field('username', t('users.username'), input('username', 'text', { autocomplete: 'off' }), t('users.usernameHint')),
        field('display_name', t('users.displayName'), input('display_name')),
        field('role', t('users.role'), select('role', roleOptions(draft.role))),
        field('team_id', t('users.team'), select('team_id', teamOptions(draft.team_id))),
        field('password', t('users.initialPassword'), input('password', 'password', { autocomplete: 'new-password' }), t('users.passwordHint'))),
      h('div', null, h('button', { class: 'btn btn-primary', type: 'submit', testid: 'new-user-submit', disabled: busy }, t('users.submit'))));
  }

  function teamsCard(): HTMLElement {
    return h('section', { class: 'card', testid: 'teams-card' },
      h('h2', { class: 'card-title' }, t('users.teams')),
      teams.length === 0
        ? h('p', { class: 'muted', testid: 'teams-empty' }, t('users.noTeams'))
        : h('ul', { class: 'field-list', testid: 'teams-list' },
          teams.map((team) => h('li', { testid: 'team-row', 'data-id': team.id },
            h('strong', null, team.name), ' ',
            h('span', { class: 'muted small' }, t('users.teamMembers', { count: (users ?? []).filter((u) => u.team_id === team.id).length }))))),
      teamError !== null && errorView(teamError),
      h('form', { class: 'field-inline', testid: 'team-form', onsubmit: (e: Event) => void createTeam(e) },
        h('label', { class: 'field-inline' }, h('span', null, t('users.teamName')),
          h('input', { name: 'team', value: teamName, testid: 'team-name', required: true,
            oninput: (e: Event) => { teamName = (e.target as HTMLInputElement).value; } })),
        h('button', { class: 'btn', type: 'submit', testid: 'team-submit', disabled: busy }, t('users.createTeam'))));
  }

  function render(): void {
    setTitle(t('users.title'));
    if (users === null) {
      root.replaceChildren(
        h('div', { class: 'page', testid: 'users-page' },
          h('div', { class: 'page-head' }, h('h1', null, t('users.title'))),
          error !== null ? errorView(error, { onRetry: () => void load() }) : h('div', { class: 'empty' }, t('common.loading'))));
      return;
    }
    root.replaceChildren(
      h('div', { class: 'page', testid: 'users-page' },
        h('div', { class: 'page-head' }, h('h1', null, t('users.title'))),
        h('p', { class: 'muted' }, t('users.hint')),
        notice && h('p', { class: 'notice', role: 'status', testid: 'users-notice' }, notice),
        error !== null && errorView(error),
        h('div', { class: 'table-wrap' },
          h('table', { class: 'table', testid: 'users-table' },
            h('thead', null, h('tr', null,
              h('th', null, t('users.username')),
              h('th', null, t('users.displayName')),
              h('th', null, t('users.role')),
              h('th', null, t('users.team')),
              h('th', null, t('users.status')),
              h('th', null, t('users.createdAt')),
              h('th', null, t('common.actions')))),
            h('tbody', null, users.map(userRow)))),
        createForm(),
        teamsCard()));
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
