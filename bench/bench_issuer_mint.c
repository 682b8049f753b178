/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/bench_issuer_mint.c: makes N token request bodies for
 * bench_issuer.sh to send to `agepass issuer serve`, through the public API
 * only: agp_token_begin (the client's blinding) and, for batches,
 * agp_batch_request_write. Every TokenRequest has its own nonce and
 * blinding, as a real client's would; the client states are dropped (the
 * benchmark measures issuance, and bench_issuer.sh checks one answer with
 * the agepass CLI instead).
 *
 * Usage: bench_issuer_mint PUBLIC_DER CHALLENGE N BATCH OUT
 *   PUBLIC_DER  an issuer key's RFC 9578 SPKI (from its directory)
 *   CHALLENGE   a TokenChallenge as raw bytes (`agepass token challenge`)
 *   N           how many bodies, 1..1000000
 *   BATCH       0: each body one TokenRequest (259 bytes, for
 *               application/private-token-request); 1..30: each body a
 *               BatchTokenRequest of BATCH requests (2 + 259 * BATCH bytes)
 *   OUT         the bodies back to back, each of that fixed size
 * Exits 1 if any call fails (no partial file is left as a usable one).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agepass/batch.h"
#include "agepass/err.h"
#include "agepass/rsabssa.h"
#include "agepass/token.h"
#include "bench_util.h"

#define N_MAX 1000000ul

int main(int argc, char **argv)
{
    static uint8_t reqs[AGP_BATCH_MAX][AGP_TOKEN_REQUEST_LEN], body[AGP_BATCH_REQUEST_MAX];
    struct agp_key *pk = NULL;
    struct agp_token_state st;
    struct agp_batch_request b;
    struct agp_writer w;
    uint8_t *der, *challenge;
    size_t der_len, challenge_len, n, batch, i, j;
    agp_err err = AGP_OK;
    FILE *out;

    if (argc != 6) {
        fprintf(stderr, "usage: bench_issuer_mint PUBLIC_DER CHALLENGE N BATCH OUT\n");
        return 2;
    }
    if (!bench_count(argv[3], N_MAX, &n) || n == 0 ||
        !bench_count(argv[4], AGP_BATCH_MAX, &batch)) {
        fprintf(stderr, "bench_issuer_mint: N must be 1..%lu and BATCH 0..%d\n", N_MAX,
                AGP_BATCH_MAX);
        return 2;
    }
    der = bench_read_file("bench_issuer_mint", argv[1], &der_len);
    challenge = bench_read_file("bench_issuer_mint", argv[2], &challenge_len);
    if ((err = agp_key_load_spki(&pk, der, der_len)) != AGP_OK) {
        fprintf(stderr, "bench_issuer_mint: key: %s\n", agp_err_str(err));
        return 1;
    }
    if ((out = fopen(argv[5], "wb")) == NULL) {
        fprintf(stderr, "bench_issuer_mint: cannot write %s\n", argv[5]);
        return 1;
    }
    for (i = 0; i < n && err == AGP_OK; i++) {
        size_t k = batch == 0 ? 1 : batch;
        memset(&b, 0, sizeof b);
        for (j = 0; j < k && err == AGP_OK; j++) {
            err = agp_token_begin(pk, reqs[j], &st, challenge, challenge_len);
            if (err == AGP_OK)
                err = agp_token_request_parse(&b.req[j], reqs[j], AGP_TOKEN_REQUEST_LEN);
        }
        if (err != AGP_OK) break;
        if (batch == 0) {
            if (fwrite(reqs[0], 1, AGP_TOKEN_REQUEST_LEN, out) != AGP_TOKEN_REQUEST_LEN)
                err = AGP_ERR_IO;
            continue;
        }
        b.count = k;
        agp_writer_init(&w, body, sizeof body);
        if ((err = agp_batch_request_write(&w, &b)) == AGP_OK &&
            fwrite(body, 1, w.len, out) != w.len)
            err = AGP_ERR_IO;
    }
    agp_token_state_clear(&st);
    if (fclose(out) != 0 && err == AGP_OK) err = AGP_ERR_IO;
    if (err != AGP_OK) {
        fprintf(stderr, "bench_issuer_mint: %s\n", agp_err_str(err));
        remove(argv[5]);
        return 1;
    }
    agp_key_free(pk);
    free(der);
    free(challenge);
    return 0;
}
