#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Interoperability test: the agepass CLI against the npm peer
// @cloudflare/privacypass-ts 0.8.1 (+ @cloudflare/blindrsa-ts 0.4.3), for
// Privacy Pass token type 0x0002 (RFC 9474 / RFC 9577 / RFC 9578).
//
// Usage: node interop.mjs /path/to/agepass
//
// Checks, all in a fresh temp dir:
//   0. the peer talks to itself (sanity of this script and the peer on this Node)
//   a. peer client -> `agepass token issue` -> peer finalize -> agepass verify + peer verify
//   b. `agepass token challenge/request` -> peer issuer -> `agepass token finalize`
//      -> peer verify + agepass verify (plain challenge, and origin-info + random context)
//   c. `agepass token issue` with the peer-written PKCS#8 PEM private key
//   d. WWW-Authenticate / Authorization headers, peer-made -> agepass and back
//   e. negatives: flipped authenticator bit, wrong challenge, wrong key -> exit 1
// The peer's Origin.verify checks only the RSA signature, so the peer-side
// verification here also checks token_type, challenge_digest and token_key_id.
// Prints "ok - ..." / "not ok - ..." per check, then "N passed, M failed".
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  publicVerif, util, TOKEN_TYPES, TokenChallenge, Token,
  WWWAuthenticateHeader, AuthorizationHeader,
} from '@cloudflare/privacypass-ts';

// Node 18 (Debian 12's nodejs) has WebCrypto but not as a global.
if (!globalThis.crypto?.subtle) globalThis.crypto = (await import('node:crypto')).webcrypto;

const { Client, Issuer, Origin, TokenRequest, TokenResponse, BlindRSAMode, getPublicKeyBytes } =
  publicVerif;
const BLIND_RSA = TOKEN_TYPES.BLIND_RSA;
const MODE = BlindRSAMode.PSS; // RSABSSA-SHA384-PSS-Deterministic, as RFC 9578 type 2

if (!process.argv[2]) {
  console.error('usage: node interop.mjs /path/to/agepass');
  process.exit(2);
}
const AGEPASS = path.resolve(process.argv[2]);
try {
  fs.accessSync(AGEPASS, fs.constants.X_OK);
} catch {
  console.log(`not ok - agepass binary is executable at ${AGEPASS}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'agepass-interop-'));
const P = (name) => path.join(TMP, name);

// ---------- reporting ----------
let passed = 0;
let failed = 0;
function check(name, cond, ...diag) {
  if (cond) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}`);
    for (const d of diag) if (d) console.log(`#   ${String(d).trimEnd().replaceAll('\n', '\n#   ')}`);
  }
  return cond;
}
// Runs one part; an exception inside it counts as one failure, and the rest go on.
async function part(name, fn) {
  try {
    await fn();
  } catch (e) {
    check(`${name}: ran to the end`, false, e.stack ?? e);
  }
}

// ---------- helpers ----------
// The peer reads `bytes.buffer` without byteOffset, so always hand it fresh arrays.
const rd = (p) => new Uint8Array(fs.readFileSync(p));
const wr = (p, b) => fs.writeFileSync(p, b);
const eq = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
const hex = (b) => Buffer.from(b).toString('hex');
const rand = (n) => crypto.getRandomValues(new Uint8Array(n));
const sha256 = async (b) => new Uint8Array(await crypto.subtle.digest('SHA-256', b));

// Runs agepass; returns {code, stdout, stderr, cmd}.
function agepass(...args) {
  const r = spawnSync(AGEPASS, args, { cwd: TMP, encoding: 'utf8' });
  const cmd = `$ ${AGEPASS} ${args.map((a) => (/[\s,"=]/.test(a) ? `'${a}'` : a)).join(' ')}`;
  const code = r.error ? `spawn error: ${r.error.message}` : r.status ?? `signal ${r.signal}`;
  return { code, stdout: r.stdout ?? '', stderr: r.stderr ?? '', cmd };
}
// Checks that an agepass run exited with `want`; on failure prints the command and stderr.
function checkRun(name, r, want = 0) {
  return check(`${name} (exit ${want})`, r.code === want, r.cmd, `exit ${r.code}; stderr: ${r.stderr}`);
}

