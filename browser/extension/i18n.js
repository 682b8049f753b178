// SPDX-License-Identifier: Apache-2.0
// browser/extension/i18n.js: fills an extension page's strings from the
// message catalogue (_locales), with textContent only.
export const t = (key, ...subs) => chrome.i18n.getMessage(key, subs.map(String)) || key;

export function localise(root = document) {
  document.documentElement.lang = chrome.i18n.getUILanguage();
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}

// A new element with text content (never HTML).
export function el(tag, text = '', cls = '') {
  const e = document.createElement(tag);
  if (text) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
