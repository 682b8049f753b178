/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/verifier.h: the site's side of agepass. Given the issuers' public
 * keys it trusts, a verifier writes PrivateToken challenges, redeems tokens
 * once each, and opens short sessions held in signed cookies. It never
 * contacts an issuer and keeps nothing that links two visits: the replay
 * store holds a keyed 16-byte tag per spent token, and a session cookie
 * holds only the age class its token's key proves and two times.
 *
 * Challenges come in two kinds (RFC 9577 §2.1):
 *  - origin-bound: origin_info is the site, redemption_context is
 *    window(8) || HMAC(secret, "agepass-context" || window || origin)[:24],
 *    where window = floor(now / window_s). Everyone asking in the same
 *    window gets the same challenge, so the verifier needs no state to
 *    recognise it: a token is accepted for the current and the previous
 *    window, and refused as stale after that. The client must fetch a fresh
 *    token for it, so the issuer sees when (not where) a person browses.
 *  - cross-origin (when enabled, as `agepass verifier serve` does unless
 *    --site-bound): empty context and empty origin_info.
 *    Clients can fetch such tokens in advance, in batches, which hides from
 *    the issuer when the person visits a site (REQUIREMENTS D3), at the
 *    cost of tokens that any site enabling this mode would accept once.
 *
 * Thread safety: after agp_verifier_new, all functions but agp_verifier_free
 * may be called from several threads at once; key changes take a write
 * lock, checks a read lock.
 */
#ifndef AGEPASS_VERIFIER_H
#define AGEPASS_VERIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agepass/err.h"
#include "agepass/replay.h"
#include "agepass/rsabssa.h"
#include "agepass/token.h"

#define AGP_VERIFIER_SECRET_LEN 32
#define AGP_ORIGIN_MAX          255
#define AGP_VERIFIER_MAX_KEYS   32
#define AGP_SESSION_COOKIE      "agepass_session"
/* Room for any Set-Cookie value agp_verifier writes. */
#define AGP_COOKIE_MAX 256
/*
 * How long after its not_before a key from an issuer directory is accepted:
 * an epoch lasts at most 90 days (REQUIREMENTS R17, `issuer init
 * --epoch-days`), and 30 more days leave room for a late `issuer rotate`
 * and for spending the tokens of the epoch's last days.
 */
#define AGP_KEY_LIFE_S (120 * 86400)

struct agp_verifier_config {
    const char *origin;      /* origin_info of origin-bound challenges, e.g. "shop.example" */
    unsigned window_s;       /* challenge window and max-age, seconds (default 300) */
    bool cross_origin;       /* also challenge for and accept cross-origin tokens */
    int64_t key_life_s;      /* a directory key is accepted this long after its not_before
                                (AGP_KEY_LIFE_S), and its spent tokens remembered as long */
    unsigned session_idle_s; /* a session ends after this long unused (default 1800) */
    unsigned session_max_s;  /* and after this long in all (default 43200) */
};

/* Why a redemption was refused: the metric labels of the verifier. */
enum agp_refusal {
    AGP_REFUSED_NONE = 0,
    AGP_REFUSED_MALFORMED,       /* header or token does not parse */
    AGP_REFUSED_UNKNOWN_KEY,     /* token_key_id names no trusted key */
    AGP_REFUSED_WRONG_CLASS,     /* trusted key of a lower age class */
    AGP_REFUSED_STALE_CHALLENGE, /* a challenge of ours, from an older window */
    AGP_REFUSED_WRONG_CHALLENGE, /* not a challenge this verifier writes */
    AGP_REFUSED_BAD_SIGNATURE,   /* authenticator does not verify */
    AGP_REFUSED_REPLAY,          /* already spent */
    AGP_REFUSED_STORE,           /* the replay store failed: refused, 503 */
    AGP_REFUSED_EXPIRED_KEY,     /* trusted key past the end of its accepted lifetime */
    AGP_REFUSAL_COUNT
};

/* The metric label of r: "malformed", "unknown_key", ... */
const char *agp_refusal_name(enum agp_refusal r);

struct agp_verifier;

/*
 * Makes a verifier. Copies cfg->origin; borrows store, which must outlive
 * the verifier. secret keys the challenge contexts, replay tags and
 * cookies; keep it across restarts (or spent tokens could be re-accepted
 * under new tags). Errors: AGP_ERR_ARG (bad config), AGP_ERR_NOMEM.
 */
AGP_MUST_USE agp_err agp_verifier_new(struct agp_verifier **out,
                                      const struct agp_verifier_config *cfg,
                                      const uint8_t secret[AGP_VERIFIER_SECRET_LEN],
                                      struct agp_replay *store);

/*
 * Trusts key (public, RSA-2048) from issuer_name as proving age class age
 * (e.g. 18: "over 18") until expires_at (Unix seconds): tokens of the key
 * are refused from then on (AGP_REFUSED_EXPIRED_KEY), and a spent
 * cross-origin token of it is remembered until then, so that no token comes
 * back while its key is accepted. Never move a key's expiry later once its
 * tokens are spent: the ones spent before would be forgotten too early.
 * Takes ownership of key, also on error.
 * Errors: AGP_ERR_KEY (not usable for token type 0x0002), AGP_ERR_LENGTH
 * (name), AGP_ERR_TOO_BIG (too many keys), AGP_ERR_ARG (same key twice).
 */
