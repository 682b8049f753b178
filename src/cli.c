/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/cli.c: option parsing and file handling for the agepass program.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agepass/util.h"
#include "cli.h"

/* see cli.h */
int cli_parse(int argc, char **argv, struct cli_opt *opts, size_t n, const char *usage)
{
    int i;
    size_t j;
    for (j = 0; j < n; j++) {
        opts[j].value = NULL;
        opts[j].count = 0;
    }
    for (i = 0; i < argc; i++) {
        struct cli_opt *o;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return CLI_HELP;
        }
        for (j = 0; j < n; j++)
            if (strcmp(argv[i], opts[j].name) == 0) break;
        if (j == n) {
            fprintf(stderr, "agepass: unknown option '%s'\n%s", argv[i], usage);
            return CLI_USAGE;
        }
        o = &opts[j];
        if (o->count > 0 && (o->kind != CLI_REPEAT || o->count == CLI_MAX_REPEAT)) {
            fprintf(stderr, "agepass: option %s given too many times\n%s", argv[i], usage);
            return CLI_USAGE;
        }
        if (o->kind == CLI_FLAG) {
            o->value = "1";
        } else if (i + 1 >= argc) {
            fprintf(stderr, "agepass: option %s needs a value\n%s", argv[i], usage);
            return CLI_USAGE;
        } else {
            o->value = argv[++i];
            o->values[o->count] = o->value;
        }
        o->count++;
    }
    /* with a config file, required options are checked once it is read */
    if (cli_get(opts, n, "--config") != NULL) return CLI_OK;
    return cli_check_required(opts, n, usage);
}

/* see cli.h */
int cli_check_required(const struct cli_opt *opts, size_t n, const char *usage)
{
    size_t j;
    for (j = 0; j < n; j++) {
        if (opts[j].required && opts[j].value == NULL) {
            fprintf(stderr, "agepass: option %s is required\n%s", opts[j].name, usage);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

/* see cli.h */
int cli_merge_config(struct cli_opt *opts, size_t n, const char *path, const char *usage)
{
    static char *text; /* option values point into it for the life of the process */
    size_t len, line_no = 0;
    char *line, *next;

    if (text != NULL) return CLI_USAGE; /* one config file per process */
    if (cli_input(path, 64 * 1024, (uint8_t **)&text, &len) != CLI_OK) return CLI_REJECTED;
    text[len] = '\0';
    for (line = text; line != NULL; line = next) {
        char opt_name[64], *value;
        size_t j, name_len;
        struct cli_opt *o;
        line_no++;
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '\0' || *line == '#') continue;
        name_len = strcspn(line, " \t\r");
        value = line + name_len;
        if (*value) *value++ = '\0';
        while (*value == ' ' || *value == '\t')
            value++;
        value[strcspn(value, "\r")] = '\0';
        for (j = strlen(value); j > 0 && (value[j - 1] == ' ' || value[j - 1] == '\t'); j--)
            value[j - 1] = '\0';
        if (name_len + 3 > sizeof opt_name)
            j = n;
        else {
            snprintf(opt_name, sizeof opt_name, "--%s", line);
            for (j = 0; j < n; j++)
                if (strcmp(opts[j].name, opt_name) == 0 && strcmp(opt_name, "--config") != 0) break;
        }
        if (j == n || (opts[j].kind == CLI_FLAG) != (*value == '\0')) {
            fprintf(stderr, "agepass: %s:%zu: unknown option or bad value '%s'\n", path, line_no,
                    line);
            return CLI_USAGE;
        }
        o = &opts[j];
        if (o->kind == CLI_REPEAT) {
            if (o->count == CLI_MAX_REPEAT) {
                fprintf(stderr, "agepass: %s:%zu: too many '%s'\n", path, line_no, line);
                return CLI_USAGE;
            }
            o->values[o->count++] = value;
            o->value = value;
        } else if (o->value == NULL) { /* the command line wins */
            o->value = o->kind == CLI_FLAG ? "1" : value;
            o->count = 1;
        }
    }
    return cli_check_required(opts, n, usage);
}

/* see cli.h */
const char *cli_get(const struct cli_opt *opts, size_t n, const char *name)
{
    size_t j;
    for (j = 0; j < n; j++)
        if (strcmp(opts[j].name, name) == 0) return opts[j].value;
    return NULL;
}

/* see cli.h */
agp_err cli_read(const char *path, size_t max, uint8_t **buf, size_t *len)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *b;
    size_t n = 0;
    agp_err err = AGP_ERR_IO;

    *buf = NULL;
    *len = 0;
    if (fd < 0) return AGP_ERR_IO;
    if ((b = malloc(max + 1)) == NULL) {
        err = AGP_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        ssize_t r = read(fd, b + n, max + 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) goto out;
        if (r == 0) break;
        n += (size_t)r;
        if (n > max) {
            err = AGP_ERR_TOO_BIG;
            goto out;
        }
    }
    *buf = b;
    *len = n;
    b = NULL;
    err = AGP_OK;
out:
    if (b != NULL) cli_free(b, max + 1);
    if (fd != STDIN_FILENO) close(fd);
    return err;
}

/* see cli.h */
void cli_free(uint8_t *buf, size_t len)
{
    if (buf == NULL) return;
    agp_wipe(buf, len);
    free(buf);
}

static agp_err write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return AGP_ERR_IO;
        buf += w;
        len -= (size_t)w;
    }
    return AGP_OK;
}

