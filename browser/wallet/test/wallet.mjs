#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// browser/wallet/test/wallet.mjs: the web wallet and the age-check page in
// real browsers (issue 12): Chromium with phone emulation (viewport and
// touch) and Firefox, each in its own loopback-only network namespace,
// against the real issuer (serving the built wallet, --wallet-dir), the
// real verifier and nginx with the shipped snippets (browser/test/lib).
//
// Per browser: axe-core finds no WCAG 2.2 AA violation on the age-check
// page in each of its languages, nor on the wallet; the wallet's button is
// reached and used with the keyboard alone; a person enrols in the wallet
// (dev attester, then OpenID Connect with the npm oidc-provider) and the
// grant comes back without copy and paste; from the
// age-check page the wallet answers and the person lands on the page wanted
// with a session (Chromium by a tap, Firefox by the keyboard alone: Tab to
// the button, Enter, Enter), while the wallet origin and the issuer (one nginx front,
// its access log) receive NO request; the spent token replayed is refused;
// a return path to another site is refused by the wallet and by the site;
// a 15-year-old refused at enrolment cannot pass. Screenshots of the page
// and of the wallet on a phone viewport go to docs/ (--screenshots).
//
//   node browser/wallet/test/wallet.mjs [--agepass PATH] [--browser chromium|firefox] [--screenshots]
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

import { KnownDevices } from 'puppeteer-core';
import { BROWSERS, inNetns, launch, reexec } from '../../test/lib/browsers.mjs';
import { axe, check, finish } from '../../test/lib/checks.mjs';
import { SITE_CONTENT, startServers } from '../../test/lib/servers.mjs';

if (inNetns()) process.exit(reexec());

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const agepass = path.resolve(opt('--agepass', path.join(repo, 'build/agepass')));
const only = opt('--browser', null);
const shots = args.includes('--screenshots');
const LANGS = { en: 'Age check required', fr: 'Vérification d’âge requise', de: 'Altersprüfung erforderlich',
  es: 'Verificación de edad necesaria', it: 'Verifica dell’età richiesta' };
const PHONE = KnownDevices['Pixel 5'];

const wallet = path.join(repo, 'browser/wallet/dist');
execFileSync(process.execPath, [path.join(repo, 'browser/wallet/build.mjs'), '--out', wallet, '--enrol', 'dev,oidc'],
  { stdio: 'inherit' });

// The protected page's HTTP status as the browser got it, the age-check page open.
async function openAgePage(page, url, lang) {
  await page.setExtraHTTPHeaders({ 'Accept-Language': lang });
  const res = await page.goto(url, { waitUntil: 'load' });
  return res ? res.status() : 0;
}

// The wallet's tokens as it stored them (browser/wallet/src/store.js).
async function walletState(page) {
  const st = await page.evaluate(() => JSON.parse(localStorage.getItem('agepass-wallet-v1') ?? 'null'));
  return { tokens: st ? Object.values(st.providers).flatMap((p) => p.tokens) : [] };
}

async function text(page, sel) {
  return page.$eval(sel, (e) => e.textContent).catch(() => '');
}

// At the OpenID Provider: its dev login (any password) and consent forms,
// as many as it shows (none when it remembers the person), until the
// browser leaves it for the issuer.
async function loginAtOp(page, account, op) {
  for (let step = 0; step < 6; step++) {
    await page.waitForFunction((o) => location.origin !== o || document.querySelector('form') !== null,
      { timeout: 10000 }, op);
    if (await page.evaluate((o) => location.origin !== o, op)) return;
    if (await page.$('input[name="login"]')) {
      await page.$eval('input[name="login"]', (e, a) => { e.value = a; }, account);
      await page.$eval('input[name="password"]', (e) => { e.value = 'any'; });
    }
    await Promise.all([page.waitForNavigation(), page.$eval('form', (f) => f.requestSubmit())]);
  }
  throw new Error(`still at the OpenID Provider: ${page.url()}`);
}

