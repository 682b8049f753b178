// SPDX-License-Identifier: Apache-2.0
// browser/test/extension.mjs: the agepass extension in real browsers,
// Debian's chromium and firefox-esr headless (puppeteer-core), each run
// inside its own network namespace with only loopback, against the real
// issuer (dev attester and OpenID Connect with the npm oidc-provider), the
// real verifier behind the real nginx with the shipped snippets.
//
//   node test/extension.mjs [AGEPASS] [--browser chromium|firefox] [--screenshots DIR]
//
// For each browser, as a person would: add the age provider by its address
// in the popup; a 15-year-old is refused at enrolment (dev attester page) and
// the page stays closed; an adult enrols from the popup, the wallet fills by
// itself in the background; the first visit asks for consent, then the page
// opens with a session cookie; a second page spends no token; the issuer
// receives no request at all during the visits; no token is sent twice; a
// site whose provider is not trusted stays closed; a site that asks again
// and again without consent gets nothing; the wallet refills by itself when
// low; "forget everything", then enrolment through OpenID Connect.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { BROWSERS, inNetns, launch, reexec } from './lib/browsers.mjs';
import { SITE_CONTENT, startServers } from './lib/servers.mjs';

if (inNetns()) process.exit(reexec());

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
const opt = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : null; };
const agepass = path.resolve(argv[0] && !argv[0].startsWith('--') ? argv[0] : path.join(root, '../build/agepass'));
const only = opt('--browser');
const shots = opt('--screenshots');

execFileSync(process.execPath, [path.join(root, 'scripts/build-ext.mjs'), '--test'], { stdio: 'ignore' });
const extDir = path.join(root, 'dist/extension-test');

let pass = 0;
let fail = 0;
function check(what, ok, detail = '') {
  if (ok) { pass++; console.log(`ok - ${what}`); } else { fail++; console.log(`not ok - ${what}${detail ? `: ${detail}` : ''}`); }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    await sleep(100);
  }
  throw new Error(`timed out: ${what} (${last && last.message ? last.message : last})`);
}

// The extension page the test build opens at install (Firefox's BiDi cannot
// navigate to moz-extension:// itself), or any page whose URL includes `part`.
async function findPage(b, part, { exclude = [] } = {}) {
  return until(`a page ${part}`, async () => {
    for (const p of await b.browser.pages()) {
      if (exclude.includes(p)) continue;
      const href = await p.evaluate(() => location.href).catch(() => '');
      if (href.includes(part)) return p;
    }
    return null;
  }, 10000);
}

