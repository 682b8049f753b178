// SPDX-License-Identifier: Apache-2.0
// tests/integration/lib.mjs: what the node integration tests share:
// "ok - ..." / "not ok - ..." lines, then "N passed, M failed".
import net from 'node:net';

let passed = 0, failed = 0;

// check NAME OK [WHY]: counts and prints one check; returns ok.
export const check = (name, ok, why = '') => {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${ok || !why ? '' : `: ${why}`}`);
  return ok;
};

// How many checks failed so far.
export const failures = () => failed;

// Prints the totals; the exit status: 0 only if some check ran and none failed.
export const finish = () => {
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0 ? 0 : 1;
};

// A free TCP port on loopback.
export const freePort = () => new Promise((res) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
});

export const b64urlDecode = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
