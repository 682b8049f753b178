/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/verifier_class.c: the age class an access check needs (see
 * verifier_class.h). Addresses are compared as bytes; an IPv4 peer seen
 * through an IPv6 socket (::ffff:a.b.c.d) counts as the IPv4 address.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "verifier_class.h"

/* see verifier_class.h */
int front_parse(struct front_list *f, const char *const *values, size_t n)
{
    size_t i;
    memset(f, 0, sizeof *f);
    if (n > CLI_MAX_REPEAT) return CLI_USAGE;
    for (i = 0; i < n; i++) {
        if (inet_pton(AF_INET, values[i], f->a[i].addr) == 1)
            f->a[i].family = AF_INET;
        else if (inet_pton(AF_INET6, values[i], f->a[i].addr) == 1)
            f->a[i].family = AF_INET6;
        else
            return CLI_USAGE;
    }
    f->n = n;
    return CLI_OK;
}

/* see verifier_class.h */
bool front_allows(const struct front_list *f, const struct sockaddr *peer)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    uint8_t addr[16];
    int family;
    size_t i;

    if (peer == NULL) return false;
    if (peer->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)(const void *)peer;
        family = AF_INET;
        memcpy(addr, &in4->sin_addr, 4);
    } else if (peer->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)peer;
        family = AF_INET6;
        memcpy(addr, &in6->sin6_addr, 16);
        if (memcmp(addr, mapped, sizeof mapped) == 0) {
            family = AF_INET;
            memmove(addr, addr + 12, 4);
        }
    } else {
        return false; /* a Unix socket is not offered by --listen */
    }
    if (f->n == 0)
        return family == AF_INET ? addr[0] == 127 : memcmp(addr, loop6, sizeof loop6) == 0;
    for (i = 0; i < f->n; i++)
        if (f->a[i].family == family &&
            memcmp(f->a[i].addr, addr, family == AF_INET ? 4u : 16u) == 0)
            return true;
    return false;
}

/* see verifier_class.h */
enum class_source class_needed(const struct front_list *f, unsigned min_age, const char *header,
                               unsigned count, const struct sockaddr *peer, unsigned *age)
{
    uint64_t v;
    *age = min_age;
    if ((header == NULL || header[0] == '\0') && count <= 1) return CLASS_DEFAULT; /* none */
    if (!front_allows(f, peer)) return CLASS_NOT_FRONT;
    if (count > 1 || !cli_parse_uint(header, 255, &v) || v == 0) return CLASS_BAD_HEADER;
    if (v < min_age) return CLASS_BELOW_MIN;
    *age = (unsigned)v;
    return CLASS_FROM_FRONT;
}
