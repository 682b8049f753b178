/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/verifier.c: challenges, redemption and sessions for a site. See
 * agepass/verifier.h for the design; this file keeps the order of checks
 * cheapest first and touches the replay store last, so that a refused
 * token never costs a store write.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "agepass/authhdr.h"
#include "agepass/token.h"
#include "agepass/verifier.h"
#include "internal.h"

/* How many older windows are recognised as stale (for the reason only). */
#define STALE_WINDOWS 24
/* A session cookie is refreshed when last seen this long ago (seconds). */
#define SESSION_REFRESH_S 60
#define SESSION_VERSION   1
/* version(1) || age(1) || issued(4) || seen(4) || mac(16) */
#define SESSION_LEN     26
#define SESSION_MAC_LEN 16

/* Tokens of a key are taken this long before its not_before (clock skew). */
#define NOT_BEFORE_SLACK_S 300

struct vkey {
    struct agp_key *key;
    char name[AGP_ISSUER_NAME_MAX + 1];
    size_t name_len;
    unsigned age;
    unsigned source;
    int64_t not_before;
    int64_t expires_at; /* refused from then on; spent cross-origin tokens kept until then */
    uint8_t cross_digest[AGP_SHA256_LEN]; /* digest of its cross-origin challenge */
    /* digests of its origin-bound challenges, by window parity (cache_mu) */
    uint64_t cached_window[2];
    uint8_t cached_digest[2][AGP_SHA256_LEN];
    bool cached[2];
};

struct agp_verifier {
    struct agp_verifier_config cfg;
    char origin[AGP_ORIGIN_MAX + 1];
    uint8_t secret[AGP_VERIFIER_SECRET_LEN];
    struct agp_replay *store;
    pthread_rwlock_t lock;    /* guards keys and nkeys */
    pthread_mutex_t cache_mu; /* guards the vkey digest caches */
    EVP_MAC_CTX *mac;         /* HMAC-SHA256 keyed with secret; duplicated per use */
    struct vkey keys[AGP_VERIFIER_MAX_KEYS];
    size_t nkeys;
};

/* see agepass/verifier.h */
const char *agp_refusal_name(enum agp_refusal r)
{
    switch (r) {
    case AGP_REFUSED_NONE: return "none";
    case AGP_REFUSED_MALFORMED: return "malformed";
    case AGP_REFUSED_UNKNOWN_KEY: return "unknown_key";
    case AGP_REFUSED_WRONG_CLASS: return "wrong_class";
    case AGP_REFUSED_STALE_CHALLENGE: return "stale_challenge";
    case AGP_REFUSED_WRONG_CHALLENGE: return "wrong_challenge";
    case AGP_REFUSED_BAD_SIGNATURE: return "bad_signature";
    case AGP_REFUSED_REPLAY: return "replay";
    case AGP_REFUSED_STORE: return "store_error";
    case AGP_REFUSED_EXPIRED_KEY: return "expired_key";
    case AGP_REFUSAL_COUNT: break;
    }
    return "unknown";
}

