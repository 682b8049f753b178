/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_verifier.c: the site's verifier without HTTP: challenges,
 * every refusal reason, single use, windows, cross-origin mode, sessions,
 * a store that fails (closed), and what the replay log holds.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agepass/authhdr.h"
#include "agepass/token.h"
#include "agepass/util.h"
#include "agepass/verifier.h"
#include "test.h"

#define NOW      1800000000 /* a fixed clock, 2027-01-15 */
#define DAY      86400
#define KEYS_END (NOW + 200 * DAY) /* the expiry of the keys of make_verifier */

static struct agp_www_auth wa;
static struct agp_key *sk18, *sk21, *sk_untrusted;

static struct agp_key *public_of(const struct agp_key *sk)
{
    struct agp_key *pk = NULL;
    size_t len;
    const uint8_t *spki = agp_key_spki(sk, &len);
    if (agp_key_load_spki(&pk, spki, len) != AGP_OK) exit(2);
    return pk;
}

/* A token from sk for challenge ch, as an Authorization value; the nonce out. */
static void make_authz(char *out, size_t cap, const struct agp_key *sk, const uint8_t *ch,
                       size_t ch_len, uint8_t nonce[AGP_NONCE_LEN])
{
    uint8_t req[AGP_TOKEN_REQUEST_LEN], resp[AGP_TOKEN_RESPONSE_LEN], tok[AGP_TOKEN_LEN];
    struct agp_token_state st;
    size_t len;
    EXPECT_OK(agp_token_begin(sk, req, &st, ch, ch_len));
    EXPECT_OK(agp_token_issue(sk, resp, req, sizeof req));
    EXPECT_OK(agp_token_finish(sk, tok, &st, resp, sizeof resp));
    EXPECT_OK(agp_authorization_write(out, cap, &len, tok, sizeof tok));
    if (nonce) memcpy(nonce, tok + 2, AGP_NONCE_LEN);
}

/* The first challenge of class-18 key at time now, in *ch. */
static size_t first_challenge(struct agp_verifier *v, unsigned age, int64_t now, size_t index,
                              uint8_t *ch)
{
    static char www[AGP_HEADER_MAX];
    size_t len;
    EXPECT_OK(agp_verifier_challenge(v, www, sizeof www, &len, age, now));
    EXPECT_OK(agp_www_auth_parse(&wa, www, len));
    if (index >= wa.count) return 0;
    memcpy(ch, wa.items[index].challenge, wa.items[index].challenge_len);
    return wa.items[index].challenge_len;
}

static enum agp_refusal redeem(struct agp_verifier *v, const char *authz, unsigned age, int64_t now,
                               agp_err *err_out, char *cookie)
{
    enum agp_refusal why = AGP_REFUSAL_COUNT;
    char local[AGP_COOKIE_MAX];
    agp_err err = agp_verifier_redeem(v, &why, cookie ? cookie : local, AGP_COOKIE_MAX, authz,
                                      strlen(authz), age, now);
    if (err_out) *err_out = err;
    return err == AGP_OK ? AGP_REFUSED_NONE : why;
}

static struct agp_verifier *make_verifier(struct agp_replay *store, bool cross, const char *origin)
{
    struct agp_verifier_config cfg = {origin, 300, cross, AGP_KEY_LIFE_S, 1800, 43200};
    uint8_t secret[AGP_VERIFIER_SECRET_LEN];
    struct agp_verifier *v = NULL;
    memset(secret, 7, sizeof secret);
    EXPECT_OK(agp_verifier_new(&v, &cfg, secret, store));
    EXPECT_OK(agp_verifier_add_key(v, public_of(sk18), "issuer.example", 18, KEYS_END));
    EXPECT_OK(agp_verifier_add_key(v, public_of(sk21), "issuer.example", 21, KEYS_END));
    return v;
}

