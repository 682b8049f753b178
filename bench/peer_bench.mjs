#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// bench/peer_bench.mjs: single-thread throughput of the npm peer,
// @cloudflare/privacypass-ts 0.8.1 with @cloudflare/blindrsa-ts 0.4.3, for
// token type 0x0002 (RFC 9578 §6, RSABSSA-SHA384-PSS-Deterministic) with an
// RSA-2048 key: the same four operations as bench_token.c, one at a time.
//
//   peer_request_per_s     Client.createTokenRequest (fresh Client each time)
//   peer_blind_sign_per_s  TokenRequest.deserialize + Issuer.issue + serialize
//   peer_finalize_per_s    TokenResponse.deserialize + Client.finalize + serialize
//   peer_verify_per_s      Token.deserialize, token type, SHA-256 of the challenge,
//                          challenge_digest and token_key_id compared, Origin.verify
//                          (the peer's Origin.verify checks only the signature, so
//                          the rest of the RFC 9577 origin check is added here)
//
// Usage: node bench/peer_bench.mjs [COUNT]
// Without COUNT each figure runs for about 2 s; with it, COUNT times. Every
// operation is checked (a throw, or a false verify, exits 1). Output: one
// "name rate" line per figure on stdout, details on stderr.
//
// Node runs WebCrypto work (the RSA-PSS verify) on its libuv pool; run.sh sets
// UV_THREADPOOL_SIZE=1, and operations are awaited one after the other, so one
// core does the work at any time.
import { publicVerif, TOKEN_TYPES, TokenChallenge, Token } from '@cloudflare/privacypass-ts';

const { Client, Issuer, Origin, TokenRequest, TokenResponse, BlindRSAMode, getPublicKeyBytes } =
  publicVerif;
const BLIND_RSA = TOKEN_TYPES.BLIND_RSA;
const MODE = BlindRSAMode.PSS; // salt 48: RSABSSA-SHA384-PSS-Deterministic, as RFC 9578 type 2
const SECONDS = 2;
const WARMUP = 3;

function die(msg) {
  console.error(`peer_bench: ${msg}`);
  process.exit(1);
}

function parseCount(s) {
  if (s === undefined) return 0;
  if (!/^[0-9]{1,9}$/.test(s) || Number(s) === 0) {
    console.error('usage: node peer_bench.mjs [COUNT]   (COUNT: calls per figure; default ~2 s)');
    process.exit(2);
  }
  return Number(s);
}

const eq = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
const sha256 = async (b) => new Uint8Array(await crypto.subtle.digest('SHA-256', b));
// The peer's deserializers read `bytes.buffer` from offset 0, so each call
// gets a fresh copy (slice) of its input; the copy is part of what is timed.
const fresh = (b) => b.slice();

// Warm up, then run op count times or for SECONDS, and print "name rate".
async function measure(name, op, count) {
  for (let i = 0; i < WARMUP; i++) await op();
  let n = 0;
  let elapsed = 0;
  const start = performance.now();
  do {
    await op();
    n++;
    elapsed = (performance.now() - start) / 1000;
  } while (count > 0 ? n < count : elapsed < SECONDS);
  console.log(`${name} ${(n / elapsed).toFixed(1)}`);
  console.error(`# ${name}: ${n} ops in ${elapsed.toFixed(3)} s, ${((elapsed * 1e6) / n).toFixed(2)} us/op`);
}

async function main() {
  const count = parseCount(process.argv[2]);
  if (process.argv.length > 3) parseCount('x');

  // issuer key pair (WebCrypto RSA-PSS, SHA-384) and its RFC 9578 SPKI
  const keys = await Issuer.generateKey(MODE, {
    modulusLength: 2048,
    publicExponent: Uint8Array.from([1, 0, 1]),
  });
  const issuer = new Issuer(MODE, 'issuer.example', keys.privateKey, keys.publicKey);
  const spki = await getPublicKeyBytes(keys.publicKey);
  const keyId = await sha256(spki);

  // origin: a challenge with a 32-byte redemption context and origin info
  const origin = new Origin(MODE, ['origin.example']);
  const challenge = origin.createTokenChallenge(
    'issuer.example',
    crypto.getRandomValues(new Uint8Array(32)),
  );
  const challengeBytes = challenge.serialize();

  // one token's worth of messages, with the client's pending state kept
  const client = new Client(MODE);
  const request = (await client.createTokenRequest(challenge, spki)).serialize();
  const pending = client.finData; // the state Client.finalize consumes (pinned 0.8.1 field)
  if (pending === undefined) die('Client.finData not found: is privacypass-ts 0.8.1 installed?');
  const response = (await issuer.issue(TokenRequest.deserialize(BLIND_RSA, fresh(request)))).serialize();
  const token = (await client.finalize(TokenResponse.deserialize(fresh(response)))).serialize();
  if (token.length !== 2 + 32 + 32 + 32 + 256) die(`token is ${token.length} bytes`);

  // the full origin check, as agp_token_parse + agp_challenge_digest + agp_token_verify
  async function verifyToken(bytes) {
    const tok = Token.deserialize(BLIND_RSA, fresh(bytes));
    if (tok.authInput.tokenType !== BLIND_RSA.value) return false;
    const digest = await sha256(challengeBytes);
    if (!eq(tok.authInput.tokenKeyId, keyId)) return false;
    if (!eq(tok.authInput.challengeDigest, digest)) return false;
    return origin.verify(tok, keys.publicKey);
  }
  if (!(await verifyToken(token))) die('the first token does not verify');
  const bad = token.slice();
  bad[bad.length - 1] ^= 1;
  if (await verifyToken(bad)) die('a corrupted token verifies');

  console.error(
    `# peer: @cloudflare/privacypass-ts, RSA-2048, token type 0x0002, Node ${process.version}, ` +
      `challenge ${challengeBytes.length} bytes`,
  );
  await measure(
    'peer_request_per_s',
    async () => {
      const c = new Client(MODE);
      const req = (await c.createTokenRequest(challenge, spki)).serialize();
      if (req.length !== 3 + 256) die('createTokenRequest: bad length');
    },
    count,
  );
  await measure(
    'peer_blind_sign_per_s',
    async () => {
      const res = await issuer.issue(TokenRequest.deserialize(BLIND_RSA, fresh(request)));
      if (res.serialize().length !== 256) die('issue: bad length');
    },
    count,
  );
  await measure(
    'peer_finalize_per_s',
    async () => {
      client.finData = pending; // finalize clears it; put the same request back
      const tok = await client.finalize(TokenResponse.deserialize(fresh(response)));
      if (!eq(tok.serialize(), token)) die('finalize: different token');
    },
    count,
  );
  await measure(
    'peer_verify_per_s',
    async () => {
      if (!(await verifyToken(token))) die('verify: rejected');
    },
    count,
  );
}

main().catch((e) => die(e.stack ?? String(e)));
