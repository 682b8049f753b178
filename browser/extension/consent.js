// SPDX-License-Identifier: Apache-2.0
// browser/extension/consent.js: asks the person whether to answer this
// site's age checks (the first time it asks), and for a site-bound token
// why it is different (the provider then sees the time of this visit).
import { localise, t } from './i18n.js';

localise();
const q = new URLSearchParams(location.search);
const tabId = Number.parseInt(q.get('tab') || '', 10);
const site = q.get('site') || '';
const kind = q.get('kind') === 'mint' ? 'mint' : 'spend';
document.getElementById('question').textContent = t(kind === 'mint' ? 'consentQuestionMint' : 'consentQuestion', site);
document.getElementById('why').textContent = t(kind === 'mint' ? 'consentWhyMint' : 'consentWhy');
if (q.get('private') === '1') {
  document.getElementById('private').hidden = false;
  document.getElementById('always').hidden = true; // nothing is remembered from a private window
}
for (const answer of ['once', 'always', 'never']) {
  document.getElementById(answer).addEventListener('click', async () => {
    await chrome.runtime.sendMessage({ type: 'consent', tabId, site, kind, answer });
    const self = await chrome.tabs.getCurrent();
    if (self) await chrome.tabs.remove(self.id);
    else window.close();
  });
}
