// SPDX-License-Identifier: Apache-2.0
// browser/extension/background.js: the agepass extension's background (an
// MV3 service worker in Chromium, a background script in Firefox).
//
// It answers a 401 `WWW-Authenticate: PrivateToken` on a top-level GET
// navigation with a wallet token (pre-fetched, cross-origin: the issuer
// learns nothing at visit time) through a one-shot declarativeNetRequest
// session rule anchored to that URL and that tab, then loads that URL again;
// the verifier's session cookie does the rest. It asks the person first
// the first time a site asks (a hostile site must not drain the wallet),
// and before minting a site-bound token (the issuer would see the time of
// the visit). It refills the wallet on an alarm at randomised moments,
// never at the moment of a visit, with credentials omitted and no referrer.
//
// State (the worker is stopped and restarted at any time: it keeps nothing
// that storage does not hold; store.js keeps a copy of storage in memory,
// written through, so that a visit reads nothing from storage):
//   storage.local    wallet: providers, pinned keys, tokens (core/wallet.js);
//                    sites: {origin: 'always'} only when the person asked to
//                    remember it (never from a private window)
//   storage.session  (memory only) grants; per tab while a check is under way:
//                    asking {tabId: {origin, kind, private}}, once {tabId: origin},
//                    sent {tabId: url}; shown {tabId: the button's state and
//                    the origin it is about}; declined {origin: true};
//                    declinedPrivate {origin: true} (from private windows,
//                    until the last one closes); enrolment refusals {issuerUrl: reason}
// Nothing per visit is written to disk: no URL, site, time or count. A
// visit in a private window records nothing at all: it spends a wallet
// token (the one write to storage.local, which no visit avoids: a token is
// never offered twice) and keeps its per-tab entries until the tab closes.
import { formatAuthorization, parseWwwAuthenticate } from './core/authhdr.js';
import { fetchDirectory, fetchTokens, normaliseIssuerUrl, parseGrant } from './core/issuer.js';
import { importTokenKey } from './core/rsabssa.js';
import * as W from './core/wallet.js';
import { CONFIG } from './config.js';
import * as S from './store.js';

const ALARM = 'agepass-wallet';
// A refill's request may take this long: nobody waits for it (visits go on
// with the wallet's tokens), and an answer given up is an answer lost (the
// issuer has counted its tokens all the same).
const REFILL_TIMEOUT_MS = 60000;
const msg = (key, ...subs) => chrome.i18n.getMessage(key, subs.map(String));
const now = () => Math.floor(Date.now() / 1000);
// The issuer is fetched from here only, as the core asks: no cookies, no referrer.
const issuerFetch = (url, init = {}) => fetch(url, { ...init, credentials: 'omit', referrerPolicy: 'no-referrer' });

// ---- state: one writer at a time ------------------------------------------

let queue = Promise.resolve();
function serial(fn) {
  const run = queue.then(fn, fn);
  queue = run.catch(() => {});
  return run;
}

async function loadWallet() {
  const { local, session } = await S.load();
  // the wallet's grants live in storage.session, the rest in storage.local
  const state = W.openWallet(local.wallet ? { ...local.wallet, grants: session.grants || {} } : null);
  return W.expireGrants(state, now());
}

// Test builds only (CONFIG.scheduleScale < 1): brings the randomised refill
// moments closer, so a test sees them in seconds (directory refreshes keep
// their hours).
function scaled(state) {
  if (CONFIG.scheduleScale === 1) return state;
  const t = now();
  const providers = {};
  for (const [url, p] of Object.entries(state.providers)) {
    const near = (at) => (at == null || at <= t ? at : t + Math.max(1, Math.ceil((at - t) * CONFIG.scheduleScale)));
    providers[url] = { ...p, refillAt: near(p.refillAt) };
  }
  return { ...state, providers };
}

// The one alarm, set only when the moment it is for changes (undefined:
// not known, as after a restart or once it has fired).
let alarmAt;
function setAlarm(at) {
  if (at === alarmAt) return Promise.resolve();
  alarmAt = at;
  if (at == null) return chrome.alarms.clear(ALARM);
  return chrome.alarms.create(ALARM, { when: Math.max(Date.now() + 500, at * 1000) });
}