async function run(which, s) {
  const b = await launch(which);
  try {
    const page = await b.browser.newPage();
    if (which === 'chromium') await page.emulate(PHONE);
    else await page.setViewport({ width: PHONE.viewport.width, height: PHONE.viewport.height });
    const walletUrl = `${s.issuerUrl}/wallet/`;
    const tag = `${which}${which === 'chromium' ? ' (phone)' : ''}`;

    // the age-check page, in each language, before anything
    for (const [lang, heading] of Object.entries(LANGS)) {
      const st = await openAgePage(page, s.siteUrl, `${lang},en;q=0.5`);
      const h1 = await text(page, 'h1');
      check(`${tag}: age-check page in ${lang}: 401 and "${heading}"`, st === 401 && h1 === heading, `${st} ${h1}`);
      check(`${tag}: ... none of the protected content (${lang})`, !(await page.content()).includes(SITE_CONTENT));
      await axe(page, `${tag}: age-check page (${lang})`);
      if (lang === 'en' && shots && which === 'chromium') {
        await page.screenshot({ path: path.join(repo, 'docs/wallet-age-page.png'), fullPage: true });
      }
    }
    await page.setExtraHTTPHeaders({ 'Accept-Language': 'en' });

    // the wallet, first visit: its service worker caches every file
    await page.goto(walletUrl, { waitUntil: 'load' });
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await page.reload({ waitUntil: 'load' });
    const controlled = await page.evaluate(() => navigator.serviceWorker.controller !== null);
    check(`${tag}: the wallet runs under its service worker`, controlled);
    await axe(page, `${tag}: wallet`);
    // the wallet in the browser's language: each catalogue, each with no axe-core violation
    for (const lang of ['fr', 'de', 'es', 'it']) {
      const p2 = await b.browser.newPage();
      await p2.evaluateOnNewDocument((l) => Object.defineProperty(navigator, 'languages', { get: () => [l] }), lang);
      await p2.setViewport({ width: PHONE.viewport.width, height: PHONE.viewport.height });
      await p2.goto(walletUrl, { waitUntil: 'load' });
      await p2.waitForFunction((l) => document.documentElement.lang === l, { timeout: 5000 }, lang).catch(() => {});
      const want = JSON.parse(readFileSync(path.join(repo, `browser/wallet/src/i18n/${lang}.json`), 'utf8')).title;
      const h1 = await text(p2, 'h1');
      check(`${tag}: the wallet in ${lang}: "${want}"`, h1 === want, h1);
      await axe(p2, `${tag}: wallet (${lang})`);
      if (lang === 'de' && shots && which === 'chromium') {
        await p2.screenshot({ path: path.join(repo, 'docs/wallet-home-de.png'), fullPage: true });
      }
      await p2.close();
    }

    // a minor first: refused at enrolment, nothing in the wallet, cannot pass
    await page.click('#enrol-dev');
    await page.waitForSelector('#age');
    await page.$eval('#age', (e) => { e.value = '15'; });
    await Promise.all([page.waitForNavigation(), page.click('#enrol')]);
    check(`${tag}: a 15-year-old is refused at enrolment`, (await page.$('#agepass-refused')) !== null);
    await page.goto(walletUrl, { waitUntil: 'load' });
    const minor = await walletState(page);
    check(`${tag}: ... the wallet holds no token`, minor.tokens.length === 0);
    await openAgePage(page, s.siteUrl, 'en');
    await Promise.all([page.waitForNavigation(), page.click('ul.wallets a')]);
    await page.waitForSelector('#ask-view:not([hidden])');
    check(`${tag}: ... the wallet cannot answer the site`, (await text(page, '#ask')).includes('not enrolled'),
      await text(page, '#ask'));
    check(`${tag}: ... and offers no button`, await page.$eval('#yes', (e) => e.hidden));

    // an adult enrols: the grant comes back to the wallet by itself
    await page.goto(walletUrl, { waitUntil: 'load' });
    await page.click('#enrol-dev');
    await page.waitForSelector('#age');
    await page.$eval('#age', (e) => { e.value = '25'; });
    await Promise.all([page.waitForNavigation(), page.click('#enrol')]);
    const enrolled = await page.waitForFunction(() => location.pathname.endsWith('/wallet/') &&
      document.getElementById('provider-tokens')?.textContent === '30', { timeout: 15000 }).then(() => true, () => false);
    check(`${tag}: enrolled from the wallet: 30 tokens fetched`, enrolled,
      `${page.url()} tokens ${await text(page, '#provider-tokens')}: ${await text(page, '#status')}`);
    check(`${tag}: ... the grant left the address bar`, !(await page.evaluate(() => location.href)).includes('grant='));
    if (shots && which === 'chromium') await page.screenshot({ path: path.join(repo, 'docs/wallet-home.png'), fullPage: true });
    const before = await walletState(page);

    // the age check, answered by the wallet: no request to the wallet origin or the issuer
    await openAgePage(page, s.siteUrl, 'en');
    const button = await page.$('ul.wallets a');
    check(`${tag}: the age-check page offers the provider's web wallet`, button !== null);
    // keyboard only: Tab reaches the button, with a visible focus
    let focused = '';
    for (let i = 0; i < 10 && !focused.startsWith(walletUrl); i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.getAttribute('href') ?? '');
    }
    check(`${tag}: keyboard: Tab reaches the wallet button`, focused.startsWith(walletUrl));
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    check(`${tag}: ... with a visible focus outline`, outline !== 'none', outline);
    // Chromium: a tap on the phone; Firefox: the keyboard alone (Enter, then Enter on "yes")
    const quiet = s.issuerRequests().length;
    const t0 = Date.now();
    if (which === 'chromium') await Promise.all([page.waitForNavigation(), page.tap('ul.wallets a')]);
    else await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    await page.waitForSelector('#ask-view:not([hidden])');
    const onYes = await page.evaluate(() => document.activeElement?.id);
    check(`${tag}: the wallet opens with the focus on its yes button`, onYes === 'yes', onYes);
    const asked = await text(page, '#ask');
    const host = new URL(s.siteUrl).host;
    check(`${tag}: the wallet asks "Prove to ${host} that you are over 18?"`, asked === `Prove to ${host} that you are over 18?`, asked);
    check(`${tag}: ... the challenge left the address bar`, !(await page.evaluate(() => location.href)).includes('challenge='));
    if (shots && which === 'chromium') await page.screenshot({ path: path.join(repo, 'docs/wallet-ask.png'), fullPage: true });
    await Promise.all([page.waitForNavigation(), which === 'chromium' ? page.tap('#yes') : page.keyboard.press('Enter')]);
    await page.waitForSelector('#content');
    const ms = Date.now() - t0;
    check(`${tag}: landed on the page wanted (${ms} ms)`, page.url() === s.siteUrl && (await text(page, '#content')) === SITE_CONTENT,
      page.url());
    check(`${tag}: the wallet origin and the issuer received no request during the redemption`,
      s.issuerRequests().length === quiet, s.issuerRequests().slice(quiet).join(' | '));
    const res2 = await page.goto(s.siteUrl.replace(/\/$/, '/second.html'), { waitUntil: 'load' });
    check(`${tag}: the session cookie opens a second page`, res2.status() === 200);

    // the spent token, replayed from outside the browser: refused
    await page.goto(walletUrl, { waitUntil: 'load' });
    const after = await walletState(page);
    const spent = before.tokens.filter((x) => !after.tokens.some((y) => y.token === x.token));
    check(`${tag}: exactly one token was spent`, spent.length === 1 && after.tokens.length === 29);
    const redeem = `${s.siteOrigin}/_agepass/redeem`;
    const form = (token, ret) => fetch(redeem, { method: 'POST', redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, return: ret }) });
    const replay = await form(spent[0].token, '/adult/');
    check(`${tag}: the redemption POST replayed: refused (${replay.status})`, replay.status === 401 && !replay.headers.get('set-cookie'));

    // a return path to another site: the wallet refuses; the site too
    const challenge = (await (await fetch(s.siteUrl)).headers.get('www-authenticate'));
    const evil = `${walletUrl}#challenge=${encodeURIComponent(challenge)}&redeem=${encodeURIComponent(redeem)}&return=${encodeURIComponent('//evil.example/')}`;
    await page.goto(evil, { waitUntil: 'load' });
    await page.waitForSelector('#ask-view:not([hidden])');
    check(`${tag}: the wallet refuses a return path to another site`, (await text(page, '#ask')).includes('not a valid'));
    const left = (await walletState(page)).tokens;
    const one = left[left.length - 1].token;
    for (const ret of ['https://evil.example/', '//evil.example/', '/\\evil.example']) {
      const r = await form(one, ret);
      check(`${tag}: the site refuses return path ${ret} (${r.status})`, r.status === 400 && !r.headers.get('location'));
    }
    const good = await form(one, '/adult/');
    check(`${tag}: ... the refused forms spent nothing: the same token then works (${good.status})`,
      good.status === 303 && good.headers.get('location') === '/adult/');

    // OpenID Connect from the wallet: the grant comes back to it by itself
    await page.goto(walletUrl, { waitUntil: 'load' });
    await page.click('#forget');
    await Promise.all([page.waitForNavigation(), page.click('#enrol-oidc')]);
    // one adult per browser: each has its own daily token cap
    const account = which === 'chromium' ? 'acct-adult-q7w3' : 'acct-year-m5x1';
    await loginAtOp(page, account, s.oidc.issuer);
    const oidcBack = await page.waitForFunction(() => location.pathname.endsWith('/wallet/') &&
      document.getElementById('provider-tokens')?.textContent === '30', { timeout: 20000 }).then(() => true, () => false);
    check(`${tag}: OpenID Connect from the wallet: back in the wallet, 30 tokens fetched`, oidcBack,
      `${page.url()} tokens ${await text(page, '#provider-tokens')}: ${await text(page, '#status')}`);
    check(`${tag}: ... the grant left the address bar`, !(await page.evaluate(() => location.href)).includes('grant='));
    // begun elsewhere (not from the wallet): the grant page stays, with no way to the wallet
    await page.goto(`${s.issuerUrl}/enroll/oidc/start`, { waitUntil: 'load' });
    await loginAtOp(page, account, s.oidc.issuer);
    await page.waitForSelector('#agepass-grant', { timeout: 10000 }).catch(() => {});
    await new Promise((r) => setTimeout(r, 300)); // a refresh to the wallet would have begun
    check(`${tag}: ... begun outside the wallet: the grant page stays, no link to the wallet`,
      new URL(page.url()).pathname === '/enroll/oidc/callback' && (await page.$('#agepass-wallet')) === null &&
      (await page.$('#agepass-grant')) !== null, page.url());

    return ms;
  } finally {
    await b.close();
  }
}

