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

/* 1 when host (as ks_hostport_parse leaves it) reaches this machine only:
 * "localhost", 127.0.0.0/8, "::1" or "::ffff:127.x.y.z". "" (every
 * interface) and any other name or address are not. */
int ks_host_is_loopback(const char *host);

#endif
