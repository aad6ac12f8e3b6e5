// Debian's chromium, headless, driven by playwright-core: the browser every console test runs in. Each call gets
// its own throw-away profile directory, removed by close().
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

export const kChromium = process.env.PANORAMA_CHROMIUM || '/usr/bin/chromium';
export const kChromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// { context, close }: a persistent context in `locale` (zh-CN unless given) at 1280×900 with `timeoutMs` as the
// default timeout.
export async function launchConsoleBrowser({ timeoutMs = 10_000, timezoneId, locale = 'zh-CN' } = {}) {
  const profileDir = await mkdtemp(path.join(tmpdir(), 'panorama-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: kChromium,
    headless: true,
    args: kChromiumArgs,
    locale,
    ...(timezoneId ? { timezoneId } : {}),
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(timeoutMs);
  return {
    context,
    async close() {
      await context.close();
      await rm(profileDir, { recursive: true, force: true });
    },
  };
}
