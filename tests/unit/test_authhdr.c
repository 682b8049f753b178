/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_authhdr.c: the PrivateToken HTTP headers against RFC 9577
 * Appendix A.2 (including the grease vector), our own output read back, and
 * the malformed inputs a parser must survive.
 *
 * usage: test_authhdr VECTOR_DIR
 */
#include "agepass/authhdr.h"
#include "agepass/util.h"
#include "test.h"

static struct agp_www_auth wa, wa2;

/* The parsed challenges equal the vector's, grease (type 0) left out. */
static void expect_challenges(const struct agp_www_auth *got, json_t *want)
{
    size_t i, n = 0;
    for (i = 0; i < json_array_size(want); i++) {
        json_t *c = json_array_get(want, i);
        struct test_bytes ch, key;
        json_t *max_age = json_object_get(c, "max_age");
        if (json_integer_value(json_object_get(c, "token_type")) == 0) continue;
        EXPECT(n < got->count);
        if (n >= got->count) return;
        ch = test_json_hex(c, "token_challenge");
        key = test_json_hex(c, "token_key");
        EXPECT(got->items[n].token_type == json_integer_value(json_object_get(c, "token_type")));
        EXPECT(got->items[n].challenge_len == ch.len);
        EXPECT_BYTES(got->items[n].challenge, ch.ptr, ch.len);
        EXPECT(got->items[n].token_key_len == key.len);
        EXPECT_BYTES(got->items[n].token_key, key.ptr, key.len);
        EXPECT(got->items[n].has_max_age == (max_age != NULL));
        if (max_age != NULL) EXPECT(got->items[n].max_age == json_integer_value(max_age));
        free(ch.ptr), free(key.ptr);
        n++;
    }
    EXPECT(got->count == n);
}

/* Our writer's output for the same challenges parses back to them. */
static void check_reemit(const struct agp_www_auth *parsed)
{
    static char out[AGP_HEADER_MAX];
    size_t len = 0, i;
    for (i = 0; i < parsed->count; i++) {
        const struct agp_www_challenge *c = &parsed->items[i];
        EXPECT_OK(agp_www_auth_add(out, sizeof out, &len, c->challenge, c->challenge_len,
                                   c->token_key, c->token_key_len,
                                   c->has_max_age ? (long)c->max_age : -1));
    }
    EXPECT(strlen(out) == len);
    EXPECT_OK(agp_www_auth_parse(&wa2, out, len));
    EXPECT(wa2.count == parsed->count);
    for (i = 0; i < parsed->count && i < wa2.count; i++) {
        EXPECT(wa2.items[i].challenge_len == parsed->items[i].challenge_len);
        EXPECT_BYTES(wa2.items[i].challenge, parsed->items[i].challenge,
                     parsed->items[i].challenge_len);
        EXPECT(wa2.items[i].token_key_len == parsed->items[i].token_key_len);
        EXPECT(wa2.items[i].max_age == parsed->items[i].max_age);
    }
}

static size_t parse_count(const char *s)
{
    agp_err err = agp_www_auth_parse(&wa, s, strlen(s));
    return err == AGP_OK ? wa.count : (size_t)-1;
}