static void check_sessions(struct agp_verifier *v, const char *set_cookie)
{
    char cookie[512], refresh[AGP_COOKIE_MAX];
    const char *semi = strchr(set_cookie, ';');
    size_t n = semi ? (size_t)(semi - set_cookie) : strlen(set_cookie);

    EXPECT(strncmp(set_cookie, AGP_SESSION_COOKIE "=", strlen(AGP_SESSION_COOKIE) + 1) == 0);
    EXPECT(strstr(set_cookie, "HttpOnly") && strstr(set_cookie, "Secure") &&
           strstr(set_cookie, "SameSite=Lax"));
    EXPECT(strstr(set_cookie, "Max-Age") == NULL && strstr(set_cookie, "Expires") == NULL);
    snprintf(cookie, sizeof cookie, "theme=dark; %.*s; other=1", (int)n, set_cookie);
    EXPECT_OK(agp_verifier_session(v, refresh, sizeof refresh, cookie, strlen(cookie), 18, NOW));
    EXPECT(refresh[0] == '\0');
    /* refreshed after a minute, still valid under 30 idle minutes */
    EXPECT_OK(
        agp_verifier_session(v, refresh, sizeof refresh, cookie, strlen(cookie), 18, NOW + 600));
    EXPECT(refresh[0] != '\0');
    EXPECT_ERR(
        agp_verifier_session(v, refresh, sizeof refresh, cookie, strlen(cookie), 18, NOW + 1801),
        AGP_ERR_EXPIRED);
    EXPECT_ERR(agp_verifier_session(v, refresh, sizeof refresh, cookie, strlen(cookie), 21, NOW),
               AGP_ERR_RANGE);
    EXPECT_ERR(agp_verifier_session(v, refresh, sizeof refresh, "a=b", 3, 18, NOW),
               AGP_ERR_NOT_FOUND);
    /* a changed character breaks the MAC (or the encoding) */
    cookie[strlen("theme=dark; ") + strlen(AGP_SESSION_COOKIE) + 5] ^= 0x01;
    EXPECT_FAIL(agp_verifier_session(v, refresh, sizeof refresh, cookie, strlen(cookie), 18, NOW));
}

