/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/pages.h: the verifier's age-check pages, read once at start from a
 * template folder (--page-template DIR; deploy/pages by default):
 *   required.html unavailable.html wallets.html wallet.html no_wallet.html
 *   style.css logo.svg i18n/{en,fr,de,es,it}.txt
 * Every file is read strictly and every template is filled once with every
 * catalogue at load, so that a missing key or a broken placeholder stops
 * the verifier at start rather than at the first visitor.
 */
#ifndef AGEPASS_SRC_PAGES_H
#define AGEPASS_SRC_PAGES_H

#include <stddef.h>

#include "agepass/err.h"

struct pages;

/* A trusted provider's web wallet, for a button. */
struct page_wallet {
    const char *provider; /* its issuer name, shown */
    const char *url;      /* its agepass-wallet-url */
};

/* Loads DIR; on failure prints which file and why and returns CLI_REJECTED. */
int pages_load(struct pages **out, const char *dir);
void pages_free(struct pages *p);

/* The Content-Security-Policy value the pages are sent with. */
const char *pages_csp(const struct pages *p);

/*
 * The 401 page in the language accept_language (may be NULL) prefers: the
 * wallets' buttons link to WALLET#challenge=..&redeem=..&return=.. (the
 * fragment is never sent to a server). ret is a checked return path.
 * *out is malloc'd (the caller frees it). Errors: AGP_ERR_TOO_BIG,
 * AGP_ERR_NOMEM.
 */
AGP_MUST_USE agp_err pages_required(const struct pages *p, char **out, size_t *len,
                                    const char *accept_language, const char *challenge,
                                    const char *redeem_url, const char *site, const char *ret,
                                    const struct page_wallet *wallets, size_t nwallets);

/* The 503 page, likewise. */
AGP_MUST_USE agp_err pages_unavailable(const struct pages *p, char **out, size_t *len,
                                       const char *accept_language);

#endif
