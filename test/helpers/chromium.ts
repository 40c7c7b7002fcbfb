// Debian's Chromium as the e2e tests and the web bench launch it: headless, with the flags
// this sandbox needs (no sandbox as root, and no background connections, which its closed
// network refuses many at a time). playwright-core gives each launch a fresh temporary profile.
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