// The wallet changes in the memory copy before saveWallet returns (the
// next reader sees it at once); the promise is its writes to storage (only
// the keys that changed) and the alarm.
function saveWallet(state, { rescale = false } = {}) {
  const s = rescale ? scaled(state) : state;
  const { grants, ...wallet } = s;
  const writes = [S.put('local', 'wallet', wallet), setAlarm(W.nextEvent(s))];
  const had = S.peek('session', 'grants');
  if (had === undefined || JSON.stringify(had) !== JSON.stringify(grants)) writes.push(S.put('session', 'grants', grants));
  return Promise.all(writes).then(() => s);
}

async function session(key) {
  return (await S.get('session', key)) || {};
}
// One entry of a session map: the memory copy changes at once, the write
// follows (no read-modify-write of storage).
const sessionPut = (key, id, value) => S.putIn('session', key, id, value);

// ---- what the person sees: the button's badge and title, per tab ----------

const STATES = {
  answered: { text: '\u2713', color: '#1a7f37', title: 'stateAnswered' },
  asking: { text: '?', color: '#9a6700', title: 'stateAsking' },
  noToken: { text: '0', color: '#cf222e', title: 'stateNoToken' },
  notYours: { text: '\u2013', color: '#57606a', title: 'stateNotYours' },
  refused: { text: '\u2715', color: '#cf222e', title: 'stateRefused' },
  declined: { text: '\u2013', color: '#57606a', title: 'stateDeclined' },
  declinedPrivate: { text: '\u2013', color: '#57606a', title: 'stateDeclinedPrivate' },
  enrolled: { text: '\u2713', color: '#1a7f37', title: 'stateEnrolled' },
  enrolRefused: { text: '\u2715', color: '#cf222e', title: 'stateEnrolRefused' },
};

// A tab's button changes one event at a time, in the order the events came:
// a repaint of the old page must not land after the next site's reset.
const tabButtons = new Map();
function onTabButton(tabId, change) {
  const next = (tabButtons.get(tabId) || Promise.resolve()).then(change).catch(() => {});
  tabButtons.set(tabId, next);
  next.then(() => {
    if (tabButtons.get(tabId) === next) tabButtons.delete(tabId);
  });
  return next;
}

// Paints a state on a tab's button; `at` is the URL it is about when the
// caller knows it (else the tab is asked for its URL).
function show(tabId, name, { subs = [], at = null } = {}) {
  return onTabButton(tabId, async () => {
    let origin = null;
    try {
      origin = new URL(at || (await chrome.tabs.get(tabId).then((tab) => tab.pendingUrl || tab.url))).origin;
    } catch {
      // the tab is gone, or has no URL yet
    }
    await Promise.all([sessionPut('shown', tabId, { name, subs, origin }), paint(tabId, name, subs)]);
  });
}

async function paint(tabId, name, subs) {
  const st = STATES[name];
  const title = `${msg('extName')}: ${msg(st.title, ...subs)}`;
  try {
    await Promise.all([chrome.action.setBadgeText({ tabId, text: st.text }),
      chrome.action.setBadgeBackgroundColor({ tabId, color: st.color }), chrome.action.setTitle({ tabId, title })]);
  } catch {
    // the tab is gone
  }
}

// ---- answering a challenge --------------------------------------------------

const ruleId = (tabId) => (tabId % 2000000) + 1;
const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function dropRule(tabId) {
  await chrome.declarativeNetRequest.updateSessionRules({ removeRuleIds: [ruleId(tabId)] });
}

async function tabIsPrivate(tabId) {
  try {
    return (await chrome.tabs.get(tabId)).incognito;
  } catch {
    return true; // unknown: record nothing
  }
}

function wwwAuthenticate(headers) {
  return headers.filter((h) => h.name.toLowerCase() === 'www-authenticate').map((h) => h.value || '');
}

