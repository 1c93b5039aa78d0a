/*
 * "format" assertions (draft-07, section 7.3), each a small hand-written
 * recognizer of the RFC grammar it names: RFC 3339 date-time/date/time
 * (datetime.c, shared with callers' column values), RFC 5321 mailboxes, RFC 1123
 * host names, dotted-quad IPv4 (no leading zeros), RFC 4291 IPv6, RFC 3986
 * URIs and references (RFC 3987 lets IRIs add non-ASCII), RFC 4122 UUIDs,
 * RFC 6901 JSON pointers and their relative form, RFC 6570 templates
 * (brace structure only) and ECMA-262 regexes. idn-hostname and unknown
 * names are annotations: not asserted (documented in the README).
 */
#include "jsonschema/internal.h"

#include <string.h>

static const struct {
  const char *name;
  int id;
} formats[] = {{"date-time", KS_JS_FMT_DATE_TIME},
               {"date", KS_JS_FMT_DATE},
               {"time", KS_JS_FMT_TIME},
               {"email", KS_JS_FMT_EMAIL},
               {"idn-email", KS_JS_FMT_IDN_EMAIL},
               {"hostname", KS_JS_FMT_HOSTNAME},
               {"ipv4", KS_JS_FMT_IPV4},
               {"ipv6", KS_JS_FMT_IPV6},
               {"uri", KS_JS_FMT_URI},
               {"uri-reference", KS_JS_FMT_URI_REFERENCE},
               {"iri", KS_JS_FMT_IRI},
               {"iri-reference", KS_JS_FMT_IRI_REFERENCE},
               {"uuid", KS_JS_FMT_UUID},
               {"regex", KS_JS_FMT_REGEX},
               {"json-pointer", KS_JS_FMT_JSON_POINTER},
               {"relative-json-pointer", KS_JS_FMT_REL_JSON_POINTER},
               {"uri-template", KS_JS_FMT_URI_TEMPLATE}};

int ks__format_id(const char *name) {
  for (size_t i = 0; i < KS_ARRAY_SIZE(formats); i++)
    if (strcmp(formats[i].name, name) == 0)
      return formats[i].id;
  return KS_JS_FMT_OTHER;
}

static int isdig(uint8_t c) {
  return c >= '0' && c <= '9';
}
static int ishex(uint8_t c) {
  return isdig(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}
static int isalpha_(uint8_t c) {
  return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/* n digits at s as a number, or -1 */
static int num(const uint8_t *s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdig(s[i]))
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* ---- RFC 3339: the parser in datetime.c ---- */

static int date_ok(const uint8_t *s, size_t n) {
  int32_t days;
  return ks_date_parse((const char *)s, n, &days) == 0;
}

static int time_ok(const uint8_t *s, size_t n) {
  return ks_time_parse((const char *)s, n) == 0;
}

static int date_time_ok(const uint8_t *s, size_t n) {
  int64_t us;
  return ks_datetime_parse((const char *)s, n, &us) == 0;
}

/* ---- hosts and addresses ---- */

static int ipv4_ok(const uint8_t *s, size_t n) {
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part && (i >= n || s[i++] != '.'))
      return 0;
    size_t k = i;
    while (i < n && isdig(s[i]) && i - k < 4)
      i++;
    if (i == k || i - k > 3 || (i - k > 1 && s[k] == '0') ||
        num(s + k, i - k) > 255)
      return 0;
  }
  return i == n;
}

static int ipv6_ok(const uint8_t *s, size_t n) {
  int groups = 0, dbl = 0;
  size_t i = 0;
  if (n >= 2 && s[0] == ':' && s[1] == ':') {
    dbl = 1;
    i = 2;
    if (i == n)
      return 1;
  } else if (n && s[0] == ':') {
    return 0;
  }
  while (i < n) {
    size_t k = i;
    while (i < n && ishex(s[i]) && i - k < 5)
      i++;
    if (i < n && s[i] == '.') { /* trailing dotted quad: two groups */
      if (!ipv4_ok(s + k, n - k))
        return 0;
      groups += 2;
      i = n;
      break;
    }
    if (i == k || i - k > 4)
      return 0;
    groups++;
    if (i == n)
      break;
    if (s[i] != ':')
      return 0;
    i++;
    if (i < n && s[i] == ':') {
      if (dbl)
        return 0;
      dbl = 1;
      i++;
      if (i == n)
        break;
    } else if (i == n) {
      return 0; /* trailing single colon */
    }
  }
  return dbl ? groups < 8 : groups == 8;
}

