/*
 * "pattern", "patternProperties" and the "regex" format: ECMA-262 regular
 * expressions on PCRE2, compiled once at schema load (JIT when available),
 * matched without allocation through per-validator match data.
 *
 * PCRE2 is close to ECMA-262 in UTF mode; the differences handled here:
 * `$` only matches at the very end (DOLLAR_ENDONLY), \uXXXX and \u{X}
 * escapes (ALT_BSUX + EXTRA_ALT_BSUX), \d and \w stay ASCII (no UCP), and
 * \s/\S take ECMA's Unicode white space set, which PCRE2's ASCII \s lacks.
 * Also: Unicode long property names (\p{Letter}) map to PCRE2's short
 * ones, `[]` and `[^]` keep ECMA's meaning, and PCRE-only syntax ((?i),
 * (?#...), (?P<n>...), \a \e \A \Z \z) is refused. Left as PCRE2 has it:
 * variable-width lookbehind (refused by PCRE2 10.42, valid in ES2018).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "jsonschema/internal.h"

#include <pcre2.h>
#include <stdio.h>
#include <string.h>

struct ks__regex {
  pcre2_code *code;
  char *src;
};

/* "format": "regex" verdicts by value: a record repeating one pattern
 * string compiles it once. Direct-mapped, short values only. */
#define FMT_CACHE 64
#define FMT_CACHE_MAX 256
typedef struct fmt_entry {
  uint64_t hash;
  uint16_t len;
  uint8_t valid, used;
  uint8_t text[FMT_CACHE_MAX];
} fmt_entry;

struct ks__rematch {
  pcre2_match_data *md;
  pcre2_match_context *mc;
  fmt_entry *fmt; /* FMT_CACHE entries, allocated on first use */
};

/* Backtracking steps one match may take before the record is refused
 * with keyword "budget" (PCRE2's match limit), and the least a match is
 * charged against the record's budget. */
#define MATCH_LIMIT 1000000u
#define MATCH_DEPTH_LIMIT 10000u

/* ECMA-262 WhiteSpace and LineTerminator code points. */
#define ECMA_SPACE                                                             \
  "\\t\\n\\u000b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f"     \
  "\\u205f\\u3000\\ufeff"

/* ECMA-262 accepts Unicode's long property names; PCRE2 10.42 only the
 * short ones. */
static const char *const long_props[][2] = {{"Letter", "L"},
                                            {"Cased_Letter", "LC"},
                                            {"Uppercase_Letter", "Lu"},
                                            {"Lowercase_Letter", "Ll"},
                                            {"Titlecase_Letter", "Lt"},
                                            {"Modifier_Letter", "Lm"},
                                            {"Other_Letter", "Lo"},
                                            {"Mark", "M"},
                                            {"Number", "N"},
                                            {"Decimal_Number", "Nd"},
                                            {"digit", "Nd"},
                                            {"Letter_Number", "Nl"},
                                            {"Other_Number", "No"},
                                            {"Punctuation", "P"},
                                            {"punct", "P"},
                                            {"Symbol", "S"},
                                            {"Separator", "Z"},
                                            {"Space_Separator", "Zs"},
                                            {"Other", "C"},
                                            {"Control", "Cc"},
                                            {"cntrl", "Cc"},
                                            {"Format", "Cf"}};

/* Rewrites the ECMA pattern for PCRE2; -1 for escapes ECMA does not have. */
static int translate(const char *p, size_t n, ks_buf *out) {
  int in_class = 0;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c == '\\' && i + 1 < n) {
      char e = p[++i];
      if (e == 'a' || e == 'e' || e == 'Z' || e == 'z' || e == 'A')
        return -1;
      if ((e == 'p' || e == 'P') && i + 1 < n && p[i + 1] == '{') {
        size_t close = i + 2;
        while (close < n && p[close] != '}')
          close++;
        size_t nl = close - (i + 2);
        for (size_t k = 0; k < KS_ARRAY_SIZE(long_props); k++) {
          if (strlen(long_props[k][0]) == nl &&
              memcmp(long_props[k][0], p + i + 2, nl) == 0) {
            ks_buf_appendf(out, "\\%c{%s}", e, long_props[k][1]);
            i = close;
            break;
          }
        }
        if (i == close)
          continue;
      }
      if (e == 's' || (e == 'S' && !in_class)) {
        if (!in_class)
          ks_buf_append_str(out, e == 's' ? "[" : "[^");
        ks_buf_append_str(out, ECMA_SPACE);
        if (!in_class)
          ks_buf_append_byte(out, ']');
        continue;
      }
      ks_buf_append_byte(out, '\\');
      ks_buf_append_byte(out, (uint8_t)e);
      continue;
    }
    if (c == '(' && i + 2 < n && p[i + 1] == '?' && !strchr(":=!<", p[i + 2]))
      return -1; /* no inline flags, comments or (?P in ECMA-262 */
    if (c == '[' && !in_class) {
      /* ECMA's [] matches nothing and [^] anything; PCRE2 reads a ']'
       * right after '[' as a literal */
      if (i + 1 < n && p[i + 1] == ']') {
        ks_buf_append_str(out, "(?!)");
        i += 1;
        continue;
      }
      if (i + 2 < n && p[i + 1] == '^' && p[i + 2] == ']') {
        ks_buf_append_str(out, "[\\s\\S]");
        i += 2;
        continue;
      }
      in_class = 1;
    } else if (c == ']' && in_class)
      in_class = 0;
    ks_buf_append_byte(out, (uint8_t)c);
  }
  return 0;
}