static void put_u64(uint8_t *p, uint64_t v)
{
    int i;
    for (i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* HMAC(secret, label || data) truncated to n bytes. */
static agp_err keyed(const struct agp_verifier *v, uint8_t *out, size_t n, const char *label,
                     const uint8_t *data, size_t len)
{
    uint8_t mac[AGP_SHA256_LEN];
    size_t mac_len = 0;
    agp_err err = AGP_ERR_CRYPTO;
    EVP_MAC_CTX *c;
    AGP_ENSURE(n <= sizeof mac, AGP_ERR_ARG);
    if ((c = EVP_MAC_CTX_dup(v->mac)) == NULL) return AGP_ERR_NOMEM;
    if (EVP_MAC_update(c, (const uint8_t *)label, strlen(label)) == 1 &&
        (len == 0 || EVP_MAC_update(c, data, len) == 1) &&
        EVP_MAC_final(c, mac, &mac_len, sizeof mac) == 1 && mac_len == sizeof mac) {
        memcpy(out, mac, n);
        err = AGP_OK;
    }
    EVP_MAC_CTX_free(c);
    AGP_WIPE(mac);
    return err;
}

/* A keyed HMAC-SHA256 context made once, so that each use only copies it. */
static EVP_MAC_CTX *new_mac(const uint8_t *key, size_t key_len)
{
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC_free(m);
    if (c != NULL && EVP_MAC_init(c, key, key_len, params) != 1) {
        EVP_MAC_CTX_free(c);
        c = NULL;
    }
    return c;
}

/* redemption_context for window w: w (8 bytes) || HMAC(...)[:24]. */
static agp_err window_context(const struct agp_verifier *v, uint8_t ctx[32], uint64_t w)
{
    uint8_t data[8 + AGP_ORIGIN_MAX];
    size_t origin_len = strlen(v->origin);
    put_u64(data, w);
    memcpy(data + 8, v->origin, origin_len);
    put_u64(ctx, w);
    return keyed(v, ctx + 8, 24, "agepass-context", data, 8 + origin_len);
}

/* The challenge for key k: origin-bound for window w, or cross-origin when cross. */
static agp_err make_challenge(const struct agp_verifier *v, const struct vkey *k, bool cross,
                              uint64_t w, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t ctx[AGP_REDEMPTION_CONTEXT_LEN];
    struct agp_challenge c;
    struct agp_writer wr;
    c.token_type = AGP_TOKEN_TYPE_BLIND_RSA;
    c.issuer_name = (struct agp_span){(const uint8_t *)k->name, k->name_len};
    if (cross) {
        c.redemption_context = (struct agp_span){NULL, 0};
        c.origin_info = (struct agp_span){NULL, 0};
    } else {
        AGP_TRY(window_context(v, ctx, w));
        c.redemption_context = (struct agp_span){ctx, sizeof ctx};
        c.origin_info = (struct agp_span){(const uint8_t *)v->origin, strlen(v->origin)};
    }
    agp_writer_init(&wr, out, cap);
    AGP_TRY(agp_challenge_write(&wr, &c));
    *len = wr.len;
    return AGP_OK;
}

static agp_err challenge_digest(const struct agp_verifier *v, const struct vkey *k, bool cross,
                                uint64_t w, uint8_t digest[AGP_SHA256_LEN])
{
    uint8_t buf[AGP_CHALLENGE_MAX];
    size_t len;
    AGP_TRY(make_challenge(v, k, cross, w, buf, sizeof buf, &len));
    return agp_challenge_digest(digest, buf, len);
}

/* see agepass/verifier.h */
agp_err agp_verifier_new(struct agp_verifier **out, const struct agp_verifier_config *cfg,
                         const uint8_t secret[AGP_VERIFIER_SECRET_LEN], struct agp_replay *store)
{
    struct agp_verifier *v;
    size_t origin_len;
    *out = NULL;
    AGP_ENSURE(cfg != NULL && cfg->origin != NULL && store != NULL, AGP_ERR_ARG);
    origin_len = strlen(cfg->origin);
    AGP_ENSURE(origin_len > 0 && origin_len <= AGP_ORIGIN_MAX, AGP_ERR_ARG);
    AGP_ENSURE(cfg->window_s >= 10 && cfg->window_s <= 86400, AGP_ERR_ARG);
    AGP_ENSURE(cfg->session_idle_s >= 60 && cfg->session_max_s >= cfg->session_idle_s, AGP_ERR_ARG);
    AGP_ENSURE(cfg->key_life_s > 0 && cfg->key_life_s <= (int64_t)UINT32_MAX, AGP_ERR_ARG);
    if ((v = calloc(1, sizeof *v)) == NULL) return AGP_ERR_NOMEM;
    v->cfg = *cfg;
    memcpy(v->origin, cfg->origin, origin_len + 1);
    v->cfg.origin = v->origin;
    memcpy(v->secret, secret, sizeof v->secret);
    v->store = store;
    if ((v->mac = new_mac(v->secret, sizeof v->secret)) == NULL) {
        agp_wipe(v, sizeof *v);
        free(v);
        return AGP_ERR_CRYPTO;
    }
    if (pthread_rwlock_init(&v->lock, NULL) != 0 || pthread_mutex_init(&v->cache_mu, NULL) != 0) {
        EVP_MAC_CTX_free(v->mac);
        agp_wipe(v, sizeof *v);
        free(v);
        return AGP_ERR_NOMEM;
    }
    *out = v;
    return AGP_OK;
}

/* Fills k from in; takes ownership of in->key only on success. */
static agp_err fill_key(const struct agp_verifier *v, struct vkey *k,
                        const struct agp_verifier_key *in, unsigned source)
{
    size_t name_len = strlen(in->issuer_name);
    AGP_ENSURE(agp_key_len(in->key) == AGP_NK, AGP_ERR_KEY);
    AGP_ENSURE(name_len > 0 && name_len <= AGP_ISSUER_NAME_MAX, AGP_ERR_LENGTH);
    AGP_ENSURE(in->age > 0 && in->age <= 255, AGP_ERR_LENGTH);
    memset(k, 0, sizeof *k);
    memcpy(k->name, in->issuer_name, name_len + 1);
    k->name_len = name_len;
    k->age = in->age;
    k->source = source;
    k->not_before = in->not_before;
    k->expires_at = in->expires_at != 0 ? in->expires_at : in->not_before + v->cfg.key_life_s;
    AGP_TRY(challenge_digest(v, k, true, 0, k->cross_digest));
    k->key = in->key;
    return AGP_OK;
}

/* The index of the trusted key with this id, or nkeys. Caller holds the lock. */
static size_t find_key(const struct agp_verifier *v, const uint8_t *id)
{
    size_t i;
    for (i = 0; i < v->nkeys; i++)
        if (memcmp(agp_key_id(v->keys[i].key), id, AGP_SHA256_LEN) == 0) break;
    return i;
}

/* see agepass/verifier.h */
agp_err agp_verifier_add_key(struct agp_verifier *v, struct agp_key *key, const char *issuer_name,
                             unsigned age, int64_t expires_at)
{
    struct agp_verifier_key in = {key, issuer_name, age, 0, expires_at};
    agp_err err = AGP_ERR_ARG;
    pthread_rwlock_wrlock(&v->lock);
    if (expires_at <= 0) goto out; /* 0 would mean not_before + key_life_s: the epoch's start */
    err = AGP_ERR_TOO_BIG;
    if (v->nkeys == AGP_VERIFIER_MAX_KEYS) goto out;
    err = AGP_ERR_ARG;
    if (find_key(v, agp_key_id(key)) < v->nkeys) goto out;
    if ((err = fill_key(v, &v->keys[v->nkeys], &in, 0)) != AGP_OK) goto out;
    v->nkeys++;
out:
    pthread_rwlock_unlock(&v->lock);
    if (err != AGP_OK) agp_key_free(key);
    return err;
}

/* see agepass/verifier.h */
agp_err agp_verifier_replace_keys(struct agp_verifier *v, unsigned source,
                                  struct agp_verifier_key *keys, size_t n, size_t *dropped)
{
    struct vkey next[AGP_VERIFIER_MAX_KEYS], old[AGP_VERIFIER_MAX_KEYS];
    size_t i, j, nnext = 0, nold = 0, drops = 0;
    agp_err err = AGP_OK;

    pthread_rwlock_wrlock(&v->lock);
    /* keep the other sources' keys */
    for (i = 0; i < v->nkeys; i++) {
        if (v->keys[i].source == source)
            old[nold++] = v->keys[i];
        else
            next[nnext++] = v->keys[i];
    }
    for (j = 0; j < n; j++) {
        bool dup = false;
        for (i = 0; i < nnext && !dup; i++)
            dup = memcmp(agp_key_id(next[i].key), agp_key_id(keys[j].key), AGP_SHA256_LEN) == 0;
        if (nnext == AGP_VERIFIER_MAX_KEYS) {
            err = AGP_ERR_TOO_BIG;
            break;
        }
        if (source == 0 || dup || fill_key(v, &next[nnext], &keys[j], source) != AGP_OK) {
            agp_key_free(keys[j].key);
            drops++;
            continue;
        }
        /* a key trusted before keeps the earlier expiry: see agepass/verifier.h */
        for (i = 0; i < nold; i++)
            if (memcmp(agp_key_id(old[i].key), agp_key_id(next[nnext].key), AGP_SHA256_LEN) == 0 &&
                old[i].expires_at < next[nnext].expires_at)
                next[nnext].expires_at = old[i].expires_at;
        nnext++;
    }
    if (err != AGP_OK) { /* nothing changes: free what this call was given */
        for (i = 0; i < nnext; i++)
            if (next[i].source == source) agp_key_free(next[i].key);
        for (; j < n; j++)
            agp_key_free(keys[j].key);
        pthread_rwlock_unlock(&v->lock);
        return err;
    }
    /* the old keys of this source are retired (the new list holds fresh copies) */
    for (i = 0; i < nold; i++)
        agp_key_free(old[i].key);
    memcpy(v->keys, next, nnext * sizeof next[0]);
    v->nkeys = nnext;
    pthread_rwlock_unlock(&v->lock);
    if (dropped) *dropped = drops;
    return AGP_OK;
}

/* see agepass/verifier.h */
void agp_verifier_free(struct agp_verifier *v)
{
    size_t i;
    if (v == NULL) return;
    for (i = 0; i < v->nkeys; i++)
        agp_key_free(v->keys[i].key);
    pthread_rwlock_destroy(&v->lock);
    pthread_mutex_destroy(&v->cache_mu);
    EVP_MAC_CTX_free(v->mac);
    agp_wipe(v, sizeof *v);
    free(v);
}

static uint64_t window_of(const struct agp_verifier *v, int64_t now)
{
    return now > 0 ? (uint64_t)now / v->cfg.window_s : 0;
}

static agp_err challenge_locked(struct agp_verifier *v, char *out, size_t cap, size_t *len,
                                unsigned age, int64_t now)
{
    uint8_t ch[AGP_CHALLENGE_MAX];
    size_t i, ch_len, spki_len, found = 0;
    uint64_t w = window_of(v, now);
    /* a challenge is good until its window ends plus one more window */
    long max_age = (long)((w + 2) * v->cfg.window_s - (uint64_t)now);

    *len = 0;
    if (cap > 0) out[0] = '\0';
    for (i = 0; i < v->nkeys; i++) {
        const struct vkey *k = &v->keys[i];
        const uint8_t *spki = agp_key_spki(k->key, &spki_len);
        /* a key of a higher class proves this one too (an adult is over 16) */
        if (k->age < age || k->not_before > now || k->expires_at <= now) continue;
        if (v->cfg.cross_origin) {
            AGP_TRY(make_challenge(v, k, true, 0, ch, sizeof ch, &ch_len));
            AGP_TRY(agp_www_auth_add(out, cap, len, ch, ch_len, spki, spki_len, max_age));
        }
        AGP_TRY(make_challenge(v, k, false, w, ch, sizeof ch, &ch_len));
        AGP_TRY(agp_www_auth_add(out, cap, len, ch, ch_len, spki, spki_len, max_age));
        found++;
    }
    return found > 0 ? AGP_OK : AGP_ERR_NOT_FOUND;
}

/* see agepass/verifier.h */
agp_err agp_verifier_challenge(struct agp_verifier *v, char *out, size_t cap, size_t *len,
                               unsigned age, int64_t now)
{
    agp_err err;
    pthread_rwlock_rdlock(&v->lock);
    err = challenge_locked(v, out, cap, len, age, now);
    pthread_rwlock_unlock(&v->lock);
    return err;
}

/*
 * The digest of k's origin-bound challenge for window w, from the cache
 * (current and previous windows are asked for at every redemption).
 */
static agp_err window_digest(struct agp_verifier *v, struct vkey *k, uint64_t w,
                             uint8_t d[AGP_SHA256_LEN])
{
    size_t slot = (size_t)(w & 1);
    bool hit;
    pthread_mutex_lock(&v->cache_mu);
    hit = k->cached[slot] && k->cached_window[slot] == w;
    if (hit) memcpy(d, k->cached_digest[slot], AGP_SHA256_LEN);
    pthread_mutex_unlock(&v->cache_mu);
    if (hit) return AGP_OK;
    AGP_TRY(challenge_digest(v, k, false, w, d));
    pthread_mutex_lock(&v->cache_mu);
    memcpy(k->cached_digest[slot], d, AGP_SHA256_LEN);
    k->cached_window[slot] = w;
    k->cached[slot] = true;
    pthread_mutex_unlock(&v->cache_mu);
    return AGP_OK;
}

/*
 * Which challenge a token answers: AGP_OK with *cross set, or
 * AGP_ERR_EXPIRED (one of ours, too old) or AGP_ERR_CHALLENGE (not ours).
 */
static agp_err match_challenge(struct agp_verifier *v, struct vkey *k, const uint8_t *digest,
                               int64_t now, bool *cross, uint64_t *win)
{
    uint8_t d[AGP_SHA256_LEN];
    uint64_t w = window_of(v, now), back;
    if (v->cfg.cross_origin && memcmp(digest, k->cross_digest, AGP_SHA256_LEN) == 0) {
        *cross = true;
        return AGP_OK;
    }
    *cross = false;
    for (back = 0; back <= STALE_WINDOWS && back <= w; back++) {
        if (back <= 1)
            AGP_TRY(window_digest(v, k, w - back, d));
        else
            AGP_TRY(challenge_digest(v, k, false, w - back, d));
        if (memcmp(d, digest, AGP_SHA256_LEN) == 0) {
            *win = w - back;
            return back <= 1 ? AGP_OK : AGP_ERR_EXPIRED;
        }
    }
    return AGP_ERR_CHALLENGE;
}

static agp_err session_cookie(const struct agp_verifier *v, char *out, size_t cap, unsigned age,
                              uint32_t issued, uint32_t seen)
{
    static const char name[] = AGP_SESSION_COOKIE "=";
    static const char attrs[] = "; Path=/; HttpOnly; Secure; SameSite=Lax";
    uint8_t raw[SESSION_LEN];
    size_t n = sizeof name - 1, enc;
    raw[0] = SESSION_VERSION;
    raw[1] = (uint8_t)age;
    put_u32(raw + 2, issued);
    put_u32(raw + 6, seen);
    AGP_TRY(keyed(v, raw + 10, SESSION_MAC_LEN, "agepass-session", raw, 10));
    AGP_ENSURE(cap > n + AGP_B64_ENC_LEN(SESSION_LEN) + sizeof attrs, AGP_ERR_TOO_BIG);
    memcpy(out, name, n);
    AGP_TRY(agp_b64url_encode(out + n, cap - n, &enc, raw, sizeof raw));
    memcpy(out + n + enc, attrs, sizeof attrs);
    return AGP_OK;
}

/*
 * The redemption steps; *why is set on every refusal, *what (the key that
 * signed the token, the challenge's kind) on success.
 */
static agp_err redeem(struct agp_verifier *v, enum agp_refusal *why, struct agp_redeemed *what,
                      const char *authz, size_t authz_len, unsigned age, int64_t now)
{
    uint8_t raw[AGP_TOKEN_LEN + 1], tag_in[2 * AGP_SHA256_LEN], tag[AGP_REPLAY_TAG_LEN];
    size_t raw_len, i;
    struct agp_token tok;
    struct vkey *k;
    bool cross = false;
    uint64_t w = 0;
    int64_t expires;
    agp_err err;

    *why = AGP_REFUSED_MALFORMED;
    AGP_TRY(agp_authorization_parse(raw, sizeof raw, &raw_len, authz, authz_len));
    AGP_TRY(agp_token_parse(&tok, raw, raw_len));
    *why = AGP_REFUSED_UNKNOWN_KEY;
    i = find_key(v, tok.token_key_id.ptr);
    AGP_ENSURE(i < v->nkeys && v->keys[i].not_before <= now + NOT_BEFORE_SLACK_S, AGP_ERR_KEY_ID);
    k = &v->keys[i];
    *why = AGP_REFUSED_EXPIRED_KEY;
    AGP_ENSURE(now < k->expires_at, AGP_ERR_EXPIRED);
    *why = AGP_REFUSED_WRONG_CLASS;
    AGP_ENSURE(k->age >= age, AGP_ERR_RANGE);
    err = match_challenge(v, k, tok.challenge_digest.ptr, now, &cross, &w);
    if (err != AGP_OK) {
        *why = err == AGP_ERR_EXPIRED ? AGP_REFUSED_STALE_CHALLENGE : AGP_REFUSED_WRONG_CHALLENGE;
        return err;
    }
    *why = AGP_REFUSED_BAD_SIGNATURE;
    AGP_TRY(agp_token_verify(k->key, &tok, tok.challenge_digest.ptr));
    /*
     * spend it: remembered as long as it could be accepted, until its key's
     * end (cross-origin) or its challenge window's (origin-bound). Both are
     * the same for every token of the key or window, so the stored time
     * says nothing of when this one was spent.
     */
    memcpy(tag_in, tok.token_key_id.ptr, AGP_SHA256_LEN);
    memcpy(tag_in + AGP_SHA256_LEN, tok.nonce.ptr, AGP_NONCE_LEN);
    AGP_TRY(keyed(v, tag, sizeof tag, "agepass-replay", tag_in, sizeof tag_in));
    expires = cross ? k->expires_at : (int64_t)((w + 2) * v->cfg.window_s);
    err = agp_replay_spend(v->store, tag, expires, now);
    *why = err == AGP_OK           ? AGP_REFUSED_NONE
           : err == AGP_ERR_REPLAY ? AGP_REFUSED_REPLAY
                                   : AGP_REFUSED_STORE;
    if (err != AGP_OK && err != AGP_ERR_REPLAY) err = AGP_ERR_IO;
    if (err == AGP_OK) {
        memcpy(what->issuer_name, k->name, k->name_len + 1);
        what->age = k->age;
        memcpy(what->key_id, agp_key_id(k->key), AGP_SHA256_LEN);
        what->cross_origin = cross;
    }
    return err;
}

/* see agepass/verifier.h */
agp_err agp_verifier_redeem_info(struct agp_verifier *v, struct agp_redeemed *what,
                                 enum agp_refusal *why, char *cookie, size_t cookie_cap,
                                 const char *authz, size_t authz_len, unsigned age, int64_t now)
{
    agp_err err;
    memset(what, 0, sizeof *what);
    pthread_rwlock_rdlock(&v->lock);
    err = redeem(v, why, what, authz, authz_len, age, now);
    pthread_rwlock_unlock(&v->lock);
    if (cookie_cap > 0) cookie[0] = '\0';
    /* the session proves what the key proves, not what this page asked */
    if (err == AGP_OK)
        err = session_cookie(v, cookie, cookie_cap, what->age, (uint32_t)now, (uint32_t)now);
    if (err != AGP_OK) memset(what, 0, sizeof *what);
    return err;
}

/* see agepass/verifier.h */
agp_err agp_verifier_redeem(struct agp_verifier *v, enum agp_refusal *why, char *cookie,
                            size_t cookie_cap, const char *authz, size_t authz_len, unsigned age,
                            int64_t now)
{
    struct agp_redeemed what;
    return agp_verifier_redeem_info(v, &what, why, cookie, cookie_cap, authz, authz_len, age, now);
}

/* see agepass/verifier.h */
size_t agp_verifier_list_keys(struct agp_verifier *v, struct agp_verifier_key_info *out, size_t cap)
{
    size_t i, n = 0;
    pthread_rwlock_rdlock(&v->lock);
    for (i = 0; i < v->nkeys && n < cap; i++, n++) {
        const struct vkey *k = &v->keys[i];
        memset(&out[n], 0, sizeof out[n]);
        memcpy(out[n].issuer_name, k->name, k->name_len + 1);
        out[n].age = k->age;
        memcpy(out[n].key_id, agp_key_id(k->key), AGP_SHA256_LEN);
        out[n].not_before = k->not_before;
        out[n].expires_at = k->expires_at;
    }
    pthread_rwlock_unlock(&v->lock);
    return n;
}

/* Finds `name=value` in a Cookie header ("a=b; c=d"); the first one wins. */
static bool find_cookie(const char *h, size_t len, const char *name, struct agp_span *value)
{
    size_t i = 0, n = strlen(name);
    while (i < len) {
        size_t start, end;
        while (i < len && (h[i] == ' ' || h[i] == '\t' || h[i] == ';'))
            i++;
        start = i;
        while (i < len && h[i] != ';')
            i++;
        end = i;
        if (end - start > n && memcmp(h + start, name, n) == 0 && h[start + n] == '=') {
            value->ptr = (const uint8_t *)h + start + n + 1;
            value->len = end - start - n - 1;
            while (value->len > 0 && value->ptr[value->len - 1] == ' ')
                value->len--;
            return true;
        }
    }
    return false;
}

/* see agepass/verifier.h */
agp_err agp_verifier_session(struct agp_verifier *v, char *refresh, size_t refresh_cap,
                             const char *cookie_header, size_t len, unsigned age, int64_t now)
{
    struct agp_span value;
    uint8_t raw[SESSION_LEN + 2], mac[SESSION_MAC_LEN];
    size_t raw_len;
    int64_t issued, seen;

    if (refresh_cap > 0) refresh[0] = '\0';
    AGP_ENSURE(cookie_header != NULL && len <= AGP_HEADER_MAX, AGP_ERR_NOT_FOUND);
    AGP_ENSURE(find_cookie(cookie_header, len, AGP_SESSION_COOKIE, &value), AGP_ERR_NOT_FOUND);
    AGP_TRY(agp_b64url_decode(raw, sizeof raw, &raw_len, (const char *)value.ptr, value.len));
    AGP_ENSURE(raw_len == SESSION_LEN && raw[0] == SESSION_VERSION, AGP_ERR_ENCODING);
    AGP_TRY(keyed(v, mac, sizeof mac, "agepass-session", raw, 10));
    AGP_ENSURE(agp_ct_eq(mac, raw + 10, SESSION_MAC_LEN), AGP_ERR_SIGNATURE);
    AGP_ENSURE(raw[1] >= age, AGP_ERR_RANGE);
    issued = get_u32(raw + 2);
    seen = get_u32(raw + 6);
    AGP_ENSURE(seen >= issued && now >= seen - 5, AGP_ERR_EXPIRED); /* small clock slack */
    AGP_ENSURE(now - seen <= (int64_t)v->cfg.session_idle_s, AGP_ERR_EXPIRED);
    AGP_ENSURE(now - issued <= (int64_t)v->cfg.session_max_s, AGP_ERR_EXPIRED);
    if (now - seen >= SESSION_REFRESH_S)
        AGP_TRY(session_cookie(v, refresh, refresh_cap, raw[1], (uint32_t)issued, (uint32_t)now));
    return AGP_OK;
}
