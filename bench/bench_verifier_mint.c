/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/bench_verifier_mint.c: mints N tokens (type 0x0002) for one
 * TokenChallenge, for bench_verifier.sh's redemption run, through the public
 * API only: agp_token_begin (client), agp_token_issue (issuer),
 * agp_token_finish (client), agp_authorization_write. Each output line is
 * one Authorization value, `PrivateToken token="..."`, every token with its
 * own nonce, so each is good once.
 *
 * Usage: bench_verifier_mint PRIVATE_PEM PUBLIC_DER CHALLENGE N OUT [THREADS]
 *   PRIVATE_PEM, PUBLIC_DER  the issuer's key pair (`agepass keygen`)
 *   CHALLENGE                a TokenChallenge as raw bytes (`agepass token
 *                            parse-header --out-challenge`)
 *   THREADS                  minting threads (default: the online CPUs)
 * Every call must return AGP_OK, or the program exits 1 (no partial file is
 * left as a usable one). Prints "minted N in S s" on stderr.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "agepass/authhdr.h"
#include "agepass/err.h"
#include "agepass/rsabssa.h"
#include "agepass/token.h"

/* `PrivateToken token="` + base64 of 354 bytes + `"` + NUL, with room */
#define LINE_MAX_LEN 600
#define N_MAX        10000000ul
#define THREADS_MAX  64

struct job {
    const struct agp_key *sk, *pk;
    const uint8_t *challenge;
    size_t challenge_len;
    char *lines; /* N lines of LINE_MAX_LEN */
    size_t *lens;
    size_t from, to;
    agp_err err;
};

static void *mint(void *arg)
{
    struct job *j = arg;
    uint8_t request[AGP_TOKEN_REQUEST_LEN], response[AGP_TOKEN_RESPONSE_LEN];
    uint8_t token[AGP_TOKEN_LEN];
    struct agp_token_state st;
    size_t i;
    for (i = j->from; i < j->to; i++) {
        if ((j->err = agp_token_begin(j->pk, request, &st, j->challenge, j->challenge_len)) !=
                AGP_OK ||
            (j->err = agp_token_issue(j->sk, response, request, sizeof request)) != AGP_OK ||
            (j->err = agp_token_finish(j->pk, token, &st, response, sizeof response)) != AGP_OK ||
            (j->err = agp_authorization_write(j->lines + i * LINE_MAX_LEN, LINE_MAX_LEN,
                                              &j->lens[i], token, sizeof token)) != AGP_OK)
            break;
    }
    agp_token_state_clear(&st);
    return NULL;
}

int main(int argc, char **argv)
{
    struct agp_key *sk = NULL, *pk = NULL;
    uint8_t *pem, *der, *challenge;
    size_t pem_len, der_len, challenge_len, n, i, nthreads;
    char *lines;
    size_t *lens;
    pthread_t tid[THREADS_MAX];
    struct job jobs[THREADS_MAX];
    struct timespec t0, t1;
    agp_err err;
    FILE *out;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: bench_verifier_mint PRIVATE_PEM PUBLIC_DER CHALLENGE N OUT "
                        "[THREADS]\n");
        return 2;
    }
    if (!bench_count(argv[4], N_MAX, &n) || n == 0) {
        fprintf(stderr, "bench_verifier_mint: N must be 1..%lu\n", N_MAX);
        return 2;
    }
    nthreads = (size_t)(cpus > 0 ? cpus : 1);
    if (argc == 7 && !bench_count(argv[6], THREADS_MAX, &nthreads)) nthreads = 0;
    if (nthreads == 0 || nthreads > THREADS_MAX) {
        fprintf(stderr, "bench_verifier_mint: THREADS must be 1..%d\n", THREADS_MAX);
        return 2;
    }
    pem = bench_read_file("bench_verifier_mint", argv[1], &pem_len);
    der = bench_read_file("bench_verifier_mint", argv[2], &der_len);
    challenge = bench_read_file("bench_verifier_mint", argv[3], &challenge_len);
    if ((err = agp_key_load_private_pem(&sk, pem, pem_len)) != AGP_OK ||
        (err = agp_key_load_spki(&pk, der, der_len)) != AGP_OK) {
        fprintf(stderr, "bench_verifier_mint: keys: %s\n", agp_err_str(err));
        return 1;
    }
    lines = malloc(n * LINE_MAX_LEN);
    lens = calloc(n, sizeof *lens);
    if (lines == NULL || lens == NULL) {
        fprintf(stderr, "bench_verifier_mint: out of memory\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < nthreads; i++) {
        jobs[i] = (struct job){sk,    pk,   challenge,        challenge_len,
                               lines, lens, n * i / nthreads, n * (i + 1) / nthreads,
                               AGP_OK};
        if (pthread_create(&tid[i], NULL, mint, &jobs[i]) != 0) {
            fprintf(stderr, "bench_verifier_mint: pthread_create failed\n");
            return 1;
        }
    }
    err = AGP_OK;
    for (i = 0; i < nthreads; i++) {
        pthread_join(tid[i], NULL);
        if (jobs[i].err != AGP_OK) err = jobs[i].err;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (err != AGP_OK) {
        fprintf(stderr, "bench_verifier_mint: minting failed: %s\n", agp_err_str(err));
        return 1;
    }
    if ((out = fopen(argv[5], "w")) == NULL) {
        fprintf(stderr, "bench_verifier_mint: cannot write %s\n", argv[5]);
        return 1;
    }
    for (i = 0; i < n; i++) {
        fwrite(lines + i * LINE_MAX_LEN, 1, lens[i], out);
        fputc('\n', out);
    }
    if (fclose(out) != 0) {
        fprintf(stderr, "bench_verifier_mint: cannot write %s\n", argv[5]);
        return 1;
    }
    fprintf(stderr, "bench_verifier_mint: minted %zu in %.1f s with %zu threads\n", n,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9, nthreads);
    agp_key_free(sk);
    agp_key_free(pk);
    free(lines);
    free(lens);
    free(pem);
    free(der);
    free(challenge);
    return 0;
}