static void check_www_negative(const char *good_value)
{
    static char buf[AGP_HEADER_MAX + 2];
    size_t i, len = strlen(good_value);
    const char *ch = "AAIADmlzc3Vlci5leGFtcGxlAAAA"; /* type 2, issuer.example */
    char h[512];
    int ok_prefixes = 0;

    /* every prefix: no crash, and a prefix cut inside a quoted value fails */
    for (i = 0; i < len; i++) {
        agp_err err = agp_www_auth_parse(&wa, good_value, i);
        if (err == AGP_OK && wa.count > 0) ok_prefixes++;
    }
    EXPECT(ok_prefixes < (int)len / 2);
    snprintf(h, sizeof h, "PrivateToken challenge=\"%s", ch);
    EXPECT_ERR(agp_www_auth_parse(&wa, h, strlen(h)), AGP_ERR_SYNTAX);

    /* the minimal good challenge, then each way to spoil it */
    snprintf(h, sizeof h, "PrivateToken challenge=\"%s\"", ch);
    EXPECT(parse_count(h) == 1);
    EXPECT(wa.items[0].token_key_len == 0 && !wa.items[0].has_max_age);
    snprintf(h, sizeof h, "privatetoken CHALLENGE=%s , ,Max-Age = \"0\"", ch);
    EXPECT(parse_count(h) == 1);
    EXPECT(wa.items[0].has_max_age && wa.items[0].max_age == 0);
    snprintf(h, sizeof h, "PrivateToken challenge=\"%s\", challenge=\"%s\"", ch, ch);
    EXPECT(parse_count(h) == 0);                                 /* a parameter given twice */
    EXPECT(parse_count("PrivateToken token-key=\"AAAA\"") == 0); /* no challenge */
    EXPECT(parse_count("PrivateToken challenge=\"AAIADmlzc3Vlci5leGFtcGxlAAA\"") == 0);
    EXPECT(parse_count("PrivateToken challenge=\"AAIADmlzc3Vlci5leGFtcGxlAAAA!\"") == 0);
    EXPECT(parse_count("PrivateToken challenge=\"AAMADmlzc3Vlci5leGFtcGxlAAAA\"") == 0);
    snprintf(h, sizeof h, "PrivateToken challenge=\"%s\", max-age=\"-1\"", ch);
    EXPECT(parse_count(h) == 0);
    snprintf(h, sizeof h, "PrivateToken challenge=\"%s\", max-age=99999999999", ch);
    EXPECT(parse_count(h) == 0);
    snprintf(h, sizeof h, "PrivateToken challenge=\"%s\", token-key=\"\"", ch);
    EXPECT(parse_count(h) == 0);
    snprintf(h, sizeof h, "PrivateToken challenge=\"%s\", token-key=\"A\"", ch);
    EXPECT(parse_count(h) == 0);
    /* escapes in a quoted string are undone */
    EXPECT(parse_count("PrivateToken challenge=\"AAIADmlzc3Vlci5leGFtcGxl\\A\\A\\A\\A\"") == 1);
    /* other schemes around it, with token68 or parameters */
    snprintf(h, sizeof h, "Bearer abc==, PrivateToken challenge=\"%s\", Digest a=b, c=\"d\"", ch);
    EXPECT(parse_count(h) == 1);
    snprintf(h, sizeof h, "Negotiate, PrivateToken challenge=%s, PrivateToken challenge=%s", ch,
             ch);
    EXPECT(parse_count(h) == 2);
    /* grammar errors */
    /* a token68 where parameters belong is grammatical, but not a usable challenge */
    EXPECT(parse_count("PrivateToken challenge") == 0);
    EXPECT(parse_count("PrivateToken challenge=") == 0); /* a token68 again */
    EXPECT_ERR(agp_www_auth_parse(&wa, "PrivateToken a=\"b\" c", 20), AGP_ERR_SYNTAX);
    EXPECT_ERR(agp_www_auth_parse(&wa, "PrivateToken a=b c=d", 20), AGP_ERR_SYNTAX);
    EXPECT_ERR(agp_www_auth_parse(&wa, "=", 1), AGP_ERR_SYNTAX);
    EXPECT_ERR(agp_www_auth_parse(&wa, "PrivateToken a=\"\x01\"", 18), AGP_ERR_SYNTAX);
    EXPECT_OK(agp_www_auth_parse(&wa, "", 0));
    EXPECT(wa.count == 0);
    EXPECT_OK(agp_www_auth_parse(&wa, " , ", 3));
    /* more challenges than we keep: the first AGP_AUTH_MAX_CHALLENGES */
    buf[0] = '\0';
    for (i = 0; i < AGP_AUTH_MAX_CHALLENGES + 2; i++) {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, "%sPrivateToken challenge=\"%s\"", i ? ", " : "", ch);
    }
    EXPECT(parse_count(buf) == AGP_AUTH_MAX_CHALLENGES);
    /* a value longer than we keep: that challenge skipped, the next one kept */
    i = (size_t)snprintf(buf, sizeof buf, "PrivateToken challenge=\"");
    memset(buf + i, 'A', 4000);
    snprintf(buf + i + 4000, sizeof buf - i - 4000, "\", PrivateToken challenge=\"%s\"", ch);
    EXPECT(parse_count(buf) == 1);
    /* the whole header over the ceiling */
    memset(buf, ' ', AGP_HEADER_MAX + 1);
    EXPECT_ERR(agp_www_auth_parse(&wa, buf, AGP_HEADER_MAX + 1), AGP_ERR_TOO_BIG);
}