async function onChallenge(d) {
  const url = d.url;
  const origin = new URL(url).origin;
  const sent = await session('sent');
  if (sent[d.tabId] === url) {
    // the site refused the token it was just sent: stop (no loop)
    await Promise.all([sessionPut('sent', d.tabId, undefined), dropRule(d.tabId)]);
    return show(d.tabId, 'refused', { at: url });
  }
  const challenges = parseWwwAuthenticate(wwwAuthenticate(d.responseHeaders));
  if (challenges.length === 0) return undefined; // not an agepass check
  // The choice and the spend under the lock, without waiting for storage or
  // the network there: the wallet's copy changes at once, so no other event
  // can pick the same token.
  const step = await serial(async () => {
    const state = await loadWallet();
    const c = await S.load();
    const sites = c.local.sites || {};
    const once = c.session.once || {};
    const choice = W.chooseToken(state, challenges, { pageHost: new URL(url).hostname, now: now() });
    if (choice.action === 'none') {
      if (choice.reason === 'not_agepass') return null;
      return { show: choice.reason === 'no_token' ? 'noToken' : 'notYours' };
    }
    // consent: a site answered only once the person said so
    if ((c.session.declined || {})[origin]) return { show: 'declined' };
    if ((c.session.declinedPrivate || {})[origin] && await tabIsPrivate(d.tabId)) return { show: 'declinedPrivate' };
    const kind = choice.action === 'mint' ? 'mint' : 'spend';
    const allowed = sites[origin] === 'always' && kind === 'spend' ? true
      : sites[origin] === 'always-mint' || once[d.tabId] === `${kind} ${origin}`;
    if (!allowed) return { ask: kind };
    if (once[d.tabId]) sessionPut('once', d.tabId, undefined).catch(() => {});
    if (choice.action === 'mint') return { mint: choice, grant: state.grants[choice.issuerUrl] };
    // spent before it leaves: a token is never offered twice
    return { token: choice.token, spent: saveWallet(W.spendToken(state, choice, now(), Math.random), { rescale: true }) };
  });
  if (step === null) return undefined;
  if (step.show) return show(d.tabId, step.show, { at: url });
  if (step.ask) return ask(d.tabId, origin, step.ask);
  let { token } = step;
  if (step.mint) {
    // a site-bound token, made now (the person agreed: the issuer sees the time)
    if (!step.grant) return show(d.tabId, 'noToken', { at: url });
    try {
      const key = await importTokenKey(step.mint.tokenKey);
      [token] = await fetchTokens(issuerFetch, { requestUri: step.mint.requestUri, grant: step.grant.grant, key,
        challenge: step.mint.challenge, count: 1 });
    } catch {
      return show(d.tabId, 'noToken', { at: url });
    }
    await serial(async () => saveWallet(W.grantUsed(await loadWallet(), step.mint.issuerUrl, 1)));
  }
  // the tab's entry is in the memory copy at once (its write need not be
  // waited for); the wallet stored and the rule in place, then (only then)
  // the header can leave
  sessionPut('sent', d.tabId, url).catch(() => {});
  await Promise.all([step.spent, chrome.declarativeNetRequest.updateSessionRules({
    removeRuleIds: [ruleId(d.tabId)],
    addRules: [{
      id: ruleId(d.tabId),
      priority: 1,
      action: {
        type: 'modifyHeaders',
        requestHeaders: [{ header: 'Authorization', operation: 'set', value: formatAuthorization(token) }],
      },
      condition: { regexFilter: `^${escapeRegex(url)}$`, tabIds: [d.tabId], resourceTypes: ['main_frame'],
        requestMethods: ['get'] },
    }],
  })]);
  // load exactly that URL again (a reload could reload the page before it,
  // when the 401 has not been committed yet)
  await chrome.tabs.update(d.tabId, { url });
  return undefined;
}

// Opens the consent window for that tab's site, once at a time. The
// window's URL names only the tab (not the site: extension pages can end
// in the browser's history, even when the site's tab is private); the
// page asks the background what it is about.
async function ask(tabId, origin, kind) {
  const asking = await session('asking');
  if (asking[tabId] && asking[tabId].origin === origin) return undefined; // already asked: no new window
  // taken at once (the copy changes before any other event runs), then completed
  sessionPut('asking', tabId, { origin, kind, private: true }).catch(() => {});
  const priv = await tabIsPrivate(tabId);
  await sessionPut('asking', tabId, { origin, kind, private: priv });
  await show(tabId, 'asking', { at: origin });
  await chrome.tabs.create({ url: chrome.runtime.getURL(`consent.html?tab=${tabId}`), active: true });
  return undefined;
}

