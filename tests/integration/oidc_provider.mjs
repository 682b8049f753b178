// SPDX-License-Identifier: Apache-2.0
// tests/integration/oidc_provider.mjs: an OpenID Provider for the tests,
// the npm `oidc-provider` (OpenID Certified), on a free loopback port.
//
//   node oidc_provider.mjs REDIRECT_URI CLIENT_SECRET_FILE [REDIRECT_URI_ES256]
//
// Prints one JSON line on stdout once it listens: {"issuer": URL, "accounts":
// {...}} with the three test accounts (adult born 1990-05-01, a person 15
// today, a year-only "2000"), then serves until killed. Registers one
// confidential client, "agepass-issuer", with client_secret_basic, the given
// redirect_uri, PKCE required, RS256 ID tokens (keys made here), and with a
// third argument a second one, "agepass-issuer-es", with ES256 ID tokens.
// Each ID token issued is noted on stderr as "id_token alg ALG client ID"
// (its header only), so that a test can tell which algorithm it got. The claims
// parameter is enabled, so birthdate can be asked for in the ID token.
// devInteractions (login with any password, then consent) are driven by
// oidc_flow.mjs with plain HTTP requests; no browser.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const [redirectUri, secretFile, redirectUriEs] = process.argv.slice(2);
if (!redirectUri || !secretFile) {
  console.error('usage: node oidc_provider.mjs REDIRECT_URI CLIENT_SECRET_FILE');
  process.exit(2);
}
const clientSecret = readFileSync(secretFile, 'utf8').trim();

const today = new Date();
const pad = (n) => String(n).padStart(2, '0');
const fifteen = `${today.getUTCFullYear() - 15}-${pad(today.getUTCMonth() + 1)}-${pad(today.getUTCDate())}`;
const accounts = {
  'acct-adult-q7w3': { birthdate: '1990-05-01', name: 'Adelaide Quartermaine', email: 'adelaide.q@example.org' },
  'acct-teen-k2z9': { birthdate: fifteen, name: 'Teodor Kowalczykowski', email: 'teodor.k@example.org' },
  'acct-year-m5x1': { birthdate: '2000', name: 'Yolanda Marchetti', email: 'yolanda.m@example.org' },
};

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const client = (id, uri, alg) => ({
  client_id: id,
  client_secret: clientSecret,
  redirect_uris: [uri],
  response_types: ['code'],
  grant_types: ['authorization_code'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: alg,
});

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [client('agepass-issuer', redirectUri, 'RS256'),
      ...(redirectUriEs ? [client('agepass-issuer-es', redirectUriEs, 'ES256')] : [])],
    jwks: {
      keys: [{ ...rsa, kid: 'test-rsa-1', use: 'sig', alg: 'RS256' },
        { ...ec, kid: 'test-ec-1', use: 'sig', alg: 'ES256' }],
    },
    async findAccount(ctx, id) {
      if (!accounts[id]) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
    },
    claims: { openid: ['sub'], birthdate: ['birthdate'], profile: ['name', 'birthdate'], email: ['email'] },
    features: { devInteractions: { enabled: true }, claimsParameter: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    ttl: { AuthorizationCode: 60, IdToken: 300 },
  });
  provider.on('grant.success', (ctx) => {
    const idToken = ctx.body && ctx.body.id_token;
    if (!idToken) return;
    const header = JSON.parse(Buffer.from(idToken.split('.')[0], 'base64url'));
    console.error(`id_token alg ${header.alg} client ${ctx.oidc.client.clientId}`);
  });
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer, accounts }));
});
process.on('SIGTERM', () => process.exit(0));