static int hostname_ok(const uint8_t *s, size_t n, int idn) {
  if (n == 0 || n > 253)
    return 0;
  size_t label = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '.') {
      if (label == 0 || label > 63 || s[i - label] == '-' || s[i - 1] == '-')
        return 0;
      label = 0;
      continue;
    }
    uint8_t c = s[i];
    if (!(isalpha_(c) || isdig(c) || c == '-' || (idn && c >= 0x80)))
      return 0;
    label++;
  }
  return 1;
}

/* ---- email (RFC 5321 Mailbox) ---- */

static int atext(uint8_t c, int idn) {
  return isalpha_(c) || isdig(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c)) ||
         (idn && c >= 0x80);
}

static int email_ok(const uint8_t *s, size_t n, int idn) {
  size_t at = n;
  while (at > 0 && s[at - 1] != '@')
    at--;
  if (at == 0)
    return 0;
  at--; /* index of the last '@' */
  const uint8_t *d = s + at + 1;
  size_t dn = n - at - 1;
  if (at == 0 || dn == 0)
    return 0;
  if (s[0] == '"') { /* quoted string */
    if (at < 2 || s[at - 1] != '"')
      return 0;
    for (size_t i = 1; i < at - 1; i++) {
      if (s[i] == '\\') {
        if (++i >= at - 1)
          return 0;
      } else if (s[i] == '"' || s[i] < 0x20) {
        return 0;
      }
    }
  } else {
    if (s[0] == '.' || s[at - 1] == '.')
      return 0;
    for (size_t i = 0; i < at; i++) {
      if (s[i] == '.' ? s[i + 1] == '.' : !atext(s[i], idn))
        return 0;
    }
  }
  if (d[0] == '[') {
    if (d[dn - 1] != ']')
      return 0;
    if (dn > 7 && memcmp(d + 1, "IPv6:", 5) == 0)
      return ipv6_ok(d + 6, dn - 7);
    return ipv4_ok(d + 1, dn - 2);
  }
  return hostname_ok(d, dn, idn);
}

/* ---- RFC 3986 URI / URI-reference (RFC 3987 IRIs when iri) ---- */

static int unreserved(uint8_t c, int iri) {
  return isalpha_(c) || isdig(c) || c == '-' || c == '.' || c == '_' ||
         c == '~' || (iri && c >= 0x80);
}
static int subdelim(uint8_t c) {
  return c && strchr("!$&'()*+,;=", c) != NULL;
}

/* Scans chars allowed by `extra` (plus unreserved, sub-delims and %XX)
 * from *i; stops at anything else. 0 on a bad percent escape. */
static int scan(const uint8_t *s, size_t n, size_t *i, const char *extra,
                int iri) {
  while (*i < n) {
    uint8_t c = s[*i];
    if (c == '%') {
      if (*i + 2 >= n || !ishex(s[*i + 1]) || !ishex(s[*i + 2]))
        return 0;
      *i += 3;
    } else if (unreserved(c, iri) || subdelim(c) || (c && strchr(extra, c))) {
      (*i)++;
    } else {
      break;
    }
  }
  return 1;
}

static int authority_ok(const uint8_t *s, size_t n, int iri) {
  size_t at = n;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '@')
      at = i;
  size_t i = 0;
  if (at < n) {
    if (!scan(s, at, &i, ":", iri) || i != at)
      return 0;
    i = at + 1;
  }
  if (i < n && s[i] == '[') {
    size_t close = i;
    while (close < n && s[close] != ']')
      close++;
    if (close == n)
      return 0;
    const uint8_t *h = s + i + 1;
    size_t hn = close - i - 1;
    if (hn && (h[0] | 0x20) == 'v') { /* IPvFuture */
      size_t k = 1;
      while (k < hn && ishex(h[k]))
        k++;
      if (k == 1 || k >= hn || h[k] != '.' || k + 1 == hn)
        return 0;
      k++;
      if (!scan(h, hn, &k, ":", 0) || k != hn)
        return 0;
    } else if (!ipv6_ok(h, hn)) {
      return 0;
    }
    i = close + 1;
  } else if (!scan(s, n, &i, "", iri)) {
    return 0;
  }
  if (i < n && s[i] == ':') {
    for (i++; i < n; i++)
      if (!isdig(s[i]))
        return 0;
  }
  return i == n;
}

