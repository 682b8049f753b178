/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/cli.h: what the subcommands of the agepass program share: option
 * parsing, file input and output, exit codes.
 *
 * Exit codes: 0 success, 1 an input was rejected or an operation failed
 * (the reason on stderr), 2 the command line was wrong.
 */
#ifndef AGEPASS_CLI_H
#define AGEPASS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "agepass/err.h"
#include "agepass/rsabssa.h"

#define CLI_OK       0
#define CLI_REJECTED 1
#define CLI_USAGE    2
#define CLI_HELP     (-1) /* cli_parse only: --help was asked and printed */

/* Largest file any verb reads (bytes). */
#define CLI_FILE_MAX (64 * 1024)

#define CLI_MAX_REPEAT 16

struct cli_opt {
    const char *name; /* "--out" */
    bool required;
    const char *value; /* set by cli_parse: the (last) value, "1" for a flag */
    enum { CLI_ONE = 0, CLI_FLAG, CLI_REPEAT } kind;
    const char *values[CLI_MAX_REPEAT]; /* CLI_REPEAT: every value, in order */
    size_t count;                       /* how many times it was given */
};

/*
 * Reads "--name VALUE" pairs (and "--flag" alone for CLI_FLAG options) from
 * argv[0..argc) into opts. Unknown options, a missing value, a repeated
 * option (unless CLI_REPEAT, up to CLI_MAX_REPEAT) or a missing required one
 * print the
 * usage text and return CLI_USAGE; --help prints it and returns CLI_HELP;
 * otherwise CLI_OK.
 */
int cli_parse(int argc, char **argv, struct cli_opt *opts, size_t n, const char *usage);
/* Prints usage and returns CLI_USAGE if a required option has no value. */
int cli_check_required(const struct cli_opt *opts, size_t n, const char *usage);

/*
 * Reads a config file of `name value` lines (`name` alone for a flag; '#'
 * starts a comment) into the options of the same names: a value given on
 * the command line wins, repeatable options gather both. Then checks the
 * required options. Returns CLI_OK, CLI_USAGE or CLI_REJECTED.
 */
int cli_merge_config(struct cli_opt *opts, size_t n, const char *path, const char *usage);

/* The value of option name, or NULL. */
const char *cli_get(const struct cli_opt *opts, size_t n, const char *name);

/* Reads a whole file ("-": stdin), at most max bytes, into a malloc'd buffer. */
AGP_MUST_USE agp_err cli_read(const char *path, size_t max, uint8_t **buf, size_t *len);
/* Frees a buffer from cli_read after wiping it. */
void cli_free(uint8_t *buf, size_t len);
/*
 * Writes buf to path ("-": stdout) atomically: a temporary file in the same
 * folder with the given mode, fsync, rename. A path that exists and is not a
 * regular file (/dev/null, /dev/stdout, a FIFO, a terminal) is written in
 * place: a rename would put a file where the device was (as root, a
 * regular file at /dev/null for every program after).
 */
AGP_MUST_USE agp_err cli_write(const char *path, const uint8_t *buf, size_t len, mode_t mode);

/*
 * cli_read and cli_write for a subcommand: on failure they print which file
 * and why, and return CLI_REJECTED; CLI_OK otherwise.
 */
int cli_input(const char *path, size_t max, uint8_t **buf, size_t *len);
int cli_output(const char *path, const uint8_t *buf, size_t len, mode_t mode);

/* Prints "agepass: WHAT: REASON" and returns CLI_REJECTED. */
int cli_fail(const char *what, agp_err err);

/* Decimal digits only, no sign, at most max. */
bool cli_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* Loads a key file; on failure prints why and returns CLI_REJECTED. */
int cli_load_public(const char *path, struct agp_key **key);
int cli_load_private(const char *path, struct agp_key **key);

/*
 * GET url (http or https, no redirects) within timeout_ms; the body, at most
 * max bytes, NUL-terminated, malloc'd into *body; the HTTP status in
 * *status. Errors: AGP_ERR_IO (no answer), AGP_ERR_TOO_BIG, AGP_ERR_NOMEM.
 */
