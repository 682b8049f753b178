#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// browser/wallet/build.mjs: makes the deployable web wallet in dist/ (or
// --out DIR) from src/ and the client core (browser/core): copies the
// files, writes config.json (the provider, the enrolment ways) and
// i18n/messages.js (every src/i18n/*.json catalogue in one module), the
// service worker's file list and version, and the Subresource Integrity
// hashes of every script into index.html. No dependency, no bundler.
//
//   node browser/wallet/build.mjs [--out DIR] [--provider URL] [--enrol dev,oidc,mdoc]
// --provider defaults to the origin the wallet is served from (the
// provider serving its own wallet: agepass issuer serve --wallet-dir).
// With another origin (the wallet on a static host of its own), the page's
// CSP lets it connect there too (connect-src), and the issuer answers it
// with CORS for the origin of its --wallet-url.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const out = path.resolve(opt('--out', path.join(here, 'dist')));
const provider = opt('--provider', '').replace(/\/$/, '');
const enrol = opt('--enrol', 'dev,oidc,mdoc').split(',').filter(Boolean);
if (provider && !/^https?:\/\/[^/#?\s]+\/?$/.test(provider)) {
  console.error('build.mjs: --provider takes an origin, e.g. https://ap.example');
  process.exit(2);
}

rmSync(out, { recursive: true, force: true });
const files = [];
function copyTree(from, to, rel) {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.name.endsWith('.md')) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (r.startsWith('i18n/') && r.endsWith('.json')) continue; // into i18n/messages.js
    if (e.isDirectory()) copyTree(path.join(from, e.name), path.join(to, e.name), r);
    else {
      copyFileSync(path.join(from, e.name), path.join(to, e.name));
      files.push(r);
    }
  }
}
copyTree(path.join(here, 'src'), out, '');
copyTree(path.join(here, '../core'), path.join(out, 'core'), 'core');
// the catalogues as one module, loaded with the others (in parallel, checked
// by SRI) rather than fetched once they have run: one round trip less
const i18n = path.join(here, 'src/i18n');
const catalogues = Object.fromEntries(readdirSync(i18n).filter((f) => f.endsWith('.json')).sort()
  .map((f) => [f.slice(0, -5), JSON.parse(readFileSync(path.join(i18n, f), 'utf8'))]));
mkdirSync(path.join(out, 'i18n'), { recursive: true });
writeFileSync(path.join(out, 'i18n/messages.js'), '// SPDX-License-Identifier: Apache-2.0\n' +
  '// written by build.mjs from src/i18n/*.json: the message catalogue of each language\n' +
  `export default ${JSON.stringify(catalogues)};\n`);
files.push('i18n/messages.js');
writeFileSync(path.join(out, 'config.json'), JSON.stringify({ provider, enrol }) + '\n');
files.push('config.json');

const sri = (f) => 'sha384-' + createHash('sha384').update(readFileSync(path.join(out, f))).digest('base64');
const modules = files.filter((f) => f.endsWith('.js') && f !== 'sw.js' && f !== 'app.js').sort();
let html = readFileSync(path.join(out, 'index.html'), 'utf8');
if (provider) {
  const origin = new URL(provider).origin;
  if (!html.includes("connect-src 'self';")) throw new Error('index.html: no connect-src to extend');
  html = html.replace("connect-src 'self';", `connect-src 'self' ${origin};`);
}
html = html.replace('<!--MODULEPRELOADS-->', modules.map((m) =>
  `<link rel="modulepreload" href="${m}" integrity="${sri(m)}">`).join('\n'));
html = html.replace('<script type="module" src="app.js"></script>',
  `<script type="module" src="app.js" integrity="${sri('app.js')}"></script>`);
html = html.replace('<link rel="stylesheet" href="style.css">',
  `<link rel="stylesheet" href="style.css" integrity="${sri('style.css')}">`);
writeFileSync(path.join(out, 'index.html'), html);

const cached = files.filter((f) => f !== 'sw.js').sort();
const version = createHash('sha256').update(cached.map((f) => f + sri(f)).join('\n')).digest('hex').slice(0, 16);
const sw = readFileSync(path.join(out, 'sw.js'), 'utf8').replace('__VERSION__', version)
  .replace('__FILES__', JSON.stringify(cached));
writeFileSync(path.join(out, 'sw.js'), sw);

let raw = 0;
let gz = 0;
for (const f of files) {
  const b = readFileSync(path.join(out, f));
  raw += b.length;
  gz += gzipSync(b, { level: 9 }).length;
}
console.log(`wallet built in ${out}: ${files.length} files, ${raw} bytes, ${gz} gzip bytes, version ${version}`);
