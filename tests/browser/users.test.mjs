// The admin's Users & teams page and the role editor (用户与团队 / 角色), in Debian's headless Chromium against the
// real server. The admin creates a team, a custom role and a user in both; the user signs in (custom roles always
// need TOTP: enrolled with tests/js/totp.mjs) in a second browser and sees only what the role allows, the 403 view
// at #/users included. Then the admin widens the role (the user's next page load shows it), is refused deleting
// the role while the user holds it, moves the user to a built-in role, deletes the role, and disables the user,
// whose next sign-in fails. Also: a weak password is shown beside its field and creates nothing; relaxing the MFA
// policy asks through a warning and lands in the audit ledger; the page renders in zh-CN.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { consoleSuite } from '../js/console.mjs';
import { totp } from '../js/totp.mjs';

// The admin's browser runs the console in English; the zh-CN rendering is switched on once below.
const suite = consoleSuite({ locale: 'en-GB' });

const kTeam = '华东销售';
const kRole = 'east-reader';
const kUser = 'li.na';
const kPassword = 'plum blossom over the west lake';

async function users() {
  return (await suite.api.get('/api/v1/users')).data;
}

async function userNamed(name) {
  return (await users()).find((u) => u.username === name);
}

async function roleNamed(name) {
  return (await suite.api.get('/api/v1/roles')).data.find((r) => r.name === name);
}

// Accepts the window.confirm the destructive buttons ask.
function acceptConfirms(page) {
  page.on('dialog', (dialog) => void dialog.accept());
}

async function openUsers(page) {
  await page.getByTestId('nav-users').click();
  await page.getByTestId('users-table').waitFor();
}

// The staff user's pages open the console as http://localhost:<port>: another host has its own cookies and
// storage, so the user's session and the admin's live side by side in one browser (a second Chromium would
// cost seconds).
const staffUrl = (hash) => `${suite.server.baseUrl.replace('127.0.0.1', 'localhost')}/#${hash}`;

const userRow = (page, name) => page.locator(`[data-testid=user-row][data-username="${name}"]`);
const roleRow = (page, name) => page.locator(`[data-testid=role-row][data-role="${name}"]`);

// Signs the staff user in on the console's own form for the first time: custom roles need TOTP, so it enrols.
async function staffSignIn(page) {
  await page.goto(staffUrl('/login'));
  await page.getByTestId('login-username').fill(kUser);
  await page.getByTestId('login-password').fill(kPassword);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('mfa-secret').waitFor();
  const secret = (await page.getByTestId('mfa-secret').textContent()).trim();
  await page.getByTestId('login-code').fill(totp(secret));
  await page.getByTestId('login-code-submit').click();
  await page.getByTestId('mfa-continue').click();
  await page.locator('[data-testid=customers-page] h1').waitFor();
}

test('a weak initial password is shown beside the field and creates nothing', async () => {
  await suite.withPage('users-weak-password', async (page) => {
    await suite.signIn(page);
    await openUsers(page);
    const before = (await users()).length;
    await page.getByTestId('new-user-username').fill('weak.one');
    await page.getByTestId('new-user-password').fill('short');
    await page.getByTestId('new-user-submit').click();
    const fieldError = page.locator('[data-testid=user-field-error][data-field=password]');
    await fieldError.waitFor();
    assert.match(await fieldError.textContent(), /12/);
    assert.equal(await page.getByTestId('new-user-password').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByTestId('new-user-username').getAttribute('aria-invalid'), null, 'only the refused field is marked');
    assert.equal((await users()).length, before);
    assert.equal(await userNamed('weak.one'), undefined);
    // An admin cannot lock themselves out from here.
    assert.ok(await userRow(page, suite.server.adminUsername).getByTestId('user-toggle-disabled').isDisabled());

    // The same page in zh-CN: the heading and the role column in Chinese.
    await page.getByTestId('lang-zh-CN').click();
    await page.locator('[data-testid=users-page] h1', { hasText: '用户与团队' }).waitFor();
    assert.ok(await page.getByRole('columnheader', { name: '角色' }).isVisible());
    await page.getByTestId('lang-en').click();
    await page.locator('[data-testid=users-page] h1', { hasText: 'Users & teams' }).waitFor();
  });
});

