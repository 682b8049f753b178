/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/token.c: `agepass token`, the low-level steps of token type 0x0002
 * on raw binary files, and the RFC 9577 headers that carry them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agepass/authhdr.h"
#include "agepass/directory.h"
#include "agepass/token.h"
#include "agepass/util.h"
#include "cli.h"

static const char usage[] =
    "usage: agepass token VERB [OPTIONS]    (files are raw bytes; '-' is stdin/stdout)\n"
    "\n"
    "  challenge --issuer-name NAME [--origin-info A,B] [--context empty|random|HEX] --out FILE\n"
    "      origin: write a TokenChallenge (RFC 9577 §2.1) for token type 0x0002\n"
    "  request --pub FILE --challenge FILE --state FILE --out FILE\n"
    "      client: write a TokenRequest; keep the blinding state in FILE (mode 0600)\n"
    "  issue --key FILE --in FILE --out FILE\n"
    "      issuer: blind-sign a TokenRequest into a TokenResponse\n"
    "  finalize --state FILE --in FILE --out FILE\n"
    "      client: unblind and verify a TokenResponse into a Token\n"
    "  verify --pub FILE --challenge FILE --in FILE\n"
    "      origin: exit 0 only if the Token is of type 0x0002, for this key,\n"
    "      for this challenge, and its signature verifies\n"
    "  header-challenge --challenge FILE [--pub FILE] [--max-age N]\n"
    "      print a WWW-Authenticate value\n"
    "  header-token --in FILE\n"
    "      print an Authorization value\n"
    "  parse-header --www-authenticate VALUE --out-challenge FILE [--out-pub FILE]\n"
    "      write the first type 0x0002 challenge (and its token-key) of a header\n"
    "  parse-header --authorization VALUE --out FILE\n"
    "      write the token of an Authorization value\n"
    "  directory --request-uri URI --pub FILE[,age=N][,not-before=UNIX_TIME]... --out FILE\n"
    "      write an issuer directory (RFC 9578 §4) naming these keys\n";

#define OPT_COUNT(o) (sizeof(o) / sizeof((o)[0]))
/* The value of option name in the verb's table o. */
#define OPT(name) cli_get(o, OPT_COUNT(o), name)

static int verb_challenge(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--issuer-name", .required = true},
                          {.name = "--origin-info"},
                          {.name = "--context"},
                          {.name = "--out", .required = true}};
    const char *name, *origins, *ctx;
    uint8_t context[AGP_REDEMPTION_CONTEXT_LEN], buf[AGP_CHALLENGE_MAX];
    struct agp_challenge c = {AGP_TOKEN_TYPE_BLIND_RSA, {NULL, 0}, {NULL, 0}, {NULL, 0}};
    struct agp_writer w;
    agp_err err;
    int rc;

    if ((rc = cli_parse(argc, argv, o, OPT_COUNT(o), usage)) != CLI_OK)
        return rc == CLI_HELP ? 0 : rc;
    name = OPT("--issuer-name");
    origins = OPT("--origin-info");
    ctx = OPT("--context");
    c.issuer_name = (struct agp_span){(const uint8_t *)name, strlen(name)};
    if (origins != NULL)
        c.origin_info = (struct agp_span){(const uint8_t *)origins, strlen(origins)};
    if (ctx == NULL || strcmp(ctx, "empty") == 0) {
        /* empty redemption context: a token that any such challenge accepts */
    } else if (strcmp(ctx, "random") == 0) {
        if ((err = agp_random(context, sizeof context)) != AGP_OK) return cli_fail("context", err);
        c.redemption_context = (struct agp_span){context, sizeof context};
    } else if (cli_parse_hex(context, sizeof context, ctx)) {
        c.redemption_context = (struct agp_span){context, sizeof context};
    } else {
        fprintf(stderr, "agepass: --context must be empty, random or 64 hex digits\n");
        return CLI_USAGE;
    }
    agp_writer_init(&w, buf, sizeof buf);
    if ((err = agp_challenge_write(&w, &c)) != AGP_OK) return cli_fail("challenge", err);
    return cli_output(OPT("--out"), buf, w.len, 0644);
}

