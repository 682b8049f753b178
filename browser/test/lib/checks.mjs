// SPDX-License-Identifier: Apache-2.0
// browser/test/lib/checks.mjs: what the web wallet's browser tests share:
// each check printed as "ok - WHAT" or "not ok - WHAT: DETAIL", the count
// and exit status at the end, and axe-core (its source and the WCAG 2.2 AA
// rule sets run), run on a puppeteer page.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const axeSource = readFileSync(path.join(here, '../../wallet/node_modules/axe-core/axe.min.js'), 'utf8');
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

let passed = 0;
let failed = 0;
export function check(what, cond, detail = '') {
  if (cond) {
    passed++;
    console.log(`ok - ${what}`);
  } else {
    failed++;
    console.log(`not ok - ${what}${detail ? `: ${detail}` : ''}`);
  }
}

// Prints the count and exits: 0 only when something was checked and nothing failed.
export function finish(name) {
  console.log(`${name}: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

// axe-core on a puppeteer page (evaluated by the driver, which the page's
// CSP does not govern): no violation, but the rules in skip.
export async function axe(page, what, skip = []) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(async (tags, off) => {
    // eslint-disable-next-line no-undef
    const res = await axe.run(document, { runOnly: tags,
      rules: Object.fromEntries(off.map((id) => [id, { enabled: false }])) });
    return res.violations.map((v) => `${v.id} (${v.nodes.length}): ${v.help}`);
  }, AXE_TAGS, skip);
  check(`axe-core: ${what}: no violation${skip.length ? ` (but ${skip.join(', ')})` : ''}`, r.length === 0, r.join('; '));
}
