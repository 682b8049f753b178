// SPDX-License-Identifier: Apache-2.0
// browser/extension/popup.js: the button's popup (also the options page):
// the state of the current tab's age check, the age providers with their
// age class, tokens left and grant expiry, adding a provider by its URL
// (its directory is fetched by the background, which shows its name and
// classes) and opening its enrolment page, and "forget everything".
import { el, localise, t } from './i18n.js';

localise();
const send = (m) => chrome.runtime.sendMessage(m);

const ROUTES = [
  ['oidc', '/enroll/oidc/start', 'enrolOidc'],
  ['dev', '/enroll/dev', 'enrolDev'],
];

function time(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString(chrome.i18n.getUILanguage(), { hour: '2-digit', minute: '2-digit' });
}

function providerItem(p) {
  const li = el('li', '', 'provider');
  li.dataset.issuer = p.issuerUrl;
  li.append(el('div', p.name, 'name'), el('div', p.issuerUrl, 'hint'));
  li.append(el('div', t('classesOffered', p.ages.map((a) => `${a}+`).join(', ')), 'line classes'));
  const counts = Object.entries(p.tokens).filter(([, n]) => n > 0);
  const total = counts.reduce((s, [, n]) => s + n, 0);
  const tokens = el('div', total === 0 ? t('tokensNone')
    : t('tokensLeft', total, counts.map(([a]) => `${a}+`).join(', ')), 'line tokens');
  tokens.dataset.count = String(total);
  li.append(tokens);
  li.append(el('div', p.grantExpiresAt ? t('grantExpires', time(p.grantExpiresAt)) : t('grantNone'), 'line grant'));
  if (p.refused) li.append(el('div', t('enrolRefused', p.refused), 'line refused'));
  for (const [route, path, label] of ROUTES) {
    if (!p.routes[route]) continue;
    const b = el('button', t(label), 'link');
    b.type = 'button';
    b.dataset.route = route;
    b.addEventListener('click', () => chrome.tabs.create({ url: `${p.issuerUrl}${path}` }));
    li.append(b);
  }
  const rm = el('button', t('removeProvider'), 'link danger');
  rm.type = 'button';
  rm.addEventListener('click', async () => { await send({ type: 'removeProvider', issuerUrl: p.issuerUrl }); render(); });
  li.append(rm);
  return li;
}

async function render() {
  const s = await send({ type: 'summary' });
  const list = document.getElementById('providers');
  list.replaceChildren(...s.providers.map(providerItem));
  document.getElementById('no-provider').hidden = s.providers.length > 0;
  document.getElementById('sites').replaceChildren(...s.sites.map((x) => el('li', x)));
  document.getElementById('sites-section').hidden = s.sites.length === 0;
}

async function tabState() {
  if (new URLSearchParams(location.search).has('tab')) return; // opened as a page
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  if (!tab) return;
  const title = await chrome.action.getTitle({ tabId: tab.id });
  const prefix = `${t('extName')}: `;
  if (!title.startsWith(prefix)) return;
  const p = document.getElementById('tab-state');
  p.textContent = title.slice(prefix.length);
  p.hidden = false;
}

document.getElementById('add').addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = document.getElementById('add-result');
  out.textContent = t('adding');
  const r = await send({ type: 'addProvider', url: document.getElementById('add-url').value });
  out.textContent = r.error ? t('addFailed', r.error) : t('added');
  out.dataset.state = r.error ? 'error' : 'ok';
  await render();
});
document.getElementById('forget').addEventListener('click', async () => {
  await send({ type: 'forget' });
  document.getElementById('add-result').textContent = t('forgotten');
  await render();
});
chrome.storage.onChanged.addListener(() => { render(); });
render();
tabState();
