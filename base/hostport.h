/*
 * Listen addresses: "host:port", "[v6]:port" or ":port" (every
 * interface). One parser for conf/ (validation at start-up, with file:line)
 * and http/ (binding).
 */
#ifndef KS_BASE_HOSTPORT_H
#define KS_BASE_HOSTPORT_H

#include <stddef.h>

/* Splits s into NUL-terminated host ("" for every interface) and port
 * (decimal, 0-65535). Returns 0 or KS_EINVAL. */
int ks_hostport_parse(const char *s, char *host, size_t hostlen, char *port,
                      size_t portlen);

#endif
