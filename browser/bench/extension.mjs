// SPDX-License-Identifier: Apache-2.0
// browser/bench/extension.mjs: figures for the agepass extension in the real
// browsers (prints them; not a timed test), inside a loopback-only network
// namespace, against the real issuer, verifier and nginx (test/lib/servers.mjs):
//   - inside the extension (its page, the same core modules the background
//     uses): minting one token (beginToken: PSS encode + blind) and
//     finalizing a batch of 30 (finishToken x 30: unblind + RSA-PSS verify),
//     for each of 4 batches fetched from the issuer;
//   - from the 401 (its response event in puppeteer, Date.now()) to the
//     reloaded page's load event (performance.timeOrigin + loadEventEnd, the
//     same clock) with a wallet token, over VISITS visits (each with its
//     session cookie deleted first); and, of that, from the 401 to the
//     request that carries the token (puppeteer's request event): the
//     extension's own part.
//
//   node bench/extension.mjs [AGEPASS] [--visits 100] [--browser chromium|firefox]
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { BROWSERS, inNetns, launch, reexec } from '../test/lib/browsers.mjs';
import { SITE_CONTENT, startServers } from '../test/lib/servers.mjs';

if (inNetns()) process.exit(reexec());

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : dflt; };
const agepass = path.resolve(argv[0] && !argv[0].startsWith('--') ? argv[0] : path.join(root, '../build/agepass'));
const visits = Math.min(Math.max(Number.parseInt(opt('--visits', '100'), 10) || 100, 1), 200);
const only = opt('--browser', null);
const BATCHES = Math.ceil(visits / 30) + 1;

execFileSync(process.execPath, [path.join(root, 'scripts/build-ext.mjs'), '--test'], { stdio: 'ignore' });
const extDir = path.join(root, 'dist/extension-test');

const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const fmt = (xs) => `p50 ${q(xs, 0.5).toFixed(1)} ms, p95 ${q(xs, 0.95).toFixed(1)} ms (n=${xs.length})`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function findPage(b, part) {
  for (let i = 0; i < 100; i++) {
    for (const p of await b.browser.pages()) {
      if ((await p.evaluate(() => location.href).catch(() => '')).includes(part)) return p;
    }
    await sleep(100);
  }
  throw new Error(`no page ${part}`);
}