async function onConsent({ tabId, answer }) {
  const asked = (await session('asking'))[tabId];
  if (!asked) return;
  const { origin: site, kind } = asked;
  await sessionPut('asking', tabId, undefined);
  let tab;
  try {
    tab = await chrome.tabs.get(tabId);
  } catch {
    return;
  }
  if (!tab.url || new URL(tab.url).origin !== site) return; // the tab went elsewhere
  if (answer === 'never') {
    // from a private window: forgotten when the last private window closes
    await sessionPut(tab.incognito ? 'declinedPrivate' : 'declined', site, true);
    await show(tabId, tab.incognito ? 'declinedPrivate' : 'declined', { at: tab.url });
    return;
  }
  if (answer === 'always' && !tab.incognito) {
    await S.putIn('local', 'sites', site, kind === 'mint' ? 'always-mint' : 'always');
  } else {
    await sessionPut('once', tabId, `${kind} ${site}`);
  }
  await chrome.tabs.update(tabId, { url: tab.url });
}

function onResponse(d) {
  if (d.tabId < 0 || d.method !== 'GET') return;
  if (d.statusCode === 401) {
    onChallenge(d).catch((e) => console.warn(`agepass: cannot answer the age check (${e.code || e.name}: ${e.message})`));
    return;
  }
  session('sent').then(async (sent) => {
    if (sent[d.tabId] !== d.url) return;
    await sessionPut('sent', d.tabId, undefined);
    if (d.statusCode >= 200 && d.statusCode < 400) await show(d.tabId, 'answered', { at: d.url });
  }).catch(() => {});
}

chrome.webRequest.onHeadersReceived.addListener(onResponse, { urls: ['<all_urls>'], types: ['main_frame'] },
  ['responseHeaders']);
// The header has left: drop the one-shot rule (a tab has one only while
// its token is out: `sent`).
chrome.webRequest.onSendHeaders.addListener((d) => {
  if (d.tabId < 0) return;
  session('sent').then((sent) => (sent[d.tabId] ? dropRule(d.tabId) : null)).catch(() => {});
}, { urls: ['<all_urls>'], types: ['main_frame'] });
chrome.tabs.onRemoved.addListener((tabId) => {
  dropRule(tabId).catch(() => {});
  session('shown').then(() => {
    for (const k of ['asking', 'once', 'sent', 'shown']) {
      if (S.peek('session', k)?.[tabId] !== undefined) sessionPut(k, tabId, undefined).catch(() => {});
    }
  }).catch(() => {});
});
// A site declined in a private window stays declined in private windows
// until the last of them closes.
chrome.windows.onRemoved.addListener(() => {
  session('declinedPrivate').then(async (m) => {
    if (Object.keys(m).length === 0) return;
    const windows = await chrome.windows.getAll();
    if (!windows.some((w) => w.incognito)) await S.put('session', 'declinedPrivate', undefined);
  }).catch(() => {});
});
// A navigation resets the tab's button: paint the state of its page again.
chrome.tabs.onUpdated.addListener((tabId, change, tab) => {
  if (change.status !== 'loading' && change.status !== 'complete') return;
  onTabButton(tabId, async () => {
    const st = (await session('shown'))[tabId];
    if (!st) return;
    let origin = null;
    try {
      origin = new URL(change.url || tab.url).origin;
    } catch {
      // no URL yet: keep the state
    }
    if (st.origin && origin && origin !== st.origin) {
      // another site now: its state is not this one's
      await sessionPut('shown', tabId, undefined);
      await chrome.action.setBadgeText({ tabId, text: '' }).catch(() => {});
      await chrome.action.setTitle({ tabId, title: msg('extName') }).catch(() => {});
      return;
    }
    await paint(tabId, st.name, st.subs);
  });
});

// ---- the wallet: providers, enrolment, refills -----------------------------