static int verb_request(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--pub", .required = true},
                          {.name = "--challenge", .required = true},
                          {.name = "--state", .required = true},
                          {.name = "--out", .required = true}};
    struct agp_key *pk = NULL;
    struct agp_token_state st;
    uint8_t req[AGP_TOKEN_REQUEST_LEN], state_buf[AGP_TOKEN_STATE_MAX], *chal = NULL;
    size_t chal_len = 0;
    struct agp_writer w;
    agp_err err;
    int rc;

    memset(&st, 0, sizeof st);
    if ((rc = cli_parse(argc, argv, o, OPT_COUNT(o), usage)) != CLI_OK)
        return rc == CLI_HELP ? 0 : rc;
    if ((rc = cli_load_public(OPT("--pub"), &pk)) != CLI_OK) return rc;
    rc = cli_input(OPT("--challenge"), AGP_CHALLENGE_MAX + 1, &chal, &chal_len);
    if (rc != CLI_OK) goto out;
    rc = CLI_REJECTED;
    if ((err = agp_token_begin(pk, req, &st, chal, chal_len)) != AGP_OK) {
        cli_fail("request", err);
        goto out;
    }
    agp_writer_init(&w, state_buf, sizeof state_buf);
    if ((err = agp_token_state_write(&w, &st, pk)) != AGP_OK) {
        cli_fail("request: state", err);
        goto out;
    }
    if ((rc = cli_output(OPT("--state"), state_buf, w.len, 0600)) != CLI_OK) goto out;
    if ((rc = cli_output(OPT("--out"), req, sizeof req, 0644)) != CLI_OK) goto out;
    rc = CLI_OK;
out:
    agp_token_state_clear(&st);
    AGP_WIPE(state_buf);
    cli_free(chal, chal_len);
    agp_key_free(pk);
    return rc;
}

static int verb_issue(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--key", .required = true},
                          {.name = "--in", .required = true},
                          {.name = "--out", .required = true}};
    struct agp_key *sk = NULL;
    uint8_t resp[AGP_TOKEN_RESPONSE_LEN], *in = NULL;
    size_t in_len = 0;
    agp_err err;
    int rc;

    if ((rc = cli_parse(argc, argv, o, OPT_COUNT(o), usage)) != CLI_OK)
        return rc == CLI_HELP ? 0 : rc;
    if ((rc = cli_load_private(OPT("--key"), &sk)) != CLI_OK) return rc;
    rc = cli_input(OPT("--in"), AGP_TOKEN_REQUEST_LEN + 1, &in, &in_len);
    if (rc != CLI_OK) goto out;
    rc = CLI_REJECTED;
    if ((err = agp_token_issue(sk, resp, in, in_len)) != AGP_OK) {
        cli_fail("issue: token request", err);
        goto out;
    }
    if ((rc = cli_output(OPT("--out"), resp, sizeof resp, 0644)) != CLI_OK) goto out;
    rc = CLI_OK;
out:
    cli_free(in, in_len);
    agp_key_free(sk);
    return rc;
}

