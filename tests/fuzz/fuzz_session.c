/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_verifier_session */
/*
 * tests/fuzz/fuzz_session.c: the verifier's reading of a Cookie header and
 * of its own session cookie (base64url, version, age class, two times, an
 * HMAC), with a fixed secret and a fixed clock so that runs replay.
 *
 * Oracle: no crash, no read past the input (it is copied to a buffer of
 * its exact size plus the NUL the API does not need), and a refreshed
 * cookie is written only for an accepted session, as a session cookie.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agepass/replay.h"
#include "agepass/verifier.h"
#include "fuzz.h"

#define NOW 1800000000

static struct agp_verifier *v;
static struct agp_replay *store;
static char dir[] = "/tmp/agp-fuzz-session-XXXXXX", path[64];

/* The store is never written to: session checks do not touch it. */
static void cleanup(void)
{
    agp_verifier_free(v);
    agp_replay_free(store);
    unlink(path);
    rmdir(dir);
}

static struct agp_verifier *verifier(void)
{
    if (v == NULL) {
        struct agp_verifier_config cfg = {"fuzz.example", 300, false, 86400, 1800, 43200};
        uint8_t secret[AGP_VERIFIER_SECRET_LEN];
        memset(secret, 7, sizeof secret);
        if (mkdtemp(dir) == NULL) abort();
        snprintf(path, sizeof path, "%s/replay.log", dir);
        if (agp_replay_open_file(&store, path, 1000) != AGP_OK ||
            agp_verifier_new(&v, &cfg, secret, store) != AGP_OK)
            abort();
        atexit(cleanup);
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char refresh[AGP_COOKIE_MAX], *header = malloc(size + 1);
    agp_err err;
    unsigned age;
    if (header == NULL) return 0;
    memcpy(header, data, size);
    header[size] = '\0';
    for (age = 16; age <= 21; age += 5) {
        err = agp_verifier_session(verifier(), refresh, sizeof refresh, header, size, age, NOW);
        FUZZ_CHECK(refresh[0] == '\0' ||
                   (err == AGP_OK && strncmp(refresh, "agepass_session=", 16) == 0));
    }
    free(header);
    return 0;
}
