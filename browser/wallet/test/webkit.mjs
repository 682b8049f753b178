#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// browser/wallet/test/webkit.mjs: the web wallet flow of wallet.mjs in
// WebKit (WebKitGTK's MiniBrowser under WebKitWebDriver and Xvfb,
// browser/test/lib/webkit.mjs), on a phone-sized viewport (390x844), in a
// loopback-only network namespace, against the real issuer (serving the
// built wallet, --wallet-dir), the real verifier and nginx with the shipped
// snippets (browser/test/lib/servers.mjs).
//
// A person enrols in the wallet (dev attester); its service worker
// installs and, with the wallet's host stopped, still answers; the protected
// page shows the age-check page (none of its content); a tap on the wallet
// button, the wallet asks, a tap on yes, the form POST to /_agepass/redeem,
// and the person lands on the page wanted WITH the session cookie (the
// cookie set in answer to a cross-site POST: WebKit's ITP and SameSite
// handling), while the wallet origin and the issuer receive no request but
// one that WebKit makes by itself (its update check of the wallet's service
// worker, GET sw.js, about 1 s after the navigation: counted, and shown); a
// second page opens with that cookie; the spent token replayed is refused.
// The site is served over HTTPS here: WebKitGTK keeps no Secure cookie from
// http://, loopback included (docs/browsers.md). A "tap" is a W3C touch
// action, which WebKitGTK delivers to the page as a mouse pointer.
// Screenshots of the age-check page and of the wallet's question go to
// docs/wallet-webkit-*.png (--screenshots).
//
//   node browser/wallet/test/webkit.mjs [--agepass PATH] [--screenshots]
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { inNetns, reexec } from '../../test/lib/browsers.mjs';
import { AXE_TAGS, axeSource, check, finish } from '../../test/lib/checks.mjs';
import { SITE_CONTENT, startServers } from '../../test/lib/servers.mjs';
import { launchWebKit } from '../../test/lib/webkit.mjs';

if (inNetns()) process.exit(reexec());

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? args[args.indexOf(name) + 1] : def);
const agepass = path.resolve(opt('--agepass', path.join(repo, 'build/agepass')));
const shots = args.includes('--screenshots');
const PHONE = { width: 390, height: 844 }; // an iPhone's viewport in CSS pixels

// a folder of its own: browser_wallet builds browser/wallet/dist, maybe at the same time
const wallet = mkdtempSync(path.join(tmpdir(), 'agp-wallet-webkit-'));
execFileSync(process.execPath, [path.join(repo, 'browser/wallet/build.mjs'), '--out', wallet, '--enrol', 'dev,oidc'],
  { stdio: 'inherit' });

// The wallet's tokens as it stored them (browser/wallet/src/store.js).
async function walletTokens(w) {
  return w.eval(`const st = JSON.parse(localStorage.getItem('agepass-wallet-v1') ?? 'null');
    return st ? Object.values(st.providers).flatMap((p) => p.tokens) : [];`);
}

// A person reads the wallet's question before tapping yes: 2 s. WebKit's
// update check of the wallet's worker, when it makes one, came about 1 s
// after a navigation in a probe: a driver tapping at once could miss it.
const reading = () => new Promise((r) => setTimeout(r, 2000));

// Resolves once `count()` has not changed for 2 s (10 s at most): WebKit's
// update check of the wallet's service worker, made about 1 s after a
// navigation to the wallet, is then out before a count begins.
async function settle(count) {
  const end = Date.now() + 10000;
  let last = count();
  let since = Date.now();
  while (Date.now() < end && Date.now() - since < 2000) {
    await new Promise((r) => setTimeout(r, 100));
    if (count() !== last) {
      last = count();
      since = Date.now();
    }
  }
}

// axe-core in the page (the driver's script, which the page's CSP does not govern)
async function axe(w, what) {
  await w.eval(`${axeSource}; return true;`);
  const r = await w.evalAsync(`const done = arguments[arguments.length - 1];
    axe.run(document, { runOnly: ${JSON.stringify(AXE_TAGS)} })
      .then((res) => done(res.violations.map((v) => v.id + ' (' + v.nodes.length + '): ' + v.help)),
        (e) => done(['axe failed: ' + e]));`);
  check(`axe-core: ${what}: no violation`, Array.isArray(r) && r.length === 0, JSON.stringify(r));
}

// The wallet's dev enrolment at `age`, from its home page.
async function enrolDev(w, age) {
  await w.waitFor('return document.querySelector("#enrol-dev:not([hidden])") !== null'); // shown once app.js ran
  await w.tap('#enrol-dev');
  await w.waitFor('return document.querySelector("#age") !== null');
  await w.eval('document.querySelector("#age").value = arguments[0]', String(age));
  await w.tap('#enrol');
}

