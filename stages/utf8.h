/*
 * Strict UTF-8 (RFC 3629) checking for record strings. yajl's lexer only
 * checks the lead/continuation byte pattern, so overlong forms, encoded
 * surrogates and code points past U+10FFFF get through it; decode runs
 * every string and key through this check as well.
 */
#ifndef KS_STAGES_UTF8_H
#define KS_STAGES_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 0 if s[0..n) is well-formed UTF-8 (then *ncp = code points, if ncp is
 * not NULL), -1 otherwise. */
int ks_utf8_check(const uint8_t *s, size_t n, size_t *ncp);

/* Length of the longest prefix of s[0..n) of at most max bytes that does
 * not split a multi-byte sequence (for truncating text in messages). */
size_t ks_utf8_prefix(const uint8_t *s, size_t n, size_t max);

#endif
