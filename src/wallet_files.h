/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/wallet_files.h: the built web wallet, served by `agepass issuer
 * serve --wallet-dir DIR` at /wallet/ (see wallet_files.c).
 */
#ifndef AGEPASS_SRC_WALLET_FILES_H
#define AGEPASS_SRC_WALLET_FILES_H

#include <microhttpd.h>

struct wallet_files;

/* Reads DIR once; on failure prints why and returns CLI_REJECTED. */
int wallet_files_load(struct wallet_files **out, const char *dir);
void wallet_files_free(struct wallet_files *w);

/* Answers GET /wallet/REL (REL "" is index.html), or 404. */
enum MHD_Result wallet_files_serve(const struct wallet_files *w, struct MHD_Connection *conn,
                                   const char *rel);

#endif
