/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/pages.c: loading and filling the verifier's age-check pages (see
 * pages.h). The words are in the catalogues, the markup in the templates:
 * this file holds neither, only the names of the files and placeholders.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agepass/authhdr.h"
#include "agepass/page.h"
#include "agepass/util.h"
#include "cli.h"
#include "pages.h"

/* The languages of the catalogues; the first is used when none fits. */
static const char *const langs[] = {"en", "fr", "de", "es", "it"};
#define NLANGS (sizeof langs / sizeof langs[0])

enum { T_REQUIRED, T_UNAVAILABLE, T_WALLETS, T_WALLET, T_NO_WALLET, T_STYLE, T_LOGO, NFILES };
static const char *const files[NFILES] = {"required.html", "unavailable.html", "wallets.html",
                                          "wallet.html",   "no_wallet.html",   "style.css",
                                          "logo.svg"};

#define PAGE_MAX (256 * 1024) /* a filled page, at most */
#define HREF_MAX (4 * AGP_HEADER_MAX)

struct pages {
    uint8_t *file[NFILES];
    size_t file_len[NFILES];
    uint8_t *text[NLANGS];
    size_t text_len[NLANGS];
    struct agp_catalog cat[NLANGS];
    char csp[256];
};

/* see pages.h */
void pages_free(struct pages *p)
{
    size_t i;
    if (p == NULL) return;
    for (i = 0; i < NFILES; i++)
        free(p->file[i]);
    for (i = 0; i < NLANGS; i++)
        free(p->text[i]);
    free(p);
}

/* Template files: bounded, no NUL (the catalogue reader checks its own). */
static int read_file(const char *dir, const char *name, uint8_t **buf, size_t *len)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path) return cli_fail(name, AGP_ERR_TOO_BIG);
    if (cli_input(path, AGP_TEMPLATE_MAX_BYTES, buf, len) != CLI_OK) return CLI_REJECTED;
    if (memchr(*buf, '\0', *len) != NULL) return cli_fail(path, AGP_ERR_ENCODING);
    return CLI_OK;
}

static agp_err fill(const struct pages *p, size_t lang, int which, char **out, size_t *len,
                    const struct agp_page_var *extra, size_t nextra)
{
    struct agp_page_var vars[12];
    size_t n = 0, i;
    agp_err err;
    char *buf;
    vars[n++] = (struct agp_page_var){"lang", langs[lang], strlen(langs[lang]), false};
    vars[n++] =
        (struct agp_page_var){"style", (const char *)p->file[T_STYLE], p->file_len[T_STYLE], true};
    vars[n++] =
        (struct agp_page_var){"logo", (const char *)p->file[T_LOGO], p->file_len[T_LOGO], true};
    for (i = 0; i < nextra && n < sizeof vars / sizeof vars[0]; i++)
        vars[n++] = extra[i];
    *out = NULL;
    *len = 0;
    if ((buf = malloc(PAGE_MAX)) == NULL) return AGP_ERR_NOMEM;
    err = agp_page_render(buf, PAGE_MAX, len, (const char *)p->file[which], p->file_len[which],
                          &p->cat[lang], vars, n);
    if (err != AGP_OK) {
        free(buf);
        return err;
    }
    *out = buf;
    return AGP_OK;
}

static size_t pick(const char *accept_language)
{
    size_t lang = 0;
    if (accept_language == NULL ||
        agp_accept_language_pick(&lang, accept_language, strlen(accept_language), langs, NLANGS) !=
            AGP_OK)
        lang = 0; /* unreadable or nothing we have: the first */
    return lang;
}

/* Appends s to out[0..cap) at *pos; false if it does not fit. */
static bool append(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (n >= cap - *pos) return false;
    memcpy(out + *pos, s, n);
    *pos += n;
    out[*pos] = '\0';
    return true;
}

/* WALLET#challenge=C&redeem=R&return=P, each value percent-encoded. */
static agp_err wallet_href(char *out, size_t cap, const char *wallet, const char *challenge,
                           const char *redeem_url, const char *ret)
{
    const char *names[3] = {"#challenge=", "&redeem=", "&return="};
    const char *values[3] = {challenge, redeem_url, ret};
    size_t pos = 0, i, w;
    out[0] = '\0';
    if (!append(out, cap, &pos, wallet, strlen(wallet))) return AGP_ERR_TOO_BIG;
    for (i = 0; i < 3; i++) {
        if (!append(out, cap, &pos, names[i], strlen(names[i]))) return AGP_ERR_TOO_BIG;
        if (agp_pct_encode(out + pos, cap - pos, &w, values[i], strlen(values[i])) != AGP_OK)
            return AGP_ERR_TOO_BIG;
        pos += w;
    }
    return AGP_OK;
}

