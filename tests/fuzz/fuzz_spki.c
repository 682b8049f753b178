/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_key_load_spki */
/*
 * tests/fuzz/fuzz_spki.c: the RFC 9578 §6.5 public key encoding, a DER
 * SubjectPublicKeyInfo with id-RSASSA-PSS and fixed parameters.
 *
 * Oracle: the loader accepts only the one encoding agp_key_spki writes, so
 * on success agp_key_spki returns exactly the input bytes, the modulus is
 * within the supported sizes and the key is public. The key is freed on
 * every path; a failed load gives no key (LeakSanitizer watches the rest).
 */
#include <string.h>

#include "agepass/rsabssa.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct agp_key *key = (struct agp_key *)&key; /* any non-NULL value */
    const uint8_t *spki;
    size_t spki_len = 0;

    if (agp_key_load_spki(&key, data, size) != AGP_OK) {
        FUZZ_CHECK(key == NULL);
        return 0;
    }
    FUZZ_CHECK(key != NULL);
    FUZZ_CHECK(!agp_key_is_private(key));
    FUZZ_CHECK(agp_key_len(key) >= AGP_RSA_MIN_LEN && agp_key_len(key) <= AGP_RSA_MAX_LEN);
    spki = agp_key_spki(key, &spki_len);
    FUZZ_CHECK(spki_len == size);
    FUZZ_CHECK(memcmp(spki, data, size) == 0);
    agp_key_free(key);
    return 0;
}