// Token key bytes (RFC 9578 RSASSA-PSS SPKI) -> WebCrypto RSA-PSS/SHA-384 public key.
const importPub = (spki) =>
  crypto.subtle.importKey('spki', util.convertRSASSAPSSToEnc(spki), BLIND_RSA.rsaParams, true, ['verify']);

// Full peer-side verification: signature (Origin.verify) plus the token fields.
async function peerVerify(tokBytes, chBytes, pubBytes) {
  if (tokBytes.length !== 2 + 32 + 32 + 32 + 256) return `token is ${tokBytes.length} bytes, want 354`;
  const tok = Token.deserialize(BLIND_RSA, tokBytes);
  const ai = tok.authInput;
  if (ai.tokenType !== 2) return `token_type ${ai.tokenType}`;
  if (!eq(ai.challengeDigest, await sha256(chBytes))) return 'challenge_digest != SHA-256(challenge)';
  if (!eq(ai.tokenKeyId, await sha256(pubBytes))) return 'token_key_id != SHA-256(token key)';
  const sigOk = await new Origin(MODE).verify(tok, await importPub(pubBytes));
  return sigOk ? 'ok' : 'RSA-PSS signature does not verify';
}
async function checkPeerVerify(name, tokBytes, chBytes, pubBytes) {
  const why = await peerVerify(tokBytes, chBytes, pubBytes);
  return check(name, why === 'ok', why);
}

// Peer as client: TokenRequest for a challenge and token key. Returns {client, req}.
async function peerRequest(chBytes, pubBytes) {
  const client = new Client(MODE);
  const tr = await client.createTokenRequest(TokenChallenge.deserialize(chBytes), pubBytes);
  return { client, req: tr.serialize() };
}
// Peer as client: response bytes -> Token bytes (finalize also checks the signature).
async function peerFinalize(client, respBytes) {
  const tok = await client.finalize(client.deserializeTokenResponse(respBytes));
  return tok.serialize();
}
// Checks an agepass-made TokenRequest: type, truncated key id, size.
async function checkRequestFields(name, req, pubBytes) {
  const kid = await sha256(pubBytes);
  const why = req.length !== 259 ? `${req.length} bytes, want 259`
    : req[0] !== 0 || req[1] !== 2 ? `token_type ${hex(req.subarray(0, 2))}`
    : req[2] !== kid[31] ? `truncated_token_key_id ${req[2]}, want ${kid[31]}` : 'ok';
  return check(name, why === 'ok', why);
}

const toPem = (der) =>
  `-----BEGIN PRIVATE KEY-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g).join('\n')}\n-----END PRIVATE KEY-----\n`;

