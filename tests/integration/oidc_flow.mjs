// SPDX-License-Identifier: Apache-2.0
// tests/integration/oidc_flow.mjs: a person's browser, for oidc.sh, with
// plain HTTP requests and a cookie jar (no browser).
//
//   node oidc_flow.mjs AGEPASS_ISSUER_URL ACCOUNT_ID OUT_CALLBACK_URL_FILE [AUTHORIZE_URL]
//
// GET <issuer>/enroll/oidc/start (JSON; ?provider=$OIDC_PROVIDER when that
// is set) unless AUTHORIZE_URL is given (as printed by
// `agepass enroll --oidc`), follow the provider's redirects,
// log in as ACCOUNT_ID on the provider's dev login form, consent, and stop
// at the redirect back to agepass: its URL (with code and state) goes to
// OUT_CALLBACK_URL_FILE, untouched, for oidc.sh to call (and replay).
import { writeFileSync } from 'node:fs';

const [base, account, out, given] = process.argv.slice(2);
const jar = new Map();

function keepCookies(res) {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    jar.set(pair.slice(0, i).trim(), pair.slice(i + 1));
  }
}
const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

async function request(url, opts = {}) {
  const res = await fetch(url, {
    ...opts, redirect: 'manual', headers: { ...(opts.headers || {}), cookie: cookieHeader() },
  });
  keepCookies(res);
  return res;
}

let url = given;
if (!url) {
  const which = process.env.OIDC_PROVIDER ? `?provider=${encodeURIComponent(process.env.OIDC_PROVIDER)}` : '';
  const start = await fetch(`${base}/enroll/oidc/start${which}`, { headers: { accept: 'application/json' } });
  if (start.status !== 200) throw new Error(`start: HTTP ${start.status}`);
  url = (await start.json()).authorize_url;
}
const callback = `${base}/enroll/oidc/callback`;
for (let step = 0; step < 12; step++) {
  if (url.startsWith(callback)) {
    writeFileSync(out, url);
    process.exit(0);
  }
  const res = await request(url);
  if (res.status >= 300 && res.status < 400) {
    url = new URL(res.headers.get('location'), url).href;
    continue;
  }
  const page = await res.text();
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}: ${page.slice(0, 300)}`);
  // a dev interaction page: a login form or a consent form
  const action = new URL(page.match(/action="([^"]+)"/)[1], url).href;
  const body = page.includes('name="login"')
    ? new URLSearchParams({ prompt: 'login', login: account, password: 'any' })
    : new URLSearchParams({ prompt: 'consent' });
  const sub = await request(action, {
    method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  if (sub.status < 300 || sub.status >= 400) throw new Error(`${action}: HTTP ${sub.status}`);
  url = new URL(sub.headers.get('location'), action).href;
}
throw new Error('no redirect back to agepass after 12 steps');