/*
 * Several WWW-Authenticate fields, as a site behind a proxy may send them:
 * each parsed on its own with agp_www_auth_parse_more; one that breaks the
 * grammar keeps the challenges of the others.
 */
static void check_www_fields(void)
{
    static char buf[AGP_HEADER_MAX + 1];
    const char *ch = "AAIADmlzc3Vlci5leGFtcGxlAAAA"; /* type 2, issuer.example */
    const char *broken = "Basic realm=\"unterminated";
    char h[512];
    size_t i;

    /* two good fields: the challenges of both, in order */
    snprintf(h, sizeof h, "PrivateToken challenge=\"%s\", max-age=\"1\"", ch);
    EXPECT_OK(agp_www_auth_parse(&wa, h, strlen(h)));
    snprintf(h, sizeof h, "Basic realm=\"x\", PrivateToken challenge=%s, max-age=2", ch);
    EXPECT_OK(agp_www_auth_parse_more(&wa, h, strlen(h)));
    EXPECT(wa.count == 2 && wa.items[0].max_age == 1 && wa.items[1].max_age == 2);
    /* a broken field first: its error, and the next field still counts */
    wa.count = 0;
    EXPECT_ERR(agp_www_auth_parse_more(&wa, broken, strlen(broken)), AGP_ERR_SYNTAX);
    EXPECT(wa.count == 0);
    snprintf(h, sizeof h, "PrivateToken challenge=\"%s\"", ch);
    EXPECT_OK(agp_www_auth_parse_more(&wa, h, strlen(h)));
    EXPECT(wa.count == 1);
    /* a broken field after a good one: the good one stays */
    EXPECT_ERR(agp_www_auth_parse_more(&wa, "PrivateToken a=b c=d", 20), AGP_ERR_SYNTAX);
    EXPECT(wa.count == 1);
    /* the same joined into one value: the break loses what follows it */
    snprintf(h, sizeof h, "Basic realm=\"unterminated, PrivateToken challenge=\"%s\"", ch);
    EXPECT_FAIL(agp_www_auth_parse(&wa, h, strlen(h)));
    EXPECT(wa.count == 0);
    /* empty fields add nothing */
    wa.count = 0;
    EXPECT_OK(agp_www_auth_parse_more(&wa, "", 0));
    EXPECT_OK(agp_www_auth_parse_more(&wa, " , ", 3));
    EXPECT(wa.count == 0);
    /* the ceiling holds across fields: 10 + 10 keeps AGP_AUTH_MAX_CHALLENGES */
    buf[0] = '\0';
    for (i = 0; i < 10; i++) {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, "%sPrivateToken challenge=\"%s\"", i ? ", " : "", ch);
    }
    EXPECT_OK(agp_www_auth_parse(&wa, buf, strlen(buf)));
    EXPECT(wa.count == 10);
    EXPECT_OK(agp_www_auth_parse_more(&wa, buf, strlen(buf)));
    EXPECT(wa.count == AGP_AUTH_MAX_CHALLENGES);
    EXPECT_OK(agp_www_auth_parse_more(&wa, buf, strlen(buf)));
    EXPECT(wa.count == AGP_AUTH_MAX_CHALLENGES);
    /* a count that is not one of ours is refused, not trusted */
    wa.count = AGP_AUTH_MAX_CHALLENGES + 1;
    EXPECT_ERR(agp_www_auth_parse_more(&wa, h, strlen(h)), AGP_ERR_ARG);
    /* each field has its own ceiling */
    wa.count = 0;
    memset(buf, ' ', sizeof buf);
    EXPECT_ERR(agp_www_auth_parse_more(&wa, buf, AGP_HEADER_MAX + 1), AGP_ERR_TOO_BIG);
}