// The wallet on a static host of its own (another origin than its issuer),
// built with --provider: it enrols, fetches its tokens across origins (the
// issuer's CORS answers for the --wallet-url origin) and answers a site;
// a page of another origin can read none of the issuer's answers.
async function runCross(which, s) {
  const b = await launch(which);
  const tag = `${which}, wallet on another origin`;
  try {
    const page = await b.browser.newPage();
    await page.setViewport({ width: PHONE.viewport.width, height: PHONE.viewport.height });
    await page.goto(s.walletUrl, { waitUntil: 'load' });
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await page.reload({ waitUntil: 'load' });
    check(`${tag}: the wallet runs under its service worker`,
      await page.evaluate(() => navigator.serviceWorker.controller !== null));
    await page.click('#enrol-dev');
    await page.waitForSelector('#age');
    await Promise.all([page.waitForNavigation(), page.click('#enrol')]);
    const filled = await page.waitForFunction(() => location.pathname.endsWith('/wallet/') &&
      document.getElementById('provider-tokens')?.textContent === '30', { timeout: 15000 }).then(() => true, () => false);
    check(`${tag}: enrolled, back in the wallet's origin, 30 tokens fetched from the issuer's`,
      filled && new URL(page.url()).origin === new URL(s.walletUrl).origin,
      `${page.url()} tokens ${await text(page, '#provider-tokens')}: ${await text(page, '#status')}`);

    await openAgePage(page, s.siteUrl, 'en');
    const href = await page.$eval('ul.wallets a', (a) => a.href).catch(() => '');
    check(`${tag}: the age-check page's button goes to that wallet`, href.startsWith(s.walletUrl), href);
    const quiet = [s.issuerRequests().length, s.walletRequests().length];
    await Promise.all([page.waitForNavigation(), page.click('ul.wallets a')]);
    await page.waitForSelector('#ask-view:not([hidden])');
    await Promise.all([page.waitForNavigation(), page.click('#yes')]);
    await page.waitForSelector('#content', { timeout: 10000 }).catch(() => {});
    check(`${tag}: landed on the page wanted`, page.url() === s.siteUrl &&
      (await text(page, '#content')) === SITE_CONTENT, page.url());
    check(`${tag}: ... the wallet's host and the issuer received no request`,
      s.issuerRequests().length === quiet[0] && s.walletRequests().length === quiet[1],
      [...s.issuerRequests().slice(quiet[0]), ...s.walletRequests().slice(quiet[1])].join(' | '));

    // a page of another origin (the site's) cannot read the issuer's answers
    await page.goto(`${s.siteOrigin}/`, { waitUntil: 'load' });
    const read = await page.evaluate(async (issuer) => {
      const tryFetch = (url, init) => fetch(url, { credentials: 'omit', ...init }).then((r) => `read ${r.status}`,
        (e) => `refused (${e.name})`);
      return [await tryFetch(`${issuer}/.well-known/private-token-issuer-directory`),
        await tryFetch(`${issuer}/token-request`, { method: 'POST', body: new Uint8Array(4),
          headers: { 'Content-Type': 'application/private-token-request', Authorization: 'Bearer x' } })];
    }, s.issuerUrl);
    check(`${tag}: another origin's script can read neither the directory nor a token answer`,
      read.every((r) => r.startsWith('refused')), read.join(', '));
  } finally {
    await b.close();
  }
}

