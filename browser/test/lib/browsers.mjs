// SPDX-License-Identifier: Apache-2.0
// browser/test/lib/browsers.mjs: Debian's chromium and firefox-esr driven
// headless by puppeteer-core (no browser download), each in a fresh profile,
// optionally with an unpacked extension; and inNetns(), which runs the
// calling script again inside its own network namespace that has only
// loopback, so no browser traffic can leave the machine.
//
//   if (inNetns()) process.exit(await reexec());   // first lines of a test
//   const b = await launch('chromium', { extension: dir });
//   const b = await launch('firefox', { extension: dir, privateWindows: true });
//        the extension also allowed in private (incognito) windows, as a person
//        allows it (Chromium: "Allow in Incognito"; Firefox: "Run in Private Windows")
//   b.browser  the puppeteer Browser;   b.extensionId (chromium) or the id (firefox)
//   await b.close()
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import puppeteer from 'puppeteer-core';

export const BROWSERS = ['chromium', 'firefox'];
const EXECUTABLES = { chromium: '/usr/lib/chromium/chromium', firefox: '/usr/bin/firefox-esr' };

// True when this process must first move into a private network namespace
// (then call reexec()); false once inside (AGP_NETNS=1).
export function inNetns() {
  return process.env.AGP_NETNS !== '1';
}

// Runs this very script again under `unshare -n` with `lo` up; returns its exit status.
export function reexec() {
  const args = [process.execPath, ...process.execArgv, ...process.argv.slice(1)].map((a) => `'${a.replace(/'/g, "'\\''")}'`);
  const r = spawnSync('unshare', ['-n', 'bash', '-c', `ip link set lo up && exec ${args.join(' ')}`],
    { stdio: 'inherit', env: { ...process.env, AGP_NETNS: '1' } });
  if (r.error) {
    console.error(`cannot enter a network namespace: ${r.error.message} (needs root and util-linux unshare)`);
    return 2;
  }
  return r.status ?? 1;
}

// Starts one browser headless with a fresh profile and, with `extension`
// (an absolute folder), that unpacked extension loaded; with
// privateWindows, allowed in private windows too (Chromium: CDP
// Extensions.loadUnpacked enableInIncognito; Firefox: WebDriver BiDi
// webExtension.install moz:allowPrivateBrowsing).
export async function launch(which, { extension = null, prefs = {}, privateWindows = false } = {}) {
  const profile = mkdtempSync(path.join(tmpdir(), `agp-${which}-`));
  let browser;
  let extensionId = null;
  if (which === 'chromium') {
    browser = await puppeteer.launch({
      browser: 'chrome',
      executablePath: EXECUTABLES.chromium,
      headless: true,
      pipe: true, // enableExtensions needs it (else the browser is left running on error)
      userDataDir: profile,
      enableExtensions: !!extension, // loaded below
      args: ['--no-sandbox', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--metrics-recording-only',
        '--disable-features=Translate,OptimizationHints,MediaRouter'],
    });
    if (extension) {
      try {
        const cdp = await browser.target().createCDPSession();
        await cdp.send('Extensions.loadUnpacked', { path: extension, enableInIncognito: privateWindows });
      } catch (e) {
        await browser.close().catch(() => browser.process()?.kill('SIGKILL'));
        throw e;
      }
      const sw = await browser.waitForTarget((t) => t.type() === 'service_worker' &&
        t.url().startsWith('chrome-extension://'), { timeout: 10000 });
      extensionId = new URL(sw.url()).host;
    }
  } else {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: EXECUTABLES.firefox,
      headless: true,
      userDataDir: profile,
      extraPrefsFirefox: {
        'app.update.enabled': false,
        'browser.shell.checkDefaultBrowser': false,
        'datareporting.policy.dataSubmissionEnabled': false,
        'network.captive-portal-service.enabled': false,
        'network.connectivity-service.enabled': false,
        'network.dns.disableIPv6': true, // localhost is 127.0.0.1 only, as the servers listen
        ...prefs,
      },
    });
    if (extension) {
      try {
        const r = await browser.connection.send('webExtension.install', {
          extensionData: { type: 'path', path: extension }, 'moz:allowPrivateBrowsing': privateWindows });
        extensionId = r.result.extension;
      } catch (e) {
        await browser.close().catch(() => browser.process()?.kill('SIGKILL'));
        throw e;
      }
    }
  }
  return {
    which,
    browser,
    extensionId,
    async close() {
      try { await browser.close(); } catch { browser.process()?.kill('SIGKILL'); }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
