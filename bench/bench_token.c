/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/bench_token.c: single-thread throughput of the token type 0x0002
 * flow (RFC 9578 §6) with an RSA-2048 key, through the public API only.
 *
 * Four figures, each an operation a party runs once per token:
 *   agepass_request_per_s     client: agp_token_begin (nonce, SHA-256 of the
 *                             challenge, PSS encode, blind)
 *   agepass_blind_sign_per_s  issuer: agp_token_issue on a prepared
 *                             TokenRequest (parse, RSASP1, the RFC 9474
 *                             s^e = m check)
 *   agepass_finalize_per_s    client: agp_token_finish (unblind, verify)
 *   agepass_verify_per_s      origin: agp_token_parse + agp_challenge_digest
 *                             + agp_token_verify, the full check
 *
 * Usage: bench_token [COUNT [FIGURE]]
 * Without COUNT (or with COUNT 0) each figure runs for about 2 seconds; with
 * it, each runs COUNT times. FIGURE (request, blind-sign, finalize, verify)
 * runs only that one, e.g. under `perf record`. Every call must return
 * AGP_OK, or the program stops with exit status 1, so a failing path is
 * never what gets timed. Output is one "name rate" line per figure on
 * stdout; details go to stderr.
 *
 * The issuer holds the private key made by agp_key_generate; the client and
 * the origin hold only its public half, loaded from the RFC 9578 SPKI as
 * they would be in practice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "agepass/buf.h"
#include "agepass/err.h"
#include "agepass/rsabssa.h"
#include "agepass/token.h"
#include "agepass/util.h"

#define BENCH_SECONDS 2.0
#define BENCH_WARMUP  8 /* untimed calls before each figure */
#define COUNT_MAX     100000000u

/* Everything the four operations read; built once by setup(). */
struct bench {
    struct agp_key *sk; /* issuer, private */
    struct agp_key *pk; /* client and origin, public, from the SPKI */
    uint8_t challenge[AGP_CHALLENGE_MAX];
    size_t challenge_len;
    uint8_t request[AGP_TOKEN_REQUEST_LEN];
    struct agp_token_state state;
    uint8_t response[AGP_TOKEN_RESPONSE_LEN];
    uint8_t token[AGP_TOKEN_LEN];
    /* scratch outputs of the timed calls */
    uint8_t out_request[AGP_TOKEN_REQUEST_LEN];
    struct agp_token_state out_state;
    uint8_t out_response[AGP_TOKEN_RESPONSE_LEN];
    uint8_t out_token[AGP_TOKEN_LEN];
};

static void die(const char *what, agp_err err)
{
    fprintf(stderr, "bench_token: %s: %s (%d)\n", what, agp_err_str(err), (int)err);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        perror("bench_token: clock_gettime");
        exit(1);
    }
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* client: challenge -> TokenRequest */
static agp_err op_request(struct bench *b)
{
    return agp_token_begin(b->pk, b->out_request, &b->out_state, b->challenge, b->challenge_len);
}

/* issuer: TokenRequest -> TokenResponse */
static agp_err op_blind_sign(struct bench *b)
{
    return agp_token_issue(b->sk, b->out_response, b->request, sizeof b->request);
}

/* client: TokenResponse -> Token */
static agp_err op_finalize(struct bench *b)
{
    return agp_token_finish(b->pk, b->out_token, &b->state, b->response, sizeof b->response);
}

/* origin: the full check of a Token against the challenge it sent */
static agp_err op_verify(struct bench *b)
{
    struct agp_token tok;
    uint8_t digest[AGP_SHA256_LEN];
    agp_err err = agp_token_parse(&tok, b->token, sizeof b->token);
    if (err == AGP_OK) err = agp_challenge_digest(digest, b->challenge, b->challenge_len);
    if (err == AGP_OK) err = agp_token_verify(b->pk, &tok, digest);
    return err;
}

/*
 * Runs op BENCH_WARMUP times untimed, then count times (count > 0) or for
 * BENCH_SECONDS (count == 0), and prints "name rate".
 */
static void measure(const char *name, agp_err (*op)(struct bench *), struct bench *b,
                    uint64_t count)
{
    uint64_t i, n = 0;
    double start, elapsed;
    agp_err err;

    for (i = 0; i < BENCH_WARMUP; i++)
        if ((err = op(b)) != AGP_OK) die(name, err);
    start = now_s();
    do {
        if ((err = op(b)) != AGP_OK) die(name, err);
        n++;
        elapsed = now_s() - start;
    } while (count > 0 ? n < count : elapsed < BENCH_SECONDS);
    printf("%s %.1f\n", name, (double)n / elapsed);
    fprintf(stderr, "# %s: %llu ops in %.3f s, %.2f us/op\n", name, (unsigned long long)n, elapsed,
            elapsed * 1e6 / (double)n);
    fflush(stdout);
}

