// SPDX-License-Identifier: Apache-2.0
// browser/extension/grant.js: the content script registered, after the
// person added an age provider, for that provider's pages alone. It reads
// the machine-readable element of the issuer's grant page
// (<pre id="agepass-grant" data-age data-tokens data-expires-in>GRANT</pre>)
// or of its refusal page (<p id="agepass-refused" data-reason>) and hands it
// to the background, which takes it only from the provider's exact origin.
// It changes nothing on the page and fetches nothing.
(() => {
  const grant = document.getElementById('agepass-grant');
  if (grant) {
    const value = grant.textContent.trim();
    const int = (name) => Number.parseInt(grant.getAttribute(name) || '', 10);
    if (!/^[A-Za-z0-9_-]{43}$/.test(value)) return;
    chrome.runtime.sendMessage({
      type: 'grant', grant: value, age: int('data-age'), tokens: int('data-tokens'),
      expiresIn: int('data-expires-in'),
    });
    return;
  }
  const refused = document.getElementById('agepass-refused');
  if (refused) chrome.runtime.sendMessage({ type: 'refused', reason: refused.getAttribute('data-reason') || '' });
})();
