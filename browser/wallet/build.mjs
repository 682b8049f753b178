#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// browser/wallet/build.mjs: makes the deployable web wallet in dist/ (or
// --out DIR) from src/ and the client core (browser/core): the page, its
// style, manifest and icons, the service worker (with its file list and
// version), config.json (the provider, the enrolment ways), and ONE script,
// wallet.js: app.js with every module it imports and the message
// catalogues (src/i18n/*.json), bundled by Debian's esbuild (package
// esbuild). One file is one service-worker answer where thirteen modules
// were thirteen: the page asks its question about 180 ms sooner in
// Chromium (docs/benchmarks.md). The bundle is not minified, so that an
// auditor reads it as the sources. index.html gets its Subresource
// Integrity hashes.
//
//   node browser/wallet/build.mjs [--out DIR] [--provider URL] [--enrol dev,oidc,mdoc] [--stage DIR]
// --stage keeps the modules as they were bundled (in DIR, which must not
// exist), for a test or an auditor to read; else they go to a temporary
// folder, removed at the end.
// --provider defaults to the origin the wallet is served from (the
// provider serving its own wallet: agepass issuer serve --wallet-dir).
// With another origin (the wallet on a static host of its own), the page's
// CSP lets it connect there too (connect-src), and the issuer answers it
// with CORS for the origin of its --wallet-url.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
mkdirSync(out, { recursive: true });
const files = [];
// what the page loads besides its script, as it is
function copyTree(from, to, rel) {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.name.startsWith('.') || e.name.endsWith('.md') || e.name.endsWith('.js') || r === 'i18n') continue;
    if (e.isDirectory()) copyTree(path.join(from, e.name), path.join(to, e.name), r);
    else {
      copyFileSync(path.join(from, e.name), path.join(to, e.name));
      files.push(r);
    }
  }
}
copyTree(path.join(here, 'src'), out, '');
copyFileSync(path.join(here, 'src/sw.js'), path.join(out, 'sw.js'));
files.push('sw.js');

// the script: the modules staged as the page imports them (./core, ./i18n)
const keep = opt('--stage', null);
if (keep) mkdirSync(keep); // fails if it exists: never written into something else
const stage = keep ? path.resolve(keep) : mkdtempSync(path.join(tmpdir(), 'agepass-wallet-'));
try {
  for (const f of readdirSync(path.join(here, 'src')).filter((n) => n.endsWith('.js') && n !== 'sw.js')) {
    copyFileSync(path.join(here, 'src', f), path.join(stage, f));
  }
  mkdirSync(path.join(stage, 'core'));
  for (const f of readdirSync(path.join(here, '../core')).filter((n) => n.endsWith('.js'))) {
    copyFileSync(path.join(here, '../core', f), path.join(stage, 'core', f));
  }
  const i18n = path.join(here, 'src/i18n');
  const catalogues = Object.fromEntries(readdirSync(i18n).filter((f) => f.endsWith('.json')).sort()
    .map((f) => [f.slice(0, -5), JSON.parse(readFileSync(path.join(i18n, f), 'utf8'))]));
  mkdirSync(path.join(stage, 'i18n'));
  writeFileSync(path.join(stage, 'i18n/messages.js'), `export default ${JSON.stringify(catalogues)};\n`);
  try {
    // run in the staging folder, so that the bundle names each module by its
    // path there (core/bytes.js) and the same sources give the same bytes
    execFileSync('esbuild', ['app.js', '--bundle', '--format=esm', '--charset=utf8', '--log-level=warning',
      `--outfile=${path.join(out, 'wallet.js')}`], { cwd: stage, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (e) {
    console.error(e.code === 'ENOENT' ? 'build.mjs: esbuild not found (apt-get install -y esbuild, or bash scripts/setup)'
      : 'build.mjs: esbuild failed');
    process.exit(1);
  }
} finally {
  if (!keep) rmSync(stage, { recursive: true, force: true });
}
files.push('wallet.js');
writeFileSync(path.join(out, 'config.json'), JSON.stringify({ provider, enrol }) + '\n');
files.push('config.json');

const sri = (f) => 'sha384-' + createHash('sha384').update(readFileSync(path.join(out, f))).digest('base64');
let html = readFileSync(path.join(out, 'index.html'), 'utf8');
if (provider) {
  const origin = new URL(provider).origin;
  if (!html.includes("connect-src 'self';")) throw new Error('index.html: no connect-src to extend');
  html = html.replace("connect-src 'self';", `connect-src 'self' ${origin};`);
}
html = html.replace('<script type="module" src="wallet.js"></script>',
  `<script type="module" src="wallet.js" integrity="${sri('wallet.js')}"></script>`);
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