/*
 * Appends s percent-encoded (RFC 3986: all but the unreserved characters,
 * with libcurl) at out[*pos], NUL-terminated, and advances *pos. False if
 * out[0..cap) is too short (nothing appended).
 */
bool cli_url_append(char *out, size_t cap, size_t *pos, const char *s);

AGP_MUST_USE agp_err cli_http_get(const char *url, size_t max, long timeout_ms, uint8_t **body,
                                  size_t *len, long *status);

/* Exactly 2*n hex digits (either case) into out[0..n). */
bool cli_parse_hex(uint8_t *out, size_t n, const char *s);

/* CLI_OK if path exists and only its owner may read it; else says why. */
int cli_private_file(const char *path);

/* A secret file of exactly len bytes that only its owner may read. */
int cli_read_secret(const char *path, uint8_t *out, size_t len);

/*
 * The host part of an http(s) URL into out (an IPv6 address in brackets),
 * as libcurl's URL parser reads it; false if the URL has none, has
 * userinfo, or is not one (see cli_url_safe).
 */
bool cli_url_host(const char *url, char *out, size_t cap);

/*
 * An https URL of at most max characters, or plain http to a loopback host
 * (127.0.0.1, localhost, [::1]: tests, a local provider): what a service
 * sends people to or fetches. Parsed with libcurl's URL API (curl_url());
 * userinfo ("user:pass@"), other schemes, spaces, control bytes and
 * backslashes are refused.
 */
bool cli_url_safe(const char *url, size_t max);

/*
 * Walks a comma list "HEAD,key=value,key=value" (--trust, --oidc-provider)
 * in place: each call cuts the field at *next, moves *next past it and
 * returns it (NULL once the list is done). Start with *next = a writable
 * copy; the first field is the head.
 */
char *cli_next_field(char **next);

/* The value of field if it reads "key=value" (key given as "key="), else NULL. */
const char *cli_field_value(const char *field, const char *key);

/* HOST:PORT or [V6]:PORT -> a socket address; CLI_USAGE if it is not one. */

int cli_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);

struct cli_http_req {
    const char *url;
    const char *const *headers; /* "Name: value" strings, NULL-terminated, or NULL */
    const uint8_t *body;        /* POST body, or NULL for GET */
    size_t body_len;
    size_t max; /* largest response body taken */
    long timeout_ms;
    /*
     * NULL: direct (or libcurl's *_proxy environment); else an http://,
     * https://, socks5:// or socks5h:// proxy URL (cli_proxy_ok) that
     * carries the exchange: HTTP proxies get a CONNECT tunnel, so they see
     * only the host and port; no_proxy does not apply.
     */
    const char *proxy;
};

/* True if url is a proxy cli_http takes: http, https, socks5 or socks5h, at most 2048 bytes. */
bool cli_proxy_ok(const char *url);

struct cli_http_resp {
    long status;
    uint8_t *body; /* NUL-terminated */
    size_t len;
    /* NULL when absent; several WWW-Authenticate fields are kept one per line ("\n") */
    char *www_authenticate, *set_cookie, *content_type;
};

/*
 * One HTTP exchange (no redirects, http and https only). On success resp
 * holds the status, the body and the headers above; free it with
 * cli_http_resp_free. Errors: AGP_ERR_IO (no answer), AGP_ERR_TOO_BIG.
 */
AGP_MUST_USE agp_err cli_http(const struct cli_http_req *req, struct cli_http_resp *resp);
void cli_http_resp_free(struct cli_http_resp *resp);
void cli_http_resp_clear_headers(struct cli_http_resp *resp);

/*
 * What `agepass get` does with a 401 (src/client.c), for `agepass audit`:
 * opens the wallet file at wallet_path, answers the challenges of www (the
 * WWW-Authenticate fields, one per line) with one wallet token of a key a
 * challenge lists, removing it from the wallet before it is sent, and
 * writes the "Authorization: ..." header line into authz[0..cap). Never
 * asks an issuer. CLI_OK, or the reason on stderr and CLI_REJECTED.
 */
int cli_wallet_answer(const char *wallet_path, const char *www, char *authz, size_t cap);

int cmd_keygen(int argc, char **argv);
int cmd_client(const char *verb, int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_audit(int argc, char **argv);

int cmd_issuer(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_verifier(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