// The issuer's CORS answers, header by header: the wallet's origin only.
async function corsHeaders(s) {
  const dir = `${s.issuerUrl}/.well-known/private-token-issuer-directory`;
  const wallet = new URL(s.walletUrl).origin;
  const ask = (url, origin, init = {}) => fetch(url, { ...init, headers: { Origin: origin, ...(init.headers ?? {}) } });
  const pre = (origin) => ask(`${s.issuerUrl}/token-request`, origin, { method: 'OPTIONS',
    headers: { 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' } });
  const ok = await pre(wallet);
  check('CORS: the wallet origin\'s preflight is answered (204, its origin, POST, Authorization and Content-Type)',
    ok.status === 204 && ok.headers.get('access-control-allow-origin') === wallet &&
    /POST/.test(ok.headers.get('access-control-allow-methods')) &&
    /Authorization/i.test(ok.headers.get('access-control-allow-headers')) &&
    /Content-Type/i.test(ok.headers.get('access-control-allow-headers')), `${ok.status}`);
  const d = await ask(dir, wallet);
  check('CORS: the directory to the wallet origin: its origin, ETag exposed, Vary: Origin',
    d.headers.get('access-control-allow-origin') === wallet && /etag/i.test(d.headers.get('access-control-expose-headers')) &&
    /origin/i.test(d.headers.get('vary')));
  for (const other of [s.siteOrigin, 'http://evil.example', `${wallet}.evil.example`, 'null']) {
    const p = await pre(other);
    const g = await ask(dir, other);
    const t = await ask(`${s.issuerUrl}/token-request`, other, { method: 'POST', body: new Uint8Array(4),
      headers: { 'Content-Type': 'application/private-token-request' } });
    const none = [p, g, t].every((r) => [...r.headers.keys()].every((h) => !h.startsWith('access-control-')));
    check(`CORS: origin ${other} gets no CORS header (preflight ${p.status}, directory, token request)`,
      none && p.status === 404);
  }
  const e = await ask(`${s.issuerUrl}/enroll/dev`, wallet, { method: 'POST', body: '{"age":25}',
    headers: { 'Content-Type': 'application/json' } });
  check('CORS: nor any route the wallet does not fetch (enrolment), even for its origin',
    e.headers.get('access-control-allow-origin') === null);
}

const s = await startServers({ agepass, issuerArgs: ['--wallet-dir', wallet] });

// the OpenID Connect state of an enrolment the wallet begins looks like any other
{
  const state = async (q) => new URL((await (await fetch(`${s.issuerDirectUrl}/enroll/oidc/start${q}`,
    { headers: { accept: 'application/json' } })).json()).authorize_url).searchParams.get('state');
  const [plain, fromWallet, again] = [await state(''), await state('?wallet=1'), await state('?wallet=1')];
  check('OIDC: a wallet state has the length and alphabet of any state, and two never repeat',
    fromWallet.length === plain.length && /^[A-Za-z0-9_-]+$/.test(fromWallet) && fromWallet !== again &&
    fromWallet.slice(0, 22) !== again.slice(0, 22), `${plain} ${fromWallet}`);
}
try {
  for (const which of BROWSERS) {
    if (only && only !== which) continue;
    try {
      await run(which, s);
    } catch (e) {
      check(`${which}: the run finished`, false, e.stack);
    }
  }
} finally {
  await s.stop();
}

// the wallet on another origin (built after the servers start: the issuer's port is its provider)
const crossDir = mkdtempSync(path.join(tmpdir(), 'agp-wallet-cross-'));
chmodSync(crossDir, 0o755); // read by nginx's unprivileged workers
const c = await startServers({ agepass, oidc: false, walletHost: crossDir });
try {
  execFileSync(process.execPath, [path.join(repo, 'browser/wallet/build.mjs'), '--out', crossDir,
    '--provider', c.issuerUrl, '--enrol', 'dev'], { stdio: 'inherit' });
  await corsHeaders(c);
  for (const which of BROWSERS) {
    if (only && only !== which) continue;
    try {
      await runCross(which, c);
    } catch (e) {
      check(`${which}, wallet on another origin: the run finished`, false, e.stack);
    }
  }
} finally {
  await c.stop();
  rmSync(crossDir, { recursive: true, force: true });
}
finish('browser_wallet');