static void check_authorization(const struct test_bytes *tok)
{
    char out[1024], h[1400];
    uint8_t dec[AGP_TOKEN_LEN + 8];
    size_t len, dlen;
    char b64[600];

    EXPECT_OK(agp_authorization_write(out, sizeof out, &len, tok->ptr, tok->len));
    EXPECT(strncmp(out, "PrivateToken token=\"", 20) == 0 && out[len - 1] == '"');
    EXPECT_OK(agp_authorization_parse(dec, sizeof dec, &dlen, out, len));
    EXPECT(dlen == tok->len);
    EXPECT_BYTES(dec, tok->ptr, tok->len);
    {
        char small[100];
        size_t small_len;
        EXPECT_ERR(agp_authorization_write(small, sizeof small, &small_len, tok->ptr, tok->len),
                   AGP_ERR_TOO_BIG);
        EXPECT(small_len == 0 && small[0] == '\0');
    }
    EXPECT_OK(agp_b64url_encode(b64, sizeof b64, NULL, tok->ptr, tok->len));
    /* unquoted, other case, extra parameters, whitespace */
    snprintf(h, sizeof h, "privatetoken  foo=bar,token=%s , x=\"y\"", b64);
    EXPECT_OK(agp_authorization_parse(dec, sizeof dec, &dlen, h, strlen(h)));
    EXPECT(dlen == tok->len);
    /* refusals */
    snprintf(h, sizeof h, "Bearer token=%s", b64);
    EXPECT_ERR(agp_authorization_parse(dec, sizeof dec, &dlen, h, strlen(h)), AGP_ERR_SYNTAX);
    snprintf(h, sizeof h, "PrivateToken token=%s, token=%s", b64, b64);
    EXPECT_ERR(agp_authorization_parse(dec, sizeof dec, &dlen, h, strlen(h)), AGP_ERR_SYNTAX);
    EXPECT_ERR(agp_authorization_parse(dec, sizeof dec, &dlen, "PrivateToken", 12), AGP_ERR_SYNTAX);
    EXPECT_ERR(agp_authorization_parse(dec, sizeof dec, &dlen, "PrivateToken x=y", 16),
               AGP_ERR_SYNTAX);
    EXPECT_ERR(agp_authorization_parse(dec, sizeof dec, &dlen, "PrivateToken token=\"a!\"", 23),
               AGP_ERR_ENCODING);
    EXPECT_ERR(agp_authorization_parse(dec, 10, &dlen, out, len), AGP_ERR_TOO_BIG);
    EXPECT_ERR(agp_authorization_parse(dec, sizeof dec, &dlen, out, len - 1), AGP_ERR_SYNTAX);
    EXPECT_ERR(agp_authorization_parse(dec, sizeof dec, &dlen, "", 0), AGP_ERR_SYNTAX);
    EXPECT(dlen == 0);
}

int main(int argc, char **argv)
{
    json_t *root, *headers, *tokens;
    size_t i;
    struct test_bytes tok;

    if (argc != 2) return 2;
    root = test_load_json(argv[1], "rfc9577.json");
    headers = json_object_get(root, "http_headers");
    EXPECT(json_array_size(headers) == 3);
    for (i = 0; i < json_array_size(headers); i++) {
        json_t *h = json_array_get(headers, i);
        const char *value = json_string_value(json_object_get(h, "www_authenticate"));
        EXPECT_OK(agp_www_auth_parse(&wa, value, strlen(value)));
        expect_challenges(&wa, json_object_get(h, "challenges"));
        check_reemit(&wa);
        if (i == 0) check_www_negative(value), check_www_fields();
    }
    json_decref(root);

    root = test_load_json(argv[1], "rfc9578-type2.json");
    tokens = json_object_get(root, "vectors");
    tok = test_json_hex(json_array_get(tokens, 0), "token");
    check_authorization(&tok);
    free(tok.ptr);
    json_decref(root);

    /* the writer refuses what the parser would skip */
    {
        char out[64];
        size_t len = 0;
        EXPECT_ERR(agp_www_auth_add(out, sizeof out, &len, (const uint8_t *)"\0\3\0\1a\0\0\0", 8,
                                    NULL, 0, -1),
                   AGP_ERR_TOKEN_TYPE);
        EXPECT_ERR(agp_www_auth_add(out, sizeof out, &len, (const uint8_t *)"\0\2\0\1a\0\0\0", 8,
                                    NULL, 0, (long)AGP_MAX_AGE_MAX + 1),
                   AGP_ERR_RANGE);
        EXPECT_ERR(
            agp_www_auth_add(out, 20, &len, (const uint8_t *)"\0\2\0\1a\0\0\0", 8, NULL, 0, -1),
            AGP_ERR_TOO_BIG);
        EXPECT(len == 0 && out[0] == '\0');
    }
    TEST_END();
}
