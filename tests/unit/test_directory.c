/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_directory.c: the RFC 9578 §4 issuer directory, with the
 * RFC 9578 A.2 key, and the documents a client must refuse.
 *
 * usage: test_directory VECTOR_DIR
 */
#include "agepass/directory.h"
#include "agepass/util.h"
#include "test.h"

static struct agp_directory d, d2;

static agp_err parse(const char *s)
{
    return agp_directory_parse(&d, s, strlen(s));
}

/* Sets key i of d: type 2 of age class age, not-before nb (< 0: none). */
static void set_key(struct agp_directory *dir, size_t i, unsigned age, int64_t nb)
{
    struct agp_dir_key *k = &dir->keys[i];
    memset(k, 0, sizeof *k);
    k->token_type = 2;
    k->token_key_len = 1;
    k->age = age;
    k->has_not_before = nb >= 0;
    k->not_before = nb >= 0 ? nb : 0;
    if (dir->count <= i) dir->count = i + 1;
}

/*
 * Issue 13 item 3: a directory may show one current key per age class and
 * one announced next key; a key made for one person (a second current or
 * next key of a class) has the whole directory refused.
 */
static void test_check_keys(void)
{
    enum { NOW = 1800000000, DAY = 86400 };
    static struct agp_directory k;
    bool keep[AGP_DIR_MAX_KEYS];
    size_t i;

    /* current + next for two classes: all kept */
    memset(&k, 0, sizeof k);
    set_key(&k, 0, 18, NOW - DAY), set_key(&k, 1, 18, NOW + 29 * DAY);
    set_key(&k, 2, 16, NOW - DAY), set_key(&k, 3, 16, NOW + 29 * DAY);
    EXPECT_OK(agp_directory_check_keys(&k, 18, NOW, keep));
    EXPECT(keep[0] && keep[1] && keep[2] && keep[3] && !keep[4]);
    /* the next epoch has begun, not yet rotated: the older key is superseded */
    EXPECT_OK(agp_directory_check_keys(&k, 18, NOW + 30 * DAY, keep));
    EXPECT(!keep[0] && keep[1] && !keep[2] && keep[3]);
    /* a class without agepass-age takes the default */
    k.keys[1].age = 0;
    EXPECT_OK(agp_directory_check_keys(&k, 18, NOW, keep));
    EXPECT(keep[0] && keep[1]);
    EXPECT_ERR(agp_directory_check_keys(&k, 16, NOW, keep), AGP_ERR_KEY); /* 2 next of 16 */
    k.keys[1].age = 18;
    /* keys of another type do not count */
    k.keys[4] = k.keys[0];
    k.keys[4].token_type = 1;
    k.count = 5;
    EXPECT_OK(agp_directory_check_keys(&k, 18, NOW, keep));
    EXPECT(!keep[4]);

    /* two current keys of one class (the same not-before): refused */
    set_key(&k, 4, 18, NOW - DAY);
    EXPECT_ERR(agp_directory_check_keys(&k, 18, NOW, keep), AGP_ERR_KEY);
    for (i = 0; i < AGP_DIR_MAX_KEYS; i++)
        EXPECT(!keep[i]);
    /* without not-before: both count as current since 1970 */
    memset(&k, 0, sizeof k);
    set_key(&k, 0, 18, -1), set_key(&k, 1, 18, -1);
    EXPECT_ERR(agp_directory_check_keys(&k, 18, NOW, keep), AGP_ERR_KEY);
    /* two next keys of one class: refused */
    memset(&k, 0, sizeof k);
    set_key(&k, 0, 18, NOW - DAY), set_key(&k, 1, 18, NOW + DAY), set_key(&k, 2, 18, NOW + 2 * DAY);
    EXPECT_ERR(agp_directory_check_keys(&k, 18, NOW, keep), AGP_ERR_KEY);
    /* a second older key (three that have begun): refused */
    memset(&k, 0, sizeof k);
    set_key(&k, 0, 18, NOW - DAY), set_key(&k, 1, 18, NOW - 2 * DAY),
        set_key(&k, 2, 18, NOW - 3 * DAY);
    EXPECT_ERR(agp_directory_check_keys(&k, 18, NOW, keep), AGP_ERR_KEY);
    /* previous + current + next: the previous is kept out */
    k.keys[2].not_before = NOW + DAY;
    EXPECT_OK(agp_directory_check_keys(&k, 18, NOW, keep));
    EXPECT(keep[0] && !keep[1] && keep[2]);
    /* one key, or none */
    memset(&k, 0, sizeof k);
    EXPECT_OK(agp_directory_check_keys(&k, 18, NOW, keep));
    set_key(&k, 0, 18, NOW);
    EXPECT_OK(agp_directory_check_keys(&k, 18, NOW, keep));
    EXPECT(keep[0]);
    /* the same key bytes twice: two current keys, refused like any other */
    set_key(&k, 1, 18, NOW);
    EXPECT_ERR(agp_directory_check_keys(&k, 18, NOW, keep), AGP_ERR_KEY);
}