async function run(which, s) {
  const t0 = Date.now();
  const b = await launch(which, { extension: extDir });
  try {
    if (process.env.AGP_DEBUG && which === 'chromium') {
      const sw = await b.browser.waitForTarget((t) => t.type() === 'service_worker');
      const w = await sw.worker();
      w.on('console', (m) => console.log(`# worker: ${m.text()}`));
    }
    const ext = await findPage(b, 'popup.html');
    const call = (m) => ext.evaluate((x) => chrome.runtime.sendMessage(x), m);
    const summary = async () => (await call({ type: 'summary' })).providers;
    const tokens = async () => {
      const p = (await summary())[0];
      return p ? Object.values(p.tokens).reduce((a, n) => a + n, 0) : 0;
    };
    const tabState = async (url) => {
      const title = await ext.evaluate(async (u) => {
        const [tab] = (await chrome.tabs.query({})).filter((t) => t.url === u);
        return tab ? chrome.action.getTitle({ tabId: tab.id }) : null;
      }, url);
      return title || '';
    };
    // [ok, title]: the button's title for that tab says `text` (within 3 s)
    const stateSays = async (url, text) => {
      let title = '';
      for (let i = 0; i < 30; i++) {
        title = await tabState(url);
        if (title.includes(text)) return [true, title];
        await sleep(100);
      }
      return [false, title];
    };
    const content = (page) => page.evaluate(() => document.body.innerText).catch(() => '');
    const opened = async (page) => (await content(page)).includes(SITE_CONTENT);
    const metric = async (name) => (await s.verifierMetrics()).get(name) || 0;
    // tokens accepted, summed over their labels (issuer, age, scope)
    const accepted = async () => [...(await s.verifierMetrics())]
      .filter(([k]) => k.startsWith('agepass_verifier_tokens_accepted_total{'))
      .reduce((sum, [, v]) => sum + v, 0);
    let visit = 0;
    const visitUrl = (base) => `${base}?v=${which}-${++visit}`;
    const P = `${which}:`;

    // 1. the provider, by its address, in the popup
    await ext.evaluate((u) => { document.getElementById('add-url').value = u; }, s.issuerUrl);
    await ext.evaluate(() => document.getElementById('add-button').click());
    await until('the provider is listed', () => ext.$(`li.provider[data-issuer="${s.issuerUrl}"]`)).catch(async (e) => {
      throw new Error(`${e.message}: ${await ext.$eval("#add-result", (x) => x.textContent)} ${JSON.stringify(await call({ type: "summary" }))}`);
    });
    const item = await ext.$eval('li.provider', (li) => li.innerText);
    check(`${P} the popup adds the provider by its address and shows its name and age classes`,
      item.includes('ap.example') && item.includes('18+'), item);
    check(`${P} ... and its enrolment pages (dev attester, OpenID Connect)`,
      !!(await ext.$('button[data-route="dev"]')) && !!(await ext.$('button[data-route="oidc"]')));

    // 2. a 15-year-old is refused at enrolment; the page stays closed
    const enrolDev = async (age) => {
      const before = await b.browser.pages();
      await ext.evaluate(() => document.querySelector('button[data-route="dev"]').click());
      const page = await until('the enrolment tab', async () => (await b.browser.pages()).find((p) => !before.includes(p)));
      await until('the dev form', () => page.$('#age'));
      await page.evaluate((a) => { document.getElementById('age').value = String(a); }, age);
      await Promise.all([page.waitForNavigation(), page.evaluate(() => document.getElementById('enrol').click())]);
      return page;
    };
    const teen = await enrolDev(15);
    check(`${P} 15: the issuer's page says the enrolment is refused`, (await content(teen)).includes('under_age'));
    await until('the popup shows the refusal', async () => (await summary())[0].refused === 'under_age', 5000)
      .then(() => check(`${P} 15: the popup shows the refusal`, true))
      .catch((e) => check(`${P} 15: the popup shows the refusal`, false, e.message));
    check(`${P} 15: no token in the wallet`, (await tokens()) === 0);
    await teen.close();
    const acc0 = await accepted();
    const closed = await b.browser.newPage();
    const u0 = visitUrl(s.siteUrl);
    await closed.goto(u0);
    await sleep(700);
    check(`${P} 15: the protected page stays closed`, !(await opened(closed)) && (await content(closed)).includes('Age check required'));
    check(`${P} 15: ... and the button says no token is left`, ...(await stateSays(u0, 'no token left')));
    check(`${P} 15: no token reached the site`, (await accepted()) === acc0);
    await closed.close();

    // 3. an adult enrols from the popup; the wallet fills by itself
    const requests0 = s.issuerRequests().length;
    const adult = await enrolDev(25);
    check(`${P} adult: the grant page shows the grant to a person too`, /[A-Za-z0-9_-]{43}/.test(await content(adult)));
    await until('the grant is taken', async () => (await summary())[0].grantExpiresAt)
      .then(() => check(`${P} adult: the extension takes the grant from the page, no copy and paste`, true))
      .catch((e) => check(`${P} adult: the extension takes the grant from the page, no copy and paste`, false, e.message));
    await adult.close();
    await until('the wallet fills', async () => (await tokens()) === 30, 20000)
      .then(() => check(`${P} adult: the wallet fills by itself in the background: 30 tokens`, true))
      .catch((e) => check(`${P} adult: the wallet fills by itself in the background: 30 tokens`, false, e.message));
    const fills = s.issuerRequests().slice(requests0).filter((l) => l.includes('POST /token-request'));
    check(`${P} adult: ... in one batch request`, fills.length === 1, fills.join('\n'));

    // 4. the first visit asks; then the page opens with a session cookie
    const issuerBefore = s.issuerRequests().length;
    const accBefore = await accepted();
    const page = await b.browser.newPage();
    const u1 = visitUrl(s.siteUrl);
    await page.goto(u1);
    const consent = await findPage(b, 'consent.html');
    const question = await consent.evaluate(() => document.getElementById('question').textContent);
    check(`${P} the first visit asks whether to answer this site`, question.includes(new URL(s.siteUrl).host), question);
    check(`${P} ... and the page stays closed until then`, !(await opened(page)));
    check(`${P} ... no token spent while it asks`, (await tokens()) === 30);
    await consent.evaluate(() => document.getElementById('always').click());
    await until('the page opens', () => opened(page))
      .then(() => check(`${P} after consent, the protected page opens with its content`, true))
      .catch((e) => check(`${P} after consent, the protected page opens with its content`, false, e.message));
    const cookies = await page.cookies();
    check(`${P} ... and the verifier's session cookie`, cookies.some((c) => c.name === 'agepass_session'),
      cookies.map((c) => c.name).join(','));
    check(`${P} ... and the button says it was answered`, ...(await stateSays(u1, 'answered')));
    check(`${P} ... one token spent (29 left)`, (await tokens()) === 29);
    check(`${P} ... accepted once by the verifier`, (await accepted()) === accBefore + 1);
    const rules = await ext.evaluate(() => chrome.declarativeNetRequest.getSessionRules());
    check(`${P} ... and the one-shot rule is gone`, rules.length === 0, JSON.stringify(rules));
    if (shots && which === 'chromium') {
      mkdirSync(shots, { recursive: true });
      await page.setViewport({ width: 640, height: 300 });
      await page.screenshot({ path: path.join(shots, 'extension-page.png') });
    }

    // 5. a second page: the session, no token
    const u2 = visitUrl(s.siteUrl.replace(/\/$/, '/second.html'));
    await page.goto(u2);
    await until('the second page', () => opened(page), 5000).catch(() => {});
    check(`${P} a second page opens with the session cookie`, await opened(page));
    check(`${P} ... no token spent`, (await tokens()) === 29 && (await accepted()) === accBefore + 1);

    const elsewhere = s.otherSiteUrl.replace(/adult\/$/, '');
    await page.goto(elsewhere);
    // the reset may take a moment; once done it must stay done
    for (let i = 0; i < 30 && (await tabState(elsewhere)).includes('answered'); i++) await sleep(100);
    await sleep(300);
    check(`${P} on another site afterwards, the button no longer says answered`,
      !(await tabState(elsewhere)).includes('answered'), await tabState(elsewhere));

    // 6. a site whose provider is not the person's stays closed
    const other = await b.browser.newPage();
    const u3 = visitUrl(s.otherSiteUrl);
    await other.goto(u3);
    await sleep(700);
    check(`${P} a site whose provider is not yours stays closed`, !(await opened(other)));
    check(`${P} ... the button says so`, ...(await stateSays(u3, 'not one of yours')));
    check(`${P} ... no token spent, no consent asked`, (await tokens()) === 29 &&
      !(await b.browser.pages().then((ps) => Promise.all(ps.map((p) => p.evaluate(() => location.href).catch(() => ''))))).some((h) => h.includes('consent.html')));
    await other.close();

    // 7. a site that asks again and again without consent gets nothing
    const hostile = await b.browser.newPage();
    const u4 = visitUrl(s.aliasSiteUrl);
    await hostile.goto(u4);
    const ask = await findPage(b, 'consent.html');
    for (let i = 0; i < 5; i++) {
      await hostile.reload();
      await sleep(150);
    }
    const asks = (await Promise.all((await b.browser.pages()).map((p) => p.evaluate(() => location.href).catch(() => ''))))
      .filter((h) => h.includes('consent.html')).length;
    check(`${P} a site reloaded 5 times while it waits for consent: one question, not six`, asks === 1, String(asks));
    check(`${P} ... and it gets no token`, (await tokens()) === 29 && (await accepted()) === accBefore + 1 && !(await opened(hostile)));
    await ask.evaluate(() => document.getElementById('never').click());
    await sleep(300);
    await hostile.reload();
    await sleep(500);
    check(`${P} after "not this site", its checks are not answered`, !(await opened(hostile)) && (await tokens()) === 29);
    check(`${P} ... and the button says so`, ...(await stateSays(hostile.url(), 'chose not to answer')));
    await hostile.close();

    // 7b. a site that refuses the token: one token, then it stops (no loop)
    const refusing = await b.browser.newPage();
    let refusals = 0;
    refusing.on('response', (r) => { if (r.status() === 401 && r.url().includes('/refusing/')) refusals++; });
    const heldBefore = await tokens();
    const u7 = visitUrl(s.refusingUrl);
    await refusing.goto(u7);
    const [said, saidTitle] = await stateSays(u7, 'refused by the site');
    await sleep(1000);
    check(`${P} a site that refuses the token: the button says refused by the site`, said, saidTitle);
    check(`${P} ... after two 401s, no more (no loop)`, refusals === 2, String(refusals));
    check(`${P} ... one token spent, not more`, (await tokens()) === heldBefore - 1);
    await refusing.close();

    // 8. the issuer saw no request at all during the visits; no token twice
    check(`${P} the issuer received no request at all during the visits`, s.issuerRequests().length === issuerBefore,
      s.issuerRequests().slice(issuerBefore).join('\n'));
    check(`${P} no token was sent twice (no replay at the verifier)`,
      (await metric('agepass_verifier_tokens_refused_total{reason="replay"}')) === 0);

    // 9. the wallet refills by itself when it runs low (randomised moment)
    await ext.evaluate(async () => {
      const { wallet } = await chrome.storage.local.get('wallet');
      for (const p of Object.values(wallet.providers)) p.tokens = p.tokens.slice(0, 10);
      await chrome.storage.local.set({ wallet });
    });
    await page.goto(`${s.siteOrigin}/`); // the site's public page: its cookies are the page's
    await page.deleteCookie(...(await page.cookies()));
    const low = s.issuerRequests().length;
    const u5 = visitUrl(s.siteUrl);
    await page.goto(u5);
    await until('the page opens', () => opened(page), 8000).catch(() => {});
    check(`${P} low wallet: a visit (the site is remembered: no question) opens the page`, await opened(page));
    check(`${P} ... spending a token (9 left)`, (await tokens()) === 9, String(await tokens()));
    check(`${P} ... without any request to the issuer at that moment`, s.issuerRequests().length === low);
    await until('the wallet refills', async () => (await tokens()) === 30, 20000)
      .then(() => check(`${P} ... then the wallet refills by itself to 30`, true))
      .catch(async (e) => check(`${P} ... then the wallet refills by itself to 30`, false, `${e.message} ${await ext.evaluate(async () => {
        const { wallet } = await chrome.storage.local.get('wallet');
        const { grants } = await chrome.storage.session.get('grants');
        const p = Object.values(wallet.providers)[0];
        const g = Object.values(grants || {})[0];
        return JSON.stringify({ now: Math.floor(Date.now() / 1000), refillAt: p.refillAt, held: p.tokens.length,
          grant: g && { tokensLeft: g.tokensLeft, expiresAt: g.expiresAt }, alarms: await chrome.alarms.getAll() });
      })}`));

    // 10. forget everything, then OpenID Connect
    if (shots && which === 'chromium') {
      await ext.setViewport({ width: 390, height: 520 });
      await ext.reload();
      await until('the popup lists the provider', () => ext.$('li.provider'));
      await ext.screenshot({ path: path.join(shots, 'extension-popup.png') });
    }
    await ext.evaluate(() => document.getElementById('forget').click());
    await until('everything forgotten', async () => (await summary()).length === 0, 5000);
    const stored = await ext.evaluate(async () => JSON.stringify([await chrome.storage.local.get(null),
      await chrome.storage.session.get(null)]));
    check(`${P} "forget everything" leaves nothing in storage`, stored === '[{},{}]', stored);
    await ext.evaluate((u) => { document.getElementById('add-url').value = u; }, s.issuerUrl);
    await ext.evaluate(() => document.getElementById('add-button').click());
    await until('the provider is listed again', () => ext.$('button[data-route="oidc"]'));
    const before = await b.browser.pages();
    await ext.evaluate(() => document.querySelector('button[data-route="oidc"]').click());
    const op = await until('the enrolment tab', async () => (await b.browser.pages()).find((p) => !before.includes(p)));
    // one OpenID Provider: the issuer sends the browser straight to it
    await until('the login form', () => op.$('input[name="login"]'));
    await op.evaluate(() => {
      document.querySelector('input[name="login"]').value = 'acct-adult-q7w3';
      document.querySelector('input[name="password"]').value = 'any';
    });
    await Promise.all([op.waitForNavigation(), op.evaluate(() => document.querySelector('form').submit())]);
    await until('the consent form', () => op.$('form'));
    await Promise.all([op.waitForNavigation({ waitUntil: 'load' }), op.evaluate(() => document.querySelector('form button, form [type=submit]').click())]);
    await until('the grant page', async () => (await content(op)).includes('You proved'), 10000)
      .then(() => check(`${P} OIDC: login at the provider ends on the issuer's grant page`, true))
      .catch((e) => check(`${P} OIDC: login at the provider ends on the issuer's grant page`, false, e.message));
    await until('the wallet fills', async () => (await tokens()) === 30, 20000)
      .then(() => check(`${P} OIDC: the grant is taken and the wallet fills by itself`, true))
      .catch((e) => check(`${P} OIDC: the grant is taken and the wallet fills by itself`, false, e.message));
    await page.goto(`${s.siteOrigin}/`);
    await page.deleteCookie(...(await page.cookies()));
    const u6 = visitUrl(s.siteUrl);
    await page.goto(u6);
    const c2 = await findPage(b, 'consent.html');
    await c2.evaluate(() => document.getElementById('once').click());
    await until('the page opens', () => opened(page), 8000).catch(() => {});
    check(`${P} OIDC: after "answer this time", the page opens`, await opened(page));
    console.log(`# ${which}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await b.close();
  }
}

const s = await startServers({ agepass, issuerArgs: ['--day-cap', '60'] });
try {
  for (const which of only ? [only] : BROWSERS) {
    try {
      await run(which, s);
    } catch (e) {
      check(`${which}: the run went to its end`, false, e.stack);
    }
  }
} finally {
  await s.stop();
}
console.log(`extension: ${pass} passed, ${fail} failed`);
process.exit(fail === 0 && pass > 0 ? 0 : 1);