async function run(s) {
  const w = await launchWebKit({ ...PHONE, acceptInsecureCerts: true }); // the site's self-signed certificate
  const tag = `webkit ${w.version}`;
  const site = s.tlsSiteUrl; // WebKit keeps the Secure session cookie from https only (docs/browsers.md)
  try {
    const walletUrl = `${s.issuerUrl}/wallet/`;
    check(`${tag}: a ${PHONE.width}x${PHONE.height} viewport`,
      JSON.stringify(await w.eval('return [innerWidth, innerHeight]')) === JSON.stringify([PHONE.width, PHONE.height]),
      JSON.stringify(await w.eval('return [innerWidth, innerHeight]')));

    // the age-check page before anything
    await w.goto(site);
    const h1 = await w.text('h1');
    check(`${tag}: the protected page shows the age-check page`, h1 === 'Age check required', h1);
    check(`${tag}: ... none of the protected content`,
      !(await w.eval('return document.documentElement.outerHTML')).includes(SITE_CONTENT));
    await axe(w, `${tag}: age-check page`);

    // the wallet, first visit: its service worker installs and caches every file
    await w.goto(walletUrl);
    const ready = await w.evalAsync(`const done = arguments[arguments.length - 1];
      if (!('serviceWorker' in navigator)) return done('no navigator.serviceWorker');
      const t = setTimeout(() => done('not ready after 10 s'), 10000);
      navigator.serviceWorker.ready.then(() => { clearTimeout(t); done('ready'); }, (e) => done(String(e)));`);
    check(`${tag}: the wallet's service worker installs`, ready === 'ready', ready);
    await w.refresh();
    const controlled = await w.eval('return navigator.serviceWorker?.controller !== null && navigator.serviceWorker?.controller !== undefined');
    check(`${tag}: the wallet runs under its service worker`, controlled);
    await axe(w, `${tag}: wallet`);

    // a minor first: refused at enrolment, nothing in the wallet, cannot pass
    await enrolDev(w, 15);
    const refused = await w.waitFor('return document.getElementById("agepass-refused") !== null');
    check(`${tag}: a 15-year-old is refused at enrolment`, refused, await w.url());
    await w.goto(walletUrl);
    check(`${tag}: ... the wallet holds no token`, (await walletTokens(w)).length === 0);
    await w.goto(site);
    await w.tap('ul.wallets a');
    await w.waitFor('return document.querySelector("#ask-view:not([hidden])") !== null');
    check(`${tag}: ... the wallet cannot answer the site`, (await w.text('#ask')).includes('not enrolled'),
      await w.text('#ask'));
    check(`${tag}: ... and offers no button`, await w.eval('return document.getElementById("yes").hidden'));

    // an adult enrols (dev attester): the grant comes back to the wallet by itself
    await w.goto(walletUrl);
    await enrolDev(w, 25);
    const enrolled = await w.waitFor(`return location.pathname.endsWith('/wallet/') &&
      document.getElementById('provider-tokens')?.textContent === '30'`, 15000);
    check(`${tag}: enrolled from the wallet: 30 tokens fetched`, enrolled,
      `${await w.url()} tokens ${await w.text('#provider-tokens')}: ${await w.text('#status')}`);
    check(`${tag}: ... the grant left the address bar`, !(await w.url()).includes('grant='));
    const before = await walletTokens(w);

    // the age check, answered by the wallet: no request to the wallet origin or the issuer
    await w.goto(site);
    const href = await w.eval('return document.querySelector("ul.wallets a")?.href ?? ""');
    check(`${tag}: the age-check page offers the provider's web wallet`, href.startsWith(walletUrl), href);
    // keyboard: Tab reaches the button (WebKitGTK tabs to links; Safari does
    // so only with "Press Tab to highlight each item"). Its focus outline is
    // not checked here: under Xvfb with no window manager the window never
    // has the focus (document.hasFocus() false), so :focus never matches
    let focused = '';
    for (let i = 0; i < 10 && !focused.startsWith(walletUrl); i++) {
      await w.key('\uE004'); // Tab
      focused = await w.eval('return document.activeElement?.getAttribute("href") ?? ""');
    }
    check(`${tag}: keyboard: Tab reaches the wallet button`, focused.startsWith(walletUrl), focused);
    if (shots) await w.screenshot(path.join(repo, 'docs/wallet-webkit-age-page.png'));
    await settle(() => s.issuerRequests().length); // the enrolment's own update check, if any
    const quiet = s.issuerRequests().length;
    await w.tap('ul.wallets a');
    const shown = await w.waitFor('return document.querySelector("#ask-view:not([hidden])") !== null');
    const host = new URL(site).host;
    const asked = await w.text('#ask');
    check(`${tag}: the wallet asks "Prove to ${host} that you are over 18?"`,
      shown && asked === `Prove to ${host} that you are over 18?`, asked);
    check(`${tag}: ... the challenge left the address bar`, !(await w.url()).includes('challenge='));
    const onYes = await w.eval('return document.activeElement?.id');
    check(`${tag}: the wallet opens with the focus on its yes button`, onYes === 'yes', onYes);
    if (shots) await w.screenshot(path.join(repo, 'docs/wallet-webkit-ask.png'));
    await axe(w, `${tag}: the wallet's question`);
    // what the page sees of the tap (read back below, in the wallet's origin)
    await w.eval(`addEventListener('pointerdown', (e) => sessionStorage.setItem('agp-pointer', e.pointerType), true);
      addEventListener('touchstart', () => sessionStorage.setItem('agp-touch', 'yes'), true);`);
    await reading();
    const t0 = Date.now();
    await w.tap('#yes');
    const landed = await w.waitFor(`return location.href === arguments[0] &&
      document.getElementById('content')?.textContent === arguments[1]`, 10000, 50, site, SITE_CONTENT);
    const ms = Date.now() - t0;
    check(`${tag}: landed on the page wanted (${ms} ms after yes)`, landed, `${await w.url()}: ${await w.text('h1')}`);
    const cookie = (await w.cookies()).find((c) => c.name === 'agepass_session');
    check(`${tag}: ... with the session cookie set in answer to the cross-site POST`, cookie !== undefined,
      JSON.stringify((await w.cookies()).map((c) => c.name)));
    if (cookie) {
      check(`${tag}: ... Secure, HttpOnly, SameSite=Lax, for the site's host only`,
        cookie.secure === true && cookie.httpOnly === true && cookie.sameSite === 'Lax' &&
        cookie.domain === new URL(site).hostname,
        JSON.stringify({ ...cookie, value: undefined }));
    }
    // WebKit checks the controlling service worker for an update after a
    // navigation to the wallet, from the network (updateViaCache 'all' and
    // sw.js's max-age notwithstanding; Chromium and Firefox do not): one GET
    // of sw.js that tells the wallet's host the time of the visit
    // (docs/browsers.md). Anything else, or more, fails.
    await new Promise((r) => setTimeout(r, 3000));
    const during = s.issuerRequests().slice(quiet);
    const update = during.filter((l) => l.includes('"GET /wallet/sw.js HTTP/1.1"'));
    check(`${tag}: the wallet origin and the issuer received no request during the redemption and the 3 s after, ` +
      'but WebKit\'s update check of the service worker (GET /wallet/sw.js, at most once)',
    update.length <= 1 && during.length === update.length, during.join(' | '));
    console.log(`# WebKit's service-worker update check during the redemption: ${update.length} request to the wallet's host`);
    await w.goto(site.replace(/\/$/, '/second.html'));
    check(`${tag}: the session cookie opens a second page`,
      (await w.text('#content')) === `${SITE_CONTENT} (second page)`, await w.text('h1'));

    // the spent token, replayed from outside the browser: refused (to the
    // same nginx and verifier over http: Node's fetch takes no self-signed certificate)
    await w.goto(walletUrl);
    const after = await walletTokens(w);
    const pointer = await w.eval('return [sessionStorage.getItem("agp-pointer"), sessionStorage.getItem("agp-touch")]');
    console.log(`# the tap on yes reached the page as pointerType ${pointer[0]}, touch events: ${pointer[1] ?? 'no'}`);
    const spent = before.filter((x) => !after.some((y) => y.token === x.token));
    check(`${tag}: exactly one token was spent`, spent.length === 1 && after.length === before.length - 1,
      `${before.length} -> ${after.length}`);
    const replay = await fetch(`${s.siteOrigin}/_agepass/redeem`, { method: 'POST', redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: spent[0]?.token ?? '', return: '/adult/' }) });
    check(`${tag}: the redemption POST replayed: refused (${replay.status})`,
      replay.status === 401 && !replay.headers.get('set-cookie'));

    // a return path to another site: the wallet refuses
    const redeem = new URL('/_agepass/redeem', site).href;
    const challenge = (await fetch(s.siteUrl)).headers.get('www-authenticate');
    await w.goto(`${walletUrl}#challenge=${encodeURIComponent(challenge)}&redeem=${encodeURIComponent(redeem)}` +
      `&return=${encodeURIComponent('//evil.example/')}`);
    await w.waitFor('return document.querySelector("#ask-view:not([hidden])") !== null');
    check(`${tag}: the wallet refuses a return path to another site`, (await w.text('#ask')).includes('not a valid'),
      await w.text('#ask'));

    // offline: the wallet's host stopped, the service worker still answers
    await s.kill('nginx'); // the issuer's front (and the site): the wallet origin answers nothing
    const down = await fetch(walletUrl, { signal: AbortSignal.timeout(3000) }).then((r) => `${r.status}`, () => 'down');
    check(`${tag}: ... the wallet's host is down`, down === 'down', down);
    await w.goto(walletUrl);
    const offline = await w.waitFor('return document.querySelector("h1")?.textContent.length > 0 && ' +
      'document.getElementById("provider-tokens")?.textContent === arguments[0]', 5000, 50, String(after.length));
    check(`${tag}: with the wallet's host down, the service worker still serves the wallet and its ${after.length} tokens`,
      offline, `${await w.url()}: ${(await w.eval('return document.documentElement.outerHTML')).slice(0, 600)}`);
    return ms;
  } catch (e) {
    e.message += `\n--- WebKitWebDriver\n${w.log()}`;
    throw e;
  } finally {
    await w.close();
  }
}

