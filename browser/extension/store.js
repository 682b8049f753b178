// SPDX-License-Identifier: Apache-2.0
// browser/extension/store.js: the background's copy of extension storage
// (storage.local and storage.session), in memory.
//
// Storage stays the truth: the copy is read once when the worker starts
// (one get of each area), every change is written through at once, and a
// change made by anyone else (another extension page, a test harness)
// drops the copy, which is read again at the next use. So a visit reads
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
let generation = 0;
// area -> key -> the JSON of our last write, to tell our changes from others'
const written = { local: new Map(), session: new Map() };

const json = (v) => (v === undefined ? 'undefined' : JSON.stringify(v));

export async function load() {
  while (copy === null) {
    if (loading === null) {
      const gen = generation;
      loading = Promise.all(AREAS.map((a) => chrome.storage[a].get(null))).then(([local, session]) => {
        loading = null;
        // dropped while it was read: read again
        if (gen === generation) copy = { local, session };
      }, (e) => {
        loading = null;
        throw e;
      });
    }
    await loading;
  }
  return copy;
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
// is the storage write.
export function put(area, key, value) {
  if (copy === null) return load().then(() => put(area, key, value));
  if (value === undefined) delete copy[area][key];
  else copy[area][key] = value;
  written[area].set(key, json(value));
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
  await load();
  copy = { local: {}, session: {} };
  for (const a of AREAS) written[a].clear();
  await Promise.all(AREAS.map((a) => chrome.storage[a].clear()));
}

function drop() {
  generation++;
  copy = null;
}

chrome.storage.onChanged.addListener((changes, area) => {
  if (!AREAS.includes(area) || copy === null) return;
  for (const [key, { newValue }] of Object.entries(changes)) {
    const ours = written[area].get(key);
    if (ours === undefined || ours !== json(newValue)) {
      drop();
      return;
    }
  }
});
