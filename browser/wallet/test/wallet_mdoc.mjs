#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// browser/wallet/test/wallet_mdoc.mjs: enrolment in the web wallet with an
// EU Proof-of-Age attestation, in real browsers (issue 12, "the grant
// comes back to the wallet without copy and paste"): Chromium with phone
// emulation and Firefox, each in its own loopback-only network namespace,
// against the real issuer (serving the built wallet, --wallet-dir, and
// trusting a test IACA, --mdoc-trust), the real verifier and nginx.
//
// Per browser: from the wallet's home the person taps "EU attestation" and
// gets the issuer's page with the QR code and the av:// link (axe-core:
// no WCAG 2.2 AA violation but the one rule named in SKIPPED_AXE_RULES); the test plays
// the EU wallet: it reads the request from the page's av:// link and
// presents an attestation made by @animo-id/mdoc
// (tests/integration/mdoc_lib.mjs, as the mdoc integration test does);
// the page goes on by itself, the browser lands in the wallet, enrolled,
// with 30 tokens; a protected page then opens from the age-check page.
// Negative: the state polled without the pickup cookie (node fetch) and
// from another browser context never gets the grant; a second pickup with
// the same cookie gets nothing; a minor's attestation is refused, the page
// says so and the wallet holds no token. Same device: the EU wallet's
// redirect_uri opened in the browser brings it back to the wallet, enrolled.
// The issuer's metrics count each enrolment (source mdoc); its log holds no
// grant, state or pickup secret. --screenshots: docs/wallet-mdoc.png.
//
//   node browser/wallet/test/wallet_mdoc.mjs [--agepass PATH] [--browser chromium|firefox] [--screenshots]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { KnownDevices } from 'puppeteer-core';
import { BROWSERS, inNetns, launch, reexec } from '../../test/lib/browsers.mjs';
import { axe, check, finish } from '../../test/lib/checks.mjs';
import { SITE_CONTENT, startServers } from '../../test/lib/servers.mjs';
import { b64url, issue, newDeviceKey, pki, present } from '../../../tests/integration/mdoc_lib.mjs';

if (inNetns()) process.exit(reexec());

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const agepass = path.resolve(opt('--agepass', path.join(repo, 'build/agepass')));
const only = opt('--browser', null);
const shots = args.includes('--screenshots');
const PHONE = KnownDevices['Pixel 5'];
// The waiting page reloads itself every 2 s, without script (<meta http-equiv=refresh>):
// axe-core's meta-refresh rule (WCAG 2.2.1, a time limit) flags any such refresh.
// The page holds no form and no input to lose, the link and the status stay
// the same from one load to the next; the report names this rule as skipped.
const SKIPPED_AXE_RULES = ['meta-refresh'];

// fn(page) on the waiting page, which reloads itself every 2 s: run again
// on the next load when a reload cut it short.
async function onWaitingPage(page, fn) {
  const end = Date.now() + 30000;
  let last = null;
  while (Date.now() < end) {
    let timer;
    try {
      if (await page.$('#agepass-eu-wallet')) {
        const cut = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('cut short by a reload')), 8000); });
        return await Promise.race([fn(page), cut]);
      }
    } catch (e) {
      last = e;
    } finally {
      clearTimeout(timer);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`not on the waiting page (${page.url()}): ${last?.message ?? 'no #agepass-eu-wallet'}`);
}

async function text(page, sel) {
  return page.$eval(sel, (e) => e.textContent).catch(() => '');
}

async function walletTokens(page) {
  const st = await page.evaluate(() => JSON.parse(localStorage.getItem('agepass-wallet-v1') ?? 'null'));
  return st ? Object.values(st.providers).flatMap((p) => p.tokens).length : 0;
}