AGP_MUST_USE agp_err agp_verifier_add_key(struct agp_verifier *v, struct agp_key *key,
                                          const char *issuer_name, unsigned age,
                                          int64_t expires_at);

/* One key of a trust source, for agp_verifier_replace_keys. */
struct agp_verifier_key {
    struct agp_key *key;     /* public, RSA-2048; ownership passes to the verifier */
    const char *issuer_name; /* copied */
    unsigned age;            /* the age class it proves */
    int64_t not_before;      /* challenges name it from then on (0: at once) */
    int64_t expires_at;      /* refused from then on; 0: not_before + cfg key_life_s */
};

/*
 * Replaces every key that came from trust source `source` (1, 2, ...; the
 * keys of agp_verifier_add_key are source 0) with keys[0..n): keys that
 * left the source are retired at once, new ones trusted. A key already
 * trusted keeps the earlier of its old and new expiry (so that a directory
 * that moves not_before later cannot outlast what the replay store keeps).
 * Safe while other threads redeem. Takes ownership of every key, also on error; a key that
 * another source already trusts, or that is unusable, is dropped (and
 * counted in *dropped, which may be NULL). Errors: AGP_ERR_TOO_BIG (more
 * than AGP_VERIFIER_MAX_KEYS in all; nothing changes).
 */
AGP_MUST_USE agp_err agp_verifier_replace_keys(struct agp_verifier *v, unsigned source,
                                               struct agp_verifier_key *keys, size_t n,
                                               size_t *dropped);

/* Frees v and its keys; NULL is fine. */
void agp_verifier_free(struct agp_verifier *v);

/*
 * The WWW-Authenticate value for a request needing age class age at time
 * now: one challenge per trusted key of that class or higher (a class-18
 * key proves 16+) whose not_before has come and whose expiry has not (and
 * a cross-origin one each, when enabled), with token-key and max-age.
 * Errors: AGP_ERR_NOT_FOUND (no key of that class), AGP_ERR_TOO_BIG.
 */
AGP_MUST_USE agp_err agp_verifier_challenge(struct agp_verifier *v, char *out, size_t cap,
                                            size_t *len, unsigned age, int64_t now);

/*
 * Redeems the Authorization value authz for age class age: parses it,
 * checks the token type, that token_key_id is a trusted key of class age
 * or higher, that challenge_digest is one this verifier wrote for the
 * current or previous window (or the cross-origin one), the signature, and
 * finally spends the token in the store. On success writes a Set-Cookie
 * value for a new session into cookie; the session holds the class of the
 * key that signed the token (which may be higher than age), never age.
 * On failure *why says why, for logs and metrics only, never for the
 * client.
 * Errors: AGP_ERR_IO (store unavailable: answer 503), and any other error
 * for a refused token (answer 401).
 */
AGP_MUST_USE agp_err agp_verifier_redeem(struct agp_verifier *v, enum agp_refusal *why,
                                         char *cookie, size_t cookie_cap, const char *authz,
                                         size_t authz_len, unsigned age, int64_t now);

/* What a redemption spent, for the metrics: nothing of the token itself. */
struct agp_redeemed {
    char issuer_name[AGP_ISSUER_NAME_MAX + 1]; /* the trusted key's issuer, as configured */
    unsigned age;                              /* the class the key proves */
    uint8_t key_id[AGP_SHA256_LEN];            /* the key's token_key_id (public) */
    bool cross_origin;                         /* a cross-origin challenge; else site-bound */
};

/*
 * agp_verifier_redeem, that also fills *what on success (zeroed on
 * failure) with the key and the kind of challenge the token answered.
 */
AGP_MUST_USE agp_err agp_verifier_redeem_info(struct agp_verifier *v, struct agp_redeemed *what,
                                              enum agp_refusal *why, char *cookie,
                                              size_t cookie_cap, const char *authz,
                                              size_t authz_len, unsigned age, int64_t now);

/* One trusted key, as agp_verifier_list_keys describes it (public values only). */
struct agp_verifier_key_info {
    char issuer_name[AGP_ISSUER_NAME_MAX + 1];
    unsigned age;
    uint8_t key_id[AGP_SHA256_LEN];
    int64_t not_before, expires_at; /* expires_at: its tokens are refused from then on */
};

/*
 * Describes up to cap of the keys trusted now into out; returns how many
 * it wrote (at most AGP_VERIFIER_MAX_KEYS are ever trusted).
 */
size_t agp_verifier_list_keys(struct agp_verifier *v, struct agp_verifier_key_info *out,
                              size_t cap);

/*
 * Checks the Cookie header value for a session of class age or higher that
 * is neither idle too long nor too old. When the session was last refreshed
 * more than a minute ago, writes a refreshed Set-Cookie value into refresh
 * (otherwise refresh[0] is NUL). Touches no store.
 * Errors: AGP_ERR_NOT_FOUND (no session cookie), AGP_ERR_SIGNATURE,
 * AGP_ERR_EXPIRED, AGP_ERR_ENCODING, AGP_ERR_RANGE (lower class).
 */
AGP_MUST_USE agp_err agp_verifier_session(struct agp_verifier *v, char *refresh, size_t refresh_cap,
                                          const char *cookie_header, size_t len, unsigned age,
                                          int64_t now);

#endif
