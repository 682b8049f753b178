#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The npm peer (@cloudflare/privacypass-ts) as a client of the agepass
// issuer over HTTP: it reads the RFC 9578 directory, sends a TokenRequest
// to /token-request with an issuance grant, finalizes the token, and
// `agepass token verify` accepts it. Usage: node issuer_peer.mjs AGEPASS
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { publicVerif, TokenChallenge } from '@cloudflare/privacypass-ts';
import { check, freePort, b64urlDecode, finish } from './lib.mjs';

if (!globalThis.crypto?.subtle) globalThis.crypto = (await import('node:crypto')).webcrypto;
const { Client, Origin, BlindRSAMode } = publicVerif;
const AGEPASS = path.resolve(process.argv[2] ?? '');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agp-issuer-peer-'));

const init = spawnSync(AGEPASS, ['issuer', 'init', '--state', `${dir}/ist`, '--name', 'issuer.example']);
if (init.status !== 0) { console.log(`not ok - issuer init: ${init.stderr}`); process.exit(1); }
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const issuer = spawn(AGEPASS, ['issuer', 'serve', '--state', `${dir}/ist`, '--listen', `127.0.0.1:${port}`,
  '--insecure-dev-attester'], { stdio: ['ignore', 'ignore', 'ignore'] });
try {
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    up = await fetch(`${base}/metrics`).then(() => true, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  check('the issuer is up', up);

  const dirResp = await fetch(`${base}/.well-known/private-token-issuer-directory`);
  const directory = await dirResp.json();
  const key = directory['token-keys'].find((k) => k['token-type'] === 2 && k['agepass-age'] === 18);
  check('the peer reads the directory', dirResp.ok && key !== undefined);
  const pub = b64urlDecode(key['token-key']);
  check('the token key is the 342-byte RFC 9578 SPKI', pub.length === 342);

  const enrol = await (await fetch(`${base}/enroll/dev`, { method: 'POST', body: '{"age": 30}' })).json();
  check('a grant from the dev attester', typeof enrol.grant === 'string');

  const MODE = BlindRSAMode.PSS;
  const challenge = new Origin(MODE, ['shop.example']).createTokenChallenge(directory['agepass-issuer-name'],
    crypto.getRandomValues(new Uint8Array(32)));
  const client = new Client(MODE);
  const req = await client.createTokenRequest(challenge, pub);
  const resp = await fetch(`${base}/token-request`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/private-token-request', Authorization: `Bearer ${enrol.grant}` },
    body: req.serialize(),
  });
  check('the issuer answers the peer\'s TokenRequest: 200 application/private-token-response',
    resp.status === 200 && resp.headers.get('content-type') === 'application/private-token-response',
    `${resp.status} ${resp.headers.get('content-type')}`);
  const token = await client.finalize(client.deserializeTokenResponse(new Uint8Array(await resp.arrayBuffer())));
  check('the peer finalizes the token (its signature verifies)', token !== undefined);

  fs.writeFileSync(`${dir}/ch.bin`, challenge.serialize());
  fs.writeFileSync(`${dir}/pub.der`, pub);
  fs.writeFileSync(`${dir}/tok.bin`, token.serialize());
  const v = spawnSync(AGEPASS, ['token', 'verify', '--pub', `${dir}/pub.der`, '--challenge', `${dir}/ch.bin`,
    '--in', `${dir}/tok.bin`]);
  check('agepass token verify accepts the peer-finalized token', v.status === 0, String(v.stderr));

  const noGrant = await fetch(`${base}/token-request`, {
    method: 'POST', headers: { 'Content-Type': 'application/private-token-request' }, body: req.serialize(),
  });
  check('without a grant the issuer refuses the peer: 401', noGrant.status === 401, String(noGrant.status));
} finally {
  issuer.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(finish());
