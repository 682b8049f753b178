// SPDX-License-Identifier: Apache-2.0
// browser/wallet/src/app.js: the web wallet's page. Three ways in:
//   #challenge=..&redeem=..&return=..  from a site's age-check page: ask,
//       then POST a token back to the site. NO network request here: the
//       page comes from the service worker's cache and a token fetched in
//       advance is spent (a site-bound one is minted only on a second yes).
//   #grant=..&age=..&tokens=..&expires_in=..  back from an enrolment at the
//       provider: keep the grant, fetch tokens at once (enrolment time).
//   no fragment: the wallet's state, enrolment links, refills at
//       randomised moments while the page is open.
// The fragment is read once and removed from the address bar and history.
import { b64urlDecode, b64urlEncode } from './core/bytes.js';
import { parseWwwAuthenticate } from './core/authhdr.js';
import { fetchDirectory, fetchTokens, normaliseIssuerUrl, parseGrant } from './core/issuer.js';
import { importTokenKey } from './core/rsabssa.js';
import * as W from './core/wallet.js';
import * as store from './store.js';
import catalogues from './i18n/messages.js'; // written by build.mjs

const $ = (id) => document.getElementById(id);
const now = () => Math.floor(Date.now() / 1000);
let msgs = {};

function t(key, vars = {}) {
  let s = msgs[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
  return s;
}

// The catalogue of the person's first language we have (src/i18n/*.json,
// made one module by build.mjs), else English.
function loadCatalogue() {
  const want = (navigator.languages ?? [navigator.language]).map((l) => l.slice(0, 2).toLowerCase());
  const lang = want.find((l) => Object.hasOwn(catalogues, l)) ?? 'en';
  msgs = catalogues[lang];
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  document.title = t('title');
}

function status(text) {
  $('status').textContent = text;
}

async function config() {
  const res = await fetch('config.json');
  const c = await res.json();
  return { provider: normaliseIssuerUrl(c.provider || location.origin), enrol: c.enrol ?? ['dev', 'oidc', 'mdoc'] };
}

// The fragment's parameters, read strictly: each name once; null without
// a fragment, 'bad' for a repeated name.
function readFragment() {
  if (location.hash.length < 2) return null;
  const out = {};
  for (const [k, v] of new URLSearchParams(location.hash.slice(1))) {
    if (Object.prototype.hasOwnProperty.call(out, k)) return 'bad';
    out[k] = v;
  }
  return out;
}

// f when it holds exactly these names, else null.
function exactly(f, names) {
  if (f === null || f === 'bad') return null;
  const keys = Object.keys(f);
  return keys.length === names.length && names.every((n) => keys.includes(n)) ? f : null;
}

function clearFragment() {
  history.replaceState(null, '', location.pathname + location.search);
}

/* ---- answering a site ---------------------------------------------------- */

// The site a redemption URL names, or null when it is not one.
function siteOf(redeem, ret) {
  let u;
  try {
    u = new URL(redeem);
  } catch {
    return null;
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || u.hash) return null;
  if (!ret.startsWith('/') || ret.startsWith('//') || /[\\\u0000-\u0020\u007f]/.test(ret)) return null;
  return u;
}

function post(redeem, ret, token) {
  const f = $('redeem');
  f.action = redeem;
  f.elements.token.value = b64urlEncode(token);
  f.elements.return.value = ret;
  f.submit();
}

// Answers a site. No network here unless the person agrees to mint a token now.
async function ask(req) {
  clearFragment();
  const site = siteOf(req.redeem, req.return);
  const view = $('ask-view');
  view.hidden = false;
  const refuse = (key) => {
    $('ask').textContent = t(key);
    $('yes').hidden = $('no').hidden = true;
  };
  if (site === null) return refuse('bad_request');
  let state = W.expireGrants(store.load(), now());
  const choice = W.chooseToken(state, parseWwwAuthenticate(req.challenge), { pageHost: site.hostname, now: now() });
  if (choice.action === 'none') return refuse('no_match');
  // the site as the person reads it: the host of the redemption URL (never stored)
  $('ask').textContent = t('ask', { site: site.host, age: choice.age });
  $('ask-detail').textContent = choice.action === 'spend' ? t('ask_detail', { age: choice.age }) : t('mint_ask');
  $('yes').textContent = choice.action === 'spend' ? t('yes') : t('mint_yes');
  $('no').onclick = () => {
    view.hidden = true;
    status(t('declined'));
  };
  $('yes').onclick = async () => {
    $('yes').disabled = $('no').disabled = true;
    status(t('sending', { site: site.host }));
    if (choice.action === 'spend') {
      state = W.spendToken(store.load(), choice, now(), Math.random);
      store.save(state); // spent before it leaves: never offered twice
      post(site.href, req.return, choice.token);
      return;
    }
    // minted now, for this site: the provider sees when (the person agreed)
    try {
      const g = store.load().grants[choice.issuerUrl];
      const key = await importTokenKey(choice.tokenKey);
      const [token] = await fetchTokens(fetch, { requestUri: choice.requestUri, grant: g?.grant, key,
        challenge: choice.challenge, count: 1 });
      post(site.href, req.return, token);
    } catch (e) {
      status(t('fetch_failed', { code: e.code ?? 'error' }));
    }
  };
  $('yes').focus();
  performance.mark('agepass-asked'); // for browser/bench/wallet.mjs: when the question shows
}

/* ---- enrolment and refills (never while answering a site) --------------- */

async function refreshDirectory(state, url) {
  const p = state.providers[url];
  const r = await fetchDirectory(fetch, url, { etag: p ? p.etag : null });
  if (r.notModified) return W.directoryChecked(state, url, now(), Math.random);
  return W.addProvider(state, url, r.directory, r.etag, now(), Math.random);
}

async function refill(state) {
  for (const plan of W.refillPlan(state, now())) {
    try {
      const key = await importTokenKey(plan.key.tokenKey);
      const tokens = await fetchTokens(fetch, { requestUri: plan.requestUri, grant: plan.grant, key,
        challenge: plan.challenge, count: plan.count });
      state = W.addTokens(state, plan.issuerUrl, plan.age, plan.key.keyId, tokens, now(), Math.random);
      status(t('fetched', { count: state.providers[plan.issuerUrl].tokens.length }));
    } catch (e) {
      if (e.tokens) state = W.addTokens(state, plan.issuerUrl, plan.age, plan.key.keyId, e.tokens, now(), Math.random);
      if (e.code === 'grant') state = W.dropGrant(state, plan.issuerUrl);
      status(t('fetch_failed', { code: e.code ?? 'error' }));
    }
  }
  store.save(state);
  return state;
}

function render(state, cfg) {
  const sum = W.summary(state, now()).find((x) => x.issuerUrl === cfg.provider);
  const g = state.grants[cfg.provider];
  $('provider-name').textContent = sum ? sum.name : new URL(cfg.provider).host;
  const held = sum ? Object.keys(sum.tokens).map(Number).sort((a, b) => a - b) : [];
  $('provider-age').textContent = g ? t('over', { age: g.age })
    : held.length ? held.map((a) => t('over', { age: a })).join(', ') : '—';
  $('provider-tokens').textContent = String(sum ? Object.values(sum.tokens).reduce((a, b) => a + b, 0) : 0);
  $('provider-grant').textContent = sum && sum.grantExpiresAt
    ? new Date(sum.grantExpiresAt * 1000).toLocaleTimeString() : t('no_grant');
}

async function home(cfg, grantFragment) {
  $('home-view').hidden = false;
  const base = cfg.provider;
  $('enrol-dev').href = `${base}/enroll/dev?wallet=1`;
  $('enrol-dev').hidden = !cfg.enrol.includes('dev');
  $('enrol-oidc').href = `${base}/enroll/oidc/start?wallet=1`;
  $('enrol-oidc').hidden = !cfg.enrol.includes('oidc');
  $('enrol-eu').href = `${base}/enroll/mdoc/start?wallet=1`;
  $('enrol-eu').hidden = !cfg.enrol.includes('mdoc');
  let state = W.expireGrants(store.load(), now());
  $('forget').onclick = () => {
    store.forget();
    state = W.emptyWallet();
    render(state, cfg);
    status(t('forgotten'));
  };
  render(state, cfg);
  try {
    const p = state.providers[cfg.provider];
    if (!p || grantFragment || p.directoryDue <= now()) {
      state = await refreshDirectory(state, cfg.provider);
      store.save(state);
    }
    if (grantFragment) {
      const g = parseGrant({ grant: grantFragment.grant, age: Number(grantFragment.age),
        tokens: Number(grantFragment.tokens), expires_in: Number(grantFragment.expires_in) }, now());
      state = W.setGrant(state, cfg.provider, g, now());
      store.save(state);
      status(t('enrolled', { age: g.age }));
    }
    state = await refill(state);
  } catch (e) {
    status(t('fetch_failed', { code: e.code ?? 'error' }));
  }
  render(state, cfg);
  // while the page stays open: the next refill or directory check at its randomised moment
  const schedule = () => {
    const at = W.nextEvent(store.load());
    if (at === null) return;
    setTimeout(async () => {
      state = store.load();
      try {
        if (state.providers[cfg.provider] && state.providers[cfg.provider].directoryDue <= now()) {
          state = await refreshDirectory(state, cfg.provider);
        }
      } catch { /* tried again at the next moment */ }
      state = await refill(state);
      render(state, cfg);
      schedule();
    }, Math.min(2 ** 31 - 1, Math.max(1000, (at - now()) * 1000)));
  };
  schedule();
}

async function main() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('sw.js', { updateViaCache: 'all' }).catch(() => {});
  }
  loadCatalogue();
  const f = readFragment();
  const req = exactly(f, ['challenge', 'redeem', 'return']);
  if (req) return ask(req);
  const grant = exactly(f, ['grant', 'age', 'tokens', 'expires_in']);
  const cfg = await config();
  if (f !== null) clearFragment();
  if (f !== null && !grant) status(t('bad_request'));
  return home(cfg, grant);
}

// a new fragment on the open page (a link to the wallet from the wallet): read it afresh
window.addEventListener('hashchange', () => location.reload());
main();
