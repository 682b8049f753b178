/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/main.c: the agepass program; dispatches to one file per subcommand.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"

/* AGP_VERSION comes from project(VERSION) in CMakeLists.txt, the one place it is written. */
#ifndef AGP_VERSION
#error "AGP_VERSION is set by CMakeLists.txt"
#endif

static const char usage[] =
    "usage: agepass COMMAND [OPTIONS]\n"
    "\n"
    "  demo     the whole story on this machine, in one command\n"
    "  enroll   prove your age to an issuer once, keep its grant\n"
    "  fetch    fill the wallet with tokens from an issuer\n"
    "  get      open a page, answering its age check\n"
    "  wallet   show what the wallet holds\n"
    "  keygen   make an issuer key pair (RSA, RFC 9578 token type 0x0002)\n"
    "  token    low-level token operations: challenge, request, issue,\n"
    "           finalize, verify, and the HTTP headers of RFC 9577\n"
    "  issuer   init, serve, rotate: the age provider's token service\n"
    "  verifier serve   the site's verifier for nginx auth_request\n"
    "  report   a period's figures from Prometheus: HTML, PDF, CSV, JSON\n"
    "\n"
    "Run 'agepass COMMAND --help' for the options of a command,\n"
    "'agepass --version' (or -V) for the version and the OpenSSL in use.\n"
    "Exit status: 0 success, 1 input rejected (reason on stderr), 2 usage error.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "keygen") == 0) return cmd_keygen(argc - 2, argv + 2);
    if (strcmp(argv[1], "token") == 0) return cmd_token(argc - 2, argv + 2);
    if (strcmp(argv[1], "verifier") == 0) return cmd_verifier(argc - 2, argv + 2);
    if (strcmp(argv[1], "issuer") == 0) return cmd_issuer(argc - 2, argv + 2);
    if (strcmp(argv[1], "demo") == 0) return cmd_demo(argc - 2, argv + 2);
    if (strcmp(argv[1], "report") == 0) return cmd_report(argc - 2, argv + 2);
    if (strcmp(argv[1], "enroll") == 0 || strcmp(argv[1], "fetch") == 0 ||
        strcmp(argv[1], "get") == 0 || strcmp(argv[1], "wallet") == 0)
        return cmd_client(argv[1], argc - 2, argv + 2);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        /* the OpenSSL that is loaded, which may be newer than the one built against */
        printf("agepass %s\n%s\n", AGP_VERSION, OpenSSL_version(OPENSSL_VERSION));
        return CLI_OK;
    }
    fprintf(stderr, "agepass: unknown command '%s'\n%s", argv[1], usage);
    return CLI_USAGE;
}
