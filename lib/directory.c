/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/directory.c: the issuer directory of RFC 9578 §4, read and written
 * with jansson.
 *
 *= https://www.rfc-editor.org/rfc/rfc9578#section-4
 *#   issuer-request-uri: Issuer Request URL value (as an absolute URL, or
 *#   a URL relative to the directory object) as a percent-encoded URL
 *#   string
 *#   token-keys: List of Issuer Public Key values, each a JSON object
 *#     token-type: Integer value of the token type
 *#     token-key: The base64url encoding of the Public Key
 *#     not-before: optional, Integer seconds since the epoch
 *
 * jansson parses with JSON_REJECT_DUPLICATES so that one document cannot
 * mean two things to two readers.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agepass/directory.h"
#include "internal.h"

/* Reads one entry of token-keys; AGP_ERR_NOT_FOUND means: a type we skip. */
static agp_err parse_key(struct agp_dir_key *k, json_t *obj)
{
    json_t *type = json_object_get(obj, "token-type");
    json_t *key = json_object_get(obj, "token-key");
    json_t *nb = json_object_get(obj, "not-before");
    json_t *age = json_object_get(obj, "agepass-age");
    json_int_t t;
    const char *s;

    memset(k, 0, sizeof *k);
    AGP_ENSURE(json_is_object(obj), AGP_ERR_SYNTAX);
    AGP_ENSURE(json_is_integer(type) && json_is_string(key), AGP_ERR_SYNTAX);
    t = json_integer_value(type);
    AGP_ENSURE(t >= 0 && t <= 0xffff, AGP_ERR_RANGE);
    if (t != AGP_TOKEN_TYPE_VOPRF && t != AGP_TOKEN_TYPE_BLIND_RSA) return AGP_ERR_NOT_FOUND;
    k->token_type = (uint16_t)t;
    s = json_string_value(key);
    AGP_TRY(agp_b64url_decode(k->token_key, sizeof k->token_key, &k->token_key_len, s,
                              json_string_length(key)));
    AGP_ENSURE(k->token_key_len > 0, AGP_ERR_LENGTH);
    if (nb != NULL) {
        AGP_ENSURE(json_is_integer(nb), AGP_ERR_SYNTAX);
        AGP_ENSURE(json_integer_value(nb) >= 0, AGP_ERR_RANGE);
        k->not_before = (int64_t)json_integer_value(nb);
        k->has_not_before = true;
    }
    if (age != NULL) {
        AGP_ENSURE(json_is_integer(age), AGP_ERR_SYNTAX);
        AGP_ENSURE(json_integer_value(age) >= 1 && json_integer_value(age) <= 255, AGP_ERR_RANGE);
        k->age = (unsigned)json_integer_value(age);
    }
    return AGP_OK;
}

/*
 * agepass-wallet-url: pages put it in an href, so it is held to plain
 * printable ASCII, http(s), and no fragment (the page adds its own).
 */
static agp_err parse_wallet_url(char out[AGP_URI_MAX + 1], const char *s, size_t n)
{
    size_t i;
    AGP_ENSURE(n > 0 && n <= AGP_URI_MAX, AGP_ERR_LENGTH);
    AGP_ENSURE((n > 8 && memcmp(s, "https://", 8) == 0) || (n > 7 && memcmp(s, "http://", 7) == 0),
               AGP_ERR_ENCODING);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        AGP_ENSURE(c > 0x20 && c < 0x7f && c != '#' && c != '"' && c != '\'' && c != '<' &&
                       c != '>' && c != '`' && c != '\\',
                   AGP_ERR_ENCODING);
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return AGP_OK;
}

static agp_err parse_root(struct agp_directory *d, json_t *root)
{
    json_t *uri = json_object_get(root, "issuer-request-uri");
    json_t *keys = json_object_get(root, "token-keys");
    json_t *name = json_object_get(root, "agepass-issuer-name");
    json_t *wallet = json_object_get(root, "agepass-wallet-url");
    size_t i, n;

    AGP_ENSURE(json_is_object(root), AGP_ERR_SYNTAX);
    AGP_ENSURE(json_is_string(uri) && json_is_array(keys), AGP_ERR_SYNTAX);
    n = json_string_length(uri);
    AGP_ENSURE(n > 0 && n <= AGP_URI_MAX, AGP_ERR_LENGTH);
    /* a URI has no NUL and no control characters */
    for (i = 0; i < n; i++)
        AGP_ENSURE((unsigned char)json_string_value(uri)[i] > 0x20 &&
                       json_string_value(uri)[i] != 0x7f,
                   AGP_ERR_SYNTAX);
    memcpy(d->issuer_request_uri, json_string_value(uri), n);
    d->issuer_request_uri[n] = '\0';
    if (name != NULL) {
        AGP_ENSURE(json_is_string(name), AGP_ERR_SYNTAX);
        n = json_string_length(name);
        AGP_ENSURE(n > 0 && n <= AGP_ISSUER_NAME_MAX, AGP_ERR_LENGTH);
        AGP_ENSURE(strlen(json_string_value(name)) == n, AGP_ERR_SYNTAX); /* no NUL inside */
        memcpy(d->issuer_name, json_string_value(name), n + 1);
    }
    if (wallet != NULL) {
        AGP_ENSURE(json_is_string(wallet), AGP_ERR_SYNTAX);
        AGP_TRY(
            parse_wallet_url(d->wallet_url, json_string_value(wallet), json_string_length(wallet)));
    }
    for (i = 0; i < json_array_size(keys); i++) {
        agp_err err;
        AGP_ENSURE(d->count < AGP_DIR_MAX_KEYS, AGP_ERR_LENGTH);
        err = parse_key(&d->keys[d->count], json_array_get(keys, i));
        if (err == AGP_ERR_NOT_FOUND) continue;
        AGP_TRY(err);
        d->count++;
    }
    return AGP_OK;
}