/* see cli.h */
agp_err cli_write(const char *path, const uint8_t *buf, size_t len, mode_t mode)
{
    char tmp[4096];
    struct stat st;
    int fd, n;
    agp_err err;

    if (strcmp(path, "-") == 0) return write_all(STDOUT_FILENO, buf, len);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) return AGP_ERR_IO;
        err = write_all(fd, buf, len);
        if (close(fd) != 0 && err == AGP_OK) err = AGP_ERR_IO;
        return err;
    }
    n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) return AGP_ERR_TOO_BIG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return AGP_ERR_IO;
    err = write_all(fd, buf, len);
    if (err == AGP_OK && fchmod(fd, mode) != 0) err = AGP_ERR_IO;
    if (err == AGP_OK && fsync(fd) != 0) err = AGP_ERR_IO;
    if (close(fd) != 0 && err == AGP_OK) err = AGP_ERR_IO;
    if (err == AGP_OK && rename(tmp, path) != 0) err = AGP_ERR_IO;
    if (err != AGP_OK) unlink(tmp);
    return err;
}

/* see cli.h */
int cli_input(const char *path, size_t max, uint8_t **buf, size_t *len)
{
    agp_err err;
    errno = 0;
    err = cli_read(path, max, buf, len);
    return err == AGP_OK ? CLI_OK : cli_fail(path, err);
}

/* see cli.h */
int cli_output(const char *path, const uint8_t *buf, size_t len, mode_t mode)
{
    agp_err err;
    errno = 0;
    err = cli_write(path, buf, len, mode);
    return err == AGP_OK ? CLI_OK : cli_fail(path, err);
}

/* see cli.h */
int cli_fail(const char *what, agp_err err)
{
    if (err == AGP_ERR_IO && errno != 0)
        fprintf(stderr, "agepass: %s: %s (%s)\n", what, agp_err_str(err), strerror(errno));
    else
        fprintf(stderr, "agepass: %s: %s\n", what, agp_err_str(err));
    return CLI_REJECTED;
}

/* see cli.h */
bool cli_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s == NULL || *s == '\0') return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        if (v > (max - (uint64_t)(*s - '0')) / 10) return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

static int load_key(const char *path, struct agp_key **key, bool private_key)
{
    uint8_t *buf;
    size_t len;
    agp_err err;
    char what[512];

    *key = NULL;
    snprintf(what, sizeof what, "%s key %s", private_key ? "private" : "public", path);
    errno = 0;
    if ((err = cli_read(path, CLI_FILE_MAX, &buf, &len)) != AGP_OK) return cli_fail(what, err);
    err = private_key ? agp_key_load_private_pem(key, buf, len) : agp_key_load_spki(key, buf, len);
    cli_free(buf, len);
    if (err != AGP_OK) return cli_fail(what, err);
    return CLI_OK;
}

/* see cli.h */
int cli_load_public(const char *path, struct agp_key **key)
{
    return load_key(path, key, false);
}

/* see cli.h */
int cli_load_private(const char *path, struct agp_key **key)
{
    return load_key(path, key, true);
}

/* see cli.h */
int cli_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(s, ':'), *h = s;
    size_t hl;
    uint64_t port;
    struct addrinfo hints, *res = NULL;
    if (colon == NULL || !cli_parse_uint(colon + 1, 65535, &port) || port == 0) return CLI_USAGE;
    hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') h = s + 1, hl -= 2;
    if (hl == 0 || hl >= sizeof host) return CLI_USAGE;
    memcpy(host, h, hl);
    host[hl] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) return CLI_USAGE;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
    return CLI_OK;
}