/* Key pair, challenge, and one token's worth of messages, all checked. */
static void setup(struct bench *b)
{
    static const char issuer_name[] = "issuer.example";
    static const char origin_info[] = "origin.example";
    uint8_t context[AGP_REDEMPTION_CONTEXT_LEN], bad[AGP_TOKEN_LEN];
    uint8_t digest[AGP_SHA256_LEN];
    struct agp_challenge c;
    struct agp_writer w;
    struct agp_token tok;
    const uint8_t *spki;
    size_t spki_len;
    agp_err err;

    memset(b, 0, sizeof *b);
    if ((err = agp_key_generate(&b->sk, 2048)) != AGP_OK) die("agp_key_generate", err);
    spki = agp_key_spki(b->sk, &spki_len);
    if ((err = agp_key_load_spki(&b->pk, spki, spki_len)) != AGP_OK) die("agp_key_load_spki", err);

    if ((err = agp_random(context, sizeof context)) != AGP_OK) die("agp_random", err);
    c.token_type = AGP_TOKEN_TYPE_BLIND_RSA;
    c.issuer_name.ptr = (const uint8_t *)issuer_name;
    c.issuer_name.len = sizeof issuer_name - 1;
    c.redemption_context.ptr = context;
    c.redemption_context.len = sizeof context;
    c.origin_info.ptr = (const uint8_t *)origin_info;
    c.origin_info.len = sizeof origin_info - 1;
    agp_writer_init(&w, b->challenge, sizeof b->challenge);
    if ((err = agp_challenge_write(&w, &c)) != AGP_OK) die("agp_challenge_write", err);
    b->challenge_len = w.len;

    err = agp_token_begin(b->pk, b->request, &b->state, b->challenge, b->challenge_len);
    if (err != AGP_OK) die("agp_token_begin", err);
    err = agp_token_issue(b->sk, b->response, b->request, sizeof b->request);
    if (err != AGP_OK) die("agp_token_issue", err);
    err = agp_token_finish(b->pk, b->token, &b->state, b->response, sizeof b->response);
    if (err != AGP_OK) die("agp_token_finish", err);
    if ((err = op_verify(b)) != AGP_OK) die("verify of the first token", err);

    /* the origin check must be able to fail: a flipped authenticator bit */
    memcpy(bad, b->token, sizeof bad);
    bad[AGP_TOKEN_LEN - 1] ^= 1;
    if ((err = agp_challenge_digest(digest, b->challenge, b->challenge_len)) != AGP_OK)
        die("agp_challenge_digest", err);
    if ((err = agp_token_parse(&tok, bad, sizeof bad)) != AGP_OK) die("agp_token_parse", err);
    if (agp_token_verify(b->pk, &tok, digest) != AGP_ERR_SIGNATURE) {
        fprintf(stderr, "bench_token: a corrupted token was not rejected\n");
        exit(1);
    }
}

static const struct figure {
    const char *arg, *name;
    agp_err (*op)(struct bench *);
} figures[] = {
    {"request", "agepass_request_per_s", op_request},
    {"blind-sign", "agepass_blind_sign_per_s", op_blind_sign},
    {"finalize", "agepass_finalize_per_s", op_finalize},
    {"verify", "agepass_verify_per_s", op_verify},
};
#define N_FIGURES (sizeof figures / sizeof figures[0])

int main(int argc, char **argv)
{
    static struct bench b; /* static: keeps ~5 KiB of buffers off the stack */
    size_t count = 0;
    const char *only = argc > 2 ? argv[2] : NULL;
    size_t i, hits = 0;

    for (i = 0; only != NULL && i < N_FIGURES; i++)
        hits += strcmp(only, figures[i].arg) == 0;
    if (argc > 3 || (argc > 1 && !bench_count(argv[1], COUNT_MAX, &count)) ||
        (only != NULL && hits == 0)) {
        fprintf(stderr,
                "usage: bench_token [COUNT [FIGURE]]\n"
                "  COUNT   calls per figure, 1..%u; 0 or none: about %.0f s per figure\n"
                "  FIGURE  request, blind-sign, finalize or verify: only that one\n",
                COUNT_MAX, BENCH_SECONDS);
        return 2;
    }
    setup(&b);
    fprintf(stderr, "# RSA-2048, token type 0x0002, challenge %zu bytes, one thread\n",
            b.challenge_len);
    for (i = 0; i < N_FIGURES; i++)
        if (only == NULL || strcmp(only, figures[i].arg) == 0)
            measure(figures[i].name, figures[i].op, &b, count);

    agp_token_state_clear(&b.state);
    agp_token_state_clear(&b.out_state);
    agp_key_free(b.sk);
    agp_key_free(b.pk);
    return 0;
}
