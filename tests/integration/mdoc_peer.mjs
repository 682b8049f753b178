#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// EU Proof-of-Age enrolment against an independent mdoc implementation
// (@animo-id/mdoc, pinned in package.json): a test IACA and document
// signer made here with the openssl CLI, eu.europa.ec.av.1 attestations
// issued by the npm library, DeviceResponses signed by it over the
// OpenID4VP 1.0 SessionTranscript for the nonce the running issuer gave.
// Accepted once; refused on replay, for another nonce or origin, with
// age_over_18 false, without the element, with a wrong device key, from
// an untrusted CA, expired. Then `agepass enroll --mdoc` and `agepass
// fetch` get tokens; the metrics count each reason; the issuer's log and
// store hold nothing from the attestations. The web wallet's enrolment
// (/enroll/mdoc/start, /wait): the grant only for the browser holding the
// pickup cookie, once, sealed in the store, an expired state refused
// (libfaketime); also on Redis across two
// instances. Usage: node mdoc_peer.mjs AGEPASS
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DAY, DOCTYPE, b64url, issue, newDeviceKey, pki, present } from './mdoc_lib.mjs';
import { check, freePort, failures, finish } from './lib.mjs';

const AGEPASS = path.resolve(process.argv[2] ?? '');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agp-mdoc-peer-'));

