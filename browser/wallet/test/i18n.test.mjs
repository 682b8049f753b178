// SPDX-License-Identifier: Apache-2.0
// browser/wallet/test/i18n.test.mjs: the web wallet's message catalogues
// (src/i18n/*.json), under Node's test runner: en, fr, de, es and it, all
// of them in the module build.mjs makes of them (what the page offers);
// each holds exactly the keys of every other, each a
// non-empty string with the same {placeholders} as the English one; every
// key the page uses (data-i18n in index.html, t('...') in app.js) exists.
//
//   node --test browser/wallet/test/i18n.test.mjs
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');
const app = readFileSync(path.join(src, 'app.js'), 'utf8');
const html = readFileSync(path.join(src, 'index.html'), 'utf8');
const files = readdirSync(path.join(src, 'i18n')).filter((f) => f.endsWith('.json')).sort();
const cat = Object.fromEntries(files.map((f) => [f.slice(0, -5),
  JSON.parse(readFileSync(path.join(src, 'i18n', f), 'utf8'))]));
const placeholders = (s) => [...s.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]).sort();

test('catalogues en, fr, de, es, it, and the built wallet offers each of them as written', async () => {
  assert.deepEqual(Object.keys(cat).sort(), ['de', 'en', 'es', 'fr', 'it']);
  const out = mkdtempSync(path.join(tmpdir(), 'agp-wallet-i18n-'));
  try {
    execFileSync(process.execPath, [path.join(src, '../build.mjs'), '--out', path.join(out, 'dist'),
      '--stage', path.join(out, 'stage')], { stdio: 'ignore' });
    const built = (await import(pathToFileURL(path.join(out, 'stage/i18n/messages.js')).href)).default;
    assert.deepEqual(built, cat);
    assert.match(app, /import catalogues from '\.\/i18n\/messages\.js'/);
    // and that module is in the one script the page loads, every message with it
    const bundle = readFileSync(path.join(out, 'dist/wallet.js'), 'utf8');
    assert.match(bundle, /^\/\/ i18n\/messages\.js$/m);
    for (const c of Object.values(cat)) for (const v of Object.values(c)) assert.ok(bundle.includes(JSON.stringify(v)), v);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('every catalogue has exactly the keys of the English one', () => {
  const keys = Object.keys(cat.en).sort();
  for (const [lang, c] of Object.entries(cat)) assert.deepEqual(Object.keys(c).sort(), keys, lang);
});

test('every message is a non-empty string with the placeholders of the English one', () => {
  for (const [lang, c] of Object.entries(cat)) {
    for (const [k, v] of Object.entries(c)) {
      assert.equal(typeof v, 'string', `${lang} ${k}`);
      assert.ok(v.trim().length > 0, `${lang} ${k} is empty`);
      assert.deepEqual(placeholders(v), placeholders(cat.en[k]), `${lang} ${k}`);
    }
  }
});

test('the translations are translations: no message but names and "No" is the English one', () => {
  const same = new Set(['no', 'enrol_oidc']); // "No" in es and it; a name and a protocol
  for (const [lang, c] of Object.entries(cat)) {
    if (lang === 'en') continue;
    for (const [k, v] of Object.entries(c)) {
      if (!same.has(k) && v.length > 12) assert.notEqual(v, cat.en[k], `${lang} ${k} is untranslated`);
    }
  }
});

test('every key the page uses is in the catalogues', () => {
  const used = new Set([...html.matchAll(/data-i18n="([a-z_]+)"/g), ...app.matchAll(/\bt\('([a-z_]+)'/g)]
    .map((m) => m[1]));
  assert.ok(used.size >= 20, `only ${used.size} keys found: the patterns no longer match the page`);
  for (const k of used) assert.ok(Object.hasOwn(cat.en, k), `${k} is used but in no catalogue`);
});
