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
// State (the worker is stopped and restarted at any time: nothing is kept
// in globals):
//   storage.local    wallet: providers, pinned keys, tokens (core/wallet.js);
//                    sites: {origin: 'always'} only when the person asked to
//                    remember it (never from a private window)
//   storage.session  (memory only) grants; per tab while a check is under way:
//                    asking {tabId: origin}, once {tabId: origin},
//                    sent {tabId: url}; shown {tabId: the button's state and
//                    the origin it is about}; declined {origin: true};
//                    enrolment refusals {issuerUrl: reason}
// Nothing per visit is written to disk: no URL, site, time or count.
import { formatAuthorization, parseWwwAuthenticate } from './core/authhdr.js';
import { fetchDirectory, fetchTokens, normaliseIssuerUrl, parseGrant } from './core/issuer.js';
import { importTokenKey } from './core/rsabssa.js';
import * as W from './core/wallet.js';
import { CONFIG } from './config.js';

const ALARM = 'agepass-wallet';
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
  const [{ wallet }, { grants }] = await Promise.all([
    chrome.storage.local.get('wallet'), chrome.storage.session.get('grants')]);
  // the wallet's grants live in storage.session, the rest in storage.local
  const state = W.openWallet(wallet ? { ...wallet, grants: grants || {} } : null);
  return await W.expireGrants(state, now());
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

async function saveWallet(state, { rescale = false } = {}) {
  const s = rescale ? scaled(state) : state;
  const { grants, ...wallet } = s;
  await Promise.all([chrome.storage.local.set({ wallet }), chrome.storage.session.set({ grants })]);
  const at = W.nextEvent(s);
  if (at == null) await chrome.alarms.clear(ALARM);
  else await chrome.alarms.create(ALARM, { when: Math.max(Date.now() + 500, at * 1000) });
  return s;
}

async function session(key) {
  return (await chrome.storage.session.get(key))[key] || {};
}
// One read-modify-write at a time: two events changing the same map at
// once would otherwise lose one of the changes.
let sessionWrites = Promise.resolve();
function sessionPut(key, id, value) {
  const write = sessionWrites.then(async () => {
    const m = await session(key);
    if (value === undefined) delete m[id];
    else m[id] = value;
    await chrome.storage.session.set({ [key]: m });
  });
  sessionWrites = write.catch(() => {});
  return write;
}

// ---- what the person sees: the button's badge and title, per tab ----------