// The OpenID4VP request of the page's av:// link, as an EU wallet reads it.
async function requestOnPage(page) {
  const link = await page.$eval('#agepass-eu-wallet', (a) => a.getAttribute('href'));
  const params = new URL(link.replace('av://', 'http://x/')).searchParams;
  return Object.fromEntries([...params].map(([k, v]) => [k, /^[{[]/.test(v) ? JSON.parse(v) : v]));
}

// The EU wallet's direct_post answer, from outside the browser (another phone).
async function answer(request, claims) {
  const device = newDeviceKey();
  const mdoc = await issue(signer, device, claims);
  const r = await fetch(request.response_uri, { method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({ vp_token: JSON.stringify({ age: [b64url(await present(mdoc, device, request))] }),
      state: request.state }).toString() });
  return { status: r.status, body: await r.json().catch(() => ({})) };
}

// The browser's pickup cookie (HttpOnly: read through the driver), or null.
async function pickupCookie(page) {
  const all = await page.cookies().catch(() => []);
  return all.find((c) => c.name === 'agp_mdoc')?.value ?? null;
}

async function tapOrClick(which, page, sel) {
  if (which === 'chromium') await page.tap(sel);
  else await page.click(sel);
}

async function run(which, s) {
  const b = await launch(which);
  try {
    const page = await b.browser.newPage();
    if (which === 'chromium') await page.emulate(PHONE);
    else await page.setViewport({ width: PHONE.viewport.width, height: PHONE.viewport.height });
    const walletUrl = `${s.issuerUrl}/wallet/`;
    const tag = `${which}${which === 'chromium' ? ' (phone)' : ''}`;
    await page.setExtraHTTPHeaders({ 'Accept-Language': 'en' });
    await page.goto(walletUrl, { waitUntil: 'load' });
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await page.reload({ waitUntil: 'load' });

    // a minor first: refused, the page says so, the wallet holds nothing
    await Promise.all([page.waitForNavigation(), tapOrClick(which, page, '#enrol-eu')]);
    await page.waitForSelector('#agepass-eu-wallet');
    const minorReq = await onWaitingPage(page, requestOnPage);
    const refused = await answer(minorReq, { age_over_18: false });
    check(`${tag}: a minor's attestation: the EU wallet gets 403 under_age`, refused.status === 403
      && refused.body.error === 'under_age', JSON.stringify(refused));
    const saysRefused = await page.waitForSelector('#agepass-refused', { timeout: 10000 }).then(() => true, () => false);
    check(`${tag}: ... the waiting page goes on by itself to "Not enrolled"`, saysRefused
      && (await text(page, 'h1')) === 'Not enrolled', `${page.url()} ${await text(page, 'h1')}`);
    await page.goto(walletUrl, { waitUntil: 'load' });
    check(`${tag}: ... the wallet holds no token`, (await walletTokens(page)) === 0);

    // an adult: tap "EU attestation", the page with the QR code
    const t0 = Date.now();
    await Promise.all([page.waitForNavigation(), tapOrClick(which, page, '#enrol-eu')]);
    const startUrl = new URL(page.url());
    check(`${tag}: the EU button opens /enroll/mdoc/start?wallet=1`, startUrl.pathname === '/enroll/mdoc/start'
      && startUrl.searchParams.get('wallet') === '1', page.url());
    const shown = await onWaitingPage(page, async (p) => (await text(p, 'h1')) === 'Prove your age with your EU wallet'
      && await p.$eval('svg', (e) => e.getAttribute('role') === 'img' && !!document.getElementById(e.getAttribute('aria-labelledby')))
      && (await p.$eval('svg', (e) => e.getBoundingClientRect().width)) >= 200
      && (await p.$('[role="status"]')) !== null
      && (await p.$eval('#agepass-cancel', (a) => a.href)) === walletUrl);
    check(`${tag}: the page shows a heading, the QR code with a text alternative, the link, a status, a cancel link`, shown);
    // axe-core and the screenshot on a still copy of the page as the browser has it (the page
    // reloads every 2 s, sooner than axe-core finishes here): the same markup, no refresh
    const html = await onWaitingPage(page, (p) => p.content());
    const still = await b.browser.newPage();
    try {
      if (which === 'chromium') await still.emulate(PHONE);
      else await still.setViewport({ width: PHONE.viewport.width, height: PHONE.viewport.height });
      await still.setContent(html.replace(/<meta http-equiv="refresh"[^>]*>/, ''), { waitUntil: 'load' });
      await axe(still, `${tag}: the EU attestation page`, SKIPPED_AXE_RULES);
      if (shots && which === 'chromium') await still.screenshot({ path: path.join(repo, 'docs/wallet-mdoc.png'), fullPage: true });
    } finally {
      await still.close();
    }
    const request = await onWaitingPage(page, requestOnPage);
    const cookie = await pickupCookie(page);
    check(`${tag}: the pickup cookie is HttpOnly (the page's script could not read it)`,
      await onWaitingPage(page, (p) => p.evaluate(() => !document.cookie.includes('agp_mdoc'))));
    const waitUrl = `${s.issuerUrl}/enroll/mdoc/wait?state=${request.state}`;

    // the EU wallet answers (another phone); meanwhile others poll with the state
    const t1 = Date.now();
    const ok = await answer(request, { age_over_18: true });
    check(`${tag}: the EU wallet's answer: 200 and a redirect_uri back to /wait`, ok.status === 200
      && ok.body.redirect_uri === waitUrl, JSON.stringify(ok));
    const stranger = await fetch(waitUrl, { redirect: 'manual' });
    const strangerText = await stranger.text();
    check(`${tag}: the state without the cookie (node fetch): 403, no grant`, stranger.status === 403
      && !stranger.headers.get('location') && !strangerText.includes('grant'));
    const ctx = await b.browser.createBrowserContext();
    try {
      const other = await ctx.newPage();
      await other.goto(waitUrl, { waitUntil: 'load' });
      check(`${tag}: the state in another browser context: "Go back to where you started", no grant`,
        new URL(other.url()).pathname === '/enroll/mdoc/wait' && (await other.$('#agepass-elsewhere')) !== null
        && !other.url().includes('grant='), other.url());
    } finally {
      await ctx.close();
    }

    // the page goes on by itself: back in the wallet, enrolled, with tokens
    const back = await page.waitForFunction(() => location.pathname.endsWith('/wallet/') &&
      document.getElementById('provider-tokens')?.textContent === '30', { timeout: 20000 }).then(() => true, () => false);
    const ms = Date.now() - t0;
    const after = Date.now() - t1;
    check(`${tag}: back in the wallet by itself, enrolled: 30 tokens (${after} ms after the EU wallet's answer, ${ms} ms from the tap)`, back,
      `${page.url()} tokens ${await text(page, '#provider-tokens')}: ${await text(page, '#status')}`);
    check(`${tag}: ... the wallet holds 30 tokens`, (await walletTokens(page)) === 30);
    check(`${tag}: ... the grant left the address bar`, !(await page.evaluate(() => location.href)).includes('grant='));
    check(`${tag}: ... the pickup cookie is gone`, (await pickupCookie(page)) === null);
    if (cookie !== null) {
      const again = await fetch(waitUrl, { redirect: 'manual', headers: { Cookie: `agp_mdoc=${cookie}` } });
      check(`${tag}: a second pickup with the same cookie gets nothing`, again.status === 200
        && !again.headers.get('location'), `${again.status} ${again.headers.get('location')}`);
    } else {
      check(`${tag}: the driver reads the pickup cookie (for the second-pickup check)`, false);
    }

    // a protected page from the age-check page, answered by the wallet
    await page.goto(s.siteUrl, { waitUntil: 'load' });
    await Promise.all([page.waitForNavigation(), tapOrClick(which, page, 'ul.wallets a')]);
    await page.waitForSelector('#ask-view:not([hidden])');
    await Promise.all([page.waitForNavigation(), tapOrClick(which, page, '#yes')]);
    await page.waitForSelector('#content', { timeout: 10000 }).catch(() => {});
    check(`${tag}: a protected page opens from the age-check page with a token of the EU enrolment`,
      page.url() === s.siteUrl && (await text(page, '#content')) === SITE_CONTENT, page.url());
    await page.goto(walletUrl, { waitUntil: 'load' });
    check(`${tag}: ... one token spent (29 left)`, (await walletTokens(page)) === 29);

    // same device: the EU wallet app on this phone (opened by the av:// link) answers,
    // then opens its redirect_uri in the browser, which comes back to the wallet
    await page.click('#forget');
    await page.waitForFunction(() => document.getElementById('provider-tokens')?.textContent === '0', { timeout: 5000 })
      .catch(() => {});
    await Promise.all([page.waitForNavigation(), tapOrClick(which, page, '#enrol-eu')]);
    const same = await onWaitingPage(page, requestOnPage);
    const sameOk = await answer(same, { age_over_18: true });
    const t2 = Date.now();
    await page.goto(sameOk.body.redirect_uri ?? 'about:blank', { waitUntil: 'load' });
    const sameBack = await page.waitForFunction(() => location.pathname.endsWith('/wallet/') &&
      document.getElementById('provider-tokens')?.textContent === '30', { timeout: 20000 }).then(() => true, () => false);
    check(`${tag}: same device: the EU wallet's redirect_uri opened in this browser: back in the wallet, 30 tokens (${Date.now() - t2} ms)`,
      sameOk.status === 200 && sameBack, `${JSON.stringify(sameOk)} ${page.url()}`);
  } finally {
    await b.close();
  }
}

const pkiDir = mkdtempSync(path.join(tmpdir(), 'agp-wallet-mdoc-'));
const signer = pki(pkiDir, 'trusted');
const wallet = path.join(pkiDir, 'wallet'); // not dist/: browser_wallet builds that one
execFileSync(process.execPath, [path.join(repo, 'browser/wallet/build.mjs'), '--out', wallet, '--enrol', 'dev,oidc,mdoc'],
  { stdio: 'inherit' });
const s = await startServers({ agepass, oidc: false,
  issuerArgs: ['--wallet-dir', wallet, '--mdoc-trust', path.join(pkiDir, 'trusted-ca.pem')] });
try {
  for (const which of BROWSERS) {
    if (only && only !== which) continue;
    try {
      await run(which, s);
    } catch (e) {
      check(`${which}: the run finished`, false, e.stack);
    }
  }
  const m = await s.issuerMetrics();
  const runs = only ? 1 : BROWSERS.length;
  const accepted = m.get('agepass_issuer_enrolments_accepted_total{source="mdoc"}');
  const minors = m.get('agepass_issuer_enrolments_refused_total{source="mdoc",reason="under_age"}');
  check(`metrics: ${2 * runs} mdoc enrolments accepted, ${runs} refused under_age`, accepted === 2 * runs && minors === runs,
    `${accepted} ${minors}`);
  const log = s.logs.issuer ?? '';
  check('the issuer log holds no grant, no state and no pickup secret', !/grant=|agp_mdoc=|state=/.test(log), log.slice(0, 400));
  check('no sanitizer report in the issuer log', !/Sanitizer|runtime error/.test(log));
} finally {
  await s.stop();
  rmSync(pkiDir, { recursive: true, force: true });
}
finish('browser_wallet_mdoc');
