/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/wallet_files.c: `agepass issuer serve --wallet-dir DIR` serves the
 * built web wallet (browser/wallet) at /wallet/, for small deployments
 * where the provider has no other static host. The files are read once at
 * start into memory: names of [A-Za-z0-9._-] only (no hidden file, no
 * `..`), folders two deep at most, 1 MiB a file, 8 MiB in all, and only the
 * types a static web app needs. Each answer carries the wallet's strict
 * Content-Security-Policy, so that the page cannot load anything from
 * elsewhere nor run inline script.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "wallet_files.h"

#define FILE_MAX  (1024 * 1024)
#define TOTAL_MAX (8 * 1024 * 1024)
#define FILES_MAX 128
#define NAME_MAX_ 200
#define DEPTH_MAX 2

struct wfile {
    char path[NAME_MAX_ + 1]; /* relative, with '/' */
    const char *ctype;
    uint8_t *body;
    size_t len;
};

struct wallet_files {
    struct wfile f[FILES_MAX];
    size_t n, total;
};

/* The wallet's policy: its own scripts only; forms may post to any site (the redemption). */
static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self'; manifest-src 'self'; worker-src 'self'; "
                          "connect-src 'self'; form-action *; base-uri 'none'; "
                          "frame-ancestors 'none'";

static const char *type_of(const char *name)
{
    static const struct {
        const char *ext, *ctype;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".webmanifest", "application/manifest+json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".txt", "text/plain; charset=utf-8"},
    };
    size_t i, n = strlen(name);
    for (i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && strcmp(name + n - e, types[i].ext) == 0) return types[i].ctype;
    }
    return NULL;
}

static bool good_name(const char *name)
{
    size_t i;
    if (name[0] == '.' || name[0] == '\0' || strlen(name) > 64) return false;
    for (i = 0; name[i] != '\0'; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int load_dir(struct wallet_files *w, const char *root, const char *rel, int depth)
{
    char dir[4096], path[4096], sub[NAME_MAX_ + 1];
    struct dirent *e;
    DIR *d;
    int rc = CLI_OK;
    if (snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel) >= (int)sizeof dir)
        return cli_fail(root, AGP_ERR_TOO_BIG);
    if ((d = opendir(dir)) == NULL) return cli_fail(dir, AGP_ERR_IO);
    while (rc == CLI_OK && (e = readdir(d)) != NULL) {
        struct stat st;
        int k;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (!good_name(e->d_name)) {
            fprintf(stderr, "agepass: --wallet-dir: %s/%s skipped (name)\n", dir, e->d_name);
            continue;
        }
        k = snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        if (k < 0 || (size_t)k >= sizeof sub ||
            strlen(dir) + 1 + strlen(e->d_name) >= sizeof path) {
            rc = cli_fail(dir, AGP_ERR_TOO_BIG);
            continue;
        }
        memcpy(path, dir, strlen(dir));
        path[strlen(dir)] = '/';
        memcpy(path + strlen(dir) + 1, e->d_name, strlen(e->d_name) + 1);
        if (lstat(path, &st) != 0) {
            rc = cli_fail(path, AGP_ERR_TOO_BIG);
        } else if (S_ISDIR(st.st_mode)) {
            if (depth < DEPTH_MAX) rc = load_dir(w, root, sub, depth + 1);
        } else if (S_ISREG(st.st_mode) && type_of(e->d_name) != NULL) {
            struct wfile *f = &w->f[w->n];
            if (w->n >= FILES_MAX) {
                rc = cli_fail("--wallet-dir: too many files", AGP_ERR_TOO_BIG);
            } else if (cli_input(path, FILE_MAX, &f->body, &f->len) != CLI_OK) {
                rc = CLI_REJECTED;
            } else if ((w->total += f->len) > TOTAL_MAX) {
                rc = cli_fail("--wallet-dir: more than 8 MiB", AGP_ERR_TOO_BIG);
                w->n++;
            } else {
                memcpy(f->path, sub, strlen(sub) + 1);
                f->ctype = type_of(e->d_name);
                w->n++;
            }
        }
    }
    closedir(d);
    return rc;
}

/* see wallet_files.h */
void wallet_files_free(struct wallet_files *w)
{
    size_t i;
    if (w == NULL) return;
    for (i = 0; i < w->n; i++)
        free(w->f[i].body);
    free(w);
}

/* see wallet_files.h */
int wallet_files_load(struct wallet_files **out, const char *dir)
{
    struct wallet_files *w = calloc(1, sizeof *w);
    size_t i;
    bool index = false;
    *out = NULL;
    if (w == NULL) return cli_fail("--wallet-dir", AGP_ERR_NOMEM);
    if (load_dir(w, dir, "", 0) != CLI_OK) {
        wallet_files_free(w);
        return CLI_REJECTED;
    }
    for (i = 0; i < w->n; i++)
        if (strcmp(w->f[i].path, "index.html") == 0) index = true;
    if (!index) {
        fprintf(stderr,
                "agepass: --wallet-dir %s has no index.html (build the wallet: "
                "node browser/wallet/build.mjs)\n",
                dir);
        wallet_files_free(w);
        return CLI_REJECTED;
    }
    fprintf(stderr,
            "agepass issuer: serving the web wallet from %s at /wallet/ (%zu files, %zu "
            "bytes)\n",
            dir, w->n, w->total);
    *out = w;
    return CLI_OK;
}

/* see wallet_files.h */
enum MHD_Result wallet_files_serve(const struct wallet_files *w, struct MHD_Connection *conn,
                                   const char *rel)
{
    const struct wfile *f = NULL;
    struct MHD_Response *r;
    enum MHD_Result ret;
    size_t i;
    if (rel[0] == '\0') rel = "index.html";
    for (i = 0; i < w->n && f == NULL; i++)
        if (strcmp(w->f[i].path, rel) == 0) f = &w->f[i];
    if (f == NULL) {
        static const char nf[] = "not found\n";
        r = MHD_create_response_from_buffer(sizeof nf - 1, (void *)nf, MHD_RESPMEM_PERSISTENT);
        if (r == NULL) return MHD_NO;
        MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
        ret = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, r);
        MHD_destroy_response(r);
        return ret;
    }
    r = MHD_create_response_from_buffer(f->len, f->body, MHD_RESPMEM_PERSISTENT);
    if (r == NULL) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", f->ctype);
    MHD_add_response_header(r, "Content-Security-Policy", csp);
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    /*
     * A day in the HTTP cache: the service worker's update check on each
     * visit (registered with updateViaCache 'all') is then answered from
     * it, so that opening the wallet to answer a site sends no request.
     * A new wallet reaches people within a day.
     */
    MHD_add_response_header(r, "Cache-Control", "max-age=86400");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}