/* see agepass/directory.h */
agp_err agp_directory_parse(struct agp_directory *d, const char *json, size_t len)
{
    json_error_t jerr;
    json_t *root;
    agp_err err;

    memset(d, 0, sizeof *d);
    AGP_ENSURE(len <= AGP_DIR_MAX_BYTES, AGP_ERR_TOO_BIG);
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) return AGP_ERR_SYNTAX;
    err = parse_root(d, root);
    json_decref(root);
    if (err != AGP_OK) memset(d, 0, sizeof *d);
    return err;
}

static unsigned class_of(const struct agp_dir_key *k, unsigned default_age)
{
    return k->age ? k->age : default_age;
}

static int64_t not_before_of(const struct agp_dir_key *k)
{
    return k->has_not_before ? k->not_before : 0;
}

/* see agepass/directory.h */
agp_err agp_directory_check_keys(const struct agp_directory *d, unsigned default_age, int64_t now,
                                 bool keep[AGP_DIR_MAX_KEYS])
{
    size_t i, j, n = d->count < AGP_DIR_MAX_KEYS ? d->count : AGP_DIR_MAX_KEYS;

    memset(keep, 0, AGP_DIR_MAX_KEYS * sizeof keep[0]);
    for (i = 0; i < n; i++) {
        unsigned age = class_of(&d->keys[i], default_age), next = 0, current = 0, older = 0;
        int64_t latest = -1; /* the latest not-before that has come, in this class */
        if (d->keys[i].token_type != AGP_TOKEN_TYPE_BLIND_RSA) continue;
        for (j = 0; j < n; j++) {
            const struct agp_dir_key *o = &d->keys[j];
            if (o->token_type != AGP_TOKEN_TYPE_BLIND_RSA || class_of(o, default_age) != age)
                continue;
            if (not_before_of(o) > now)
                next++;
            else if (not_before_of(o) > latest)
                latest = not_before_of(o);
        }
        for (j = 0; j < n; j++) {
            const struct agp_dir_key *o = &d->keys[j];
            if (o->token_type != AGP_TOKEN_TYPE_BLIND_RSA || class_of(o, default_age) != age ||
                not_before_of(o) > now)
                continue;
            if (not_before_of(o) == latest)
                current++;
            else
                older++;
        }
        if (next > 1 || current > 1 || older > 1) {
            memset(keep, 0, AGP_DIR_MAX_KEYS * sizeof keep[0]);
            return AGP_ERR_KEY;
        }
        keep[i] = not_before_of(&d->keys[i]) > now || not_before_of(&d->keys[i]) == latest;
    }
    return AGP_OK;
}

/* see agepass/directory.h */
agp_err agp_directory_write(const struct agp_directory *d, char **out, size_t *len)
{
    agp_err err = AGP_ERR_NOMEM;
    json_t *root = NULL, *keys = NULL;
    char b64[AGP_B64_ENC_LEN(AGP_TOKEN_KEY_MAX) + 1];
    size_t i, ulen = strnlen(d->issuer_request_uri, sizeof d->issuer_request_uri);

    *out = NULL;
    *len = 0;
    AGP_ENSURE(ulen > 0 && ulen <= AGP_URI_MAX && d->count <= AGP_DIR_MAX_KEYS, AGP_ERR_LENGTH);
    if ((root = json_object()) == NULL || (keys = json_array()) == NULL) goto out;
    if (json_object_set_new(root, "issuer-request-uri", json_stringn(d->issuer_request_uri, ulen)))
        goto out;
    for (i = 0; i < d->count; i++) {
        const struct agp_dir_key *k = &d->keys[i];
        json_t *obj = json_object();
        if (obj == NULL || json_array_append_new(keys, obj)) goto out;
        err = agp_b64url_encode(b64, sizeof b64, NULL, k->token_key, k->token_key_len);
        if (err != AGP_OK) goto out;
        err = AGP_ERR_NOMEM;
        if (json_object_set_new(obj, "token-type", json_integer(k->token_type)) ||
            json_object_set_new(obj, "token-key", json_string(b64)))
            goto out;
        if (k->has_not_before &&
            json_object_set_new(obj, "not-before", json_integer((json_int_t)k->not_before)))
            goto out;
        if (k->age > 0 && json_object_set_new(obj, "agepass-age", json_integer(k->age))) goto out;
    }
    if (json_object_set(root, "token-keys", keys)) goto out;
    if (d->issuer_name[0] != '\0' &&
        json_object_set_new(
            root, "agepass-issuer-name",
            json_stringn(d->issuer_name, strnlen(d->issuer_name, sizeof d->issuer_name))))
        goto out;
    if (d->wallet_url[0] != '\0' &&
        json_object_set_new(
            root, "agepass-wallet-url",
            json_stringn(d->wallet_url, strnlen(d->wallet_url, sizeof d->wallet_url))))
        goto out;
    if ((*out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) goto out;
    *len = strlen(*out);
    err = AGP_OK;
out:
    json_decref(keys);
    json_decref(root);
    return err;
}