async function bench(which, s) {
  const b = await launch(which, { extension: extDir });
  try {
    if (process.env.AGP_DEBUG && which === 'chromium') {
      const sw = await b.browser.waitForTarget((t) => t.type() === 'service_worker');
      (await sw.worker()).on('console', (m) => console.log(`# worker: ${m.text()}`));
    }
    const ext = await findPage(b, 'popup.html');
    const added = await ext.evaluate((u) => chrome.runtime.sendMessage({ type: 'addProvider', url: u }), s.issuerUrl);
    if (added.error) throw new Error(`addProvider: ${added.error}`);
    // in the extension: enrol (dev), then BATCHES batches of 30, timing the
    // client's steps; the tokens go into the wallet
    const crypto = await ext.evaluate(async (issuerUrl, batches) => {
      const I = await import('./core/issuer.js');
      const T = await import('./core/token.js');
      const B = await import('./core/batch.js');
      const R = await import('./core/rsabssa.js');
      const W = await import('./core/wallet.js');
      const f = (u, init = {}) => fetch(u, { ...init, credentials: 'omit', referrerPolicy: 'no-referrer' });
      const { directory } = await I.fetchDirectory(f, issuerUrl);
      const grant = await I.enrolDev(f, issuerUrl, 25);
      const dk = directory.keys.find((k) => k.age === 18);
      const key = await R.importTokenKey(dk.tokenKey);
      const challenge = T.crossOriginChallenge(directory.issuerName);
      const { wallet } = await chrome.storage.local.get('wallet');
      let state = W.openWallet({ ...wallet, grants: {} });
      const keyId = state.providers[issuerUrl].keys.find((k) => k.age === 18).keyId;
      const mint = [];
      const fin = [];
      for (let n = 0; n < batches; n++) {
        const states = [];
        const reqs = [];
        for (let i = 0; i < 30; i++) {
          const t0 = performance.now();
          const { request, state: st } = await T.beginToken(key, challenge);
          mint.push(performance.now() - t0);
          states.push(st);
          reqs.push(request);
        }
        const res = await f(directory.requestUri, { method: 'POST', body: B.writeBatchRequest(reqs),
          headers: { 'content-type': B.BATCH_REQUEST_TYPE, authorization: `Bearer ${grant.grant}` } });
        const sigs = B.parseBatchResponse(new Uint8Array(await res.arrayBuffer()));
        const t0 = performance.now();
        const tokens = [];
        for (let i = 0; i < 30; i++) tokens.push(await T.finishToken(key, states[i], sigs[i]));
        fin.push(performance.now() - t0);
        state = W.addTokens(state, issuerUrl, 18, keyId, tokens, Math.floor(Date.now() / 1000), Math.random);
      }
      const { grants, ...rest } = state;
      await chrome.storage.local.set({ wallet: rest });
      return { mint, fin };
    }, s.issuerUrl, BATCHES);
    await ext.evaluate((o) => chrome.storage.local.set({ sites: { [o]: 'always' } }), s.siteOrigin);

    const page = await b.browser.newPage();
    const times = [];
    const share = [];
    const issuerBefore = s.issuerRequests().length;
    for (let i = 0; i < visits; i++) {
      await page.deleteCookie(...(await page.cookies()));
      const url = `${s.siteUrl}?bench=${i}`;
      let t401 = null;
      let tAgain = null;
      const on401 = (r) => { if (r.url() === url && r.status() === 401 && t401 === null) t401 = Date.now(); };
      // the extension loads the URL again: its request, with the token
      const onAgain = (r) => { if (r.url() === url && t401 !== null && tAgain === null) tAgain = Date.now(); };
      page.on('response', on401);
      page.on('request', onAgain);
      await page.goto(url).catch(() => {});
      // the reloaded page's load event, on the same clock (epoch ms)
      let tLoad = null;
      for (let k = 0; k < 200 && tLoad === null; k++) {
        tLoad = await page.evaluate((c) => {
          const nav = performance.getEntriesByType('navigation')[0];
          if (!document.body || !document.body.innerText.includes(c) || !nav || !nav.loadEventEnd) return null;
          return performance.timeOrigin + nav.loadEventEnd;
        }, SITE_CONTENT).catch(() => null);
        if (tLoad === null) await sleep(25);
      }
      page.off('response', on401);
      page.off('request', onAgain);
      if (t401 === null || tLoad === null) {
        const state = await ext.evaluate(async (u) => { const [t] = (await chrome.tabs.query({})).filter((x) => x.url === u); return t ? chrome.action.getTitle({ tabId: t.id }) : 'no tab'; }, url);
        const text = await page.evaluate(() => `${location.href} ${document.readyState} ${JSON.stringify(performance.getEntriesByType("navigation")[0])} ${document.body.innerText.slice(0, 60)}`).catch((e) => e.message);
        throw new Error(`visit ${i}: 401 ${t401 !== null}, page ${tLoad !== null}: ${state}: ${text}`);
      }
      times.push(tLoad - t401);
      if (tAgain !== null) share.push(tAgain - t401);
    }
    const extra = s.issuerRequests().length - issuerBefore;
    console.log(`${which}: 401 -> protected page load event, wallet token: ${fmt(times)}; issuer requests during the visits: ${extra}`);
    console.log(`${which}: ... of which 401 -> the request that carries the token (the extension's part): ${fmt(share)}`);
    console.log(`${which}: in the extension: mint one token (beginToken) ${fmt(crypto.mint)}`);
    console.log(`${which}: in the extension: finalize a batch of 30 (finishToken x 30) ${fmt(crypto.fin)}`);
  } finally {
    await b.close();
  }
}

const s = await startServers({ agepass, oidc: false, issuerArgs: ['--day-cap', '300', '--epoch-cap', '1000'] });
try {
  console.log(`# agepass extension benchmark: ${visits} visits, ${BATCHES} batches of 30, ${new Date().toISOString()}`);
  for (const which of only ? [only] : BROWSERS) await bench(which, s);
} finally {
  await s.stop();
}
