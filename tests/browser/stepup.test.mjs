// Step-up re-authentication in the console, in Debian's headless Chromium against the real server started
// with a 2-second step-up window (`serve --step-up-window-seconds 2`) so the sign-in goes stale quickly.
// A sensitive action (creating a custom role) then answers 403 reauth_required: the console must ask for the
// password in an accessible dialog, show the server's message for a wrong one, retry the action once after
// the right one, and leave nothing created when the user cancels.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';

import { consoleSuite } from '../js/console.mjs';

const kWindowSeconds = 2;
// Long enough past the window that the session is surely stale.
const kStaleMs = kWindowSeconds * 1000 + 700;

const suite = consoleSuite({ server: { serveArgs: ['--step-up-window-seconds', String(kWindowSeconds)] } });

async function roleNames() {
  const { data } = await suite.api.get('/api/v1/roles');
  return data.map((r) => r.name);
}

async function signInToRoles(page) {
  await suite.signIn(page);
  await page.getByTestId('nav-roles').click();
  await page.getByTestId('role-form').waitFor();
}

async function submitRole(page, name) {
  await page.getByTestId('role-name').fill(name);
  await page.locator('[data-testid^="perm-"]').first().check();
  await page.getByTestId('role-submit').click();
}

const activeTestId = (page) => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? '');

test('a stale session is asked for the password; a wrong one is refused in the dialog, the right one completes the action', async () => {
  await suite.withPage('stepup-password', async (page) => {
    await signInToRoles(page);
    await sleep(kStaleMs);
    await submitRole(page, 'stepup-ok');

    const dialog = page.getByRole('dialog', { name: '请再次验证身份' });
    await dialog.waitFor();
    assert.equal(await dialog.getAttribute('aria-modal'), 'true');
    assert.equal(await activeTestId(page), 'stepup-password', 'focus moves into the dialog');
    // Tab cycles inside the dialog (password, code, cancel, confirm, back to password).
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      assert.ok(await dialog.evaluate((d) => d.contains(document.activeElement)), `Tab ${i + 1} left the dialog`);
    }
    assert.equal(await activeTestId(page), 'stepup-code');
    assert.ok(!(await roleNames()).includes('stepup-ok'), 'nothing created while the dialog is open');

    await page.getByTestId('stepup-password').fill(`${suite.server.adminPassword}-wrong`);
    await page.getByTestId('stepup-submit').click();
    const error = page.getByTestId('stepup-error');
    await page.waitForFunction(
      () => (document.querySelector('[data-testid=stepup-error]')?.textContent ?? '').trim().length > 0);
    assert.ok((await error.textContent()).trim().length > 0, 'the server message is shown');
    assert.ok(await dialog.isVisible(), 'the dialog stays open after a wrong password');
    assert.ok(!(await roleNames()).includes('stepup-ok'));

    await page.getByTestId('stepup-password').fill(suite.server.adminPassword);
    await page.getByTestId('stepup-submit').click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByTestId('roles-notice').waitFor();
    assert.match(await page.getByTestId('roles-notice').textContent(), /stepup-ok/);
    const names = await roleNames();
    assert.equal(names.filter((n) => n === 'stepup-ok').length, 1, 'the action ran exactly once');
  });
});

test('cancelling the dialog (Escape or the button) rejects with the original error and creates nothing', async () => {
  await suite.withPage('stepup-cancel', async (page) => {
    await signInToRoles(page);
    await sleep(kStaleMs);

    await submitRole(page, 'stepup-escape');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    // The page shows the refusal it would have shown without the dialog.
    await page.getByTestId('error-detail').waitFor();
    assert.match(await page.getByTestId('error-detail').textContent(), /step-up/);

    await page.goto(`${suite.server.baseUrl}/#/roles`);
    await page.getByTestId('role-form').waitFor();
    await submitRole(page, 'stepup-cancel');
    await dialog.waitFor();
    await page.getByTestId('stepup-password').fill(suite.server.adminPassword);
    await page.getByTestId('stepup-cancel').click();
    await dialog.waitFor({ state: 'detached' });

    const names = await roleNames();
    assert.ok(!names.includes('stepup-escape'), 'Escape created nothing');
    assert.ok(!names.includes('stepup-cancel'), 'Cancel created nothing');
  });
});
