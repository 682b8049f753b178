/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_cli.c: the URL checks of src/cli.c (cli_url_safe,
 * cli_url_host) against a table of hostile URLs: what passes "https, or
 * plain http only on loopback" and what the host is, as libcurl reads it;
 * and cli_write: a regular file replaced whole with its mode, a FIFO (as
 * /dev/null or /dev/stdout would be) written in place and left a FIFO.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* cli_write into a FIFO read by a child: the bytes arrive, the FIFO stays. */
static void test_write_not_regular(const char *dir)
{
    char fifo[300], file[300];
    uint8_t *got = NULL;
    size_t got_len = 0;
    struct stat st;
    int status = -1;
    pid_t pid;

    snprintf(fifo, sizeof fifo, "%s/out.fifo", dir);
    EXPECT(mkfifo(fifo, 0600) == 0);
    pid = fork();
    EXPECT(pid >= 0);
    if (pid == 0) { /* the reader: "hello" and nothing more, within 10 s */
        char b[16];
        ssize_t n;
        int fd;
        alarm(10); /* the old cli_write renamed a file over the FIFO: no writer ever came */
        fd = open(fifo, O_RDONLY);
        n = fd < 0 ? -1 : read(fd, b, sizeof b);
        _exit(n == 5 && memcmp(b, "hello", 5) == 0 && read(fd, b, sizeof b) == 0 ? 0 : 1);
    }
    EXPECT(cli_write(fifo, (const uint8_t *)"hello", 5, 0644) == AGP_OK);
    EXPECT(waitpid(pid, &status, 0) == pid);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    EXPECT(unlink(fifo) == 0);

    /* a regular file: replaced whole (shorter than before), with the mode asked */
    snprintf(file, sizeof file, "%s/out.bin", dir);
    EXPECT(cli_write(file, (const uint8_t *)"a longer text", 13, 0644) == AGP_OK);
    EXPECT(cli_write(file, (const uint8_t *)"short", 5, 0600) == AGP_OK);
    EXPECT(cli_read(file, 64, &got, &got_len) == AGP_OK);
    EXPECT(got_len == 5 && memcmp(got, "short", 5) == 0);
    cli_free(got, got_len);
    EXPECT(stat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
    EXPECT(unlink(file) == 0);
    /* a folder is neither written into nor replaced */
    EXPECT(cli_write(dir, (const uint8_t *)"x", 1, 0644) != AGP_OK);
    EXPECT(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
}

int main(void)
{
    char dir[] = "/tmp/agp-test-cli-XXXXXX";
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

    EXPECT(mkdtemp(dir) != NULL);
    test_write_not_regular(dir);
    EXPECT(rmdir(dir) == 0);
    TEST_END();
}