test('team, custom role and user from the console; the user sees what the role allows; edits, refusals, disable', async () => {
  await suite.withPage('users-admin', async (page) => {
    acceptConfirms(page);
    await suite.signIn(page);
    await openUsers(page);

    // A team.
    await page.getByTestId('team-name').fill(kTeam);
    await page.getByTestId('team-submit').click();
    await page.locator('[data-testid=team-row]', { hasText: kTeam }).waitFor();
    const team = (await suite.api.get('/api/v1/teams')).data.find((t) => t.name === kTeam);
    assert.ok(team, 'the team exists in the API');

    // A custom role that may read customers and nothing else.
    await page.getByTestId('nav-roles').click();
    await page.getByTestId('role-name').fill(kRole);
    await page.getByTestId('perm-customers.read').check();
    await page.getByTestId('role-submit').click();
    await roleRow(page, kRole).waitFor();
    assert.deepEqual((await roleNamed(kRole)).permissions, ['customers.read']);
    // Built-in roles offer no edit or delete.
    assert.equal(await roleRow(page, 'analyst').getByTestId('role-edit').count(), 0);
    assert.equal(await roleRow(page, 'analyst').getByTestId('role-delete').count(), 0);

    // A user in that team with that role.
    await openUsers(page);
    await page.getByTestId('new-user-username').fill(kUser);
    await page.getByTestId('new-user-display-name').fill('李娜');
    await page.getByTestId('new-user-role').selectOption(kRole);
    await page.getByTestId('new-user-team-id').selectOption(String(team.id));
    await page.getByTestId('new-user-password').fill(kPassword);
    await page.getByTestId('new-user-submit').click();
    const row = userRow(page, kUser);
    await row.waitFor();
    assert.equal(await row.getByTestId('user-role').textContent(), kRole);
    assert.equal(await row.getByTestId('user-team').textContent(), kTeam);
    assert.equal(await row.getByTestId('user-display-name').textContent(), '李娜');
    let user = await userNamed(kUser);
    assert.equal(user.role, kRole);
    assert.equal(user.team_id, team.id);
    assert.equal(user.disabled, false);

    // The user signs in: customers only; no analytics, no admin pages; #/users answers the 403 view.
    const staffPage = await suite.context.newPage();
    await staffSignIn(staffPage);
    await staffPage.getByTestId('nav-security').waitFor();
    for (const hidden of ['nav-analytics', 'nav-segments', 'nav-users', 'nav-roles', 'nav-audit', 'nav-privacy']) {
      assert.equal(await staffPage.getByTestId(hidden).count(), 0, `${hidden} is hidden`);
    }
    await staffPage.goto(staffUrl('/users'));
    await staffPage.getByTestId('error-title').waitFor();
    assert.equal(await staffPage.getByTestId('error-title').textContent(), 'You do not have permission to see this.');
    assert.equal(await staffPage.getByTestId('users-table').count(), 0);

    // The admin widens the role; the user's next page load shows analytics.
    await page.getByTestId('nav-roles').click();
    await roleRow(page, kRole).getByTestId('role-edit').click();
    await roleRow(page, kRole).getByTestId('edit-perm-analytics.read').check();
    await roleRow(page, kRole).getByTestId('role-save').click();
    await page.getByTestId('roles-notice').waitFor();
    assert.deepEqual((await roleNamed(kRole)).permissions.sort(), ['analytics.read', 'customers.read']);
    await staffPage.goto(staffUrl('/customers'));
    await staffPage.reload();
    await staffPage.getByTestId('nav-analytics').waitFor();

    // Deleting a role a user holds is refused with the server's reason; nothing changes.
    await roleRow(page, kRole).getByTestId('role-delete').click();
    await page.getByTestId('error-detail').waitFor();
    assert.match(await page.getByTestId('error-detail').textContent(), new RegExp(`held by user ${user.id}`));
    assert.ok(await roleNamed(kRole), 'the role is still there');

    // The admin moves the user to a built-in role and out of the team; then the role can go.
    await openUsers(page);
    await userRow(page, kUser).getByTestId('user-role-select').selectOption('support');
    await userRow(page, kUser).getByTestId('user-team-select').selectOption('');
    await userRow(page, kUser).getByTestId('user-access-save').click();
    await userRow(page, kUser).getByTestId('user-role').filter({ hasText: 'support' }).waitFor();
    user = await userNamed(kUser);
    assert.equal(user.role, 'support');
    assert.equal(user.team_id, null);
    await page.getByTestId('nav-roles').click();
    await roleRow(page, kRole).getByTestId('role-delete').click();
    await roleRow(page, kRole).waitFor({ state: 'detached' });
    assert.equal(await roleNamed(kRole), undefined);

    // Disabling ends the user's session, and the next sign-in fails.
    await openUsers(page);
    await userRow(page, kUser).getByTestId('user-toggle-disabled').click();
    await userRow(page, kUser).locator('[data-testid=user-status][data-disabled=true]').waitFor();
    assert.equal((await userNamed(kUser)).disabled, true);
    await staffPage.reload();
    await staffPage.getByTestId('login-form').waitFor();
    await staffPage.getByTestId('login-username').fill(kUser);
    await staffPage.getByTestId('login-password').fill(kPassword);
    await staffPage.getByTestId('login-submit').click();
    await staffPage.getByTestId('error').waitFor();
    // A disabled account is refused like a wrong password (nothing tells a guesser the account exists).
    assert.equal(await staffPage.getByTestId('error-title').textContent(), 'Incorrect username or password.');
    assert.equal(await staffPage.getByTestId('mfa-form').count(), 0, 'no second step for a disabled account');

    // Enable needs no confirmation and flips the account back.
    await userRow(page, kUser).getByTestId('user-toggle-disabled').click();
    await userRow(page, kUser).locator('[data-testid=user-status][data-disabled=false]').waitFor();
    assert.equal((await userNamed(kUser)).disabled, false);
    await staffPage.close();
  });
});

