// SPDX-License-Identifier: Apache-2.0
// Shared by the core's tests: the vectors (tests/vectors/, copied from the
// RFCs, see tests/vectors/README.md), the C CLI, and the negative-case
// generators STYLE.md asks of every parser.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const VECTORS = resolve(HERE, '../../../tests/vectors');
export const vectors = (name) => JSON.parse(readFileSync(join(VECTORS, name)));

// The agepass program: $AGEPASS, else ../build/agepass from browser/.
export const AGEPASS = resolve(process.env.AGEPASS ?? resolve(HERE, '../../../build/agepass'));

export const code = (c) => (e) => {
  if (e?.code !== c) throw new Error(`expected code ${c}, got ${e?.code}: ${e?.message}`);
  return true;
};

// Runs agepass with args; returns stdout (throws on a non-zero exit).
export function agepass(args, opts = {}) {
  return execFileSync(AGEPASS, args, { encoding: 'utf8', timeout: 20000, ...opts });
}

// Runs agepass; returns its exit status (0 = accepted).
export function agepassStatus(args) {
  try {
    execFileSync(AGEPASS, args, { stdio: 'pipe', timeout: 20000 });
    return 0;
  } catch (e) {
    if (typeof e.status !== 'number') throw e;
    return e.status;
  }
}

export function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'agepass-browser-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function write(dir, name, bytes) {
  const p = join(dir, name);
  writeFileSync(p, bytes, { mode: 0o600 });
  return p;
}

// Every strict prefix of bytes (truncate at each length).
export function* truncations(bytes) {
  for (let n = 0; n < bytes.length; n++) yield bytes.subarray(0, n);
}

export function withByte(bytes, b = 0) {
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = b;
  return out;
}

// A free TCP port on loopback.
export const freePort = () => new Promise((res) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});

// `agepass issuer serve --insecure-dev-attester` on loopback, over a new
// state folder in dir; resolves when it answers. Stop it with child.kill().
export async function startIssuer(dir, { name = 'ap.example', classes = '18,16', dayCap = 40 } = {}) {
  agepass(['issuer', 'init', '--state', `${dir}/ist`, '--name', name, '--age-classes', classes]);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(AGEPASS, ['issuer', 'serve', '--state', `${dir}/ist`, '--listen',
    `127.0.0.1:${port}`, '--insecure-dev-attester', '--day-cap', String(dayCap)],
  { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`${base}/metrics`);
      return { base, child };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill();
  throw new Error('the issuer did not start');
}