int main(void)
{
    char dir[] = "/tmp/agp-test-verifier-XXXXXX", path[256], authz[1024], first[1024];
    char cookie[AGP_COOKIE_MAX];
    uint8_t ch[AGP_CHALLENGE_MAX], nonce[AGP_NONCE_LEN];
    struct agp_replay *store = NULL, *store2 = NULL;
    struct agp_verifier *v, *other_site, *cross;
    struct agp_verifier_config bad = {"", 300, false, AGP_KEY_LIFE_S, 1800, 43200};
    uint8_t secret[AGP_VERIFIER_SECRET_LEN] = {0};
    size_t ch_len;
    agp_err err;
    FILE *f;

    if (mkdtemp(dir) == NULL) return 2;
    snprintf(path, sizeof path, "%s/replay.log", dir);
    EXPECT_OK(agp_key_generate(&sk18, 2048));
    EXPECT_OK(agp_key_generate(&sk21, 2048));
    EXPECT_OK(agp_key_generate(&sk_untrusted, 2048));
    EXPECT_OK(agp_replay_open_file(&store, path, 0));
    if (store == NULL) return 1;
    EXPECT_ERR(agp_verifier_new(&v, &bad, secret, store), AGP_ERR_ARG);
    v = make_verifier(store, false, "shop.example");
    EXPECT_ERR(agp_verifier_add_key(v, public_of(sk18), "issuer.example", 18, KEYS_END),
               AGP_ERR_ARG);
    EXPECT_ERR(agp_verifier_add_key(v, public_of(sk_untrusted), "issuer.example", 18, 0),
               AGP_ERR_ARG); /* a key without an end */

    /* challenges: one per key of the class or higher, with key and max-age */
    ch_len = first_challenge(v, 18, NOW, 0, ch);
    EXPECT(wa.count == 2 && wa.items[0].token_type == 2 && wa.items[0].has_max_age);
    EXPECT(wa.items[0].max_age > 300 && wa.items[0].max_age <= 600);
    EXPECT(wa.items[0].token_key_len == 342);
    {
        char www[AGP_HEADER_MAX];
        size_t len, spki_len;
        const uint8_t *spki21 = agp_key_spki(sk21, &spki_len);
        EXPECT(wa.items[1].token_key_len == spki_len &&
               memcmp(wa.items[1].token_key, spki21, spki_len) == 0);
        /* 16+: both keys prove it; 21+: only the class-21 key; 22+: none */
        EXPECT(first_challenge(v, 16, NOW, 0, ch) > 0 && wa.count == 2);
        EXPECT(first_challenge(v, 21, NOW, 0, ch) > 0 && wa.count == 1);
        EXPECT(wa.items[0].token_key_len == spki_len &&
               memcmp(wa.items[0].token_key, spki21, spki_len) == 0);
        EXPECT_ERR(agp_verifier_challenge(v, www, sizeof www, &len, 22, NOW), AGP_ERR_NOT_FOUND);
        ch_len = first_challenge(v, 18, NOW, 0, ch);
    }

    /* a good token: accepted once, with a session cookie; then a replay */
    make_authz(authz, sizeof authz, sk18, ch, ch_len, nonce);
    memcpy(first, authz, sizeof first);
    EXPECT(redeem(v, authz, 18, NOW, NULL, cookie) == AGP_REFUSED_NONE);
    check_sessions(v, cookie);
    EXPECT(redeem(v, authz, 18, NOW, &err, NULL) == AGP_REFUSED_REPLAY);
    EXPECT(err == AGP_ERR_REPLAY);
    /* the previous window is still good, older ones are stale */
    make_authz(authz, sizeof authz, sk18, ch, ch_len, NULL);
    EXPECT(redeem(v, authz, 18, NOW + 300, NULL, NULL) == AGP_REFUSED_NONE);
    make_authz(authz, sizeof authz, sk18, ch, ch_len, NULL);
    EXPECT(redeem(v, authz, 18, NOW + 900, NULL, NULL) == AGP_REFUSED_STALE_CHALLENGE);
    /* a higher class satisfies a lower requirement, not the other way round */
    make_authz(authz, sizeof authz, sk21, ch, ch_len, NULL);
    EXPECT(redeem(v, authz, 18, NOW, NULL, NULL) == AGP_REFUSED_NONE);
    make_authz(authz, sizeof authz, sk18, ch, ch_len, NULL);
    EXPECT(redeem(v, authz, 21, NOW, NULL, NULL) == AGP_REFUSED_WRONG_CLASS);
    EXPECT(redeem(v, authz, 16, NOW, NULL, cookie) == AGP_REFUSED_NONE);
    /* the session holds the key's class, not the class asked: 18 here */
    EXPECT_OK(agp_verifier_session(v, NULL, 0, cookie, strlen(cookie), 18, NOW));
    EXPECT_ERR(agp_verifier_session(v, NULL, 0, cookie, strlen(cookie), 21, NOW), AGP_ERR_RANGE);
    make_authz(authz, sizeof authz, sk21, ch, ch_len, NULL);
    EXPECT(redeem(v, authz, 18, NOW, NULL, cookie) == AGP_REFUSED_NONE);
    EXPECT_OK(agp_verifier_session(v, NULL, 0, cookie, strlen(cookie), 21, NOW));
    /* an untrusted issuer, a flipped byte, another site's challenge, garbage */
    make_authz(authz, sizeof authz, sk_untrusted, ch, ch_len, NULL);
    EXPECT(redeem(v, authz, 18, NOW, NULL, NULL) == AGP_REFUSED_UNKNOWN_KEY);
    make_authz(authz, sizeof authz, sk18, ch, ch_len, NULL);
    authz[strlen(authz) - 10] = authz[strlen(authz) - 10] == 'A' ? 'B' : 'A';
    EXPECT(redeem(v, authz, 18, NOW, NULL, NULL) == AGP_REFUSED_BAD_SIGNATURE);
    EXPECT_OK(agp_replay_open_file(&store2, "/tmp/agp-test-verifier-other.log", 0));
    other_site = make_verifier(store2, false, "other.example");
    ch_len = first_challenge(other_site, 18, NOW, 0, ch);
    make_authz(authz, sizeof authz, sk18, ch, ch_len, NULL);
    EXPECT(redeem(v, authz, 18, NOW, NULL, NULL) == AGP_REFUSED_WRONG_CHALLENGE);
    EXPECT(redeem(v, "PrivateToken token=\"AAAA\"", 18, NOW, NULL, NULL) == AGP_REFUSED_MALFORMED);
    EXPECT(redeem(v, "Bearer abc", 18, NOW, NULL, NULL) == AGP_REFUSED_MALFORMED);

    /* cross-origin tokens: refused unless enabled; then accepted once */
    cross = make_verifier(store2, true, "other.example");
    ch_len = first_challenge(cross, 18, NOW, 0, ch);
    EXPECT(wa.count == 4); /* cross-origin and site-bound, for each of two keys */
    {
        struct agp_challenge c;
        EXPECT_OK(agp_challenge_parse(&c, ch, ch_len));
        EXPECT(c.redemption_context.len == 0 && c.origin_info.len == 0);
    }
    make_authz(authz, sizeof authz, sk18, ch, ch_len, NULL);
    EXPECT(redeem(v, authz, 18, NOW, NULL, NULL) == AGP_REFUSED_WRONG_CHALLENGE);
    EXPECT(redeem(cross, authz, 18, NOW + 86000, NULL, NULL) == AGP_REFUSED_NONE);
    EXPECT(redeem(cross, authz, 18, NOW + 86000, NULL, NULL) == AGP_REFUSED_REPLAY);
    /* what a redemption spent, for the metrics: the key, its class, the scope */
    {
        struct agp_redeemed what;
        struct agp_verifier_key_info keys[AGP_VERIFIER_MAX_KEYS];
        enum agp_refusal why;
        char c[AGP_COOKIE_MAX], a2[1024];
        size_t site_len;
        uint8_t site[AGP_CHALLENGE_MAX];
        make_authz(a2, sizeof a2, sk21, ch, ch_len, NULL);
        EXPECT_OK(
            agp_verifier_redeem_info(cross, &what, &why, c, sizeof c, a2, strlen(a2), 18, NOW));
        EXPECT(what.cross_origin && what.age == 21 &&
               strcmp(what.issuer_name, "issuer.example") == 0);
        EXPECT(memcmp(what.key_id, agp_key_id(sk21), AGP_SHA256_LEN) == 0);
        /* a replay: refused, and nothing said of the key */
        EXPECT_ERR(
            agp_verifier_redeem_info(cross, &what, &why, c, sizeof c, a2, strlen(a2), 18, NOW),
            AGP_ERR_REPLAY);
        EXPECT(why == AGP_REFUSED_REPLAY && what.age == 0 && what.issuer_name[0] == '\0');
        /* a site-bound token of the same verifier (the second challenge of the header) */
        site_len = first_challenge(cross, 18, NOW, 1, site);
        EXPECT(site_len > 40);
        make_authz(a2, sizeof a2, sk18, site, site_len, NULL);
        EXPECT_OK(
            agp_verifier_redeem_info(cross, &what, &why, c, sizeof c, a2, strlen(a2), 18, NOW));
        EXPECT(!what.cross_origin && what.age == 18);
        /* the keys, as the metrics list them */
        EXPECT(agp_verifier_list_keys(cross, keys, AGP_VERIFIER_MAX_KEYS) == 2);
        EXPECT(keys[0].age == 18 && keys[1].age == 21 && keys[0].expires_at == KEYS_END);
        EXPECT(memcmp(keys[1].key_id, agp_key_id(sk21), AGP_SHA256_LEN) == 0);
        EXPECT(strcmp(keys[1].issuer_name, "issuer.example") == 0);
        EXPECT(agp_verifier_list_keys(cross, keys, 1) == 1);
        EXPECT(agp_verifier_list_keys(cross, keys, 0) == 0);
    }
    /*
     * issue 10 item 2: a spent cross-origin token stays spent for as long as
     * its key is accepted (it came back after 90 days), and the key is
     * refused from its end on.
     */
    EXPECT(redeem(cross, authz, 18, NOW + 100 * DAY, NULL, NULL) == AGP_REFUSED_REPLAY);
    EXPECT(redeem(cross, authz, 18, KEYS_END - 1, NULL, NULL) == AGP_REFUSED_REPLAY);
    EXPECT(redeem(cross, authz, 18, KEYS_END, &err, NULL) == AGP_REFUSED_EXPIRED_KEY);
    EXPECT(err == AGP_ERR_EXPIRED);
    EXPECT(strcmp(agp_refusal_name(AGP_REFUSED_EXPIRED_KEY), "expired_key") == 0);
    make_authz(authz, sizeof authz, sk18, ch, ch_len, NULL); /* a fresh one, too */
    EXPECT(redeem(cross, authz, 18, KEYS_END + DAY, NULL, NULL) == AGP_REFUSED_EXPIRED_KEY);
    {
        char www[AGP_HEADER_MAX];
        size_t len;
        EXPECT_ERR(agp_verifier_challenge(cross, www, sizeof www, &len, 18, KEYS_END),
                   AGP_ERR_NOT_FOUND); /* an expired key is named in no challenge */
    }

    /* keys from a trust source: published early, used from not_before, retired */
    {
        struct agp_key *sk_next = NULL;
        struct agp_verifier_key in[2];
        size_t dropped = 99;
        EXPECT_OK(agp_key_generate(&sk_next, 2048));
        in[0] = (struct agp_verifier_key){public_of(sk_next), "issuer.example", 18, NOW + 1000, 0};
        in[1] = (struct agp_verifier_key){public_of(sk18), "issuer.example", 18, 0, 0};
        EXPECT_OK(agp_verifier_replace_keys(v, 1, in, 2, &dropped));
        EXPECT(dropped == 1); /* sk18 is trusted already, from source 0 */
        first_challenge(v, 18, NOW, 0, ch);
        EXPECT(wa.count == 2); /* the next key is not named before its time */
        ch_len = first_challenge(v, 18, NOW + 1000, 2, ch);
        EXPECT(wa.count == 3);
        make_authz(authz, sizeof authz, sk_next, ch, ch_len, NULL);
        EXPECT(redeem(v, authz, 18, NOW + 1000, NULL, NULL) == AGP_REFUSED_NONE);
        make_authz(authz, sizeof authz, sk_next, ch, ch_len, NULL);
        EXPECT_OK(agp_verifier_replace_keys(v, 1, NULL, 0, NULL)); /* retired */
        EXPECT(redeem(v, authz, 18, NOW + 1000, NULL, NULL) == AGP_REFUSED_UNKNOWN_KEY);
        first_challenge(v, 18, NOW + 1000, 0, ch);
        EXPECT(wa.count == 2);
        agp_key_free(sk_next);
    }

    /*
     * a directory key is accepted AGP_KEY_LIFE_S after its not_before, and a
     * later directory cannot push that end back: spent tokens are kept only
     * until the first end.
     */
    {
        struct agp_key *sk_dir = NULL;
        struct agp_verifier_key in[1];
        int64_t nb = NOW - 10 * DAY, end = nb + AGP_KEY_LIFE_S;
        EXPECT_OK(agp_key_generate(&sk_dir, 2048));
        in[0] = (struct agp_verifier_key){public_of(sk_dir), "issuer.example", 18, nb, 0};
        EXPECT_OK(agp_verifier_replace_keys(cross, 2, in, 1, NULL));
        ch_len = first_challenge(cross, 18, NOW, 0, ch); /* its cross-origin challenge */
        make_authz(authz, sizeof authz, sk_dir, ch, ch_len, NULL);
        EXPECT(redeem(cross, authz, 18, NOW, NULL, NULL) == AGP_REFUSED_NONE);
        EXPECT(redeem(cross, authz, 18, end - 1, NULL, NULL) == AGP_REFUSED_REPLAY);
        in[0] =
            (struct agp_verifier_key){public_of(sk_dir), "issuer.example", 18, nb + 50 * DAY, 0};
        EXPECT_OK(agp_verifier_replace_keys(cross, 2, in, 1, NULL));
        EXPECT(redeem(cross, authz, 18, end, NULL, NULL) == AGP_REFUSED_EXPIRED_KEY);
        agp_key_free(sk_dir);
    }

    /* a store that cannot be reached: refused as a store error, never accepted */
#ifdef AGP_WITH_REDIS
    {
        struct agp_replay *down = NULL;
        struct agp_verifier *v3;
        EXPECT_OK(agp_replay_open_redis(&down, "redis://127.0.0.1:1", "t:", 200));
        v3 = make_verifier(down, false, "shop.example");
        ch_len = first_challenge(v3, 18, NOW, 0, ch);
        make_authz(authz, sizeof authz, sk18, ch, ch_len, NULL);
        EXPECT(redeem(v3, authz, 18, NOW, &err, NULL) == AGP_REFUSED_STORE);
        EXPECT(err == AGP_ERR_IO);
        agp_verifier_free(v3);
        agp_replay_free(down);
    }
#endif

    /* privacy: the replay log holds no nonce, and the store survives a reopen */
    agp_verifier_free(v);
    agp_replay_free(store);
    f = fopen(path, "rb");
    EXPECT(f != NULL);
    if (f != NULL) {
        uint8_t buf[65536];
        size_t n = fread(buf, 1, sizeof buf, f), i, hits = 0;
        fclose(f);
        EXPECT(n > 16);
        for (i = 0; i + 8 <= n; i++)
            if (memcmp(buf + i, nonce, 8) == 0) hits++;
        EXPECT(hits == 0);
    }
    EXPECT_OK(agp_replay_open_file(&store, path, 0));
    v = make_verifier(store, false, "shop.example");
    /* the first token is still spent after the restart */
    EXPECT(redeem(v, first, 18, NOW, NULL, NULL) == AGP_REFUSED_REPLAY);

    agp_verifier_free(v);
    agp_verifier_free(other_site);
    agp_verifier_free(cross);
    agp_replay_free(store);
    agp_replay_free(store2);
    agp_key_free(sk18), agp_key_free(sk21), agp_key_free(sk_untrusted);
    unlink(path);
    unlink("/tmp/agp-test-verifier-other.log");
    rmdir(dir);
    TEST_END();
}
