#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The npm peer (@cloudflare/privacypass-ts 0.8, genericBatched: the
// arbitrary batch of draft-ietf-privacypass-batched-tokens-06 §6) as a
// client of the agepass issuer over HTTP: it sends a BatchTokenRequest of
// type 0x0002 TokenRequests to /token-request with an issuance grant,
// reads the BatchTokenResponse with its own parser, finalizes every token,
// and `agepass token verify` accepts each. Then the other way round: the
// peer's parser reads what agepass writes byte for byte, and agepass
// refuses what the draft lets through but we do not issue (an empty batch).
// Usage: node issuer_peer_batch.mjs AGEPASS
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { genericBatched, publicVerif } from '@cloudflare/privacypass-ts';
import { check, freePort, b64urlDecode, finish } from './lib.mjs';

if (!globalThis.crypto?.subtle) globalThis.crypto = (await import('node:crypto')).webcrypto;
const { Client, Origin, BlindRSAMode } = publicVerif;
const AGEPASS = path.resolve(process.argv[2] ?? '');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agp-issuer-peer-batch-'));
const REQ_TYPE = 'application/private-token-arbitrary-batch-request';
const RESP_TYPE = 'application/private-token-arbitrary-batch-response';

const init = spawnSync(AGEPASS, ['issuer', 'init', '--state', `${dir}/ist`, '--name', 'issuer.example']);
if (init.status !== 0) { console.log(`not ok - issuer init: ${init.stderr}`); process.exit(1); }
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const issuer = spawn(AGEPASS, ['issuer', 'serve', '--state', `${dir}/ist`, '--listen', `127.0.0.1:${port}`,
  '--insecure-dev-attester', '--day-cap', '40'], { stdio: ['ignore', 'ignore', 'ignore'] });
try {
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    up = await fetch(`${base}/metrics`).then(() => true, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  check('the issuer is up', up);
  const directory = await (await fetch(`${base}/.well-known/private-token-issuer-directory`)).json();
  const key = directory['token-keys'].find((k) => k['token-type'] === 2 && k['agepass-age'] === 18);
  const pub = b64urlDecode(key['token-key']);
  const enrol = await (await fetch(`${base}/enroll/dev`, { method: 'POST', body: '{"age": 30}' })).json();
  check('a grant from the dev attester', typeof enrol.grant === 'string');

  const MODE = BlindRSAMode.PSS;
  const challenge = new Origin(MODE, ['shop.example']).createTokenChallenge(directory['agepass-issuer-name'],
    crypto.getRandomValues(new Uint8Array(32)));
  fs.writeFileSync(`${dir}/ch.bin`, challenge.serialize());
  fs.writeFileSync(`${dir}/pub.der`, pub);

  // batch N: N peer clients (one state each), their requests, the HTTP answer
  const batch = async (n, grant) => {
    const clients = [], reqs = [];
    for (let i = 0; i < n; i++) {
      const c = new Client(MODE);
      reqs.push(new genericBatched.TokenRequest(await c.createTokenRequest(challenge, pub)));
      clients.push(c);
    }
    const body = new genericBatched.Client().createTokenRequest(reqs).serialize();
    const headers = { 'Content-Type': REQ_TYPE };
    if (grant) headers.Authorization = `Bearer ${grant}`;
    const resp = await fetch(`${base}/token-request`, { method: 'POST', headers, body });
    return { clients, body, resp };
  };

  for (const n of [1, 30]) {
    const { clients, resp } = await batch(n, enrol.grant);
    check(`a peer batch of ${n}: 200 ${RESP_TYPE}`,
      resp.status === 200 && resp.headers.get('content-type') === RESP_TYPE,
      `${resp.status} ${resp.headers.get('content-type')}`);
    const bytes = new Uint8Array(await resp.arrayBuffer());
    let parsed;
    try {
      parsed = new genericBatched.Client().deserializeTokenResponse(bytes);
    } catch (e) {
      check('the peer parses the BatchTokenResponse', false, String(e));
      continue;
    }
    const opts = [...parsed];
    check(`... the peer parses ${n} present type-2 responses`, opts.length === n &&
      opts.every((o) => o.tokenType === 2 && o.tokenResponse !== null));
    check('... and re-serializes them to the same bytes',
      Buffer.from(parsed.serialize()).equals(Buffer.from(bytes)));
    let verified = 0;
    for (let i = 0; i < n; i++) {
      const token = await clients[i].finalize(opts[i].tokenResponse);
      fs.writeFileSync(`${dir}/tok.bin`, token.serialize());
      const v = spawnSync(AGEPASS, ['token', 'verify', '--pub', `${dir}/pub.der`, '--challenge',
        `${dir}/ch.bin`, '--in', `${dir}/tok.bin`]);
      if (v.status === 0) verified++;
    }
    check(`... every token finalized by the peer verifies with agepass (${verified}/${n})`, verified === n);
  }
  // the grant had 40: 31 taken, 9 left
  const over = await batch(10, enrol.grant);
  check('a batch of 10 on a grant with 9 left: 429', over.resp.status === 429, String(over.resp.status));
  const rest = await batch(9, enrol.grant);
  check('... nothing taken: the 9 come in one batch', rest.resp.status === 200, String(rest.resp.status));
  const noGrant = await batch(2, null);
  check('a peer batch without a grant: 401', noGrant.resp.status === 401, String(noGrant.resp.status));
  const empty = await fetch(`${base}/token-request`, {
    method: 'POST', headers: { 'Content-Type': REQ_TYPE, Authorization: `Bearer ${enrol.grant}` },
    body: new genericBatched.Client().createTokenRequest([]).serialize(),
  });
  check('an empty batch, which the peer writes: 422', empty.status === 422, String(empty.status));
} finally {
  issuer.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(finish());