int main(int argc, char **argv)
{
    json_t *root;
    struct test_bytes pk;
    char b64[600], doc[4096], *out = NULL;
    size_t len, i;

    if (argc != 2) return 2;
    test_check_keys();
    root = test_load_json(argv[1], "rfc9578-type2.json");
    pk = test_json_hex(json_array_get(json_object_get(root, "vectors"), 0), "pkS");
    json_decref(root);
    EXPECT_OK(agp_b64url_encode(b64, sizeof b64, NULL, pk.ptr, pk.len));

    snprintf(doc, sizeof doc,
             "{\"issuer-request-uri\": \"https://issuer.example/request\", \"token-keys\": ["
             "{\"token-type\": 2, \"token-key\": \"%s\", \"not-before\": 1686913811, "
             "\"agepass-age\": 18},"
             "{\"token-type\": 3, \"token-key\": \"AAAA\"},"
             "{\"token-type\": 2, \"token-key\": \"%s\"}], \"extension\": {}, "
             "\"agepass-issuer-name\": \"issuer.example\"}",
             b64, b64);
    EXPECT_OK(parse(doc));
    EXPECT(strcmp(d.issuer_request_uri, "https://issuer.example/request") == 0);
    EXPECT(d.count == 2); /* the type 3 key is skipped */
    EXPECT(d.keys[0].token_type == 2 && d.keys[0].token_key_len == pk.len);
    EXPECT_BYTES(d.keys[0].token_key, pk.ptr, pk.len);
    EXPECT(d.keys[0].has_not_before && d.keys[0].not_before == 1686913811);
    EXPECT(!d.keys[1].has_not_before);
    EXPECT(d.keys[0].age == 18 && d.keys[1].age == 0);
    EXPECT(strcmp(d.issuer_name, "issuer.example") == 0);

    /* written and read back */
    EXPECT_OK(agp_directory_write(&d, &out, &len));
    EXPECT(out != NULL && strlen(out) == len);
    EXPECT(out != NULL && strncmp(out, "{\"issuer-request-uri\":", 22) == 0);
    EXPECT_OK(agp_directory_parse(&d2, out, len));
    EXPECT(d2.count == d.count && strcmp(d2.issuer_request_uri, d.issuer_request_uri) == 0);
    EXPECT(strcmp(d2.issuer_name, "issuer.example") == 0);
    for (i = 0; i < d.count && i < d2.count; i++) {
        EXPECT(d2.keys[i].token_type == d.keys[i].token_type);
        EXPECT(d2.keys[i].token_key_len == d.keys[i].token_key_len);
        EXPECT_BYTES(d2.keys[i].token_key, d.keys[i].token_key, d.keys[i].token_key_len);
        EXPECT(d2.keys[i].has_not_before == d.keys[i].has_not_before);
        EXPECT(d2.keys[i].not_before == d.keys[i].not_before);
        EXPECT(d2.keys[i].age == d.keys[i].age);
    }
    free(out);

    /* agepass-wallet-url: read, written back, and held to a plain http(s) URL */
    {
        static const char *const bad[] = {"\"\"",
                                          "12",
                                          "\"ftp://w.example/\"",
                                          "\"javascript:alert(1)\"",
                                          "\"https://w.example/#x\"",
                                          "\"https://w.example/\\\"x\"",
                                          "\"https://w.example/ x\"",
                                          "\"https://w.example/<x\"",
                                          "\"https://\""};
        char *w = NULL;
        size_t k;
        EXPECT_OK(parse("{\"issuer-request-uri\": \"/r\", \"token-keys\": [], "
                        "\"agepass-wallet-url\": \"https://wallet.example/app/\"}"));
        EXPECT(strcmp(d.wallet_url, "https://wallet.example/app/") == 0);
        EXPECT_OK(agp_directory_write(&d, &w, &len));
        EXPECT(w != NULL &&
               strstr(w, "\"agepass-wallet-url\":\"https://wallet.example/app/\"") != NULL);
        free(w);
        for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            snprintf(doc, sizeof doc,
                     "{\"issuer-request-uri\": \"/r\", \"token-keys\": [], "
                     "\"agepass-wallet-url\": %s}",
                     bad[k]);
            EXPECT_FAIL(parse(doc));
            EXPECT(d.wallet_url[0] == '\0');
        }
    }

    /* refusals */
    EXPECT_ERR(parse("not json"), AGP_ERR_SYNTAX);
    EXPECT_ERR(parse("[]"), AGP_ERR_SYNTAX);
    EXPECT_ERR(parse("{\"token-keys\": []}"), AGP_ERR_SYNTAX);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"/r\"}"), AGP_ERR_SYNTAX);
    EXPECT_ERR(parse("{\"issuer-request-uri\": 5, \"token-keys\": []}"), AGP_ERR_SYNTAX);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"\", \"token-keys\": []}"), AGP_ERR_LENGTH);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"/a b\", \"token-keys\": []}"), AGP_ERR_SYNTAX);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"/r\", \"issuer-request-uri\": \"/s\", "
                     "\"token-keys\": []}"),
               AGP_ERR_SYNTAX);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"/r\", \"token-keys\": [5]}"), AGP_ERR_SYNTAX);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"/r\", \"token-keys\": [{\"token-type\": 2}]}"),
               AGP_ERR_SYNTAX);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"/r\", \"token-keys\": [{\"token-type\": \"2\", "
                     "\"token-key\": \"AAAA\"}]}"),
               AGP_ERR_SYNTAX);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"/r\", \"token-keys\": [{\"token-type\": 65536, "
                     "\"token-key\": \"AAAA\"}]}"),
               AGP_ERR_RANGE);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"/r\", \"token-keys\": [{\"token-type\": 2, "
                     "\"token-key\": \"A!AA\"}]}"),
               AGP_ERR_ENCODING);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"/r\", \"token-keys\": [{\"token-type\": 2, "
                     "\"token-key\": \"AAAA\", \"not-before\": -1}]}"),
               AGP_ERR_RANGE);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"/r\", \"token-keys\": [{\"token-type\": 2, "
                     "\"token-key\": \"AAAA\", \"not-before\": \"soon\"}]}"),
               AGP_ERR_SYNTAX);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"/r\", \"token-keys\": []} x"), AGP_ERR_SYNTAX);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"/r\", \"token-keys\": [{\"token-type\": 2, "
                     "\"token-key\": \"AAAA\", \"agepass-age\": 0}]}"),
               AGP_ERR_RANGE);
    EXPECT_ERR(parse("{\"issuer-request-uri\": \"/r\", \"token-keys\": [{\"token-type\": 2, "
                     "\"token-key\": \"AAAA\", \"agepass-age\": \"18\"}]}"),
               AGP_ERR_SYNTAX);
    /* more keys than we keep */
    len = (size_t)snprintf(doc, sizeof doc, "{\"issuer-request-uri\": \"/r\", \"token-keys\": [");
    for (i = 0; i <= AGP_DIR_MAX_KEYS; i++)
        len += (size_t)snprintf(doc + len, sizeof doc - len,
                                "%s{\"token-type\": 2, \"token-key\": \"AAAA\"}", i ? "," : "");
    snprintf(doc + len, sizeof doc - len, "]}");
    EXPECT_ERR(parse(doc), AGP_ERR_LENGTH);
    EXPECT(d.count == 0);
    {
        static char big[AGP_DIR_MAX_BYTES + 1];
        memset(big, ' ', sizeof big);
        EXPECT_ERR(agp_directory_parse(&d, big, sizeof big), AGP_ERR_TOO_BIG);
    }
    free(pk.ptr);
    TEST_END();
}
