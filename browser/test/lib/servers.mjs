// SPDX-License-Identifier: Apache-2.0
// browser/test/lib/servers.mjs: the real servers a browser test talks to,
// all on loopback (run inside `unshare -n` with only `lo` up: see
// browsers.mjs, inNetns()). Reusable by every browser test (extension, web wallet).
//
//   const s = await startServers({ agepass, oidc: true });
//   s.issuerUrl        the age provider as browsers see it: nginx in front of
//                      `agepass issuer serve` (dev attester + OpenID Connect),
//                      with an access log, so s.issuerRequests() counts every
//                      request any client made to it
//   s.siteUrl          a page guarded by `agepass verifier serve` (trusting that
//                      issuer, --cross-origin) behind nginx with the shipped
//                      deploy/nginx snippets: `${s.siteUrl}` is /adult/
//   s.otherSiteUrl     a guarded page of a site that trusts another issuer only
//   s.aliasSiteUrl     s.siteUrl's page under another origin (127.0.0.4)
//   s.privateSiteUrl   ... and under a third one (127.0.0.5), for private windows
//   s.refusingUrl      a page of that site whose check never sees the token
//   s.siteBoundUrl     (siteBound: true) a guarded page of a site whose verifier
//                      runs --site-bound (127.0.0.3): it sends only a challenge
//                      bound to that site, so a token is minted at the visit
//   s.slowIssuer(on)   while on, the issuer's front sends its answers to
//                      token requests at 600 bytes/s (nginx limit_rate): a
//                      batch of 21 takes about 9 s to arrive
//   ${s.siteOrigin}/logout  clears the session cookie (Max-Age=0)
//   s.oidc             {issuer, accounts} of the npm oidc-provider (when oidc)
//   s.tlsSiteUrl       (tls: true) s.siteUrl's page over HTTPS (another port, a
//                      self-signed certificate for 127.0.0.1 made by openssl):
//                      the session cookie is Secure, and WebKit keeps a Secure
//                      cookie from https only, loopback included
//   s.walletUrl        with walletHost: DIR, the files of DIR served by a
//                      static host of their own (nginx, 127.0.0.1:another
//                      port, /wallet/), given to the issuer as --wallet-url;
//                      s.walletRequests() counts what it was asked
//   await s.verifierMetrics() / s.issuerMetrics()   Prometheus text as a Map
//   await s.kill(name) stops one of them, by its name in s.logs ('nginx' is
//                      the site and the issuer's front: the wallet offline)
//   await s.stop()     kills everything it started, removes its folder
//
// Hosts: the site is 127.0.0.1, the other site 127.0.0.2, the site-bound
// site 127.0.0.3, the issuer's front localhost (so their cookies never
// mix); every port is free-picked.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const ISSUER_NAME = 'ap.example';
export const SITE_CONTENT = 'ADULT CONTENT 7f3a';

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Resolves once something accepts TCP connections on host:port (5 s at most).
export async function waitPort(port, host = '127.0.0.1', ms = 5000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, host);
      c.once('connect', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${host}:${port}`);
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err}`))));
  });
}

