/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/keygen.c: `agepass keygen`, an issuer key pair on disk.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agepass/util.h"
#include "cli.h"

static const char usage[] =
    "usage: agepass keygen --out DIR [--bits 2048]\n"
    "\n"
    "Makes an RSA issuer key for token type 0x0002 and writes\n"
    "  DIR/issuer-private.pem  PKCS#8, rsaEncryption (OpenSSL and WebCrypto load it), mode 0600\n"
    "  DIR/issuer-public.der   the RFC 9578 SubjectPublicKeyInfo (id-RSASSA-PSS), the token-key\n"
    "and prints token_key_id (SHA-256 of the public key) in hex.\n"
    "Token type 0x0002 is defined for 2048-bit keys; 3072 and 4096 serve the\n"
    "blind-signature layer only.\n";

int cmd_keygen(int argc, char **argv)
{
    struct cli_opt opts[] = {{.name = "--out", .required = true}, {.name = "--bits"}};
    size_t n = sizeof opts / sizeof opts[0], spki_len, pem_len = 0, i;
    const char *dir, *bits_s;
    uint64_t bits = 2048;
    struct agp_key *key = NULL;
    char *pem = NULL, path[4096];
    const uint8_t *spki, *id;
    agp_err err;
    int rc;

    if ((rc = cli_parse(argc, argv, opts, n, usage)) != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    dir = cli_get(opts, n, "--out");
    bits_s = cli_get(opts, n, "--bits");
    if (bits_s != NULL &&
        (!cli_parse_uint(bits_s, 4096, &bits) || (bits != 2048 && bits != 3072 && bits != 4096))) {
        fprintf(stderr, "agepass: --bits must be 2048, 3072 or 4096\n%s", usage);
        return CLI_USAGE;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return cli_fail(dir, AGP_ERR_IO);
    if ((err = agp_key_generate(&key, (unsigned)bits)) != AGP_OK) return cli_fail("keygen", err);
    rc = CLI_REJECTED;
    if ((err = agp_key_private_pem(key, &pem, &pem_len)) != AGP_OK) {
        cli_fail("keygen", err);
        goto out;
    }
    snprintf(path, sizeof path, "%s/issuer-private.pem", dir);
    if ((err = cli_write(path, (const uint8_t *)pem, pem_len, 0600)) != AGP_OK) {
        cli_fail(path, err);
        goto out;
    }
    spki = agp_key_spki(key, &spki_len);
    snprintf(path, sizeof path, "%s/issuer-public.der", dir);
    if ((err = cli_write(path, spki, spki_len, 0644)) != AGP_OK) {
        cli_fail(path, err);
        goto out;
    }
    id = agp_key_id(key);
    for (i = 0; i < AGP_SHA256_LEN; i++)
        printf("%02x", id[i]);
    printf("\n");
    rc = CLI_OK;
out:
    if (pem != NULL) {
        agp_wipe(pem, pem_len);
        free(pem);
    }
    agp_key_free(key);
    return rc;
}