// ---------- 0. peer key pair and self-test ----------
const ISSUER = 'issuer.example';
let peer; // {issuer, pub}
await part('peer setup', async () => {
  const kp = await Issuer.generateKey(MODE, { modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) });
  wr(P('peer-private.pem'), toPem(new Uint8Array(await crypto.subtle.exportKey('pkcs8', kp.privateKey))));
  const pub = await getPublicKeyBytes(kp.publicKey);
  wr(P('peer-public.der'), pub);
  // The issuer uses the key as re-read from the PEM file, to prove that file is sound.
  const der = Buffer.from(fs.readFileSync(P('peer-private.pem'), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const priv = await crypto.subtle.importKey('pkcs8', der, BLIND_RSA.rsaParams, true, ['sign']);
  peer = { issuer: new Issuer(MODE, ISSUER, priv, kp.publicKey), pub };
  const ch = new Origin(MODE, ['origin.example']).createTokenChallenge(ISSUER, rand(32)).serialize();
  const { client, req } = await peerRequest(ch, pub);
  const resp = await peer.issuer.issue(TokenRequest.deserialize(BLIND_RSA, req));
  await checkPeerVerify('peer self-test: peer client + peer issuer token verifies', await peerFinalize(client, resp.serialize()), ch, pub);
});

// ---------- a. peer client -> agepass issuer ----------
let A = {}; // agepass key and a peer-made token, reused below
await part('a', async () => {
  const dir = P('akey');
  checkRun('a: agepass keygen', agepass('keygen', '--out', dir));
  A.pub = rd(path.join(dir, 'issuer-public.der'));
  A.key = path.join(dir, 'issuer-private.pem');
  const reenc = await getPublicKeyBytes(await importPub(A.pub));
  check('a: issuer-public.der is the RFC 9578 RSASSA-PSS SPKI (byte-identical to the peer encoding)',
    eq(A.pub, reenc), `agepass (${A.pub.length} B): ${hex(A.pub.subarray(0, 70))}`, `peer    (${reenc.length} B): ${hex(reenc.subarray(0, 70))}`);

  A.ch = new Origin(MODE, ['origin.example']).createTokenChallenge(ISSUER, rand(32)).serialize();
  wr(P('a-ch.bin'), A.ch);
  const { client, req } = await peerRequest(A.ch, A.pub);
  wr(P('a-req.bin'), req);
  const r = agepass('token', 'issue', '--key', A.key, '--in', P('a-req.bin'), '--out', P('a-resp.bin'));
  if (!checkRun('a: agepass token issue on a peer TokenRequest', r)) return;
  const resp = rd(P('a-resp.bin'));
  check('a: TokenResponse is 256 bytes', resp.length === 256, `got ${resp.length}`);
  A.tok = await peerFinalize(client, resp);
  check('a: peer client finalizes the agepass response', true);
  wr(P('a-tok.bin'), A.tok);
  checkRun('a: agepass token verify accepts the peer-finalized token',
    agepass('token', 'verify', '--pub', path.join(dir, 'issuer-public.der'), '--challenge', P('a-ch.bin'), '--in', P('a-tok.bin')));
  await checkPeerVerify('a: peer verifies the token (signature and fields)', A.tok, A.ch, A.pub);
});

// ---------- b. agepass client -> peer issuer ----------
let B = {}; // an agepass-finalized token, reused below
const variants = [
  { tag: 'plain', args: [], origins: undefined, ctxLen: 0 },
  { tag: 'origin-info+context', args: ['--origin-info', 'a.example,b.example', '--context', 'random'], origins: ['a.example', 'b.example'], ctxLen: 32 },
];
for (const v of variants) {
  await part(`b ${v.tag}`, async () => {
    const f = (n) => P(`b-${v.tag}-${n}`);
    if (!checkRun(`b[${v.tag}]: agepass token challenge`, agepass('token', 'challenge', '--issuer-name', ISSUER, ...v.args, '--out', f('ch.bin')))) return;
    const ch = rd(f('ch.bin'));
    const tc = TokenChallenge.deserialize(ch);
    check(`b[${v.tag}]: peer parses the challenge (type 2, issuer, origin_info, context length)`,
      tc.tokenType === 2 && tc.issuerName === ISSUER && tc.redemptionContext.length === v.ctxLen &&
      JSON.stringify(tc.originInfo) === JSON.stringify(v.origins) && eq(tc.serialize(), ch),
      `type=${tc.tokenType} issuer=${tc.issuerName} ctxLen=${tc.redemptionContext.length} origins=${JSON.stringify(tc.originInfo)} bytes=${hex(ch)}`);
    const r = agepass('token', 'request', '--pub', P('peer-public.der'), '--challenge', f('ch.bin'), '--state', f('st.bin'), '--out', f('req.bin'));
    if (!checkRun(`b[${v.tag}]: agepass token request`, r)) return;
    const req = rd(f('req.bin'));
    await checkRequestFields(`b[${v.tag}]: TokenRequest fields (type 2, truncated key id, 259 bytes)`, req, peer.pub);
    const resp = await peer.issuer.issue(TokenRequest.deserialize(BLIND_RSA, req));
    wr(f('resp.bin'), resp.serialize());
    if (!checkRun(`b[${v.tag}]: agepass token finalize on the peer response`,
      agepass('token', 'finalize', '--state', f('st.bin'), '--in', f('resp.bin'), '--out', f('tok.bin')))) return;
    const tok = rd(f('tok.bin'));
    await checkPeerVerify(`b[${v.tag}]: peer verifies the agepass token (signature and fields)`, tok, ch, peer.pub);
    checkRun(`b[${v.tag}]: agepass token verify accepts it`,
      agepass('token', 'verify', '--pub', P('peer-public.der'), '--challenge', f('ch.bin'), '--in', f('tok.bin')));
    B = { tok, ch, tokPath: f('tok.bin'), chPath: f('ch.bin') };
  });
}

// ---------- c. agepass issues with the peer-written PKCS#8 key ----------
await part('c', async () => {
  const ch = new Origin(MODE).createTokenChallenge(ISSUER, new Uint8Array(0)).serialize();
  wr(P('c-ch.bin'), ch);
  const { client, req } = await peerRequest(ch, peer.pub);
  wr(P('c-req.bin'), req);
  if (!checkRun('c: agepass token issue --key peer-private.pem (PKCS#8, rsaEncryption OID)',
    agepass('token', 'issue', '--key', P('peer-private.pem'), '--in', P('c-req.bin'), '--out', P('c-resp.bin')))) return;
  const tok = await peerFinalize(client, rd(P('c-resp.bin')));
  wr(P('c-tok.bin'), tok);
  await checkPeerVerify('c: peer finalizes and verifies the token', tok, ch, peer.pub);
  checkRun('c: agepass token verify accepts it',
    agepass('token', 'verify', '--pub', P('peer-public.der'), '--challenge', P('c-ch.bin'), '--in', P('c-tok.bin')));
});

// ---------- d. HTTP headers ----------
await part('d', async () => {
  const ch = new Origin(MODE, ['a.example']).createTokenChallenge(ISSUER, rand(32)); // 62 bytes: base64 needs '=' padding
  const chBytes = ch.serialize();
  const www = new WWWAuthenticateHeader(ch, peer.pub, 60);
  // Peer WWW-Authenticate -> agepass. toString(true) quotes (RFC 9577); toString() is the peer default, unquoted with '=' padding.
  const other = new TokenChallenge(1, ISSUER, new Uint8Array(0)); // a VOPRF challenge that must be skipped
  const otherHdr = new WWWAuthenticateHeader(other, rand(49)).toString(true);
  const wwwCases = [
    ['quoted', www.toString(true)],
    ['peer default: unquoted, with = padding', www.toString()],
    ['Basic + type-1 first, then type-2', `Basic realm="x", ${otherHdr}, ${www.toString(true)}`],
  ];
  for (const [i, [tag, value]] of wwwCases.entries()) {
    const r = agepass('token', 'parse-header', '--www-authenticate', value, '--out-challenge', P(`d-ch-${i}.bin`), '--out-pub', P(`d-pub-${i}.der`));
    if (!checkRun(`d: agepass parses peer WWW-Authenticate (${tag})`, r)) continue;
    const gotCh = rd(P(`d-ch-${i}.bin`));
    const gotPub = rd(P(`d-pub-${i}.der`));
    check(`d: ... challenge and token-key match (${tag})`, eq(gotCh, chBytes) && eq(gotPub, peer.pub),
      `header: ${value}`, `challenge got ${hex(gotCh)}`, `challenge want ${hex(chBytes)}`, `token-key equal: ${eq(gotPub, peer.pub)}`);
  }
  // agepass WWW-Authenticate -> peer.
  wr(P('d-ch.bin'), chBytes);
  const r = agepass('token', 'header-challenge', '--challenge', P('d-ch.bin'), '--pub', P('peer-public.der'), '--max-age', '60');
  if (checkRun('d: agepass token header-challenge', r)) {
    const value = r.stdout.trim();
    let h;
    try { h = WWWAuthenticateHeader.parse(value)[0]; } catch (e) { h = { err: e.message }; }
    check('d: peer parses agepass WWW-Authenticate (challenge, token-key, max-age)',
      h?.challenge && eq(h.challenge.serialize(), chBytes) && eq(h.tokenKey, peer.pub) && h.maxAge === 60,
      `header: ${value}`, `peer: ${h ? h.err ?? `maxAge=${h.maxAge} challenge=${hex(h.challenge.serialize())}` : 'no PrivateToken challenge found'}`);
  }
  // Peer Authorization -> agepass, with a real token from part a.
  if (A.tok) {
    const auth = new AuthorizationHeader(Token.deserialize(BLIND_RSA, A.tok));
    for (const [tag, value] of [['quoted', auth.toString(true)], ['peer default unquoted', auth.toString()]]) {
      const out = P(`d-tok-${tag.split(' ')[0]}.bin`);
      if (!checkRun(`d: agepass parses peer Authorization (${tag})`, agepass('token', 'parse-header', '--authorization', value, '--out', out))) continue;
      check(`d: ... token bytes match (${tag})`, eq(rd(out), A.tok), `header: ${value}`, `got ${hex(rd(out))}`);
    }
  }
  // agepass Authorization -> peer, with a token from part b.
  if (B.tok) {
    const r2 = agepass('token', 'header-token', '--in', B.tokPath);
    if (checkRun('d: agepass token header-token', r2)) {
      const value = r2.stdout.trim();
      let got;
      try { got = AuthorizationHeader.parse(BLIND_RSA, value)[0]?.token.serialize(); } catch (e) { got = e.message; }
      check('d: peer parses agepass Authorization (token bytes match)', got instanceof Uint8Array && eq(got, B.tok),
        `header: ${value}`, `peer result: ${got instanceof Uint8Array ? hex(got) : got}`);
    }
  }
});

// ---------- e. negatives ----------
await part('e', async () => {
  if (B.tok) {
    const bad = new Uint8Array(B.tok);
    bad[98 + 100] ^= 0x01; // authenticator starts after 2+32+32+32 bytes
    wr(P('e-flip.bin'), bad);
    check('e: peer also rejects the flipped token (sanity)', (await peerVerify(bad, B.ch, peer.pub)) !== 'ok');
    checkRun('e: agepass token verify refuses a token with one flipped authenticator bit',
      agepass('token', 'verify', '--pub', P('peer-public.der'), '--challenge', B.chPath, '--in', P('e-flip.bin')), 1);
  }
  if (A.tok) {
    wr(P('e-other-ch.bin'), new Origin(MODE).createTokenChallenge('other.example', rand(32)).serialize());
    checkRun('e: agepass token verify refuses a peer-made token against a different challenge',
      agepass('token', 'verify', '--pub', path.join(P('akey'), 'issuer-public.der'), '--challenge', P('e-other-ch.bin'), '--in', P('a-tok.bin')), 1);
    checkRun('e: agepass token verify refuses a peer-made token under another issuer key',
      agepass('token', 'verify', '--pub', P('peer-public.der'), '--challenge', P('a-ch.bin'), '--in', P('a-tok.bin')), 1);
    wr(P('e-short.bin'), A.tok.subarray(0, 200));
    checkRun('e: agepass token verify refuses a truncated token',
      agepass('token', 'verify', '--pub', path.join(P('akey'), 'issuer-public.der'), '--challenge', P('a-ch.bin'), '--in', P('e-short.bin')), 1);
  }
  checkRun('e: agepass token verify without arguments is a usage error', agepass('token', 'verify'), 2);
});

console.log(`${passed} passed, ${failed} failed`);
if (failed === 0) fs.rmSync(TMP, { recursive: true, force: true });
else console.log(`# files kept in ${TMP}`);
process.exit(failed === 0 ? 0 : 1);
