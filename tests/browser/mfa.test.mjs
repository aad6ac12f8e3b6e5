// The console's sign-in with TOTP in Debian's headless Chromium: a fresh admin (MFA required) enrols
// by scanning — here, reading — the key, gets the recovery codes once, lands on the customer list,
// then signs out everywhere from the security page.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { consoleSuite } from '../js/console.mjs';
import { totp } from '../js/totp.mjs';

// Staff need TOTP (mfa: true); this browser runs the console in English (en-GB).
const suite = consoleSuite({ server: { mfa: true }, api: false, locale: 'en-GB' });

test('a fresh admin enrols TOTP, sees the recovery codes once, and can sign out everywhere', async () => {
  await suite.withPage('mfa-enrol', async (page) => {
    await suite.signIn(page, { waitForConsole: false });

    await page.getByTestId('mfa-qr').waitFor();
    assert.match(await page.getByTestId('mfa-qr').getAttribute('src'), /^data:image\/svg\+xml;base64,/);
    const secret = (await page.getByTestId('mfa-secret').textContent()).trim();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    await page.getByTestId('login-code').fill(totp(secret));
    await page.getByTestId('login-code-submit').click();

    await page.getByTestId('recovery-codes').waitFor();
    assert.equal(await page.locator('[data-testid=recovery-codes] li').count(), 10);
    await page.getByTestId('mfa-continue').click();
    await page.getByTestId('nav-customers').waitFor();

    await page.getByTestId('nav-security').click();
    await page.getByTestId('session-item').first().waitFor();
    await page.getByTestId('sign-out-everywhere').click();
    await page.getByTestId('login-form').waitFor();
  });
});