// The wallet on a static host of its own (another origin than its issuer,
// built with --provider): it enrols and fetches its tokens across origins
// (the issuer's CORS answers), and answers the site with no request to the
// issuer at all; its own host gets only WebKit's update check.
async function runCross(c) {
  const w = await launchWebKit({ ...PHONE, acceptInsecureCerts: true });
  const tag = `webkit ${w.version}, wallet on another origin`;
  try {
    await w.goto(c.walletUrl);
    await w.evalAsync('navigator.serviceWorker.ready.then(() => arguments[0](true))');
    await enrolDev(w, 25);
    const filled = await w.waitFor(`return location.pathname.endsWith('/wallet/') &&
      document.getElementById('provider-tokens')?.textContent === '30'`, 15000);
    check(`${tag}: enrolled, back in the wallet's origin, 30 tokens fetched from the issuer's`,
      filled && new URL(await w.url()).origin === new URL(c.walletUrl).origin,
      `${await w.url()} tokens ${await w.text('#provider-tokens')}: ${await w.text('#status')}`);
    await w.goto(c.tlsSiteUrl);
    const href = await w.eval('return document.querySelector("ul.wallets a")?.href ?? ""');
    check(`${tag}: the age-check page's button goes to that wallet`, href.startsWith(c.walletUrl), href);
    await settle(() => c.issuerRequests().length + c.walletRequests().length);
    const quiet = [c.issuerRequests().length, c.walletRequests().length];
    await w.tap('ul.wallets a');
    await w.waitFor('return document.querySelector("#ask-view:not([hidden])") !== null');
    await reading();
    await w.tap('#yes');
    const landed = await w.waitFor(`return location.href === arguments[0] &&
      document.getElementById('content')?.textContent === arguments[1]`, 10000, 50, c.tlsSiteUrl, SITE_CONTENT);
    check(`${tag}: landed on the page wanted`, landed, await w.url());
    await new Promise((r) => setTimeout(r, 3000)); // WebKit's update check comes about 1 s after
    const issuer = c.issuerRequests().slice(quiet[0]);
    const host = c.walletRequests().slice(quiet[1]);
    check(`${tag}: ... the issuer received no request during the redemption and the 3 s after`,
      issuer.length === 0, issuer.join(' | '));
    check(`${tag}: ... the wallet's host only WebKit's update check (GET /wallet/sw.js, at most once)`,
      host.length <= 1 && host.every((l) => l.includes('"GET /wallet/sw.js HTTP/1.1"')), host.join(' | '));
    console.log(`# the wallet's own host during the redemption: ${host.length} request (WebKit's update check)`);
  } finally {
    await w.close();
  }
}

const s = await startServers({ agepass, oidc: false, tls: true, issuerArgs: ['--wallet-dir', wallet] });
try {
  await run(s);
} catch (e) {
  check('webkit: the run finished', false, e.stack);
} finally {
  await s.stop();
  rmSync(wallet, { recursive: true, force: true });
}
// the wallet on another origin (built after the servers start: the issuer's port is its provider)
const crossDir = mkdtempSync(path.join(tmpdir(), 'agp-wallet-cross-'));
chmodSync(crossDir, 0o755); // read by nginx's unprivileged workers
const c = await startServers({ agepass, oidc: false, tls: true, walletHost: crossDir });
try {
  execFileSync(process.execPath, [path.join(repo, 'browser/wallet/build.mjs'), '--out', crossDir,
    '--provider', c.issuerUrl, '--enrol', 'dev'], { stdio: 'inherit' });
  await runCross(c);
} catch (e) {
  check('webkit, wallet on another origin: the run finished', false, e.stack);
} finally {
  await c.stop();
  rmSync(crossDir, { recursive: true, force: true });
}
finish('browser_wallet_webkit');