async function registerGrantReader(issuerUrl) {
  const host = new URL(issuerUrl).hostname;
  const id = `grant-${issuerUrl.replace(/[^A-Za-z0-9]/g, '_')}`;
  const have = await chrome.scripting.getRegisteredContentScripts({ ids: [id] });
  if (have.length) return;
  // match patterns carry no port: grant.js runs on that host, and only a
  // message from the provider's exact origin is taken (onMessage)
  await chrome.scripting.registerContentScripts([{
    id, js: ['grant.js'], matches: [`${new URL(issuerUrl).protocol}//${host}/*`], runAt: 'document_idle',
    persistAcrossSessions: true,
  }]);
}

async function enrolmentRoutes(issuerUrl) {
  const probe = async (path) => {
    try {
      const r = await issuerFetch(`${issuerUrl}${path}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
      return r.status === 200 || r.type === 'opaqueredirect'; // one OIDC provider: straight to it
    } catch {
      return false;
    }
  };
  const [oidc, dev] = await Promise.all([probe('/enroll/oidc/start'), probe('/enroll/dev')]);
  return { oidc, dev };
}

async function addProvider(url) {
  const issuerUrl = normaliseIssuerUrl(url);
  const got = await fetchDirectory(issuerFetch, issuerUrl);
  const routes = await enrolmentRoutes(issuerUrl);
  await registerGrantReader(issuerUrl);
  await serial(async () => {
    const state = await loadWallet();
    await Promise.all([
      saveWallet(await W.addProvider(state, issuerUrl, got.directory, got.etag, now(), Math.random), { rescale: true }),
      S.putIn('local', 'routes', issuerUrl, routes)]);
  });
  return issuerUrl;
}

async function takeGrant(issuerUrl, g, tabId) {
  await serial(async () => {
    const state = await loadWallet();
    if (!state.providers[issuerUrl]) return;
    const grant = parseGrant({ grant: g.grant, age: g.age, tokens: g.tokens, expires_in: g.expiresIn }, now());
    await Promise.all([saveWallet(W.setGrant(state, issuerUrl, grant, now(), Math.random), { rescale: true }),
      sessionPut('refusals', issuerUrl, undefined)]);
  });
  if (tabId >= 0) await show(tabId, 'enrolled', { subs: [g.age] });
}

// At an alarm only: directory refreshes and refills that are due. The
// state is held only to plan and to take the answers, never while a
// request is out (visits go on meanwhile); a refill marks its provider
// (W.refillStarted, stored) until its request's timeout, so a provider has
// one refill in flight at most, also after a restart of the worker.
const directoriesOut = new Set();
async function onAlarm() {
  alarmAt = undefined; // it has fired
  const { plans, directories } = await serial(async () => {
    let state = await loadWallet();
    const t = now();
    const due = Object.entries(state.providers)
      .filter(([url, p]) => p.directoryDue != null && p.directoryDue <= t && !directoriesOut.has(url)).map(([url]) => url);
    const planned = W.refillPlan(state, t);
    for (const plan of planned) state = W.refillStarted(state, plan.issuerUrl, t + Math.ceil(REFILL_TIMEOUT_MS / 1000) + 5);
    for (const url of due) directoriesOut.add(url);
    await saveWallet(state, { rescale: true });
    return { plans: planned, directories: due };
  });
  await Promise.all([...directories.map(refreshDirectory), ...plans.map(refill)]);
}

async function refreshDirectory(issuerUrl) {
  let got = null;
  try {
    got = await fetchDirectory(issuerFetch, issuerUrl);
  } catch {
    // again later
  }
  await serial(async () => {
    const state = await loadWallet();
    const p = state.providers[issuerUrl];
    if (!p) return; // removed meanwhile
    const t = now();
    const next = got ? await W.addProvider(state, issuerUrl, got.directory, got.etag, t, Math.random)
      : { ...state, providers: { ...state.providers,
        [issuerUrl]: { ...p, directoryDue: t + 600 + Math.floor(Math.random() * 600) } } };
    await saveWallet(next, { rescale: true });
  }).finally(() => directoriesOut.delete(issuerUrl));
}

async function refill(plan) {
  let tokens = null;
  let err = null;
  try {
    const key = await importTokenKey(plan.key.tokenKey);
    tokens = await fetchTokens(issuerFetch, { requestUri: plan.requestUri, grant: plan.grant, key,
      challenge: plan.challenge, count: plan.count, timeoutMs: REFILL_TIMEOUT_MS });
  } catch (e) {
    err = e;
    console.warn(`agepass: refill failed (${e.code || e.name})`);
  }
  await serial(async () => {
    const state = await loadWallet();
    // forgotten or removed meanwhile: the answer changes nothing, stores nothing
    if (!state.providers[plan.issuerUrl]) return;
    const t = now();
    await saveWallet(tokens ? W.refillDone(state, plan, tokens, t, Math.random)
      : W.refillFailed(state, plan, err, t, Math.random), { rescale: true });
  });
}

chrome.alarms.onAlarm.addListener((a) => {
  if (a.name === ALARM) onAlarm().catch((e) => console.warn(`agepass: ${e.code || e.name}`));
});

async function summary() {
  const state = await loadWallet();
  const { local } = await S.load();
  const routes = local.routes || {};
  const sites = local.sites || {};
  const refusals = await session('refusals');
  return {
    providers: (await W.summary(state, now())).map((p) => ({ ...p, routes: routes[p.issuerUrl] || {},
      refused: refusals[p.issuerUrl] || null })),
    sites: Object.keys(sites).sort(),
  };
}

async function forgetEverything() {
  await serial(async () => {
    const ids = (await chrome.scripting.getRegisteredContentScripts()).map((s) => s.id);
    if (ids.length) await chrome.scripting.unregisterContentScripts({ ids });
    const rules = (await chrome.declarativeNetRequest.getSessionRules()).map((r) => r.id);
    if (rules.length) await chrome.declarativeNetRequest.updateSessionRules({ removeRuleIds: rules });
    await S.clear();
    await chrome.alarms.clearAll();
    alarmAt = null;
  });
}

chrome.runtime.onMessage.addListener((m, sender, reply) => {
  const fromExtension = sender.id === chrome.runtime.id && sender.url &&
    sender.url.startsWith(chrome.runtime.getURL(''));
  const run = async () => {
    if (m.type === 'grant' || m.type === 'refused') {
      // from grant.js: only the provider's own origin, in a tab
      const origin = sender.url ? new URL(sender.url).origin : '';
      const state = await loadWallet();
      if (!sender.tab || !state.providers[origin]) return { ok: false };
      if (m.type === 'refused') {
        await sessionPut('refusals', origin, String(m.reason).slice(0, 32));
        await show(sender.tab.id, 'enrolRefused', { subs: [String(m.reason).slice(0, 32)], at: sender.url });
        return { ok: true };
      }
      await takeGrant(origin, m, sender.tab.id);
      return { ok: true };
    }
    if (!fromExtension) return { ok: false };
    switch (m.type) {
      case 'summary': return summary();
      case 'addProvider': return { issuerUrl: await addProvider(m.url) };
      case 'removeProvider':
        await serial(async () => saveWallet(await W.removeProvider(await loadWallet(), m.issuerUrl)));
        return { ok: true };
      case 'consent': await onConsent(m); return { ok: true };
      case 'asking': {
        // the consent page: what it asks about (its URL names only the tab)
        const a = (await session('asking'))[m.tabId];
        return a ? { site: a.origin, kind: a.kind, private: a.private } : { error: 'not_found' };
      }
      case 'forget': await forgetEverything(); return { ok: true };
      case 'tabState': return { title: await chrome.action.getTitle({ tabId: m.tabId }) };
      default: return { ok: false };
    }
  };
  run().then(reply, (e) => {
    console.warn(`agepass: ${m.type}: ${e.code || e.name}: ${e.message}`);
    reply({ error: e.code || e.name || 'error' });
  });
  return true; // async reply
});

async function startup() {
  await serial(async () => {
    const state = await loadWallet();
    for (const issuerUrl of Object.keys(state.providers)) await registerGrantReader(issuerUrl);
    alarmAt = undefined;
    await saveWallet(state);
  });
}
chrome.runtime.onStartup.addListener(() => { startup().catch(() => {}); });
chrome.runtime.onInstalled.addListener(() => {
  startup().catch(() => {});
  // test builds: an extension page for the harness (Firefox's BiDi cannot
  // navigate to moz-extension:// URLs itself)
  if (CONFIG.openOnInstall) chrome.tabs.create({ url: chrome.runtime.getURL('popup.html?tab=1') });
});
