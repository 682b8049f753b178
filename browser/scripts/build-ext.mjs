// SPDX-License-Identifier: Apache-2.0
// browser/scripts/build-ext.mjs: builds the loadable extension from its
// one source: browser/extension/ plus the client core's modules
// (browser/core/*.js, copied, never edited twice) into dist/extension/.
//
//   node scripts/build-ext.mjs          -> dist/extension/       (what people load)
//   node scripts/build-ext.mjs --test   -> dist/extension-test/  (the same, with the
//        test settings of config.js: refill moments 100 times closer, and an
//        extension page opened at install for the test harness)
// No bundler: the files are ES modules as written.
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const test = process.argv.includes('--test');
const out = path.join(root, 'dist', test ? 'extension-test' : 'extension');

function copyTree(from, to, keep = () => true) {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const a = path.join(from, name);
    const b = path.join(to, name);
    if (statSync(a).isDirectory()) copyTree(a, b, keep);
    else if (keep(name)) copyFileSync(a, b);
  }
}

rmSync(out, { recursive: true, force: true });
copyTree(path.join(root, 'extension'), out);
copyTree(path.join(root, 'core'), path.join(out, 'core'), (name) => name.endsWith('.js'));
if (test) {
  writeFileSync(path.join(out, 'config.js'), `// SPDX-License-Identifier: Apache-2.0
// The TEST build's settings (scripts/build-ext.mjs --test): never ship this.
export const CONFIG = Object.freeze({ scheduleScale: 0.01, openOnInstall: true });
`);
}
console.log(`built ${path.relative(root, out)}`);