test('relaxing the MFA policy warns first, shows the new state, and is in the audit ledger', async () => {
  await suite.withPage('users-mfa-policy', async (page) => {
    await suite.signIn(page);
    await page.getByTestId('nav-roles').click();
    const row = page.locator('[data-testid=mfa-policy-row][data-role=support]');
    await row.waitFor();
    assert.equal(await row.getAttribute('data-required'), 'true');

    await row.getByTestId('mfa-relax').click();
    const warning = row.getByTestId('mfa-relax-warning');
    await warning.waitFor();
    assert.match(await warning.textContent(), /password alone/);
    // Cancelling changes nothing.
    await row.getByTestId('mfa-relax-cancel').click();
    await warning.waitFor({ state: 'detached' });
    let policy = (await suite.api.get('/api/v1/security/mfa-policy')).data.find((r) => r.role === 'support');
    assert.equal(policy.mfa_required, true);

    await row.getByTestId('mfa-relax').click();
    await row.getByTestId('mfa-relax-confirm').click();
    await page.locator('[data-testid=mfa-policy-row][data-role=support][data-required=false]').waitFor();
    policy = (await suite.api.get('/api/v1/security/mfa-policy')).data.find((r) => r.role === 'support');
    assert.equal(policy.mfa_required, false);
    assert.equal(policy.changed_by, suite.server.adminUsername);

    const ledger = await suite.api.get('/api/v1/audit?action=role.mfa_policy&object_id=support');
    assert.equal(ledger.data.length, 1, 'one ledger entry for the change');
    assert.deepEqual(ledger.data[0].fields, ['mfa_required']);

    // The audit page shows it too.
    await page.getByTestId('nav-audit').click();
    await page.getByTestId('audit-filter-action').fill('role.mfa_policy');
    await page.getByTestId('audit-search').click();
    await page.locator('[data-testid=audit-row]', { hasText: 'role #support' }).waitFor();

    // Required again.
    await page.getByTestId('nav-roles').click();
    await page.locator('[data-testid=mfa-policy-row][data-role=support]').getByTestId('mfa-require').click();
    await page.locator('[data-testid=mfa-policy-row][data-role=support][data-required=true]').waitFor();
    policy = (await suite.api.get('/api/v1/security/mfa-policy')).data.find((r) => r.role === 'support');
    assert.equal(policy.mfa_required, true);
  });
});