export function parseMetrics(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

async function getText(url) {
  const res = await fetch(url);
  return res.text();
}

// nginx serving `site` with /adult/ guarded by the shipped snippets, talking
// to the verifier at verifierPort; `extra` is more server blocks.
function nginxConf(dir, { host, port, site, verifierPort, extra = '', tls = null }) {
  const upstream = readFileSync(path.join(repo, 'deploy/nginx/agepass-upstream.conf'), 'utf8')
    .replace('127.0.0.1:8081', `127.0.0.1:${verifierPort}`);
  writeFileSync(path.join(dir, 'agepass-upstream.conf'), upstream);
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
    include ${dir}/agepass-upstream.conf;
    server {
        listen ${host}:${port};
${tls ? `        listen ${host}:${tls.port} ssl;
        ssl_certificate ${tls.cert};
        ssl_certificate_key ${tls.key};
` : ''}${host === '127.0.0.1' ? `        listen 127.0.0.4:${port}; # the same site under other origins (consent tests)
        listen 127.0.0.5:${port};
` : ''}        root ${site};
        include ${repo}/deploy/nginx/agepass.conf;
        location /adult/ {
            include ${repo}/deploy/nginx/agepass-protect.conf;
            try_files $uri $uri/index.html =404;
        }
        # the site's logout: the session cookie cleared by the site itself
        # (browser/bench/wallet.mjs: a new visit each run, in every browser)
        location = /logout {
            add_header Set-Cookie "agepass_session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax";
            default_type text/plain;
            return 200 "logged out\n";
        }
        # a site that never takes a token (its check drops the Authorization
        # header): the client must stop after the second 401
        location = /_agepass/check-refusing {
            internal;
            proxy_pass http://agepass_verifier/auth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Authorization "";
            proxy_set_header Cookie "";
        }
        location /refusing/ {
            auth_request /_agepass/check-refusing;
            auth_request_set $agepass_challenge $upstream_http_www_authenticate;
            error_page 401 = @agepass_required;
            try_files $uri $uri/index.html =404;
        }
    }
${extra}
}
`;
}

export async function startServers({ agepass = path.join(repo, 'build/agepass'), oidc = true,
  issuerArgs = [], siteBound = false, walletHost = null, tls = false } = {}) {
  const work = mkdtempSync(path.join(tmpdir(), 'agp-browser-'));
  chmodSync(work, 0o755); // nginx workers run as an unprivileged user
  const procs = [];
  const logs = {};
  const named = {};
  const start = (name, cmd, args, opts) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    named[name] = p;
    logs[name] = '';
    p.stdout.on('data', (d) => { logs[name] += d; });
    p.stderr.on('data', (d) => { logs[name] += d; });
    procs.push(p);
    return p;
  };
  const stop = async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode !== null ? null
      : new Promise((r) => { p.once('exit', r); setTimeout(() => { p.kill('SIGKILL'); r(); }, 3000); }))));
    if (!process.env.AGP_KEEP) rmSync(work, { recursive: true, force: true });
  };
  try {
    const [issuerPort, frontPort, otherIssuerPort, verifierPort, sitePort, otherVerifierPort,
      otherSitePort, boundVerifierPort, boundSitePort, walletPort, tlsPort] = await Promise.all(Array.from({ length: 11 }, freePort));
    const issuerUrl = `http://localhost:${frontPort}`;
    const direct = `http://127.0.0.1:${issuerPort}`;

    // the OpenID Provider (tests/integration/oidc_provider.mjs)
    let op = null;
    const oidcArgs = [];
    if (oidc) {
      const secret = path.join(work, 'client-secret');
      writeFileSync(secret, 'browser-test-secret-' + Math.random().toString(36).slice(2), { mode: 0o600 });
      const p = start('oidc', process.execPath, [path.join(repo, 'tests/integration/oidc_provider.mjs'),
        `${issuerUrl}/enroll/oidc/callback`, secret], { cwd: path.join(repo, 'tests/integration') });
      op = await new Promise((resolve, reject) => {
        let buf = '';
        p.stdout.on('data', (d) => {
          buf += d;
          const nl = buf.indexOf('\n');
          if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
        });
        p.once('exit', (c) => reject(new Error(`oidc provider exited ${c}: ${logs.oidc}`)));
        setTimeout(() => reject(new Error('oidc provider did not start')), 10000);
      });
      oidcArgs.push('--oidc-provider', `${op.issuer},client_id=agepass-issuer,secret_file=${secret},name=op`);
    }

    // the trusted issuer, and another one no site of ours trusts but the other site
    await run(agepass, ['issuer', 'init', '--state', path.join(work, 'issuer'), '--name', ISSUER_NAME]);
    await run(agepass, ['issuer', 'init', '--state', path.join(work, 'other-issuer'), '--name', 'other.example']);
    // the web wallet on a static host of its own: another origin than the issuer's
    const walletUrl = walletHost ? `http://127.0.0.1:${walletPort}/wallet/` : null;
    const walletArgs = walletHost ? ['--wallet-url', walletUrl] : [];
    start('issuer', agepass, ['issuer', 'serve', '--state', path.join(work, 'issuer'),
      '--listen', `127.0.0.1:${issuerPort}`, '--insecure-dev-attester',
      '--request-uri', `${issuerUrl}/token-request`, '--public-url', issuerUrl, ...oidcArgs, ...walletArgs,
      ...issuerArgs]);
    start('other-issuer', agepass, ['issuer', 'serve', '--state', path.join(work, 'other-issuer'),
      '--listen', `127.0.0.1:${otherIssuerPort}`, '--insecure-dev-attester']);
    await Promise.all([waitPort(issuerPort), waitPort(otherIssuerPort)]);

    // the verifiers fetch the directories directly (not through the front:
    // the front counts clients' requests only)
    const dirPath = '/.well-known/private-token-issuer-directory';
    start('verifier', agepass, ['verifier', 'serve', '--state', path.join(work, 'verifier'),
      '--listen', `127.0.0.1:${verifierPort}`, '--origin', '127.0.0.1', '--cross-origin',
      '--trust', `${direct}${dirPath},name=${ISSUER_NAME}`]);
    start('other-verifier', agepass, ['verifier', 'serve', '--state', path.join(work, 'other-verifier'),
      '--listen', `127.0.0.1:${otherVerifierPort}`, '--origin', '127.0.0.2', '--cross-origin',
      '--trust', `http://127.0.0.1:${otherIssuerPort}${dirPath},name=other.example`]);
    if (siteBound) {
      start('bound-verifier', agepass, ['verifier', 'serve', '--state', path.join(work, 'bound-verifier'),
        '--listen', `127.0.0.1:${boundVerifierPort}`, '--origin', '127.0.0.3', '--site-bound',
        '--trust', `${direct}${dirPath},name=${ISSUER_NAME}`]);
    }
    await Promise.all([waitPort(verifierPort), waitPort(otherVerifierPort),
      ...(siteBound ? [waitPort(boundVerifierPort)] : [])]);

    // the sites, each its own nginx (the snippets name one upstream), the
    // issuer's front in the first one
    const site = path.join(work, 'site');
    mkdirSync(path.join(site, 'adult'), { recursive: true });
    writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>public</title><p>public page</p>\n');
    writeFileSync(path.join(site, 'adult/index.html'),
      `<!doctype html><meta charset=utf-8><title>Adults only</title><h1>Adults only</h1><p id="content">${SITE_CONTENT}</p>\n`);
    mkdirSync(path.join(site, 'refusing'));
    writeFileSync(path.join(site, 'refusing/index.html'), `<!doctype html><p id="content">${SITE_CONTENT}</p>\n`);
    writeFileSync(path.join(site, 'adult/second.html'),
      `<!doctype html><meta charset=utf-8><title>Second page</title><p id="content">${SITE_CONTENT} (second page)</p>\n`);
    const accessLog = path.join(work, 'issuer-access.log');
    const slowFlag = path.join(work, 'slow-issuer');
    const walletLog = path.join(work, 'wallet-access.log');
    const front = `    server {
        listen 127.0.0.1:${frontPort};
        access_log ${accessLog};
        location / {
            proxy_pass http://127.0.0.1:${issuerPort};
            proxy_set_header Host $http_host;
        }
        location = /token-request {
            set $agp_rate 0;
            if (-f ${slowFlag}) {
                set $agp_rate 600;
            }
            limit_rate $agp_rate;
            proxy_pass http://127.0.0.1:${issuerPort};
            proxy_set_header Host $http_host;
        }
    }
${walletHost ? `    server {
        listen 127.0.0.1:${walletPort};
        access_log ${walletLog};
        include /etc/nginx/mime.types;
        location /wallet/ {
            alias ${walletHost}/;
            add_header Cache-Control "max-age=86400"; # as the issuer serves it (src/wallet_files.c)
        }
    }` : ''}`;
    let siteTls = null;
    if (tls) {
      siteTls = { port: tlsPort, cert: path.join(work, 'site.crt'), key: path.join(work, 'site.key') };
      await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', siteTls.key, '-out', siteTls.cert]);
    }
    const sites = [['nginx', '127.0.0.1', sitePort, verifierPort, front],
      ['nginx-other', '127.0.0.2', otherSitePort, otherVerifierPort, '']];
    if (siteBound) sites.push(['nginx-bound', '127.0.0.3', boundSitePort, boundVerifierPort, '']);
    for (const [name, host, port, vport, extra] of sites) {
      const dir = path.join(work, name);
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'nginx.conf'), nginxConf(dir, { host, port, site, verifierPort: vport, extra,
        tls: name === 'nginx' ? siteTls : null }));
      start(name, 'nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir]);
    }
    await Promise.all([waitPort(sitePort), waitPort(frontPort), waitPort(otherSitePort, '127.0.0.2'),
      ...(siteBound ? [waitPort(boundSitePort, '127.0.0.3')] : []), walletHost ? waitPort(walletPort) : null,
      tls ? waitPort(tlsPort) : null]);

    return {
      work,
      logs,
      issuerUrl,
      issuerDirectUrl: direct,
      siteUrl: `http://127.0.0.1:${sitePort}/adult/`,
      siteOrigin: `http://127.0.0.1:${sitePort}`,
      tlsSiteUrl: tls ? `https://127.0.0.1:${tlsPort}/adult/` : null,
      otherSiteUrl: `http://127.0.0.2:${otherSitePort}/adult/`,
      // a page of the same site whose check never takes a token
      refusingUrl: `http://127.0.0.1:${sitePort}/refusing/`,
      // the same pages and verifier, under another origin
      aliasSiteUrl: `http://127.0.0.4:${sitePort}/adult/`,
      privateSiteUrl: `http://127.0.0.5:${sitePort}/adult/`,
      siteBoundUrl: siteBound ? `http://127.0.0.3:${boundSitePort}/adult/` : null,
      slowIssuer(on) {
        if (on) writeFileSync(slowFlag, '');
        else rmSync(slowFlag, { force: true });
      },
      oidc: op,
      walletUrl,
      walletRequests() {
        return existsSync(walletLog) ? readFileSync(walletLog, 'utf8').split('\n').filter(Boolean) : [];
      },
      // every request any client made to the issuer (its front's access log)
      issuerRequests() {
        return existsSync(accessLog) ? readFileSync(accessLog, 'utf8').split('\n').filter(Boolean) : [];
      },
      async issuerMetrics() { return parseMetrics(await getText(`${direct}/metrics`)); },
      async verifierMetrics() { return parseMetrics(await getText(`http://127.0.0.1:${verifierPort}/metrics`)); },
      async otherVerifierMetrics() { return parseMetrics(await getText(`http://127.0.0.1:${otherVerifierPort}/metrics`)); },
      async boundVerifierMetrics() { return parseMetrics(await getText(`http://127.0.0.1:${boundVerifierPort}/metrics`)); },
      async kill(name) {
        const p = named[name];
        if (!p || p.exitCode !== null || p.signalCode !== null) return;
        p.kill('SIGTERM');
        await new Promise((r) => { p.once('exit', r); setTimeout(() => { p.kill('SIGKILL'); r(); }, 3000); });
      },
      stop,
    };
  } catch (e) {
    await stop();
    e.message += `\n${Object.entries(logs).map(([k, v]) => `--- ${k}\n${v}`).join('\n')}`;
    throw e;
  }
}
