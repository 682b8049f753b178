// SPDX-License-Identifier: Apache-2.0
// tests/integration/mdoc_lib.mjs: EU Proof-of-Age attestations made with an
// independent mdoc implementation (@animo-id/mdoc, pinned in package.json),
// shared by mdoc_peer.mjs and the web wallet's browser test
// (browser/wallet/test/wallet_mdoc.mjs): a test IACA and document signer
// made with the openssl CLI in a folder of the caller's, eu.europa.ec.av.1
// attestations, DeviceResponses signed over the OpenID4VP 1.0
// SessionTranscript of a request.
import { spawnSync } from 'node:child_process';
import nodeCrypto from 'node:crypto';
import fs from 'node:fs';
import { DataItem, DeviceResponse, Document, MDoc, cborEncode } from '@animo-id/mdoc';

export const b64url = (b) => Buffer.from(b).toString('base64url');

// --- a test PKI: an IACA and a document signer, and an untrusted look-alike
export const pki = (dir, name) => {
  const run = (cmd, args) => {
    const r = spawnSync(cmd, args, { cwd: dir });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  fs.writeFileSync(`${dir}/ds.ext`, 'keyUsage=critical,digitalSignature\nextendedKeyUsage=critical,1.0.18013.5.1.2\n');
  run('openssl', ['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}-ca.key`, '-out', `${name}-ca.pem`, '-days', '30', '-subj', '/CN=agepass test IACA/C=ZZ',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}-ds.key`, '-out', `${name}-ds.csr`, '-subj', '/CN=agepass test DS/C=ZZ']);
  run('openssl', ['x509', '-req', '-in', `${name}-ds.csr`, '-CA', `${name}-ca.pem`, '-CAkey', `${name}-ca.key`,
    '-CAcreateserial', '-out', `${name}-ds.pem`, '-days', '10', '-extfile', 'ds.ext']);
  return {
    key: nodeCrypto.createPrivateKey(fs.readFileSync(`${dir}/${name}-ds.key`)).export({ format: 'jwk' }),
    cert: fs.readFileSync(`${dir}/${name}-ds.pem`, 'utf8'),
  };
};

// The crypto the library delegates: node's, ES256 in IEEE P1363 (r || s) form.
const jwkKey = (jwk) => (jwk.d ? nodeCrypto.createPrivateKey({ key: jwk, format: 'jwk' })
  : nodeCrypto.createPublicKey({ key: jwk, format: 'jwk' }));
const ctx = {
  crypto: {
    random: (n) => new Uint8Array(nodeCrypto.randomBytes(n)),
    digest: ({ digestAlgorithm, bytes }) =>
      new Uint8Array(nodeCrypto.createHash(digestAlgorithm.replace('-', '').toLowerCase()).update(bytes).digest()),
    calculateEphemeralMacKeyJwk: () => { throw new Error('no MAC in OpenID4VP'); },
  },
  cose: {
    sign1: {
      sign: ({ sign1, jwk }) => new Uint8Array(nodeCrypto.sign('sha256', sign1.getRawSigningData().data,
        { key: jwkKey(jwk), dsaEncoding: 'ieee-p1363' })),
      verify: ({ sign1, jwk, options }) => {
        const { data, signature } = sign1.getRawVerificationData(options);
        return nodeCrypto.verify('sha256', data, { key: jwkKey(jwk), dsaEncoding: 'ieee-p1363' }, signature);
      },
    },
    mac0: { sign: () => { throw new Error('unused'); }, verify: () => { throw new Error('unused'); } },
  },
};
export const newDeviceKey = () => {
  const { privateKey } = nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const priv = privateKey.export({ format: 'jwk' });
  const { d, ...pub } = priv;
  return { priv, pub };
};

export const DOCTYPE = 'eu.europa.ec.av.1';
export const DAY = 86400e3;
// An attestation: `claims` in the eu.europa.ec.av.1 namespace, bound to `device`.
export const issue = async (signer, device, claims, { from = Date.now() - DAY, until = Date.now() + 30 * DAY } = {}) => {
  const doc = await new Document(DOCTYPE, ctx)
    .addIssuerNameSpace(DOCTYPE, claims)
    .useDigestAlgorithm('SHA-256')
    .addValidityInfo({ signed: new Date(from), validFrom: new Date(from), validUntil: new Date(until) })
    .addDeviceKeyInfo({ deviceKey: device.pub })
    .sign({ issuerPrivateKey: signer.key, issuerCertificate: signer.cert, alg: 'ES256' }, ctx);
  return new MDoc([doc]).encode();
};

// OpenID4VP 1.0 B.2.6.1, computed here independently of agepass:
// SessionTranscript = [null, null, ["OpenID4VPHandover", SHA-256(cbor([client_id, nonce, null, response_uri]))]]
const transcriptBytes = (clientId, nonce, responseUri) => {
  const info = cborEncode([clientId, nonce, null, responseUri]);
  const hash = new Uint8Array(nodeCrypto.createHash('sha256').update(info).digest());
  return cborEncode(DataItem.fromData([null, null, ['OpenID4VPHandover', hash]]));
};
export const present = async (mdoc, device, request, claim = 'age_over_18') => {
  const pd = {
    id: 'age',
    input_descriptors: [{
      id: DOCTYPE, format: { mso_mdoc: { alg: ['ES256'] } },
      constraints: { limit_disclosure: 'required', fields: [{ path: [`$['${DOCTYPE}']['${claim}']`], intent_to_retain: false }] },
    }],
  };
  const resp = await DeviceResponse.from(mdoc)
    .usingPresentationDefinition(pd)
    .usingSessionTranscriptBytes(transcriptBytes(request.client_id, request.nonce, request.response_uri))
    .authenticateWithSignature(device.priv, 'ES256')
    .sign(ctx);
  return resp.encode();
};

