// SPDX-License-Identifier: Apache-2.0
// browser/extension/store.js: the background's copy of extension storage
// (storage.local and storage.session), in memory.
//
// Storage stays the truth: the copy is read once when the worker starts
// (one get of each area), every change is written through at once, and a
// change made by anyone else (another extension page, a test harness)
// comes into the copy from storage's change event. So a visit reads
// nothing from storage and writes only what it changes, one key, without a
// read-modify-write. The worker can still be stopped at any moment: it
// keeps nothing that storage does not hold.
//
//   const v = await get('local', 'wallet');
//   await put('session', 'sent', {...});           // the whole value of that key
//   await putIn('session', 'sent', tabId, url);    // one entry of a map-valued key
//   peek('local', 'wallet')                        // the copy's value, no wait (undefined if not read yet)
const AREAS = ['local', 'session'];
let copy = null; // {local: {...}, session: {...}}
let loading = null;
// area -> key -> the JSON of our writes whose change event has not come yet,
// oldest first: an event that matches one is ours; any other is someone
// else's, and its new value goes into the copy
const pending = { local: new Map(), session: new Map() };
const PENDING_MAX = 32; // a browser that sends no event for an area must not grow this
const PENDING_MS = 5000; // nor keep others' changes out for ever: an event comes in milliseconds

// A value's JSON with every object's keys sorted: Chromium hands values
// back with their keys in sorted order, Firefox in the order written.
const sorted = (v) => (v === null || typeof v !== 'object' ? v : Array.isArray(v) ? v.map(sorted)
  : Object.fromEntries(Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => [k, sorted(v[k])])));
const json = (v) => (v === undefined ? 'undefined' : JSON.stringify(sorted(v)));

export function load() {
  if (copy !== null) return Promise.resolve(copy);
  if (loading === null) {
    loading = Promise.all(AREAS.map((a) => chrome.storage[a].get(null))).then(([local, session]) => {
      copy = { local, session };
      return copy;
    }).finally(() => {
      loading = null;
    });
  }
  return loading;
}

export async function get(area, key) {
  return (await load())[area][key];
}

// The value of a key if the copy is there, else undefined (no wait).
export function peek(area, key) {
  return copy === null ? undefined : copy[area][key];
}

// Sets (or, with undefined, removes) one key. Once the copy is there, it
// changes before put returns (not at a later tick), so whoever reads after
// this call sees the new value, even before storage holds it; the promise
// is the storage write. A value equal to the stored one is not written.
export function put(area, key, value) {
  if (copy === null) return load().then(() => put(area, key, value));
  const text = json(value);
  if (json(copy[area][key]) === text) return Promise.resolve();
  if (value === undefined) delete copy[area][key];
  else copy[area][key] = value;
  const mine = pending[area].get(key) || [];
  mine.push({ text, at: Date.now() });
  if (mine.length > PENDING_MAX) mine.shift();
  pending[area].set(key, mine);
  return value === undefined ? chrome.storage[area].remove(key) : chrome.storage[area].set({ [key]: value });
}

// One entry of a map-valued key (a new map object: values handed out
// before stay as they were), at once as put.
export function putIn(area, key, id, value) {
  if (copy === null) return load().then(() => putIn(area, key, id, value));
  const m = { ...(copy[area][key] || {}) };
  if (value === undefined) delete m[id];
  else m[id] = value;
  return put(area, key, m);
}

export async function clear() {
  const c = await load();
  for (const a of AREAS) {
    for (const key of Object.keys(c[a])) {
      const mine = pending[a].get(key) || [];
      mine.push({ text: json(undefined), at: Date.now() });
      pending[a].set(key, mine);
    }
  }
  copy = { local: {}, session: {} };
  await Promise.all(AREAS.map((a) => chrome.storage[a].clear()));
}

// Our own writes come back as events, in order; someone else's change goes
// into the copy, unless one of ours to that key is still on its way (it
// was made after: its event sets the copy to it).
chrome.storage.onChanged.addListener((changes, area) => {
  if (!AREAS.includes(area) || copy === null) return;
  for (const [key, { newValue }] of Object.entries(changes)) {
    const text = json(newValue);
    const mine = (pending[area].get(key) || []).filter((w) => Date.now() - w.at < PENDING_MS);
    pending[area].set(key, mine);
    const i = mine.findIndex((w) => w.text === text);
    if (i >= 0) mine.splice(0, i + 1);
    if (mine.length > 0) continue; // a later write of ours is on its way
    pending[area].delete(key);
    if (newValue === undefined) delete copy[area][key];
    else copy[area][key] = newValue;
  }
});
