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
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { inNetns, reexec } from '../../test/lib/browsers.mjs';
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

let passed = 0;
let failed = 0;
function check(what, cond, detail = '') {
  if (cond) {
    passed++;
    console.log(`ok - ${what}`);
  } else {
    failed++;
    console.log(`not ok - ${what}${detail ? `: ${detail}` : ''}`);
  }
}

const wallet = path.join(repo, 'browser/wallet/dist');
execFileSync(process.execPath, [path.join(repo, 'browser/wallet/build.mjs'), '--out', wallet, '--enrol', 'dev,oidc'],
  { stdio: 'inherit' });

// The wallet's tokens as it stored them (browser/wallet/src/store.js).
async function walletTokens(w) {
  return w.eval(`const st = JSON.parse(localStorage.getItem('agepass-wallet-v1') ?? 'null');
    return st ? Object.values(st.providers).flatMap((p) => p.tokens) : [];`);
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

    // an adult enrols (dev attester): the grant comes back to the wallet by itself
    await w.tap('#enrol-dev');
    await w.waitFor('return document.querySelector("#age") !== null');
    await w.eval('document.querySelector("#age").value = "25"');
    await w.tap('#enrol');
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
    if (shots) await w.screenshot(path.join(repo, 'docs/wallet-webkit-age-page.png'));
    const quiet = s.issuerRequests().length;
    const t0 = Date.now();
    await w.tap('ul.wallets a');
    const shown = await w.waitFor('return document.querySelector("#ask-view:not([hidden])") !== null');
    const host = new URL(site).host;
    const asked = await w.text('#ask');
    check(`${tag}: the wallet asks "Prove to ${host} that you are over 18?"`,
      shown && asked === `Prove to ${host} that you are over 18?`, asked);
    check(`${tag}: ... the challenge left the address bar`, !(await w.url()).includes('challenge='));
    if (shots) await w.screenshot(path.join(repo, 'docs/wallet-webkit-ask.png'));
    // what the page sees of the tap (read back below, in the wallet's origin)
    await w.eval(`addEventListener('pointerdown', (e) => sessionStorage.setItem('agp-pointer', e.pointerType), true);
      addEventListener('touchstart', () => sessionStorage.setItem('agp-touch', 'yes'), true);`);
    await w.tap('#yes');
    const landed = await w.waitFor(`return location.href === arguments[0] &&
      document.getElementById('content')?.textContent === arguments[1]`, 10000, 50, site, SITE_CONTENT);
    const ms = Date.now() - t0;
    check(`${tag}: landed on the page wanted (${ms} ms)`, landed, `${await w.url()}: ${await w.text('h1')}`);
    const cookie = (await w.cookies()).find((c) => c.name === 'agepass_session');
    check(`${tag}: ... with the session cookie set in answer to the cross-site POST`, cookie !== undefined,
      JSON.stringify((await w.cookies()).map((c) => c.name)));
    if (cookie) {
      check(`${tag}: ... Secure, HttpOnly, SameSite=Lax, for the site's host only`,
        cookie.secure === true && cookie.httpOnly === true && cookie.sameSite === 'Lax' &&
        cookie.domain === new URL(site).hostname,
        JSON.stringify({ ...cookie, value: undefined }));
    }
    // WebKit checks the controlling service worker for an update about 1 s
    // after every navigation to the wallet, from the network (updateViaCache
    // 'all' and sw.js's max-age notwithstanding; Chromium and Firefox do not):
    // one GET of sw.js that tells the wallet's host the time of the visit
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

const s = await startServers({ agepass, oidc: false, tls: true, issuerArgs: ['--wallet-dir', wallet] });
try {
  await run(s);
} catch (e) {
  check('webkit: the run finished', false, e.stack);
} finally {
  await s.stop();
}
console.log(`browser_wallet_webkit: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
