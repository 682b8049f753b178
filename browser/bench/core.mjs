#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// browser/bench/core.mjs: the client core's two costly steps next to
// @cloudflare/privacypass-ts 0.8.1 (blindrsa-ts 0.4.3) in the same Node
// process, token type 0x0002 with the RSA-2048 key of RFC 9578 A.2:
//
//   mint one token    agepass: beginToken (nonce, SHA-256, PSS encode, r, r^e, inverse)
//                     peer:    new Client + createTokenRequest
//   finalize 30       agepass: 30 x finishToken (unblind + WebCrypto RSA-PSS verify)
//                     peer:    30 x Client.finalize (TokenResponse.deserialize first)
//
// The issuer's blind signatures come from node:crypto's raw RSA with the
// vector's private key (outside the timed part). Every result is checked.
// Prints p50 and p95 in ms. Usage: node bench/core.mjs [RUNS]  (default 60;
// finalize runs a fifth as many batches; about 15 s in all here)
import { createPrivateKey, privateDecrypt, constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { publicVerif, TokenChallenge } from '@cloudflare/privacypass-ts';

import { hexDecode } from '../core/bytes.js';
import { importTokenKey, verify } from '../core/rsabssa.js';
import { beginToken, finishToken, crossOriginChallenge, parseToken } from '../core/token.js';

const { Client, TokenResponse, BlindRSAMode } = publicVerif;
const runs = Number(process.argv[2] ?? 60);
if (!Number.isInteger(runs) || runs < 5 || runs > 10000) {
  console.error('usage: node bench/core.mjs [RUNS]   (5..10000)');
  process.exit(2);
}
const v = JSON.parse(readFileSync(new URL('../../tests/vectors/rfc9578-type2.json', import.meta.url)))
  .vectors[0];
const spki = hexDecode(v.pkS);
const sk = createPrivateKey(v.derived.skS_pem);
// BlindSign: blinded_msg^d mod n, OpenSSL's raw private operation
const blindSign = (req) => new Uint8Array(privateDecrypt({ key: sk, padding: constants.RSA_NO_PADDING },
  req.subarray(3)));
const challenge = crossOriginChallenge('issuer.example');
const peerChallenge = TokenChallenge.deserialize(challenge.slice());

function pct(samples, p) {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function time(n, warm, fn) {
  for (let i = 0; i < warm; i++) await fn();
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

const pk = await importTokenKey(spki);
const rows = [];
const row = (name, impl, samples) => rows.push({ name, impl, p50: pct(samples, 50), p95: pct(samples, 95),
  n: samples.length });

// mint one token
row('mint one token', 'agepass core', await time(runs, 5, async () => {
  const { request } = await beginToken(pk, challenge);
  if (request.length !== 259) throw new Error('bad request');
}));
row('mint one token', 'privacypass-ts 0.8.1', await time(runs, 5, async () => {
  const req = await new Client(BlindRSAMode.PSS).createTokenRequest(peerChallenge, spki);
  if (req.serialize().length !== 259) throw new Error('bad request');
}));

// finalize a batch of 30: the requests and blind signatures are made once
const ours = [];
const peers = [];
for (let i = 0; i < 30; i++) {
  const { request, state } = await beginToken(pk, challenge);
  ours.push({ state, response: blindSign(request) });
  const client = new Client(BlindRSAMode.PSS);
  const req = (await client.createTokenRequest(peerChallenge, spki)).serialize();
  peers.push({ client, pending: client.finData, response: blindSign(req) });
}
const batches = Math.max(5, Math.round(runs / 5));
row('finalize 30 tokens', 'agepass core', await time(batches, 2, async () => {
  for (const o of ours) {
    const tok = await finishToken(pk, o.state, o.response);
    if (tok.length !== 354) throw new Error('bad token');
  }
}));
row('finalize 30 tokens', 'privacypass-ts 0.8.1', await time(batches, 1, async () => {
  for (const p of peers) {
    p.client.finData = p.pending; // finalize clears it (0.8.1 field)
    const tok = await p.client.finalize(TokenResponse.deserialize(p.response.slice()));
    if (tok.serialize().length !== 354) throw new Error('bad token');
  }
}));
// the tokens are real: one of each verifies
const last = await finishToken(pk, ours[0].state, ours[0].response);
if (!(await verify(pk, parseToken(last).tokenInput, parseToken(last).authenticator))) {
  throw new Error('a token does not verify');
}

console.log(`# Node ${process.version}, RSA-2048 (RFC 9578 A.2 key), ${runs} mints, ${batches} batches`);
console.log('| operation | implementation | p50 ms | p95 ms | runs |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.name} | ${r.impl} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.n} |`);
}