static int uri_ok(const uint8_t *s, size_t n, int relative_ok, int iri) {
  size_t i = 0;
  /* scheme, if the first ':' comes before any '/', '?', '#' */
  size_t colon = 0;
  while (colon < n && s[colon] != ':' && s[colon] != '/' && s[colon] != '?' &&
         s[colon] != '#')
    colon++;
  int has_scheme = colon < n && s[colon] == ':';
  if (has_scheme) {
    if (colon == 0 || !isalpha_(s[0]))
      return 0;
    for (size_t k = 1; k < colon; k++)
      if (!(isalpha_(s[k]) || isdig(s[k]) || s[k] == '+' || s[k] == '-' ||
            s[k] == '.'))
        return 0;
    i = colon + 1;
  } else if (!relative_ok) {
    return 0;
  }
  if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
    size_t k = i + 2;
    while (k < n && s[k] != '/' && s[k] != '?' && s[k] != '#')
      k++;
    if (!authority_ok(s + i + 2, k - i - 2, iri))
      return 0;
    i = k;
  }
  if (!scan(s, n, &i, ":@/", iri))
    return 0;
  if (i < n && s[i] == '?') {
    i++;
    if (!scan(s, n, &i, ":@/?", iri))
      return 0;
  }
  if (i < n && s[i] == '#') {
    i++;
    if (!scan(s, n, &i, ":@/?", iri))
      return 0;
  }
  return i == n;
}

/* ---- the rest ---- */

static int uuid_ok(const uint8_t *s, size_t n) {
  if (n != 36)
    return 0;
  for (size_t i = 0; i < n; i++) {
    int dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !ishex(s[i]))
      return 0;
  }
  return 1;
}

static int json_pointer_ok(const uint8_t *s, size_t n) {
  if (n && s[0] != '/')
    return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '~' && (i + 1 == n || (s[i + 1] != '0' && s[i + 1] != '1')))
      return 0;
  return 1;
}

static int rel_json_pointer_ok(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n && isdig(s[i]))
    i++;
  if (i == 0 || (i > 1 && s[0] == '0'))
    return 0;
  if (i < n && s[i] == '#')
    return i + 1 == n;
  return json_pointer_ok(s + i, n - i);
}

static int uri_template_ok(const uint8_t *s, size_t n) {
  int open = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '{') {
      if (open)
        return 0;
      open = 1;
    } else if (s[i] == '}') {
      if (!open)
        return 0;
      open = 0;
    }
  }
  return !open;
}

int ks__format_check(int fmt, const uint8_t *s, size_t n, ks__rematch *m) {
  switch (fmt) {
  case KS_JS_FMT_DATE_TIME:
    return date_time_ok(s, n);
  case KS_JS_FMT_DATE:
    return date_ok(s, n);
  case KS_JS_FMT_TIME:
    return time_ok(s, n);
  case KS_JS_FMT_EMAIL:
    return email_ok(s, n, 0);
  case KS_JS_FMT_IDN_EMAIL:
    return email_ok(s, n, 1);
  case KS_JS_FMT_HOSTNAME:
    return hostname_ok(s, n, 0);
  case KS_JS_FMT_IPV4:
    return ipv4_ok(s, n);
  case KS_JS_FMT_IPV6:
    return ipv6_ok(s, n);
  case KS_JS_FMT_URI:
    return uri_ok(s, n, 0, 0);
  case KS_JS_FMT_URI_REFERENCE:
    return uri_ok(s, n, 1, 0);
  case KS_JS_FMT_IRI:
    return uri_ok(s, n, 0, 1);
  case KS_JS_FMT_IRI_REFERENCE:
    return uri_ok(s, n, 1, 1);
  case KS_JS_FMT_UUID:
    return uuid_ok(s, n);
  case KS_JS_FMT_REGEX:
    return ks__regex_valid_cached(m, s, n);
  case KS_JS_FMT_JSON_POINTER:
    return json_pointer_ok(s, n);
  case KS_JS_FMT_REL_JSON_POINTER:
    return rel_json_pointer_ok(s, n);
  case KS_JS_FMT_URI_TEMPLATE:
    return uri_template_ok(s, n);
  default:
    return 1;
  }
}