const trusted = pki(dir, 'trusted');
const untrusted = pki(dir, 'untrusted'); // same names, other keys
const init = spawnSync(AGEPASS, ['issuer', 'init', '--state', `${dir}/ist`, '--name', 'issuer.example']);
if (init.status !== 0) { console.log(`not ok - issuer init: ${init.stderr}`); process.exit(1); }
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const log = fs.openSync(`${dir}/issuer.log`, 'w');
const issuer = spawn(AGEPASS, ['issuer', 'serve', '--state', `${dir}/ist`, '--listen', `127.0.0.1:${port}`,
  '--mdoc-trust', `${dir}/trusted-ca.pem`, '--public-url', base, '--wallet-url', `${base}/wallet/`],
{ stdio: ['ignore', 'ignore', log] });
const seen = []; // bytes from the attestations that must not reach the log or the store
try {
  let up = false;
  for (let i = 0; i < 100 && !up; i++) {
    up = await fetch(`${base}/metrics`).then(() => true, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  check('the issuer is up with --mdoc-trust', up);

  const getRequest = async () => {
    const r = await fetch(`${base}/enroll/mdoc/request`);
    return { status: r.status, body: await r.json() };
  };
  const post = async (deviceResponse, state) => {
    const form = new URLSearchParams({ vp_token: JSON.stringify({ age: [b64url(deviceResponse)] }), state });
    const r = await fetch(`${base}/enroll/mdoc/response`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: form.toString(),
    });
    return { status: r.status, body: await r.json().catch(() => ({})) };
  };

  const { status, body } = await getRequest();
  const req = body.request;
  check('GET /enroll/mdoc/request: an OpenID4VP request by value', status === 200 && req.response_type === 'vp_token'
    && req.response_mode === 'direct_post' && req.nonce.length >= 32 && req.state === req.nonce
    && req.response_uri === `${base}/enroll/mdoc/response` && req.client_id === `redirect_uri:${req.response_uri}`,
    JSON.stringify(body));
  const q = req.dcql_query?.credentials?.[0];
  check('its DCQL query asks mso_mdoc eu.europa.ec.av.1 age_over_18', q?.format === 'mso_mdoc'
    && q.meta?.doctype_value === DOCTYPE && JSON.stringify(q.claims?.[0]?.path) === `["${DOCTYPE}","age_over_18"]`);
  check('the av:// invocation link carries the request', body.invocation.startsWith('av://?')
    && new URL(body.invocation.replace('av://', 'http://x/')).searchParams.get('nonce') === req.nonce);
  const qr = await fetch(`${base}${body.qr}`);
  const svg = await qr.text();
  check('the QR code is an SVG image', qr.status === 200 && qr.headers.get('content-type') === 'image/svg+xml'
    && svg.startsWith('<svg') && svg.includes('<rect x='));
  const again = (await getRequest()).body.request;
  check('each request has a fresh nonce', again.nonce !== req.nonce);

  const device = newDeviceKey();
  const good = await issue(trusted, device, { age_over_18: true });
  seen.push(Buffer.from(device.pub.x, 'base64url'), Buffer.from('agepass test DS'));
  const resp = await present(good, device, req);
  let r = await post(resp, req.state);
  check('a device-signed attestation over our nonce: a grant', r.status === 200 && typeof r.body.grant === 'string'
    && r.body.age === 18, JSON.stringify(r));
  r = await post(resp, req.state);
  check('the same answer again: 409 reused_evidence', r.status === 409 && r.body.error === 'reused_evidence', JSON.stringify(r));
  const other = (await getRequest()).body.request;
  r = await post(await present(good, device, other), other.state);
  check('the same attestation under a new nonce: 409 reused_evidence', r.status === 409 && r.body.error === 'reused_evidence', JSON.stringify(r));

  const fresh = async (claims, opts) => { const dk = newDeviceKey(); return { dk, mdoc: await issue(trusted, dk, claims, opts) }; };
  let a = await fresh({ age_over_18: true });
  const n1 = (await getRequest()).body.request, n2 = (await getRequest()).body.request;
  r = await post(await present(a.mdoc, a.dk, n1), n2.state);
  check('signed for another nonce: 422 invalid_evidence', r.status === 422 && r.body.error === 'invalid_evidence', JSON.stringify(r));
  const elsewhere = { ...n1, client_id: 'redirect_uri:https://rp.example/cb', response_uri: 'https://rp.example/cb' };
  r = await post(await present(a.mdoc, a.dk, elsewhere), n1.state);
  check('signed for another origin: 422 invalid_evidence', r.status === 422 && r.body.error === 'invalid_evidence', JSON.stringify(r));
  r = await post(await present(a.mdoc, a.dk, n1), n1.state);
  check('that attestation, signed right: a grant (refusals did not spend it)', r.status === 200, JSON.stringify(r));

  a = await fresh({ age_over_18: false });
  let n = (await getRequest()).body.request;
  r = await post(await present(a.mdoc, a.dk, n), n.state);
  check('age_over_18 false: 403 under_age', r.status === 403 && r.body.error === 'under_age', JSON.stringify(r));

  a = await fresh({ age_over_16: true });
  n = (await getRequest()).body.request;
  r = await post(await present(a.mdoc, a.dk, n, 'age_over_16'), n.state);
  check('no age_over_18 element: 422 invalid_evidence', r.status === 422 && r.body.error === 'invalid_evidence', JSON.stringify(r));

  a = await fresh({ age_over_18: true });
  n = (await getRequest()).body.request;
  r = await post(await present(a.mdoc, newDeviceKey(), n), n.state);
  check('signed with a device key other than the MSO\'s: 422', r.status === 422 && r.body.error === 'invalid_evidence', JSON.stringify(r));

  const dk = newDeviceKey();
  const foreign = await issue(untrusted, dk, { age_over_18: true });
  n = (await getRequest()).body.request;
  r = await post(await present(foreign, dk, n), n.state);
  check('from a CA not configured (same names, other key): 422', r.status === 422 && r.body.error === 'invalid_evidence', JSON.stringify(r));

  a = await fresh({ age_over_18: true }, { from: Date.now() - 40 * DAY, until: Date.now() - DAY });
  n = (await getRequest()).body.request;
  r = await post(await present(a.mdoc, a.dk, n), n.state);
  check('validUntil passed: 403 expired_evidence', r.status === 403 && r.body.error === 'expired_evidence', JSON.stringify(r));

  r = await post(Buffer.from('not cbor'), n.state);
  check('junk instead of a DeviceResponse: 400', r.status === 400, JSON.stringify(r));
  r = await post(resp, 'A'.repeat(55));
  check('a forged state: refused', r.status === 400 || r.status === 422, JSON.stringify(r));
  const bare = await fetch(`${base}/enroll/mdoc/response`, { method: 'POST', body: 'state=x' });
  check('no vp_token: 400', bare.status === 400, String(bare.status));
  const form = async (text) => (await fetch(`${base}/enroll/mdoc/response`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: text })).status;
  n = (await getRequest()).body.request;
  let st = await form(`state=${n.state}&state=${n.state}&vp_token=%7B%7D`);
  check('a form with state twice: 400', st === 400, String(st));
  st = await form(`state=${n.state}&vp_token=%7B%22age%22%3A%5B%22%00%22%5D%7D`);
  check('a vp_token with a NUL byte in it: 400', st === 400, String(st));

  // --- the CLI: request, then answer with a file, then tokens
  const wallet = `${dir}/wallet.json`;
  const reqOut = spawnSync(AGEPASS, ['enroll', '--issuer', base, '--mdoc-request']);
  const cliReq = JSON.parse(String(reqOut.stdout)).request;
  check('agepass enroll --mdoc-request prints the request', reqOut.status === 0 && cliReq.nonce.length > 0);
  a = await fresh({ age_over_18: true });
  fs.writeFileSync(`${dir}/resp.cbor`, await present(a.mdoc, a.dk, cliReq));
  const en = spawnSync(AGEPASS, ['enroll', '--issuer', base, '--mdoc', `${dir}/resp.cbor`, '--state', cliReq.state,
    '--wallet', wallet]);
  check('agepass enroll --mdoc FILE --state S: enrolled', en.status === 0 && /over 18/.test(String(en.stdout)),
    String(en.stderr));
  const en2 = spawnSync(AGEPASS, ['enroll', '--issuer', base, '--mdoc', `${dir}/resp.cbor`, '--state', cliReq.state,
    '--wallet', wallet]);
  check('the same file again: refused, exit 1 (reused_evidence)', en2.status === 1 && /reused_evidence/.test(String(en2.stderr)),
    String(en2.stderr));
  const fe = spawnSync(AGEPASS, ['fetch', '--issuer', base, '--count', '3', '--wallet', wallet]);
  check('agepass fetch: 3 tokens on the mdoc grant (each finalized and verified)', fe.status === 0, String(fe.stderr));
  const wl = fs.existsSync(wallet) ? JSON.parse(fs.readFileSync(wallet, 'utf8')) : { issuers: {} };
  check('the wallet holds 3 tokens of class 18',
    Object.values(wl.issuers)[0]?.tokens?.filter((t) => t.age === 18).length === 3);

  const metrics = await (await fetch(`${base}/metrics`)).text();
  const count = (reason) => Number((metrics.match(new RegExp(`refused_total\\{source="mdoc",reason="${reason}"\\} (\\d+)`)) ?? [])[1]);
  check('metrics: reused_evidence 3', count('reused_evidence') === 3, metrics);
  check('metrics: under_age 1, expired_evidence 1', count('under_age') === 1 && count('expired_evidence') === 1);
  check('metrics: invalid_evidence 10 (nonce, origin, element, device key, CA, junk, state, no token, state twice, NUL)',
    count('invalid_evidence') === 10, String(count('invalid_evidence')));
  check('metrics: 3 enrolments accepted (source mdoc)', /enrolments_accepted_total\{source="mdoc"\} 3\b/.test(metrics));

  // --- the web wallet's enrolment (/start, /wait): the grant goes back to the browser that began
  const cookieOf = (r) => (r.headers.get('set-cookie') ?? '');
  const start = async (q = '?wallet=1') => {
    const r = await fetch(`${base}/enroll/mdoc/start${q}`);
    const html = await r.text();
    const link = (html.match(/id="agepass-eu-wallet" href="([^"]+)"/) ?? [])[1]?.replaceAll('&amp;', '&') ?? '';
    const params = link ? new URL(link.replace('av://', 'http://x/')).searchParams : new URLSearchParams();
    const request = link ? Object.fromEntries([...params].map(([k, v]) => [k, /^[{[]/.test(v) ? JSON.parse(v) : v])) : {};
    const c = cookieOf(r);
    return { r, html, link, request, cookie: (c.match(/^agp_mdoc=([^;]*)/) ?? [])[1] ?? '', setCookie: c };
  };
  const wait = (state, cookie, extra = {}) => fetch(`${base}/enroll/mdoc/wait?state=${state}`, {
    redirect: 'manual', headers: cookie === null ? {} : { Cookie: cookie.includes('=') ? cookie : `agp_mdoc=${cookie}` }, ...extra });
  const postForm = async (deviceResponse, state) => {
    const r2 = await fetch(`${base}/enroll/mdoc/response`, { method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ vp_token: JSON.stringify({ age: [b64url(deviceResponse)] }), state }).toString() });
    return { status: r2.status, body: await r2.json().catch(() => ({})) };
  };
  let w = await start('');
  check('wallet: /enroll/mdoc/start without ?wallet=1: 404, no cookie', w.r.status === 404 && w.setCookie === '');
  w = await start();
  check('wallet: /enroll/mdoc/start?wallet=1: a page with the QR code inline, the av:// link and a refresh to /wait',
    w.r.status === 200 && /^text\/html/.test(w.r.headers.get('content-type')) && w.html.includes('<svg')
    && w.html.includes('role="img"') && w.link.startsWith('av://?')
    && w.html.includes(`content="2;url=/enroll/mdoc/wait?state=${w.request.state}"`), w.html.slice(0, 300));
  check('wallet: ... a strict CSP, no script, no referrer', /default-src 'none'/.test(w.r.headers.get('content-security-policy'))
    && !/<script/i.test(w.html) && w.r.headers.get('referrer-policy') === 'no-referrer');
  check('wallet: ... the pickup cookie: 43 characters, HttpOnly, SameSite=Lax, Path=/enroll/mdoc, Max-Age=600',
    /^[A-Za-z0-9_-]{43}$/.test(w.cookie) && /; HttpOnly/.test(w.setCookie) && /; SameSite=Lax/.test(w.setCookie)
    && /; Path=\/enroll\/mdoc;/.test(w.setCookie) && /; Max-Age=600/.test(w.setCookie) && !/Secure/.test(w.setCookie), w.setCookie);
  check('wallet: ... the request is the same OpenID4VP request, its state not a CLI state',
    w.request.response_uri === `${base}/enroll/mdoc/response` && w.request.nonce === w.request.state
    && w.request.state.length === 75 && w.request.state.length !== req.state.length && !w.html.includes(w.cookie));
  // the page in the browser's language, each from its catalogue (deploy/pages/enrol/i18n)
  const repoDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
  for (const lang of ['en', 'fr', 'de', 'es', 'it']) {
    const cat = Object.fromEntries(fs.readFileSync(`${repoDir}/deploy/pages/enrol/i18n/${lang}.txt`, 'utf8').split('\n')
      .filter((l) => l && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const lr = await fetch(`${base}/enroll/mdoc/start?wallet=1`, { headers: { 'Accept-Language': `${lang},en;q=0.5` } });
    const lt = await lr.text();
    const esc = (t) => t.replaceAll('&', '&amp;').replaceAll("'", '&#39;');
    const el = await fetch(`${base}/enroll/mdoc/wait?state=${w.request.state}`, { headers: { 'Accept-Language': lang } });
    const et = await el.text();
    check(`wallet: the page in ${lang}: <html lang>, its heading and status; "elsewhere" too`,
      lt.includes(`<html lang="${lang}">`) && lt.includes(`<h1>${esc(cat.heading)}</h1>`) && lt.includes(esc(cat.waiting))
      && el.status === 403 && et.includes(`<h1>${esc(cat.elsewhere_title)}</h1>`), lt.slice(0, 400));
  }
  const otherB = await start();
  let r2 = await wait(w.request.state, w.cookie);
  let t2 = await r2.text();
  check('wallet: /wait before the answer: the waiting page again', r2.status === 200 && t2.includes('http-equiv="refresh"'));
  for (const [what, cookie] of [['no cookie', null], ["another browser's cookie", otherB.cookie],
    ['the cookie twice', `agp_mdoc=${w.cookie}; agp_mdoc=${w.cookie}`], ['a cookie one character longer', `${w.cookie}A`],
    ['a cookie one character shorter', w.cookie.slice(1)], ['a cookie with padding', `${w.cookie.slice(0, 42)}=`]]) {
    r2 = await wait(w.request.state, cookie);
    t2 = await r2.text();
    check(`wallet: /wait with ${what}: 403, go back to where you started`, r2.status === 403 && t2.includes('agepass-elsewhere')
      && !r2.headers.get('location'), `${r2.status}`);
  }
  const cliState = (await getRequest()).body.request.state;
  r2 = await wait(cliState, w.cookie);
  check('wallet: /wait with a state not made by /start: 400', r2.status === 400);
  r2 = await wait(w.request.state.slice(0, 74), w.cookie);
  check('wallet: /wait with a state cut short: 400', r2.status === 400);

  a = await fresh({ age_over_18: true });
  seen.push(Buffer.from(a.dk.pub.x, 'base64url'));
  const answer = await present(a.mdoc, a.dk, w.request);
  r = await postForm(answer, w.request.state);
  check('wallet: the EU wallet\'s answer: 200 {"redirect_uri": .../enroll/mdoc/wait?state=S}, no grant',
    r.status === 200 && r.body.redirect_uri === `${base}/enroll/mdoc/wait?state=${w.request.state}` && !('grant' in r.body),
    JSON.stringify(r));
  const storeBefore = Buffer.concat([fs.readFileSync(`${dir}/ist/store.sqlite`),
    fs.existsSync(`${dir}/ist/store.sqlite-wal`) ? fs.readFileSync(`${dir}/ist/store.sqlite-wal`) : Buffer.alloc(0)]);
  r = await postForm(answer, w.request.state);
  check('wallet: the same answer again: 409 reused_evidence', r.status === 409, JSON.stringify(r));
  for (const cookie of [null, otherB.cookie]) {
    r2 = await wait(w.request.state, cookie);
    t2 = await r2.text();
    check(`wallet: answered, /wait ${cookie === null ? 'without the cookie' : "with another browser's cookie"}: 403, no grant`,
      r2.status === 403 && !r2.headers.get('location') && !/grant=/.test(t2));
  }
  r2 = await wait(w.request.state, w.cookie);
  const loc = r2.headers.get('location') ?? '';
  const frag = new URLSearchParams(loc.split('#')[1] ?? '');
  check('wallet: /wait with the cookie: 303 to the wallet, the grant in the fragment, the cookie cleared',
    r2.status === 303 && loc.startsWith(`${base}/wallet/#grant=`) && /^[A-Za-z0-9_-]{43}$/.test(frag.get('grant'))
    && frag.get('age') === '18' && frag.get('tokens') === '30' && Number(frag.get('expires_in')) > 0
    && /^agp_mdoc=; .*Max-Age=0/.test(cookieOf(r2)), `${r2.status} ${loc.slice(0, 40)} ${cookieOf(r2)}`);
  const pickedGrant = frag.get('grant') ?? 'none';
  r2 = await wait(w.request.state, w.cookie);
  check('wallet: a second pickup gets nothing (the waiting page)', r2.status === 200 && !r2.headers.get('location'));
  check('wallet: the store held the grant sealed: neither the grant nor the pickup secret in it',
    !storeBefore.includes(Buffer.from(pickedGrant)) && !storeBefore.includes(Buffer.from(w.cookie, 'base64url'))
    && !storeBefore.includes(Buffer.from(w.cookie)));
  seen.push(Buffer.from(pickedGrant), Buffer.from(w.cookie), Buffer.from(w.cookie, 'base64url'), Buffer.from(w.request.state));
  const walletP = `${dir}/wallet-picked.json`;
  const en3 = spawnSync(AGEPASS, ['enroll', '--issuer', base, '--oidc', '--grant', pickedGrant, '--wallet', walletP]);
  const fe3 = spawnSync(AGEPASS, ['fetch', '--issuer', base, '--count', '2', '--wallet', walletP]);
  check('wallet: the picked-up grant gives tokens (agepass fetch --count 2)', en3.status === 0 && fe3.status === 0,
    `${en3.stderr} ${fe3.stderr}`);

  // a minor's attestation: refused, and the waiting page says so
  const wm = await start();
  a = await fresh({ age_over_18: false });
  r = await postForm(await present(a.mdoc, a.dk, wm.request), wm.request.state);
  check('wallet: a minor\'s attestation: 403 under_age to the EU wallet', r.status === 403 && r.body.error === 'under_age',
    JSON.stringify(r));
  r2 = await wait(wm.request.state, wm.cookie);
  t2 = await r2.text();
  check('wallet: ... /wait: 403 "not enrolled", no grant, the cookie cleared', r2.status === 403
    && t2.includes('data-reason="under_age"') && !r2.headers.get('location') && /Max-Age=0/.test(cookieOf(r2)));
  const m2 = await (await fetch(`${base}/metrics`)).text();
  check('wallet: counted as mdoc enrolments (4 accepted, under_age 2)',
    /enrolments_accepted_total\{source="mdoc"\} 4\b/.test(m2) && /refused_total\{source="mdoc",reason="under_age"\} 2\b/.test(m2));
} finally {
  issuer.kill('SIGTERM');
  await new Promise((r) => issuer.on('exit', r));
}
// Configuration: a trusted-list file serves; bad options stop serve with exit 2.
const serveArgs = (...extra) => ['issuer', 'serve', '--state', `${dir}/ist`, '--listen', `127.0.0.1:${port}`, ...extra];
fs.writeFileSync(`${dir}/trusted.txt`, '# test anchors\n\ntrusted-ca.pem\n');
const listed = spawn(AGEPASS, serveArgs('--mdoc-trusted-list', `${dir}/trusted.txt`, '--public-url', base),
  { stdio: 'ignore' });
try {
  let st = 0;
  for (let i = 0; i < 100 && st !== 200; i++) {
    st = await fetch(`${base}/enroll/mdoc/request`).then((x) => x.status, () => 0);
    if (st !== 200) await new Promise((res) => setTimeout(res, 50));
  }
  check('serve --mdoc-trusted-list FILE: the mdoc routes answer', st === 200, String(st));
} finally {
  listed.kill('SIGTERM');
  await new Promise((res) => listed.on('exit', res));
}
// Behind https (the public URL), the pickup cookie is Secure.
const tls = spawn(AGEPASS, serveArgs('--mdoc-trust', `${dir}/trusted-ca.pem`, '--public-url', 'https://ap.example',
  '--wallet-url', 'https://ap.example/wallet/'), { stdio: 'ignore' });
try {
  let sc = null;
  for (let i = 0; i < 100 && sc === null; i++) {
    sc = await fetch(`${base}/enroll/mdoc/start?wallet=1`).then((x) => x.headers.get('set-cookie') ?? '', () => null);
    if (sc === null) await new Promise((res) => setTimeout(res, 50));
  }
  check('--public-url https://...: the pickup cookie is Secure', /^agp_mdoc=[A-Za-z0-9_-]{43};.*; Secure$/.test(sc ?? ''), sc);
} finally {
  tls.kill('SIGTERM');
  await new Promise((res) => tls.on('exit', res));
}
fs.writeFileSync(`${dir}/empty.txt`, '# nothing\n');
fs.writeFileSync(`${dir}/not.pem`, 'hello\n');
for (const [what, args] of [
  ['without --public-url', ['--mdoc-trust', `${dir}/trusted-ca.pem`]],
  ['a missing PEM file', ['--mdoc-trust', `${dir}/none.pem`, '--public-url', base]],
  ['a file with no certificate', ['--mdoc-trust', `${dir}/not.pem`, '--public-url', base]],
  ['a trusted list naming nothing', ['--mdoc-trusted-list', `${dir}/empty.txt`, '--public-url', base]],
  ['a public URL that is not http(s)', ['--mdoc-trust', `${dir}/trusted-ca.pem`, '--public-url', 'ftp://x']],
]) {
  const bad = spawnSync(AGEPASS, serveArgs(...args), { timeout: 5000 });
  check(`serve refuses ${what}: exit 2`, bad.status === 2, `${bad.status} ${bad.stderr}`);
}

// The web wallet's pickup on Redis, across two instances of one issuer (one
// state folder, one Redis): the page begun on A, the EU wallet's answer
// taken by B, the grant picked up on A, once.
const hasRedis = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;
check('redis-server is installed (scripts/setup)', hasRedis);
if (hasRedis) {
  const rport = await freePort();
  const redis = spawn('redis-server', ['--port', String(rport), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const [pa, pb] = [await freePort(), await freePort()];
  const front = `http://127.0.0.1:${pa}`; // the public URL: both instances stand behind it
  const inst = [pa, pb].map((p) => spawn(AGEPASS, ['issuer', 'serve', '--state', `${dir}/ist`, '--listen', `127.0.0.1:${p}`,
    '--mdoc-trust', `${dir}/trusted-ca.pem`, '--public-url', front, '--wallet-url', `${front}/wallet/`,
    '--redis', `redis://127.0.0.1:${rport}/2`], { stdio: ['ignore', 'ignore', log] }));
  try {
    let up = 0;
    for (let i = 0; i < 100 && up < 2; i++) {
      up = (await Promise.all([pa, pb].map((p) => fetch(`http://127.0.0.1:${p}/metrics`).then(() => 1, () => 0))))
        .reduce((x, y) => x + y, 0);
      if (up < 2) await new Promise((res) => setTimeout(res, 50));
    }
    check('redis: two issuer instances up on one Redis', up === 2);
    const sr = await fetch(`${front}/enroll/mdoc/start?wallet=1`);
    const html = await sr.text();
    const link = (html.match(/id="agepass-eu-wallet" href="([^"]+)"/) ?? [])[1]?.replaceAll('&amp;', '&') ?? 'av://?';
    const rq = Object.fromEntries([...new URL(link.replace('av://', 'http://x/')).searchParams]
      .map(([k, v]) => [k, /^[{[]/.test(v) ? JSON.parse(v) : v]));
    const pc = ((sr.headers.get('set-cookie') ?? '').match(/^agp_mdoc=([^;]*)/) ?? [])[1] ?? '';
    const dk2 = newDeviceKey();
    const b2 = { dk: dk2, mdoc: await issue(trusted, dk2, { age_over_18: true }) };
    const ans = await fetch(`http://127.0.0.1:${pb}/enroll/mdoc/response`, { method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ vp_token: JSON.stringify({ age: [b64url(await present(b2.mdoc, b2.dk, rq))] }),
        state: rq.state }).toString() });
    check('redis: the answer taken by instance B: 200 and a redirect_uri', ans.status === 200
      && (await ans.json()).redirect_uri === `${front}/enroll/mdoc/wait?state=${rq.state}`);
    const rkeys = spawnSync('redis-cli', ['-p', String(rport), '-n', '2', '--scan', '--pattern', 'agepass:issuer:p:*']);
    const pkey = String(rkeys.stdout).trim();
    const ttl = Number(String(spawnSync('redis-cli', ['-p', String(rport), '-n', '2', 'expiretime', pkey]).stdout).trim());
    check('redis: one pickup key, expiring at an hour boundary', /^agepass:issuer:p:[0-9a-f]{64}$/.test(pkey)
      && ttl > 0 && ttl % 3600 === 0, `${pkey} ${ttl}`);
    const dump = spawnSync('redis-cli', ['-p', String(rport), '-n', '2', '--no-raw', 'hget', pkey, 'rec']);
    const picked = await fetch(`http://127.0.0.1:${pa}/enroll/mdoc/wait?state=${rq.state}`,
      { redirect: 'manual', headers: { Cookie: `agp_mdoc=${pc}` } });
    const g = new URLSearchParams((picked.headers.get('location') ?? '#').split('#')[1]).get('grant') ?? 'none';
    check('redis: picked up on instance A: 303 with the grant', picked.status === 303 && /^[A-Za-z0-9_-]{43}$/.test(g));
    check('redis: the stored record holds neither the grant nor the pickup secret in clear',
      dump.status === 0 && String(dump.stdout).length > 50 && !String(dump.stdout).includes(g)
      && !String(dump.stdout).includes(pc));
    seen.push(Buffer.from(g), Buffer.from(pc));
    const again = await fetch(`http://127.0.0.1:${pb}/enroll/mdoc/wait?state=${rq.state}`,
      { redirect: 'manual', headers: { Cookie: `agp_mdoc=${pc}` } });
    const left = spawnSync('redis-cli', ['-p', String(rport), '-n', '2', 'exists', pkey]);
    check('redis: a second pickup (instance B) gets nothing; the key is gone', again.status === 200
      && !again.headers.get('location') && String(left.stdout).trim() === '0');
  } finally {
    for (const p of [...inst, redis]) p.kill('SIGTERM');
    await Promise.all([...inst, redis].map((p) => new Promise((res) => (p.exitCode !== null ? res() : p.on('exit', res)))));
  }
}

// An expired state: a second instance on the same state folder with its
// clock 11 minutes on (libfaketime; it does not run under AddressSanitizer).
const libfaketime = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1']
  .find((f) => fs.existsSync(f));
const asan = /__asan_init/.test(String(spawnSync('nm', [AGEPASS]).stdout));
if (asan) console.log('# SKIP the expired pickup: libfaketime does not run under AddressSanitizer');
else if (!libfaketime) check('libfaketime is installed (scripts/setup)', false);
else {
  const [pn, pl] = [await freePort(), await freePort()];
  const args = (p) => ['issuer', 'serve', '--state', `${dir}/ist`, '--listen', `127.0.0.1:${p}`, '--mdoc-trust',
    `${dir}/trusted-ca.pem`, '--public-url', `http://127.0.0.1:${pn}`, '--wallet-url', `http://127.0.0.1:${pn}/wallet/`];
  const now = spawn(AGEPASS, args(pn), { stdio: ['ignore', 'ignore', log] });
  const later = spawn(AGEPASS, args(pl), { stdio: ['ignore', 'ignore', log],
    env: { ...process.env, LD_PRELOAD: libfaketime, FAKETIME: '+660', FAKETIME_DONT_FAKE_MONOTONIC: '1' } });
  try {
    let up = 0;
    for (let i = 0; i < 100 && up < 2; i++) {
      up = (await Promise.all([pn, pl].map((p) => fetch(`http://127.0.0.1:${p}/metrics`).then(() => 1, () => 0))))
        .reduce((x, y) => x + y, 0);
      if (up < 2) await new Promise((res) => setTimeout(res, 50));
    }
    const sr = await fetch(`http://127.0.0.1:${pn}/enroll/mdoc/start?wallet=1`);
    const html = await sr.text();
    const st = (html.match(/wait\?state=([A-Za-z0-9_-]+)/) ?? [])[1] ?? '';
    const pc = ((sr.headers.get('set-cookie') ?? '').match(/^agp_mdoc=([^;]*)/) ?? [])[1] ?? '';
    const ex = await fetch(`http://127.0.0.1:${pl}/enroll/mdoc/wait?state=${st}`,
      { redirect: 'manual', headers: { Cookie: `agp_mdoc=${pc}` } });
    const et = await ex.text();
    check('an expired state at /wait: 410, "expired", a link back to the wallet, the cookie cleared', up === 2
      && ex.status === 410 && et.includes('id="agepass-expired"') && et.includes(`href="http://127.0.0.1:${pn}/wallet/"`)
      && /Max-Age=0/.test(ex.headers.get('set-cookie') ?? '') && !ex.headers.get('location'), `${ex.status}`);
  } finally {
    for (const p of [now, later]) p.kill('SIGTERM');
    await Promise.all([now, later].map((p) => new Promise((res) => (p.exitCode !== null ? res() : p.on('exit', res)))));
  }
}

const logText = fs.readFileSync(`${dir}/issuer.log`);
const store = fs.readFileSync(`${dir}/ist/store.sqlite`);
const wal = fs.existsSync(`${dir}/ist/store.sqlite-wal`) ? fs.readFileSync(`${dir}/ist/store.sqlite-wal`) : Buffer.alloc(0);
check('the log and the store hold no device key and no certificate name',
  seen.every((b) => !logText.includes(b) && !store.includes(b) && !wal.includes(b)));
check('the log says why, without the evidence', /enrolment refused: invalid_evidence/.test(String(logText)));
check('no sanitizer report in the issuer log', !/Sanitizer|runtime error/.test(String(logText)));
if (failures() > 0) console.log(`issuer log:\n${String(logText).slice(0, 4000)}`);
fs.rmSync(dir, { recursive: true, force: true });
process.exit(finish());