static int verb_finalize(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--state", .required = true},
                          {.name = "--in", .required = true},
                          {.name = "--out", .required = true}};
    struct agp_key *pk = NULL;
    struct agp_token_state st;
    struct agp_span spki;
    uint8_t token[AGP_TOKEN_LEN], *state_buf = NULL, *in = NULL;
    size_t state_len = 0, in_len = 0;
    agp_err err;
    int rc;

    memset(&st, 0, sizeof st);
    if ((rc = cli_parse(argc, argv, o, OPT_COUNT(o), usage)) != CLI_OK)
        return rc == CLI_HELP ? 0 : rc;
    rc = cli_input(OPT("--state"), AGP_TOKEN_STATE_MAX, &state_buf, &state_len);
    if (rc != CLI_OK) goto out;
    rc = cli_input(OPT("--in"), AGP_TOKEN_RESPONSE_LEN + 1, &in, &in_len);
    if (rc != CLI_OK) goto out;
    rc = CLI_REJECTED;
    if ((err = agp_token_state_parse(&st, &spki, state_buf, state_len)) != AGP_OK ||
        (err = agp_key_load_spki(&pk, spki.ptr, spki.len)) != AGP_OK) {
        cli_fail("finalize: state file", err);
        goto out;
    }
    if ((err = agp_token_finish(pk, token, &st, in, in_len)) != AGP_OK) {
        cli_fail("finalize: token response", err);
        goto out;
    }
    if ((rc = cli_output(OPT("--out"), token, sizeof token, 0644)) != CLI_OK) goto out;
    rc = CLI_OK;
out:
    agp_token_state_clear(&st);
    cli_free(state_buf, state_len);
    cli_free(in, in_len);
    agp_key_free(pk);
    return rc;
}

static int verb_verify(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--pub", .required = true},
                          {.name = "--challenge", .required = true},
                          {.name = "--in", .required = true}};
    struct agp_key *pk = NULL;
    struct agp_challenge c;
    struct agp_token tok;
    uint8_t digest[AGP_SHA256_LEN], *chal = NULL, *in = NULL;
    size_t chal_len = 0, in_len = 0;
    agp_err err;
    int rc;

    if ((rc = cli_parse(argc, argv, o, OPT_COUNT(o), usage)) != CLI_OK)
        return rc == CLI_HELP ? 0 : rc;
    if ((rc = cli_load_public(OPT("--pub"), &pk)) != CLI_OK) return rc;
    rc = cli_input(OPT("--challenge"), AGP_CHALLENGE_MAX + 1, &chal, &chal_len);
    if (rc != CLI_OK) goto out;
    rc = cli_input(OPT("--in"), AGP_TOKEN_LEN + 1, &in, &in_len);
    if (rc != CLI_OK) goto out;
    rc = CLI_REJECTED;
    if ((err = agp_challenge_parse(&c, chal, chal_len)) != AGP_OK) {
        cli_fail("verify: challenge", err);
        goto out;
    }
    if ((err = agp_challenge_digest(digest, chal, chal_len)) != AGP_OK ||
        (err = agp_token_parse(&tok, in, in_len)) != AGP_OK ||
        (err = agp_token_verify(pk, &tok, digest)) != AGP_OK) {
        cli_fail("verify: token", err);
        goto out;
    }
    printf("token valid\n");
    rc = CLI_OK;
out:
    cli_free(chal, chal_len);
    cli_free(in, in_len);
    agp_key_free(pk);
    return rc;
}

static int verb_header_challenge(int argc, char **argv)
{
    struct cli_opt o[] = {
        {.name = "--challenge", .required = true}, {.name = "--pub"}, {.name = "--max-age"}};
    struct agp_key *pk = NULL;
    const uint8_t *spki = NULL;
    size_t spki_len = 0, chal_len = 0, len = 0;
    uint8_t *chal = NULL;
    const char *max_age_s;
    uint64_t max_age = 0;
    char out[AGP_HEADER_MAX];
    agp_err err;
    int rc;

    if ((rc = cli_parse(argc, argv, o, OPT_COUNT(o), usage)) != CLI_OK)
        return rc == CLI_HELP ? 0 : rc;
    max_age_s = OPT("--max-age");
    if (max_age_s != NULL && !cli_parse_uint(max_age_s, AGP_MAX_AGE_MAX, &max_age)) {
        fprintf(stderr, "agepass: --max-age must be 0..%u seconds\n", AGP_MAX_AGE_MAX);
        return CLI_USAGE;
    }
    if (OPT("--pub") != NULL) {
        if ((rc = cli_load_public(OPT("--pub"), &pk)) != CLI_OK) return rc;
        spki = agp_key_spki(pk, &spki_len);
    }
    rc = cli_input(OPT("--challenge"), AGP_CHALLENGE_MAX + 1, &chal, &chal_len);
    if (rc != CLI_OK) goto out;
    rc = CLI_REJECTED;
    err = agp_www_auth_add(out, sizeof out, &len, chal, chal_len, spki, spki_len,
                           max_age_s != NULL ? (long)max_age : -1);
    if (err != AGP_OK) {
        cli_fail("header-challenge", err);
        goto out;
    }
    printf("%s\n", out);
    rc = CLI_OK;
out:
    cli_free(chal, chal_len);
    agp_key_free(pk);
    return rc;
}