const STATES = {
  answered: { text: '\u2713', color: '#1a7f37', title: 'stateAnswered' },
  asking: { text: '?', color: '#9a6700', title: 'stateAsking' },
  noToken: { text: '0', color: '#cf222e', title: 'stateNoToken' },
  notYours: { text: '\u2013', color: '#57606a', title: 'stateNotYours' },
  refused: { text: '\u2715', color: '#cf222e', title: 'stateRefused' },
  declined: { text: '\u2013', color: '#57606a', title: 'stateDeclined' },
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

function show(tabId, name, ...subs) {
  return onTabButton(tabId, async () => {
    let origin = null;
    try {
      const tab = await chrome.tabs.get(tabId);
      origin = new URL(tab.pendingUrl || tab.url).origin;
    } catch {
      // the tab is gone, or has no URL yet
    }
    await sessionPut('shown', tabId, { name, subs, origin });
    await paint(tabId, name, subs);
  });
}

async function paint(tabId, name, subs) {
  const st = STATES[name];
  const title = `${msg('extName')}: ${msg(st.title, ...subs)}`;
  try {
    await chrome.action.setBadgeText({ tabId, text: st.text });
    await chrome.action.setBadgeBackgroundColor({ tabId, color: st.color });
    await chrome.action.setTitle({ tabId, title });
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
    await sessionPut('sent', d.tabId, undefined);
    await dropRule(d.tabId);
    return show(d.tabId, 'refused');
  }
  const challenges = parseWwwAuthenticate(wwwAuthenticate(d.responseHeaders));
  if (challenges.length === 0) return undefined; // not an agepass check
  return serial(async () => {
    const [loaded, declined, { sites = {} }, once] = await Promise.all([loadWallet(), session('declined'),
      chrome.storage.local.get('sites'), session('once')]);
    let state = loaded;
    const choice = await W.chooseToken(state, challenges, { pageHost: new URL(url).hostname, now: now() });
    if (choice.action === 'none') {
      if (choice.reason === 'not_agepass') return undefined;
      return show(d.tabId, choice.reason === 'no_token' ? 'noToken' : 'notYours');
    }
    // consent: a site answered only once the person said so
    if (declined[origin]) return show(d.tabId, 'declined');
    const kind = choice.action === 'mint' ? 'mint' : 'spend';
    const allowed = sites[origin] === 'always' && kind === 'spend' ? true
      : sites[origin] === 'always-mint' || once[d.tabId] === `${kind} ${origin}`;
    if (!allowed) return ask(d.tabId, origin, kind);
    if (once[d.tabId]) await sessionPut('once', d.tabId, undefined);

    let token;
    if (choice.action === 'spend') {
      token = choice.token;
      // spent before it leaves: a token is never offered twice
      state = await saveWallet(await W.spendToken(state, choice, now(), Math.random), { rescale: true });
    } else {
      const grant = state.grants[choice.issuerUrl];
      if (!grant) return show(d.tabId, 'noToken');
      try {
        const key = await importTokenKey(choice.tokenKey);
        [token] = await fetchTokens(issuerFetch, { requestUri: choice.requestUri, grant: grant.grant, key,
          challenge: choice.challenge, count: 1 });
      } catch {
        return show(d.tabId, 'noToken');
      }
    }
    await Promise.all([sessionPut('sent', d.tabId, url), chrome.declarativeNetRequest.updateSessionRules({
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
  });
}

// Opens the consent window for that tab's site, once at a time.
async function ask(tabId, origin, kind) {
  const asking = await session('asking');
  if (asking[tabId] === origin) return undefined; // already asked: no new window
  await sessionPut('asking', tabId, origin);
  await show(tabId, 'asking');
  const priv = await tabIsPrivate(tabId);
  const q = new URLSearchParams({ tab: String(tabId), site: origin, kind, private: priv ? '1' : '0' });
  await chrome.tabs.create({ url: chrome.runtime.getURL(`consent.html?${q}`), active: true });
  return undefined;
}

async function onConsent({ tabId, site, kind, answer }) {
  await sessionPut('asking', tabId, undefined);
  let tab;
  try {
    tab = await chrome.tabs.get(tabId);
  } catch {
    return;
  }
  if (!tab.url || new URL(tab.url).origin !== site) return; // the tab went elsewhere
  if (answer === 'never') {
    await sessionPut('declined', site, true);
    await show(tabId, 'declined');
    return;
  }
  if (answer === 'always' && !tab.incognito) {
    const { sites = {} } = await chrome.storage.local.get('sites');
    sites[site] = kind === 'mint' ? 'always-mint' : 'always';
    await chrome.storage.local.set({ sites });
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
    if (d.statusCode >= 200 && d.statusCode < 400) await show(d.tabId, 'answered');
  });
}

chrome.webRequest.onHeadersReceived.addListener(onResponse, { urls: ['<all_urls>'], types: ['main_frame'] },
  ['responseHeaders']);
// The header has left: drop the one-shot rule.
chrome.webRequest.onSendHeaders.addListener((d) => {
  if (d.tabId >= 0) dropRule(d.tabId).catch(() => {});
}, { urls: ['<all_urls>'], types: ['main_frame'] });
chrome.tabs.onRemoved.addListener((tabId) => {
  dropRule(tabId).catch(() => {});
  for (const k of ['asking', 'once', 'sent', 'shown']) sessionPut(k, tabId, undefined).catch(() => {});
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
    await saveWallet(await W.addProvider(state, issuerUrl, got.directory, got.etag, now(), Math.random), { rescale: true });
    const { routes: all = {} } = await chrome.storage.local.get('routes');
    await chrome.storage.local.set({ routes: { ...all, [issuerUrl]: routes } });
  });
  return issuerUrl;
}

async function takeGrant(issuerUrl, g, tabId) {
  await serial(async () => {
    const state = await loadWallet();
    if (!state.providers[issuerUrl]) return;
    const grant = parseGrant({ grant: g.grant, age: g.age, tokens: g.tokens, expires_in: g.expiresIn }, now());
    await saveWallet(await W.setGrant(state, issuerUrl, grant, now(), Math.random), { rescale: true });
    await sessionPut('refusals', issuerUrl, undefined);
  });
  if (tabId >= 0) await show(tabId, 'enrolled', g.age);
}

// At an alarm only: directory refreshes and refills that are due.
async function onAlarm() {
  await serial(async () => {
    let state = await loadWallet();
    const t = now();
    for (const [issuerUrl, p] of Object.entries(state.providers)) {
      if (p.directoryDue != null && p.directoryDue <= t) {
        try {
          const got = await fetchDirectory(issuerFetch, issuerUrl);
          state = await W.addProvider(state, issuerUrl, got.directory, got.etag, t, Math.random);
        } catch {
          state = { ...state, providers: { ...state.providers,
            [issuerUrl]: { ...p, directoryDue: t + 600 + Math.floor(Math.random() * 600) } } };
        }
      }
    }
    for (const plan of (await W.refillPlan(state, t)).map((x) => ({ ...x,
      expiresAt: state.grants[x.issuerUrl] ? state.grants[x.issuerUrl].expiresAt : null }))) {
      try {
        const key = await importTokenKey(plan.key.tokenKey);
        const tokens = await fetchTokens(issuerFetch, { requestUri: plan.requestUri, grant: plan.grant, key,
          challenge: plan.challenge, count: plan.count });
        state = await W.addTokens(state, plan.issuerUrl, plan.age, plan.key.keyId, tokens, now(), Math.random);
      } catch (e) {
        if (e.tokens && e.tokens.length) {
          state = await W.addTokens(state, plan.issuerUrl, plan.age, plan.key.keyId, e.tokens, now(), Math.random);
        }
        if (e.code === 'grant' || e.code === 'over_quota') state = await W.dropGrant(state, plan.issuerUrl);
        else {
          // try again later, at another random moment
          const p = state.providers[plan.issuerUrl];
          state = { ...state, providers: { ...state.providers,
            [plan.issuerUrl]: { ...p, refillAt: W.nextRefillAt(now(), Math.random, plan.expiresAt ?? null) } } };
        }
        console.warn(`agepass: refill failed (${e.code || e.name})`);
      }
    }
    await saveWallet(state, { rescale: true });
  });
}
chrome.alarms.onAlarm.addListener((a) => {
  if (a.name === ALARM) onAlarm().catch((e) => console.warn(`agepass: ${e.code || e.name}`));
});

async function summary() {
  const state = await loadWallet();
  const { routes = {}, sites = {} } = await chrome.storage.local.get(['routes', 'sites']);
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
    await chrome.storage.local.clear();
    await chrome.storage.session.clear();
    await chrome.alarms.clearAll();
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
        await show(sender.tab.id, 'enrolRefused', String(m.reason).slice(0, 32));
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
  const state = await loadWallet();
  for (const issuerUrl of Object.keys(state.providers)) await registerGrantReader(issuerUrl);
  await saveWallet(state);
}
chrome.runtime.onStartup.addListener(() => { startup().catch(() => {}); });
chrome.runtime.onInstalled.addListener(() => {
  startup().catch(() => {});
  // test builds: an extension page for the harness (Firefox's BiDi cannot
  // navigate to moz-extension:// URLs itself)
  if (CONFIG.openOnInstall) chrome.tabs.create({ url: chrome.runtime.getURL('popup.html?tab=1') });
});
