/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_oidc_discovery_parse, agp_oidc_token_response_parse, agp_oidc_flow_open */
/*
 * tests/fuzz/fuzz_oidc_rp.c: what the issuer reads as an OpenID Connect
 * relying party besides the ID token (lib/attest_oidc.c): the provider's
 * discovery document, the token endpoint's response, and the state coming
 * back to the callback. Every input goes to all three.
 *
 * Oracle: a failure leaves the output zeroed; a discovery document that
 * parses holds three non-empty http(s) endpoints within the cap; a token
 * response that parses yields an id_token within the cap; a state that
 * opens (with the fixed key and clock) has the exact length, an expiry in
 * (now, now + max_ttl], a PKCE challenge equal to base64url(SHA-256(
 * verifier)), and opens again to the same flow.
 */
#include <stdbool.h>
#include <string.h>

#include "agepass/oidc.h"
#include "agepass/util.h"
#include "fuzz.h"

#define NOW     1800000000
#define MAX_TTL 720

static bool is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i] != 0) return false;
    return true;
}

static bool endpoint_ok(const char *u)
{
    size_t n = strnlen(u, AGP_OIDC_URL_MAX + 1);
    return n > 8 && n <= AGP_OIDC_URL_MAX &&
           (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                    7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    static struct agp_oidc_provider p;
    static char idt[AGP_OIDC_TOKEN_MAX + 1], at[AGP_OIDC_ACCESS_MAX + 1];
    static struct agp_oidc_flow f, g;
    const char *s = (const char *)data;
    uint8_t digest[32];
    char b64[64];
    size_t len;

    if (agp_oidc_discovery_parse(&p, s, size, "https://op.example") == AGP_OK)
        FUZZ_CHECK(endpoint_ok(p.authorization_endpoint) && endpoint_ok(p.token_endpoint) &&
                   endpoint_ok(p.jwks_uri) &&
                   (p.userinfo_endpoint[0] == '\0' || endpoint_ok(p.userinfo_endpoint)));
    else
        FUZZ_CHECK(is_zero(&p, sizeof p));

    if (agp_oidc_token_response_parse(idt, sizeof idt, at, sizeof at, s, size) == AGP_OK)
        FUZZ_CHECK(strnlen(idt, sizeof idt) <= AGP_OIDC_TOKEN_MAX &&
                   strnlen(at, sizeof at) <= AGP_OIDC_ACCESS_MAX && at[0] != '\0');
    else
        FUZZ_CHECK(is_zero(idt, sizeof idt) && is_zero(at, sizeof at));

    if (agp_oidc_flow_open(&f, key, s, size, NOW, MAX_TTL) == AGP_OK) {
        FUZZ_CHECK(size == AGP_OIDC_STATE_LEN && memcmp(f.state, s, size) == 0);
        FUZZ_CHECK(f.expires_at > NOW && f.expires_at <= NOW + MAX_TTL);
        FUZZ_CHECK(agp_sha256(digest, (const uint8_t *)f.verifier, strlen(f.verifier)) == AGP_OK);
        FUZZ_CHECK(agp_b64url_encode(b64, sizeof b64, &len, digest, sizeof digest) == AGP_OK);
        FUZZ_CHECK(strlen(f.challenge) == 43 && memcmp(f.challenge, b64, 43) == 0);
        FUZZ_CHECK(agp_oidc_flow_open(&g, key, s, size, NOW, MAX_TTL) == AGP_OK);
        FUZZ_CHECK(memcmp(&f, &g, sizeof f) == 0);
    } else {
        FUZZ_CHECK(is_zero(&f, sizeof f));
    }
    return 0;
}