static int verb_header_token(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--in", .required = true}};
    char out[AGP_B64_ENC_LEN(AGP_TOKEN_LEN) + 64];
    uint8_t *in = NULL;
    size_t in_len = 0, len;
    struct agp_token tok;
    agp_err err;
    int rc;

    if ((rc = cli_parse(argc, argv, o, OPT_COUNT(o), usage)) != CLI_OK)
        return rc == CLI_HELP ? 0 : rc;
    if ((rc = cli_input(OPT("--in"), AGP_TOKEN_LEN + 1, &in, &in_len)) != CLI_OK) return rc;
    rc = CLI_REJECTED;
    if ((err = agp_token_parse(&tok, in, in_len)) == AGP_OK)
        err = agp_authorization_write(out, sizeof out, &len, in, in_len);
    if (err == AGP_OK) {
        printf("%s\n", out);
        rc = CLI_OK;
    } else {
        cli_fail("header-token", err);
    }
    cli_free(in, in_len);
    return rc;
}

static int verb_parse_header(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--www-authenticate"},
                          {.name = "--out-challenge"},
                          {.name = "--out-pub"},
                          {.name = "--authorization"},
                          {.name = "--out"}};
    const char *www, *authz;
    agp_err err;
    size_t i;
    int rc;

    if ((rc = cli_parse(argc, argv, o, OPT_COUNT(o), usage)) != CLI_OK)
        return rc == CLI_HELP ? 0 : rc;
    www = OPT("--www-authenticate");
    authz = OPT("--authorization");
    if ((www == NULL) == (authz == NULL) || (www != NULL && OPT("--out-challenge") == NULL) ||
        (authz != NULL && OPT("--out") == NULL)) {
        fprintf(stderr,
                "agepass: give --www-authenticate with --out-challenge, or "
                "--authorization with --out\n%s",
                usage);
        return CLI_USAGE;
    }
    if (authz != NULL) {
        uint8_t token[AGP_TOKEN_LEN];
        size_t len;
        struct agp_token tok;
        if ((err = agp_authorization_parse(token, sizeof token, &len, authz, strlen(authz))) !=
                AGP_OK ||
            (err = agp_token_parse(&tok, token, len)) != AGP_OK)
            return cli_fail("authorization", err);
        return cli_output(OPT("--out"), token, len, 0644);
    }
    struct agp_www_auth *wa = malloc(sizeof *wa);
    if (wa == NULL) return cli_fail("www-authenticate", AGP_ERR_NOMEM);
    rc = CLI_REJECTED;
    if ((err = agp_www_auth_parse(wa, www, strlen(www))) != AGP_OK) {
        cli_fail("www-authenticate", err);
        goto out;
    }
    for (i = 0; i < wa->count; i++)
        if (wa->items[i].token_type == AGP_TOKEN_TYPE_BLIND_RSA) break;
    if (i == wa->count) {
        cli_fail("www-authenticate: no PrivateToken challenge of type 0x0002", AGP_ERR_NOT_FOUND);
        goto out;
    }
    if ((rc = cli_output(OPT("--out-challenge"), wa->items[i].challenge, wa->items[i].challenge_len,
                         0644)) != CLI_OK)
        goto out;
    if (OPT("--out-pub") != NULL) {
        if (wa->items[i].token_key_len == 0) {
            rc = cli_fail("www-authenticate: the challenge has no token-key", AGP_ERR_NOT_FOUND);
            goto out;
        }
        if ((rc = cli_output(OPT("--out-pub"), wa->items[i].token_key, wa->items[i].token_key_len,
                             0644)) != CLI_OK)
            goto out;
    }
    rc = CLI_OK;