/* see pages.h */
agp_err pages_required(const struct pages *p, char **out, size_t *len, const char *accept_language,
                       const char *challenge, const char *redeem_url, const char *site,
                       const char *ret, const struct page_wallet *wallets, size_t nwallets)
{
    size_t lang = pick(accept_language), i, items_len = 0, part_len, cli_len;
    char *items = NULL, *part = NULL, *list = NULL, *href = NULL,
         cli_cmd[AGP_RETURN_PATH_MAX + 600];
    agp_err err = AGP_ERR_NOMEM;
    size_t list_len = 0;

    *out = NULL;
    *len = 0;
    if ((items = malloc(PAGE_MAX)) == NULL || (href = malloc(HREF_MAX)) == NULL) goto out;
    items[0] = '\0';
    for (i = 0; i < nwallets; i++) {
        struct agp_page_var v[2];
        if ((err = wallet_href(href, HREF_MAX, wallets[i].url, challenge, redeem_url, ret)) !=
            AGP_OK)
            goto out;
        v[0] = (struct agp_page_var){"href", href, strlen(href), false};
        v[1] = (struct agp_page_var){"provider", wallets[i].provider, strlen(wallets[i].provider),
                                     false};
        if ((err = fill(p, lang, T_WALLET, &part, &part_len, v, 2)) != AGP_OK) goto out;
        err = AGP_ERR_TOO_BIG;
        if (!append(items, PAGE_MAX, &items_len, part, part_len)) goto out;
        free(part);
        part = NULL;
    }
    if (nwallets > 0) {
        struct agp_page_var v = {"items", items, items_len, true};
        err = fill(p, lang, T_WALLETS, &list, &list_len, &v, 1);
    } else {
        err = fill(p, lang, T_NO_WALLET, &list, &list_len, NULL, 0);
    }
    if (err != AGP_OK) goto out;
    cli_len = 0;
    cli_cmd[0] = '\0';
    err = AGP_ERR_TOO_BIG;
    if (!append(cli_cmd, sizeof cli_cmd, &cli_len, "agepass get ", 12) ||
        !append(cli_cmd, sizeof cli_cmd, &cli_len, site, strlen(site)) ||
        !append(cli_cmd, sizeof cli_cmd, &cli_len, ret, strlen(ret)))
        goto out;
    {
        struct agp_page_var v[2] = {{"wallets", list, list_len, true},
                                    {"cli_command", cli_cmd, cli_len, false}};
        err = fill(p, lang, T_REQUIRED, out, len, v, 2);
    }
out:
    free(items);
    free(part);
    free(list);
    free(href);
    return err;
}

/* see pages.h */
agp_err pages_unavailable(const struct pages *p, char **out, size_t *len,
                          const char *accept_language)
{
    return fill(p, pick(accept_language), T_UNAVAILABLE, out, len, NULL, 0);
}

/* see pages.h */
const char *pages_csp(const struct pages *p)
{
    return p->csp;
}

/* style-src names the one stylesheet by its hash: no other style, no script at all. */
static int make_csp(struct pages *p)
{
    uint8_t digest[32];
    char b64[64];
    size_t n, i;
    int w;
    if (agp_sha256(digest, p->file[T_STYLE], p->file_len[T_STYLE]) != AGP_OK ||
        agp_b64url_encode(b64, sizeof b64, &n, digest, sizeof digest) != AGP_OK)
        return cli_fail("style.css", AGP_ERR_CRYPTO);
    for (i = 0; i < n; i++) /* CSP hashes are in base64, not base64url */
        b64[i] = b64[i] == '-' ? '+' : b64[i] == '_' ? '/' : b64[i];
    w = snprintf(p->csp, sizeof p->csp,
                 "default-src 'none'; style-src 'sha256-%s'; img-src data:; base-uri 'none'; "
                 "form-action 'none'; frame-ancestors 'none'",
                 b64);
    return w > 0 && (size_t)w < sizeof p->csp ? CLI_OK : cli_fail("csp", AGP_ERR_TOO_BIG);
}

/* see pages.h */
int pages_load(struct pages **out, const char *dir)
{
    struct pages *p = calloc(1, sizeof *p);
    struct page_wallet sample = {"provider.example", "https://wallet.example/"};
    char path[4096];
    size_t i;
    int rc = CLI_REJECTED;
    agp_err err;

    *out = NULL;
    if (p == NULL) return cli_fail("pages", AGP_ERR_NOMEM);
    for (i = 0; i < NFILES; i++)
        if (read_file(dir, files[i], &p->file[i], &p->file_len[i]) != CLI_OK) goto out;
    for (i = 0; i < NLANGS; i++) {
        int w = snprintf(path, sizeof path, "%s/i18n/%s.txt", dir, langs[i]);
        if (w < 0 || (size_t)w >= sizeof path) {
            cli_fail(dir, AGP_ERR_TOO_BIG);
            goto out;
        }
        if (cli_input(path, AGP_CATALOG_MAX_BYTES, &p->text[i], &p->text_len[i]) != CLI_OK)
            goto out;
        if ((err = agp_catalog_parse(&p->cat[i], (const char *)p->text[i], p->text_len[i])) !=
            AGP_OK) {
            cli_fail(path, err);
            goto out;
        }
    }
    if (make_csp(p) != CLI_OK) goto out;
    /* every template with every catalogue, with and without a wallet, now */
    for (i = 0; i < NLANGS; i++) {
        char *page = NULL;
        size_t len;
        const char *name = langs[i];
        err = pages_required(p, &page, &len, name, "PrivateToken challenge=\"AAAA\"",
                             "https://site.example/_agepass/redeem", "https://site.example", "/",
                             &sample, 1);
        free(page);
        if (err == AGP_OK) err = pages_required(p, &page, &len, name, "", "", "", "/", NULL, 0);
        if (err == AGP_OK) free(page);
        if (err == AGP_OK) err = pages_unavailable(p, &page, &len, name);
        if (err == AGP_OK) free(page);
        if (err != AGP_OK) {
            fprintf(stderr,
                    "agepass: %s: the pages cannot be filled with i18n/%s.txt: %s (a key "
                    "missing, or a broken {{placeholder}})\n",
                    dir, name, agp_err_str(err));
            goto out;
        }
    }
    *out = p;
    p = NULL;
    rc = CLI_OK;
out:
    pages_free(p);
    return rc;
}
