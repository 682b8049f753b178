// SPDX-License-Identifier: Apache-2.0
// browser/extension/consent.js: asks the person whether to answer this
// site's age checks (the first time it asks), and for a site-bound token
// why it is different (the provider then sees the time of this visit).
// Its URL names only the tab (consent.html?tab=N): the site comes from the
// background, so the browser's history of extension pages holds no site.
import { localise, t } from './i18n.js';

localise();
const tabId = Number.parseInt(new URLSearchParams(location.search).get('tab') || '', 10);
const asked = await chrome.runtime.sendMessage({ type: 'asking', tabId });
if (!asked || asked.error) {
  window.close();
} else {
  const kind = asked.kind === 'mint' ? 'mint' : 'spend';
  document.getElementById('question').textContent = t(kind === 'mint' ? 'consentQuestionMint' : 'consentQuestion',
    asked.site);
  document.getElementById('why').textContent = t(kind === 'mint' ? 'consentWhyMint' : 'consentWhy');
  if (asked.private) {
    document.getElementById('private').hidden = false;
    document.getElementById('always').hidden = true; // nothing is remembered from a private window
  }
  for (const answer of ['once', 'always', 'never']) {
    document.getElementById(answer).addEventListener('click', async () => {
      await chrome.runtime.sendMessage({ type: 'consent', tabId, answer });
      const self = await chrome.tabs.getCurrent();
      if (self) await chrome.tabs.remove(self.id);
      else window.close();
    });
  }
}
