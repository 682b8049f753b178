// SPDX-License-Identifier: Apache-2.0
// browser/wallet/src/store.js: where the web wallet keeps the state of the
// core's wallet.js (browser/core/wallet.js): providers, pinned keys and
// tokens in localStorage of the wallet's own origin; grants (bearer values,
// good for minutes) in sessionStorage only, so they die with the tab.
// Nothing about a visit is ever stored: no site, no time, no count.
import { emptyWallet, openWallet } from './core/wallet.js';

const KEY = 'agepass-wallet-v1';

function read(storage) {
  try {
    return JSON.parse(storage.getItem(KEY) ?? 'null');
  } catch {
    return null; // a broken state is dropped
  }
}

export function load() {
  const local = read(localStorage);
  const grants = read(sessionStorage);
  if (local === null) return emptyWallet();
  return openWallet({ ...local, grants: grants !== null && typeof grants === 'object' ? grants : {} });
}

export function save(state) {
  localStorage.setItem(KEY, JSON.stringify({ ...state, grants: {} }));
  sessionStorage.setItem(KEY, JSON.stringify(state.grants));
}

export function forget() {
  localStorage.removeItem(KEY);
  sessionStorage.removeItem(KEY);
}
