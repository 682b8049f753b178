/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_cli.c: the URL checks of src/cli.c (cli_url_safe,
 * cli_url_host) against a table of hostile URLs: what passes "https, or
 * plain http only on loopback" and what the host is, as libcurl reads it.
 */
#include <curl/curl.h>

#include "../../src/cli.h"
#include "test.h"

struct url_case {
    const char *url;
    bool safe;
    const char *host; /* NULL: cli_url_host refuses it */
};

static const struct url_case cases[] = {
    {"https://ap.example", true, "ap.example"},
    {"https://ap.example/", true, "ap.example"},
    {"https://ap.example:8443/path?q=1", true, "ap.example"},
    {"http://127.0.0.1:8080", true, "127.0.0.1"},
    {"http://localhost:8080/.well-known/private-token-issuer-directory", true, "localhost"},
    {"http://[::1]:8080/", true, "[::1]"},
    {"HTTP://LOCALHOST:8080/", true, "LOCALHOST"},
    {"http://127.1:8080/", true, "127.0.0.1"}, /* curl's reading of a short IPv4 address */
    /* userinfo: the host is what follows the @ */
    {"http://localhost:8080@evil.example/", false, NULL},
    {"http://localhost@evil.example/", false, NULL},
    {"http://127.0.0.1:80@evil.example:80/", false, NULL},
    {"https://user:pass@ap.example/", false, NULL},
    {"https://user@ap.example/", false, NULL},
    {"http://evil.example#@localhost/", false, "evil.example"},
    {"http://evil.example?@localhost/", false, "evil.example"},
    {"http://evil.example/localhost", false, "evil.example"},
    {"http://localhost.evil.example/", false, "localhost.evil.example"},
    {"http://127.0.0.1.evil.example/", false, "127.0.0.1.evil.example"},
    {"http://evil.example\\@localhost/", false, NULL},
    {"http://evil.example\\localhost/", false, NULL},
    {"http://local host/", false, NULL},
    {"http://localhost /", false, NULL},
    {"http://localhost\t/", false, NULL},
    {"http://localhost\r\n/", false, NULL},
    {"http:///localhost/", false, NULL},
    {"http:/localhost/", false, NULL},
    {"http://", false, NULL},
    {"https://", false, NULL},
    {"ftp://ap.example/", false, NULL},
    {"file:///etc/passwd", false, NULL},
    {"gopher://localhost/", false, NULL},
    {"//ap.example/", false, NULL},
    {"ap.example", false, NULL},
    {"localhost:8080", false, NULL},
    {"", false, NULL},
    {"http://[::1", false, NULL},
    {"http://[::2]/", false, "[::2]"},
    {"http://10.0.0.1/", false, "10.0.0.1"},
    {"http://0.0.0.0/", false, "0.0.0.0"},
};

int main(void)
{
    char host[256], longurl[300];
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct url_case *c = &cases[i];
        bool got = cli_url_safe(c->url, 2048), has = cli_url_host(c->url, host, sizeof host);
        if (got != c->safe) fprintf(stderr, "cli_url_safe(\"%s\") = %d\n", c->url, got);
        EXPECT(got == c->safe);
        if (has != (c->host != NULL) || (has && strcmp(host, c->host) != 0))
            fprintf(stderr, "cli_url_host(\"%s\") = %d \"%s\"\n", c->url, has, has ? host : "");
        EXPECT(has == (c->host != NULL));
        if (has && c->host) EXPECT(strcmp(host, c->host) == 0);
    }
    /* the length limit, and a host too long for the caller's buffer */
    EXPECT(cli_url_safe("https://ap.example/", 19));
    EXPECT(!cli_url_safe("https://ap.example/", 18));
    EXPECT(!cli_url_host("https://ap.example/", host, 10));
    memset(longurl, 'a', sizeof longurl);
    memcpy(longurl, "https://", 8);
    longurl[sizeof longurl - 1] = '\0';
    EXPECT(!cli_url_host(longurl, host, sizeof host));
    curl_global_cleanup();
    TEST_END();
}
