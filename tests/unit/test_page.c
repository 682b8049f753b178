/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_page.c: the readers behind the age-check page and the
 * redemption route (lib/page.c): Accept-Language, the message catalogue,
 * the template filler, the return path and the redemption form, each with
 * its refusals.
 */
#include <string.h>

#include "agepass/page.h"
#include "test.h"

static const char *const langs[] = {"en", "fr", "de", "es", "it"};

static agp_err pick(const char *h, size_t *out)
{
    return agp_accept_language_pick(out, h, strlen(h), langs, 5);
}

static size_t picked(const char *h)
{
    size_t i = 99;
    if (pick(h, &i) != AGP_OK) return 99;
    return i;
}

static struct agp_catalog cat;

static agp_err catalog(const char *t)
{
    return agp_catalog_parse(&cat, t, strlen(t));
}

static bool path_ok(const char *p)
{
    return agp_return_path_ok(p, strlen(p));
}

static char tok[64], ret[64];

static agp_err form(const char *b)
{
    return agp_redeem_form_parse(tok, sizeof tok, ret, sizeof ret, b, strlen(b));
}

int main(void)
{
    char out[256], big[5000];
    size_t len, i;

    /* Accept-Language: the best q, the first on a tie, primary subtag only */
    EXPECT(picked("fr") == 1);
    EXPECT(picked("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5") == 1);
    EXPECT(picked("en;q=0.1, it;q=0.9") == 4);
    EXPECT(picked("DE-de") == 2);
    EXPECT(picked("pt-BR, es;q=0.3") == 3);
    EXPECT(picked("*") == 0);
    EXPECT(picked("it;q=1.000, de;q=1") == 4);
    EXPECT(picked(" , fr ,,") == 1); /* empty list elements */
    EXPECT(picked("zh-Hant-TW;q=0.9,es;Q=0.8") == 3);
    EXPECT(picked("fr;q=0, de") == 2); /* q=0: not acceptable */
    EXPECT(picked("x-klingon, de;q=0.001") == 2);
    EXPECT_ERR(pick("", &i), AGP_ERR_NOT_FOUND);
    EXPECT(i == 0);
    EXPECT_ERR(pick("pt, ja", &i), AGP_ERR_NOT_FOUND);
    EXPECT_ERR(pick("fr;q=0", &i), AGP_ERR_NOT_FOUND);
    EXPECT_ERR(pick("fr;q=1.001", &i), AGP_ERR_SYNTAX);
    i = 99;
    EXPECT_ERR(pick("de, fr;q=2", &i), AGP_ERR_SYNTAX); /* found by fuzz_accept_language */
    EXPECT(i == 0);
    EXPECT_ERR(pick("fr;q=1.5", &i), AGP_ERR_SYNTAX);
    EXPECT_ERR(pick("fr;q=0.1234", &i), AGP_ERR_SYNTAX);
    EXPECT_ERR(pick("fr;q=2", &i), AGP_ERR_SYNTAX);
    EXPECT_ERR(pick("fr;q=", &i), AGP_ERR_SYNTAX);
    EXPECT_ERR(pick("fr;x=1", &i), AGP_ERR_SYNTAX);
    EXPECT_ERR(pick("fr;", &i), AGP_ERR_SYNTAX);
    EXPECT_ERR(pick("abcdefghi", &i), AGP_ERR_SYNTAX); /* 9 letters */
    EXPECT_ERR(pick("fr-", &i), AGP_ERR_SYNTAX);
    EXPECT_ERR(pick("fr-abcdefghi", &i), AGP_ERR_SYNTAX);
    EXPECT_ERR(pick("fr_FR", &i), AGP_ERR_SYNTAX);
    EXPECT_ERR(pick("fr en", &i), AGP_ERR_SYNTAX);
    EXPECT_ERR(pick("1fr", &i), AGP_ERR_SYNTAX);
    EXPECT_ERR(pick("fr\r\n", &i), AGP_ERR_SYNTAX);
    EXPECT_ERR(pick("**", &i), AGP_ERR_SYNTAX);
    memset(big, ',', sizeof big);
    EXPECT_ERR(agp_accept_language_pick(&i, big, AGP_ACCEPT_LANGUAGE_MAX + 1, langs, 5),
               AGP_ERR_TOO_BIG);
    EXPECT_ERR(agp_accept_language_pick(&i, big, AGP_ACCEPT_LANGUAGE_MAX, langs, 5),
               AGP_ERR_NOT_FOUND);
    for (i = 0; i < 3 * (AGP_ACCEPT_LANGUAGE_MAX_RANGES + 1); i += 3)
        memcpy(big + i, "pt,", 3);
    EXPECT_ERR(agp_accept_language_pick(&len, big, 3 * AGP_ACCEPT_LANGUAGE_MAX_RANGES, langs, 5),
               AGP_ERR_NOT_FOUND);
    EXPECT_ERR(
        agp_accept_language_pick(&len, big, 3 * (AGP_ACCEPT_LANGUAGE_MAX_RANGES + 1) - 1, langs, 5),
        AGP_ERR_TOO_BIG);

    /* the catalogue */
    EXPECT_OK(catalog("# a comment, é\n\ntitle=Vérification d’âge\nlead=a = b\n"));
    EXPECT(cat.count == 2);
    EXPECT(agp_catalog_get(&cat, "title", 5) != NULL &&
           agp_catalog_get(&cat, "title", 5)->len == strlen("Vérification d’âge"));
    EXPECT(agp_catalog_get(&cat, "lead", 4) != NULL &&
           memcmp(agp_catalog_get(&cat, "lead", 4)->ptr, "a = b", 5) == 0);
    EXPECT(agp_catalog_get(&cat, "titl", 4) == NULL);
    EXPECT_OK(catalog(""));
    EXPECT_ERR(catalog("title=x"), AGP_ERR_SYNTAX);            /* no final LF */
    EXPECT_ERR(catalog("# c"), AGP_ERR_SYNTAX);                /* no final LF */
    EXPECT_ERR(catalog("title x\n"), AGP_ERR_SYNTAX);          /* no = */
    EXPECT_ERR(catalog("title=x\ntitle=y\n"), AGP_ERR_SYNTAX); /* twice */
    EXPECT(cat.count == 0);
    EXPECT_ERR(catalog("Title=x\n"), AGP_ERR_LENGTH); /* key: [a-z0-9_] only */
    EXPECT_ERR(catalog(" title=x\n"), AGP_ERR_LENGTH);
    EXPECT_ERR(catalog("title =x\n"), AGP_ERR_SYNTAX);
    EXPECT_ERR(catalog("=x\n"), AGP_ERR_LENGTH);
    EXPECT_ERR(catalog("title=\n"), AGP_ERR_LENGTH);      /* empty value */
    EXPECT_ERR(catalog("title=x\r\n"), AGP_ERR_ENCODING); /* CR */
    EXPECT_ERR(catalog("title=a\tb\n"), AGP_ERR_ENCODING);
    EXPECT_ERR(catalog("title=\xe9t\xe9\n"), AGP_ERR_ENCODING);        /* Latin-1 */
    EXPECT_ERR(catalog("title=\xc0\xaf\n"), AGP_ERR_ENCODING);         /* overlong */
    EXPECT_ERR(catalog("title=\xed\xa0\x80\n"), AGP_ERR_ENCODING);     /* surrogate */
    EXPECT_ERR(catalog("title=\xf4\x90\x80\x80\n"), AGP_ERR_ENCODING); /* > U+10FFFF */
    EXPECT_ERR(catalog("title=\xe2\x82\n"), AGP_ERR_ENCODING);         /* truncated */
    EXPECT_ERR(catalog("# \xff\n"), AGP_ERR_ENCODING);
    EXPECT_ERR(agp_catalog_parse(&cat, "title=a\0b\n", 10), AGP_ERR_ENCODING);
    memset(big, 'k', 40);
    memcpy(big + 33, "=x\n", 4);
    EXPECT_ERR(catalog(big), AGP_ERR_LENGTH); /* a 33-character key */
    memcpy(big + 32, "=x\n", 4);
    EXPECT_OK(catalog(big));
    memcpy(big, "t=", 2);
    memset(big + 2, 'v', AGP_CATALOG_VALUE_MAX + 1);
    memcpy(big + 2 + AGP_CATALOG_VALUE_MAX + 1, "\n", 2);
    EXPECT_ERR(catalog(big), AGP_ERR_LENGTH);
    memcpy(big + 2 + AGP_CATALOG_VALUE_MAX, "\n", 2);
    EXPECT_OK(catalog(big));
    {
        static char many[AGP_CATALOG_MAX_ENTRIES * 8 + 16];
        size_t n = 0, k;
        for (k = 0; k <= AGP_CATALOG_MAX_ENTRIES; k++)
            n += (size_t)snprintf(many + n, sizeof many - n, "k%03zu=v\n", k);
        EXPECT_ERR(agp_catalog_parse(&cat, many, n), AGP_ERR_LENGTH);
        EXPECT_OK(agp_catalog_parse(&cat, many, n - 7));
    }
    EXPECT_ERR(agp_catalog_parse(&cat, big, AGP_CATALOG_MAX_BYTES + 1), AGP_ERR_TOO_BIG);

    /* the template: variables, then the catalogue, escaped unless raw */
    EXPECT_OK(catalog("title=Tom & \"Jerry\" <3\nk=v\n"));
    {
        struct agp_page_var v[2] = {{"lang", "fr", 2, false}, {"raw", "<b>", 3, true}};
        static const char t[] = "<html lang=\"{{lang}}\">{{title}}{{raw}}{{k}}{x}";
        EXPECT_OK(agp_page_render(out, sizeof out, &len, t, strlen(t), &cat, v, 2));
        EXPECT(strcmp(out, "<html lang=\"fr\">Tom &amp; &quot;Jerry&quot; &lt;3<b>v{x}") == 0);
        EXPECT(len == strlen(out));
        EXPECT_ERR(agp_page_render(out, sizeof out, &len, "{{nope}}", 8, &cat, v, 2),
                   AGP_ERR_NOT_FOUND);
        EXPECT(len == 0 && out[0] == '\0');
        EXPECT_ERR(agp_page_render(out, sizeof out, &len, "{{title", 7, &cat, v, 2),
                   AGP_ERR_SYNTAX);
        EXPECT_ERR(agp_page_render(out, sizeof out, &len, "{{title}", 8, &cat, v, 2),
                   AGP_ERR_SYNTAX);
        EXPECT_ERR(agp_page_render(out, sizeof out, &len, "{{}}", 4, &cat, v, 2), AGP_ERR_SYNTAX);
        EXPECT_ERR(agp_page_render(out, sizeof out, &len, "{{Title}}", 9, &cat, v, 2),
                   AGP_ERR_SYNTAX);
        EXPECT_ERR(agp_page_render(out, 10, &len, t, strlen(t), &cat, v, 2), AGP_ERR_TOO_BIG);
        EXPECT_ERR(
            agp_page_render(out, sizeof out, &len, big, AGP_TEMPLATE_MAX_BYTES + 1, &cat, v, 2),
            AGP_ERR_TOO_BIG);
    }

    /* return paths: this site only */
    EXPECT(path_ok("/"));
    EXPECT(path_ok("/adult/?x=1&y=%20#top"));
    EXPECT(path_ok("/a/%2F%2Fb"));
    EXPECT(!path_ok(""));
    EXPECT(!path_ok("adult/"));
    EXPECT(!path_ok("//evil.example/"));
    EXPECT(!path_ok("/\\evil.example"));
    EXPECT(!path_ok("\\/evil.example"));
    EXPECT(!path_ok("/a\\b"));
    EXPECT(!path_ok("https://evil.example/"));
    EXPECT(!path_ok("/%2F%2Fevil.example"));
    EXPECT(!path_ok("/%5cevil.example"));
    EXPECT(!path_ok("/a b"));
    EXPECT(!path_ok("/a\tb"));
    EXPECT(!path_ok("/a\r\nSet-Cookie: x=y"));
    EXPECT(!path_ok("/a%0d%0aSet-Cookie:x"));
    EXPECT(!path_ok("/a%7f"));
    EXPECT(!path_ok("/a%"));
    EXPECT(!path_ok("/a%4"));
    EXPECT(!path_ok("/a%zz"));
    EXPECT(!path_ok("/\xc3\xa9"));
    EXPECT(!agp_return_path_ok("/a\0b", 4));
    memset(big, 'a', AGP_RETURN_PATH_MAX + 1);
    big[0] = '/';
    EXPECT(agp_return_path_ok(big, AGP_RETURN_PATH_MAX));
    EXPECT(!agp_return_path_ok(big, AGP_RETURN_PATH_MAX + 1));

    /* the redemption form */
    EXPECT_OK(form("token=AbC-_%3D&return=%2Fadult%2F%3Fx%3D1"));
    EXPECT(strcmp(tok, "AbC-_=") == 0 && strcmp(ret, "/adult/?x=1") == 0);
    EXPECT_OK(form("return=/a+b&token=x"));
    EXPECT(strcmp(tok, "x") == 0 && strcmp(ret, "/a b") == 0);
    EXPECT_OK(form("token=&return="));
    EXPECT(tok[0] == '\0' && ret[0] == '\0');
    EXPECT_ERR(form(""), AGP_ERR_SYNTAX);
    EXPECT_ERR(form("token=x"), AGP_ERR_SYNTAX);
    EXPECT_ERR(form("return=/"), AGP_ERR_SYNTAX);
    EXPECT_ERR(form("token=x&return=/&"), AGP_ERR_SYNTAX);
    EXPECT_ERR(form("token=x&&return=/"), AGP_ERR_SYNTAX);
    EXPECT_ERR(form("token=x&return=/&token=y"), AGP_ERR_SYNTAX);
    EXPECT(tok[0] == '\0' && ret[0] == '\0'); /* outputs cleared on error */
    EXPECT_ERR(form("token=x&return=/&x=1"), AGP_ERR_SYNTAX);
    EXPECT_ERR(form("Token=x&return=/"), AGP_ERR_SYNTAX);
    EXPECT_ERR(form("token&return=/"), AGP_ERR_SYNTAX);
    EXPECT_ERR(form("token=a=b&return=/"), AGP_ERR_ENCODING);
    EXPECT_ERR(form("token=%zz&return=/"), AGP_ERR_ENCODING);
    EXPECT_ERR(form("token=%4&return=/"), AGP_ERR_ENCODING);
    EXPECT_ERR(form("token=x&return=%"), AGP_ERR_ENCODING);
    EXPECT_ERR(form("token=%00&return=/"), AGP_ERR_ENCODING);
    EXPECT_ERR(form("token=x&return=/%0a"), AGP_ERR_ENCODING);
    EXPECT_ERR(form("token=x&return=/\xc3\xa9"), AGP_ERR_ENCODING);
    EXPECT_ERR(form("token=x y&return=/"), AGP_ERR_ENCODING);
    memset(big, 'A', sizeof big);
    memcpy(big, "token=", 6);
    memcpy(big + 6 + 64, "&return=/", 10);
    EXPECT_ERR(form(big), AGP_ERR_TOO_BIG); /* 64 bytes and the NUL do not fit in 64 */
    memcpy(big + 6 + 63, "&return=/", 10);
    EXPECT_OK(form(big));
    EXPECT_ERR(agp_redeem_form_parse(tok, sizeof tok, ret, sizeof ret, big, AGP_FORM_MAX_BYTES + 1),
               AGP_ERR_TOO_BIG);

    /* percent-encoding for the wallet's fragment */
    EXPECT_OK(agp_pct_encode(out, sizeof out, &len, "a-._~ /\"=%", 10));
    EXPECT(strcmp(out, "a-._~%20%2F%22%3D%25") == 0 && len == strlen(out));
    EXPECT_ERR(agp_pct_encode(out, 3, &len, "/", 1), AGP_ERR_TOO_BIG);
    EXPECT(out[0] == '\0' && len == 0);
    EXPECT_OK(agp_pct_encode(out, 4, &len, "/", 1));
    EXPECT(strcmp(out, "%2F") == 0);
    TEST_END();
}