/* see cli.h */
char *cli_next_field(char **next)
{
    char *field = *next, *comma;
    if (field == NULL) return NULL;
    if ((comma = strchr(field, ',')) != NULL) *comma++ = '\0';
    *next = comma;
    return field;
}

/* see cli.h */
const char *cli_field_value(const char *field, const char *key)
{
    size_t n = strlen(key);
    return strncmp(field, key, n) == 0 ? field + n : NULL;
}

/*
 * The parts of an http(s) URL that the checks below look at, as libcurl's
 * URL parser (RFC 3986, the one that later fetches it) reads them. False
 * for anything else: another scheme, no host, userinfo (user, password or
 * login options: "http://localhost:80@evil.example" names evil.example),
 * bytes outside printable ASCII, backslashes, or more than max characters.
 */
static bool url_parts(const char *url, size_t max, bool *https, char *host, size_t cap)
{
    CURLU *u;
    char *scheme = NULL, *h = NULL, *part = NULL;
    size_t i, n = strlen(url);
    bool ok = false;

    if (n == 0 || n > max) return false;
    for (i = 0; i < n; i++)
        if ((unsigned char)url[i] < 0x21 || (unsigned char)url[i] > 0x7e || url[i] == '\\')
            return false;
    if ((u = curl_url()) == NULL) return false;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) goto out;
    if (curl_url_get(u, CURLUPART_USER, &part, 0) != CURLUE_NO_USER) goto out;
    if (curl_url_get(u, CURLUPART_PASSWORD, &part, 0) != CURLUE_NO_PASSWORD) goto out;
    if (curl_url_get(u, CURLUPART_OPTIONS, &part, 0) != CURLUE_NO_OPTIONS) goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) goto out;
    if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK || h[0] == '\0') goto out;
    if (strcmp(scheme, "https") == 0)
        *https = true;
    else if (strcmp(scheme, "http") == 0)
        *https = false;
    else
        goto out;
    /* the authority right after "//", as RFC 3986 has it (curl also reads "http:/host") */
    i = *https ? 8 : 7;
    if (n <= i || url[i - 3] != ':' || url[i - 2] != '/' || url[i - 1] != '/' || url[i] == '/')
        goto out;
    if (strlen(h) >= cap) goto out;
    memcpy(host, h, strlen(h) + 1);
    ok = true;
out:
    curl_free(part);
    curl_free(scheme);
    curl_free(h);
    curl_url_cleanup(u);
    return ok;
}

/* see cli.h */
bool cli_url_host(const char *url, char *out, size_t cap)
{
    bool https;
    return url_parts(url, 4096, &https, out, cap);
}

/* see cli.h */
bool cli_parse_hex(uint8_t *out, size_t n, const char *s)
{
    size_t i;
    if (strlen(s) != 2 * n) return false;
    for (i = 0; i < 2 * n; i++) {
        char c = s[i];
        int v = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        if (v < 0) return false;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return true;
}

/* see cli.h */
int cli_private_file(const char *path)
{
    struct stat sb;
    errno = 0;
    if (stat(path, &sb) != 0) return cli_fail(path, AGP_ERR_IO);
    if ((sb.st_mode & 077) != 0) {
        fprintf(stderr, "agepass: %s is readable by others; chmod 600 it\n", path);
        return CLI_REJECTED;
    }
    return CLI_OK;
}

/* see cli.h */
int cli_read_secret(const char *path, uint8_t *out, size_t len)
{
    uint8_t *buf = NULL;
    size_t got = 0;
    int rc;
    if ((rc = cli_private_file(path)) != CLI_OK) return rc;
    if ((rc = cli_input(path, len + 1, &buf, &got)) != CLI_OK) return rc;
    if (got != len) {
        cli_free(buf, got);
        return cli_fail(path, AGP_ERR_LENGTH);
    }
    memcpy(out, buf, len);
    cli_free(buf, got);
    return CLI_OK;
}

/* see cli.h */
bool cli_url_safe(const char *url, size_t max)
{
    char host[256];
    bool https;
    if (!url_parts(url, max, &https, host, sizeof host)) return false;
    return https || strcmp(host, "127.0.0.1") == 0 || strcasecmp(host, "localhost") == 0 ||
           strcmp(host, "[::1]") == 0;
}
