/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/verifier_class.h: which age class an access check of `agepass
 * verifier serve` needs.
 *
 * The class is --min-age, unless the request carries X-Agepass-Min-Age
 * from a front the verifier trusts (loopback by default, else the
 * addresses given with --front): nginx sets that header per location,
 * after dropping whatever the client sent. The header may only raise the
 * class: a value below --min-age is overruled (--min-age is asked), so that
 * no one can lower the class a page needs. The header from any other
 * address is refused (400, which nginx turns into 503) rather than
 * ignored: a verifier that does not recognise its nginx then fails where
 * it shows, instead of asking less than a location wants.
 */
#ifndef AGEPASS_VERIFIER_CLASS_H
#define AGEPASS_VERIFIER_CLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cli.h"

/* The addresses whose X-Agepass-Min-Age is honoured. */
struct front_list {
    size_t n; /* 0: loopback only (127.0.0.0/8, ::1) */
    struct {
        int family; /* AF_INET or AF_INET6 */
        uint8_t addr[16];
    } a[CLI_MAX_REPEAT];
};

/*
 * Fills f from the --front values (IPv4 or IPv6 addresses, as written by
 * inet_pton); n = 0 keeps the loopback default. Returns CLI_OK, or
 * CLI_USAGE for a value that is not an address.
 */
int front_parse(struct front_list *f, const char *const *values, size_t n);

/* True if peer (from accept(); NULL: unknown) is one of f's addresses. */
bool front_allows(const struct front_list *f, const struct sockaddr *peer);

/* What class_needed made of the header. */
enum class_source {
    CLASS_DEFAULT,    /* no header: --min-age */
    CLASS_FROM_FRONT, /* the front's header, at or above --min-age */
    CLASS_NOT_FRONT,  /* a header from another address: answer 400 */
    CLASS_BELOW_MIN,  /* the front's header below --min-age: --min-age asked */
    CLASS_BAD_HEADER, /* the front's header does not parse: answer 400 */
};

/*
 * The class a request needs: *age is min_age or the value of header (the
 * first X-Agepass-Min-Age value, NULL or "" when absent; count: how many
 * the request holds, where more than one from the front is a bad header)
 * as the rules above say.
 */
enum class_source class_needed(const struct front_list *f, unsigned min_age, const char *header,
                               unsigned count, const struct sockaddr *peer, unsigned *age);

#endif