ks__regex *ks__regex_new(const char *pat, size_t len, char *err,
                         size_t errlen) {
  ks_buf t;
  ks_buf_init(&t, KS_BUF_UNLIMITED);
  if (translate(pat, len, &t)) {
    snprintf(err, errlen,
             "not ECMA-262 syntax (an escape such as \\a or \\Z, or an "
             "inline flag/comment group)");
    ks_buf_free(&t);
    return NULL;
  }
  int ec;
  PCRE2_SIZE eo;
  pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
  pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
  pcre2_code *code = pcre2_compile(
      t.data ? t.data : (PCRE2_SPTR) "", t.len,
      PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX, &ec, &eo, cc);
  pcre2_compile_context_free(cc);
  ks_buf_free(&t);
  if (code == NULL) {
    PCRE2_UCHAR msg[160];
    pcre2_get_error_message(ec, msg, sizeof msg);
    snprintf(err, errlen, "%s", (char *)msg);
    return NULL;
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* falls back if absent */
  ks__regex *re = ks_calloc(1, sizeof *re);
  re->code = code;
  re->src = ks_strndup(pat, len);
  return re;
}

void ks__regex_free(ks__regex *re) {
  if (re == NULL)
    return;
  pcre2_code_free(re->code);
  ks_free(re->src);
  ks_free(re);
}

const char *ks__regex_source(const ks__regex *re) {
  return re->src;
}

ks__rematch *ks__rematch_new(void) {
  ks__rematch *m = ks_calloc(1, sizeof *m);
  m->md = pcre2_match_data_create(1, NULL);
  m->mc = pcre2_match_context_create(NULL);
  /* bounded backtracking: a pathological pattern fails the value instead
   * of stalling a worker */
  pcre2_set_match_limit(m->mc, MATCH_LIMIT);
  pcre2_set_depth_limit(m->mc, MATCH_DEPTH_LIMIT);
  return m;
}

void ks__rematch_free(ks__rematch *m) {
  if (m == NULL)
    return;
  pcre2_match_data_free(m->md);
  pcre2_match_context_free(m->mc);
  ks_free(m->fmt);
  ks_free(m);
}

int ks__regex_search(const ks__regex *re, ks__rematch *m, const uint8_t *s,
                     size_t n, uint64_t *budget) {
  /* A match may take at most what the record has left (and MATCH_LIMIT);
   * a finished one is charged its subject length, one that ran out is
   * charged its whole limit, so many strings that each backtrack up to
   * the limit exhaust the record's budget instead of a worker. */
  uint64_t left = budget ? *budget : MATCH_LIMIT;
  if (left == 0)
    return KS__RE_BUDGET;
  uint32_t limit = left < MATCH_LIMIT ? (uint32_t)left : MATCH_LIMIT;
  pcre2_set_match_limit(m->mc, limit);
  int rc = pcre2_match(re->code, s ? s : (PCRE2_SPTR) "", n, 0,
                       PCRE2_NO_UTF_CHECK, m->md, m->mc);
  uint64_t cost = rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT
                      ? limit
                      : 1 + n / 8;
  if (budget)
    *budget = cost < *budget ? *budget - cost : 0;
  if (rc >= 0)
    return 1;
  if (rc == PCRE2_ERROR_NOMATCH)
    return 0;
  return KS__RE_BUDGET;
}

static uint64_t fnv(const uint8_t *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 1099511628211ull;
  return h;
}

int ks__regex_valid_cached(ks__rematch *m, const uint8_t *s, size_t n) {
  char err[160];
  if (m == NULL || n > FMT_CACHE_MAX) {
    ks__regex *re = ks__regex_new((const char *)s, n, err, sizeof err);
    ks__regex_free(re);
    return re != NULL;
  }
  if (m->fmt == NULL)
    m->fmt = ks_calloc(FMT_CACHE, sizeof *m->fmt);
  uint64_t h = fnv(s, n);
  fmt_entry *e = &m->fmt[h % FMT_CACHE];
  if (e->used && e->hash == h && e->len == n && memcmp(e->text, s, n) == 0)
    return e->valid;
  ks__regex *re = ks__regex_new((const char *)s, n, err, sizeof err);
  ks__regex_free(re);
  e->used = 1;
  e->hash = h;
  e->len = (uint16_t)n;
  e->valid = re != NULL;
  memcpy(e->text, s, n);
  return e->valid;
}
