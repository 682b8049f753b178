/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_verifier_class.c: which age class `agepass verifier
 * serve` asks (src/verifier_class.c): X-Agepass-Min-Age only from the front
 * (loopback by default, else --front), never below --min-age, and a
 * header that does not parse.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "test.h"
#include "verifier_class.h"

static struct sockaddr_in v4(const char *a)
{
    struct sockaddr_in s;
    memset(&s, 0, sizeof s);
    s.sin_family = AF_INET;
    EXPECT(inet_pton(AF_INET, a, &s.sin_addr) == 1);
    return s;
}

static struct sockaddr_in6 v6(const char *a)
{
    struct sockaddr_in6 s;
    memset(&s, 0, sizeof s);
    s.sin6_family = AF_INET6;
    EXPECT(inet_pton(AF_INET6, a, &s.sin6_addr) == 1);
    return s;
}

#define SA(x) ((const struct sockaddr *)(const void *)&(x))

int main(void)
{
    struct front_list loop, fronts;
    const char *good[] = {"10.0.0.5", "2001:db8::7"};
    const char *bad[][1] = {{"10.0.0.256"}, {"10.0.0.5/24"}, {"localhost"}, {""}, {" 10.0.0.5"}};
    struct sockaddr_in lo = v4("127.0.0.1"), lo2 = v4("127.8.9.1"), nginx = v4("10.0.0.5"),
                       other = v4("10.0.0.6");
    struct sockaddr_in6 lo6 = v6("::1"), mapped_lo = v6("::ffff:127.0.0.1"),
                        mapped_nginx = v6("::ffff:10.0.0.5"), nginx6 = v6("2001:db8::7"),
                        other6 = v6("2001:db8::8");
    struct sockaddr_un unix_peer;
    unsigned age = 0;
    size_t i;

    memset(&unix_peer, 0, sizeof unix_peer);
    unix_peer.sun_family = AF_UNIX;
    EXPECT(front_parse(&loop, NULL, 0) == CLI_OK);
    EXPECT(front_parse(&fronts, good, 2) == CLI_OK);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT(front_parse(&fronts, bad[i], 1) == CLI_USAGE);
    EXPECT(front_parse(&fronts, good, CLI_MAX_REPEAT + 1) == CLI_USAGE);
    EXPECT(front_parse(&fronts, good, 2) == CLI_OK);

    /* the default front: loopback, in every form */
    EXPECT(front_allows(&loop, SA(lo)) && front_allows(&loop, SA(lo2)));
    EXPECT(front_allows(&loop, SA(lo6)) && front_allows(&loop, SA(mapped_lo)));
    EXPECT(!front_allows(&loop, SA(nginx)) && !front_allows(&loop, SA(nginx6)));
    EXPECT(!front_allows(&loop, SA(mapped_nginx)) && !front_allows(&loop, NULL));
    EXPECT(!front_allows(&loop, SA(unix_peer)));
    /* --front: those addresses only, loopback no longer */
    EXPECT(front_allows(&fronts, SA(nginx)) && front_allows(&fronts, SA(mapped_nginx)));
    EXPECT(front_allows(&fronts, SA(nginx6)));
    EXPECT(!front_allows(&fronts, SA(other)) && !front_allows(&fronts, SA(other6)));
    EXPECT(!front_allows(&fronts, SA(lo)) && !front_allows(&fronts, SA(lo6)));

    /* the class asked */
    EXPECT(class_needed(&loop, 18, NULL, 1, SA(lo), &age) == CLASS_DEFAULT && age == 18);
    EXPECT(class_needed(&loop, 18, "", 1, SA(lo), &age) == CLASS_DEFAULT && age == 18);
    EXPECT(class_needed(&loop, 18, "21", 1, SA(lo), &age) == CLASS_FROM_FRONT && age == 21);
    EXPECT(class_needed(&loop, 18, "18", 1, SA(lo), &age) == CLASS_FROM_FRONT && age == 18);
    EXPECT(class_needed(&loop, 18, "16", 1, SA(lo), &age) == CLASS_BELOW_MIN && age == 18);
    EXPECT(class_needed(&loop, 18, "21", 1, SA(nginx), &age) == CLASS_NOT_FRONT && age == 18);
    EXPECT(class_needed(&loop, 18, "16", 1, SA(nginx), &age) == CLASS_NOT_FRONT && age == 18);
    EXPECT(class_needed(&loop, 18, "x", 1, SA(nginx), &age) == CLASS_NOT_FRONT && age == 18);
    EXPECT(class_needed(&fronts, 16, "18", 1, SA(nginx6), &age) == CLASS_FROM_FRONT && age == 18);
    EXPECT(class_needed(&fronts, 16, "18", 1, SA(lo), &age) == CLASS_NOT_FRONT && age == 16);
    /* from the front, a header that does not parse is an error (400), never a class */
    EXPECT(class_needed(&loop, 18, "x", 1, SA(lo), &age) == CLASS_BAD_HEADER && age == 18);
    EXPECT(class_needed(&loop, 18, "0", 1, SA(lo), &age) == CLASS_BAD_HEADER && age == 18);
    EXPECT(class_needed(&loop, 18, "256", 1, SA(lo), &age) == CLASS_BAD_HEADER && age == 18);
    EXPECT(class_needed(&loop, 18, "16, 21", 1, SA(lo), &age) == CLASS_BAD_HEADER && age == 18);
    EXPECT(class_needed(&loop, 18, "-1", 1, SA(lo), &age) == CLASS_BAD_HEADER && age == 18);
    EXPECT(class_needed(&loop, 18, " 21", 1, SA(lo), &age) == CLASS_BAD_HEADER && age == 18);
    /* the header twice: refused from the front, ignored from elsewhere */
    EXPECT(class_needed(&loop, 18, "21", 2, SA(lo), &age) == CLASS_BAD_HEADER && age == 18);
    EXPECT(class_needed(&loop, 18, "", 2, SA(lo), &age) == CLASS_BAD_HEADER && age == 18);
    EXPECT(class_needed(&loop, 18, "21", 2, SA(nginx), &age) == CLASS_NOT_FRONT && age == 18);
    EXPECT(class_needed(&loop, 18, NULL, 0, SA(nginx), &age) == CLASS_DEFAULT && age == 18);
    TEST_END();
}