out:
    free(wa);
    return rc;
}

static int verb_directory(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--request-uri", .required = true},
                          {.name = "--pub", .required = true, .kind = CLI_REPEAT},
                          {.name = "--out", .required = true}};
    struct agp_directory *d;
    const char *uri;
    char *json = NULL;
    size_t i, len;
    agp_err err;
    int rc;

    if ((rc = cli_parse(argc, argv, o, OPT_COUNT(o), usage)) != CLI_OK)
        return rc == CLI_HELP ? 0 : rc;
    uri = OPT("--request-uri");
    if (strlen(uri) == 0 || strlen(uri) > AGP_URI_MAX) {
        fprintf(stderr, "agepass: --request-uri must be 1..%d characters\n", AGP_URI_MAX);
        return CLI_USAGE;
    }
    if ((d = calloc(1, sizeof *d)) == NULL) return cli_fail("directory", AGP_ERR_NOMEM);
    memcpy(d->issuer_request_uri, uri, strlen(uri) + 1);
    rc = CLI_USAGE;
    for (i = 0; i < o[1].count; i++) {
        char spec[1024], *field, *next;
        struct agp_dir_key *k = &d->keys[d->count];
        struct agp_key *key = NULL;
        uint64_t num;
        const uint8_t *spki;
        if (strlen(o[1].values[i]) >= sizeof spec) goto out;
        memcpy(spec, o[1].values[i], strlen(o[1].values[i]) + 1);
        next = strchr(spec, ',');
        if (next) *next++ = '\0';
        while ((field = next) != NULL) {
            next = strchr(field, ',');
            if (next) *next++ = '\0';
            if (strncmp(field, "age=", 4) == 0 && cli_parse_uint(field + 4, 255, &num) && num > 0) {
                k->age = (unsigned)num;
            } else if (strncmp(field, "not-before=", 11) == 0 &&
                       cli_parse_uint(field + 11, INT64_MAX, &num)) {
                k->not_before = (int64_t)num;
                k->has_not_before = true;
            } else {
                fprintf(stderr, "agepass: --pub takes FILE[,age=N][,not-before=T], not '%s'\n",
                        o[1].values[i]);
                goto out;
            }
        }
        if ((rc = cli_load_public(spec, &key)) != CLI_OK) goto out;
        spki = agp_key_spki(key, &k->token_key_len);
        memcpy(k->token_key, spki, k->token_key_len);
        k->token_type = AGP_TOKEN_TYPE_BLIND_RSA;
        agp_key_free(key);
        d->count++;
        rc = CLI_USAGE;
    }
    rc = CLI_REJECTED;
    if ((err = agp_directory_write(d, &json, &len)) != AGP_OK) {
        cli_fail("directory", err);
        goto out;
    }
    rc = cli_output(OPT("--out"), (const uint8_t *)json, len, 0644);
out:
    free(json);
    free(d);
    return rc;
}

int cmd_token(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } verbs[] = {{"challenge", verb_challenge},
                 {"request", verb_request},
                 {"issue", verb_issue},
                 {"finalize", verb_finalize},
                 {"verify", verb_verify},
                 {"header-challenge", verb_header_challenge},
                 {"header-token", verb_header_token},
                 {"parse-header", verb_parse_header},
                 {"directory", verb_directory}};
    size_t i;
    if (argc < 1) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    for (i = 0; i < OPT_COUNT(verbs); i++)
        if (strcmp(argv[0], verbs[i].name) == 0) return verbs[i].fn(argc - 1, argv + 1);
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    fprintf(stderr, "agepass: unknown token verb '%s'\n%s", argv[0], usage);
    return CLI_USAGE;
}
