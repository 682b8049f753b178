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
import { b64urlDecode, b64urlEncode, sha256 } from './core/bytes.js';
import { parseWwwAuthenticate } from './core/authhdr.js';
import { fetchDirectory, fetchTokens, parseGrant } from './core/issuer.js';
import { importTokenKey } from './core/rsabssa.js';
import { crossOriginChallenge } from './core/token.js';
import * as store from './store.js';

const $ = (id) => document.getElementById(id);
const now = () => Math.floor(Date.now() / 1000);
let msgs = {};

function t(key, vars = {}) {
  let s = msgs[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
  return s;
}

async function loadCatalogue() {
  const supported = ['en', 'fr'];
  const want = (navigator.languages ?? [navigator.language]).map((l) => l.slice(0, 2).toLowerCase());
  const lang = want.find((l) => supported.includes(l)) ?? 'en';
  const res = await fetch(`i18n/${lang}.json`);
  msgs = await res.json();
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
  return { provider: c.provider || location.origin, enrol: c.enrol ?? ['dev', 'oidc', 'mdoc'] };
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

async function ask(req) {
  clearFragment();
  const site = siteOf(req.redeem, req.return);
  const view = $('ask-view');
  view.hidden = false;
  if (site === null) {
    $('ask').textContent = t('bad_request');
    $('yes').hidden = $('no').hidden = true;
    return;
  }
  const state = store.load(localStorage);
  const choice = store.choose(state, parseWwwAuthenticate(req.challenge), site.hostname, now());
  if (choice.action === 'none') {
    $('ask').textContent = t('no_match');
    $('yes').hidden = $('no').hidden = true;
    return;
  }
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
      const { state: next, token } = store.take(store.load(localStorage), choice.index);
      store.save(localStorage, next); // spent before it leaves: never offered twice
      post(site.href, req.return, token);
      return;
    }
    // minted now, for this site: the provider sees when (the person agreed)
    try {
      const s = store.load(localStorage);
      const key = await importTokenKey(b64urlDecode(choice.key.tokenKey));
      const [token] = await fetchTokens(fetch, { requestUri: s.provider.requestUri, grant: s.grant?.grant,
        key, challenge: choice.challenge, count: 1 });
      post(site.href, req.return, token);
    } catch (e) {
      status(t('fetch_failed', { code: e.code ?? 'error' }));
    }
  };
  $('yes').focus();
}

/* ---- enrolment and refills ---------------------------------------------- */

async function refreshDirectory(state, cfg) {
  const r = await fetchDirectory(fetch, cfg.provider);
  if (r.notModified) return state;
  return store.withDirectory(state, cfg.provider, r.directory, now(), sha256);
}

async function refill(state) {
  const plan = store.refillPlan(state, now());
  if (!plan) return state;
  const key = await importTokenKey(b64urlDecode(plan.key.tokenKey));
  const challenge = crossOriginChallenge(state.provider.name);
  try {
    const tokens = await fetchTokens(fetch, { requestUri: state.provider.requestUri, grant: state.grant.grant,
      key, challenge, count: plan.count });
    state = store.withTokens(state, plan.key.age, plan.key.keyId, tokens, now(), Math.random);
    status(t('fetched', { count: state.tokens.length }));
  } catch (e) {
    if (e.tokens) state = store.withTokens(state, plan.key.age, plan.key.keyId, e.tokens, now(), Math.random);
    else state = { ...state, refillAt: store.nextRefillAt(now(), Math.random, null) };
    if (e.code === 'grant') state = { ...state, grant: null };
    status(t('fetch_failed', { code: e.code ?? 'error' }));
  }
  store.save(localStorage, state);
  return state;
}

function render(state, cfg) {
  const p = state.provider;
  $('provider-name').textContent = p ? p.name : new URL(cfg.provider).host;
  const ages = [...new Set(state.tokens.map((x) => x.age))].sort((a, b) => a - b);
  $('provider-age').textContent = state.grant ? t('over', { age: state.grant.age })
    : ages.length ? ages.map((a) => t('over', { age: a })).join(', ') : '—';
  $('provider-tokens').textContent = String(state.tokens.length);
  $('provider-grant').textContent = state.grant && state.grant.expiresAt > now()
    ? new Date(state.grant.expiresAt * 1000).toLocaleTimeString() : t('no_grant');
}

async function home(cfg, grantFragment) {
  $('home-view').hidden = false;
  const base = cfg.provider.replace(/\/$/, '');
  $('enrol-dev').href = `${base}/enroll/dev?wallet=1`;
  $('enrol-dev').hidden = !cfg.enrol.includes('dev');
  $('enrol-oidc').href = `${base}/enroll/oidc/start?wallet=1`;
  $('enrol-oidc').hidden = !cfg.enrol.includes('oidc');
  $('enrol-eu').href = `${base}/enroll/mdoc/qr`;
  $('enrol-eu').hidden = !cfg.enrol.includes('mdoc');
  let state = store.load(localStorage);
  $('forget').onclick = () => {
    store.forget(localStorage);
    state = store.emptyState();
    render(state, cfg);
    status(t('forgotten'));
  };
  render(state, cfg);
  try {
    if (grantFragment) {
      const g = parseGrant({ grant: grantFragment.grant, age: Number(grantFragment.age),
        tokens: Number(grantFragment.tokens), expires_in: Number(grantFragment.expires_in) }, now());
      state = store.withGrant(state, g, now(), Math.random);
      store.save(localStorage, state);
      status(t('enrolled', { age: g.age }));
    }
    if (!state.provider || grantFragment || now() - state.provider.directoryAt > 86400) {
      state = await refreshDirectory(state, cfg);
      store.save(localStorage, state);
    }
    state = await refill(state);
  } catch (e) {
    status(t('fetch_failed', { code: e.code ?? 'error' }));
  }
  render(state, cfg);
  // while the page stays open: the next refill at its randomised moment
  const tick = async () => {
    state = await refill(store.load(localStorage));
    render(state, cfg);
    schedule();
  };
  const schedule = () => {
    const at = store.load(localStorage).refillAt;
    if (at !== null) setTimeout(tick, Math.max(1000, (at - now()) * 1000));
  };
  schedule();
}

async function main() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('sw.js', { updateViaCache: 'all' }).catch(() => {});
  }
  await loadCatalogue();
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
