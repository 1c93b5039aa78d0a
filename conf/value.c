/*
 * Reading typed values out of the node tree: ${ENV} interpolation, the key
 * path that every message names, unknown-key suggestions, and the one
 * place that decides whether a value may be printed. Every message that
 * quotes a value goes through ks__conf_show(), so a credential can only
 * leak by bypassing it.
 */
#include "conf/internal.h"
#include "conf/connect_keys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

size_t ks__conf_path_push(ks__conf_ctx *c, const char *key) {
  size_t old = c->pathlen;
  int n = snprintf(c->path + old, sizeof c->path - old, "%s%s", old ? "." : "",
                   key);
  if (n > 0)
    c->pathlen =
        old + (size_t)n < sizeof c->path ? old + (size_t)n : sizeof c->path - 1;
  return old;
}

size_t ks__conf_path_push_index(ks__conf_ctx *c, size_t i) {
  size_t old = c->pathlen;
  int n = snprintf(c->path + old, sizeof c->path - old, "[%zu]", i);
  if (n > 0)
    c->pathlen =
        old + (size_t)n < sizeof c->path ? old + (size_t)n : sizeof c->path - 1;
  return old;
}

void ks__conf_path_pop(ks__conf_ctx *c, size_t len) {
  c->pathlen = len;
  c->path[len] = '\0';
}

int ks__conf_fail(ks__conf_ctx *c, int line, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->pathlen)
    snprintf(c->err, c->errlen, "%s:%d: %s: %s", c->file, line, c->path, msg);
  else
    snprintf(c->err, c->errlen, "%s:%d: %s", c->file, line, msg);
  ks__conf_one_line(c->err);
  return KS_ECONFIG;
}

/* One line whatever the document holds: a key may itself contain line
 * breaks (a multi-line plain scalar) or other control characters. */
void ks__conf_one_line(char *msg) {
  for (char *p = msg; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
}

int ks__conf_path_is_secret(const char *path) {
  static const char *const secret_leaves[] = {"secret_access_key",
                                              "session_token", "admin_token"};
  if (strncmp(path, "kafka.", 6) == 0) {
    /* librdkafka's secrets: sasl.password, ssl.key.password,
     * ssl.key.pem, ssl.keystore.password, sasl.oauthbearer.config and
     * client secret, sasl.jaas-style settings, tokens of any kind */
    static const char *const words[] = {"password", "secret",      "pem",
                                        "key",      "token",       "oauthbearer",
                                        "jaas",     "credential"};
    for (size_t i = 0; i < KS_ARRAY_SIZE(words); i++)
      if (strcasestr(path + 6, words[i]) != NULL)
        return 1;
    return 0;
  }
  const char *leaf = strrchr(path, '.');
  leaf = leaf ? leaf + 1 : path;
  for (size_t i = 0; i < KS_ARRAY_SIZE(secret_leaves); i++)
    if (strcmp(leaf, secret_leaves[i]) == 0)
      return 1;
  return 0;
}

const char *ks__conf_show(const ks__conf_ctx *c, const char *text, char *buf,
                          size_t cap) {
  if (ks__conf_path_is_secret(c->path))
    return "<redacted>";
  /* Quoted, control characters escaped so the message stays one line,
   * long values cut: the point is recognition, not reproduction. */
  size_t o = 0, max = cap > 8 ? cap - 6 : 0;
  buf[o++] = '"';
  for (const char *p = text; *p && o < max; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '"' || ch == '\\') {
      buf[o++] = '\\';
      buf[o++] = (char)ch;
    } else if (ch == '\n') {
      buf[o++] = '\\';
      buf[o++] = 'n';
    } else if (ch < 0x20 || ch == 0x7f) {
      buf[o++] = '?';
    } else {
      buf[o++] = (char)ch;
    }
    if (o >= max && p[1]) {
      memcpy(buf + o, "...", 3);
      o += 3;
    }
  }
  buf[o++] = '"';
  buf[o] = '\0';
  return buf;
}

int ks__conf_is_null(const ks__conf_node *n) {
  if (n == NULL)
    return 1;
  if (n->kind != KS__CONF_SCALAR || n->quoted)
    return 0;
  return strcmp(n->text, "") == 0 || strcmp(n->text, "~") == 0 ||
         strcmp(n->text, "null") == 0 || strcmp(n->text, "Null") == 0 ||
         strcmp(n->text, "NULL") == 0;
}

const char *ks__conf_kind_name(const ks__conf_node *n) {
  switch (n->kind) {
  case KS__CONF_MAP:
    return "a mapping";
  case KS__CONF_SEQ:
    return "a sequence";
  default:
    return "a scalar";
  }
}

ks__conf_node *ks__conf_get(const ks__conf_node *map, const char *key) {
  if (map == NULL || map->kind != KS__CONF_MAP)
    return NULL;
  for (size_t i = 0; i < map->n; i++)
    if (strcmp(map->keys[i]->text, key) == 0)
      return map->vals[i];
  return NULL;
}

int ks__conf_key_line(const ks__conf_node *map, const char *key, int fallback) {
  if (map == NULL || map->kind != KS__CONF_MAP)
    return fallback;
  for (size_t i = 0; i < map->n; i++)
    if (strcmp(map->keys[i]->text, key) == 0)
      return map->keys[i]->line;
  return fallback;
}

static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return 64;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *ks__conf_suggest(const char *key, const char *const *known) {
  const char *best = NULL;
  size_t bestd = (size_t)-1;
  for (size_t i = 0; known[i]; i++) {
    size_t d = edit_distance(key, known[i]);
    if (d < bestd) {
      bestd = d;
      best = known[i];
    }
  }
  /* A third of the key's length: "flsh" -> "flush", not "xyz" -> "path". */
  size_t len = strlen(key), limit = len < 3 ? 1 : len / 3;
  if (limit > 3)
    limit = 3;
  return best && bestd <= limit ? best : NULL;
}

int ks__conf_check_keys(ks__conf_ctx *c, const ks__conf_node *map,
                        const char *const *known) {
  for (size_t i = 0; i < map->n; i++) {
    const char *key = map->keys[i]->text;
    size_t k;
    for (k = 0; known[k]; k++)
      if (strcmp(key, known[k]) == 0)
        break;
    if (known[k])
      continue;
    const char *hint = ks__conf_suggest(key, known);
    ks__conf_path_push(c, key);
    const ks_conf_connect_key *ck = ks_conf_connect_key_find(key);
    if (ck && ck->ksink)
      return ks__conf_fail(c, map->keys[i]->line,
                           "a Kafka Connect key; in ksink it is %s%s%s%s",
                           ck->ksink, ck->note ? " (" : "",
                           ck->note ? ck->note : "", ck->note ? ")" : "");
    if (ck)
      return ks__conf_fail(c, map->keys[i]->line,
                           "a Kafka Connect key; ksink has none: %s",
                           ck->note);
    if (hint)
      return ks__conf_fail(c, map->keys[i]->line,
                           "unknown key (did you mean \"%s\"?)", hint);
    return ks__conf_fail(c, map->keys[i]->line, "unknown key");
  }
  return 0;
}

static int valid_env_name(const char *s, size_t n) {
  if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
    return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
          (ch >= '0' && ch <= '9') || ch == '_'))
      return 0;
  }
  return 1;
}

/* "$$" is a literal "$"; "${NAME}" must be set; "${NAME:-x}" falls back to
 * x when NAME is unset or empty, as in the shell. A "$" followed by
 * anything else stays as written, so passwords with "$" in them mostly
 * survive without escaping. */
int ks__conf_interpolate(ks__conf_ctx *c, const ks__conf_node *n, char **out) {
  char shown[128];
  const char *s = n->text;
  ks_buf b;
  ks_buf_init(&b, 0);
  while (*s) {
    if (s[0] != '$' || (s[1] != '$' && s[1] != '{')) {
      ks_buf_append_byte(&b, (uint8_t)*s++);
      continue;
    }
    if (s[1] == '$') {
      ks_buf_append_byte(&b, '$');
      s += 2;
      continue;
    }
    const char *close = strchr(s + 2, '}');
    if (close == NULL) {
      ks_buf_free(&b);
      return ks__conf_fail(c, n->line, "unterminated \"${\" in %s",
                           ks__conf_show(c, n->text, shown, sizeof shown));
    }
    const char *name = s + 2, *def = NULL;
    const char *sep = strstr(name, ":-");
    size_t namelen = (size_t)(close - name);
    if (sep && sep < close) {
      namelen = (size_t)(sep - name);
      def = sep + 2;
    }
    if (!valid_env_name(name, namelen)) {
      ks_buf_free(&b);
      return ks__conf_fail(
          c, n->line,
          "expected ${NAME} or ${NAME:-default} with NAME made of "
          "[A-Za-z0-9_], got %s",
          ks__conf_show(c, n->text, shown, sizeof shown));
    }
    char *var = ks_strndup(name, namelen);
    const char *v = getenv(var);
    if (def && (v == NULL || v[0] == '\0')) {
      ks_buf_append(&b, def, (size_t)(close - def));
    } else if (v == NULL) {
      int r = ks__conf_fail(c, n->line,
                            "environment variable \"%s\" is not set (write "
                            "${%s:-default} to give a default)",
                            var, var);
      ks_free(var);
      ks_buf_free(&b);
      return r;
    } else {
      ks_buf_append_str(&b, v);
    }
    ks_free(var);
    s = close + 1;
  }
  ks_buf_append_byte(&b, '\0');
  *out = (char *)ks_buf_steal(&b, NULL);
  return 0;
}

static int expect_scalar(ks__conf_ctx *c, const ks__conf_node *n,
                         const char *what) {
  if (n->kind == KS__CONF_SCALAR)
    return 0;
  return ks__conf_fail(c, n->line, "expected %s, got %s", what,
                       ks__conf_kind_name(n));
}

int ks__conf_expect_map(ks__conf_ctx *c, const ks__conf_node *n,
                        const char *what) {
  if (n->kind == KS__CONF_MAP)
    return 0;
  if (n->kind == KS__CONF_SCALAR) {
    char shown[128];
    return ks__conf_fail(c, n->line, "expected %s, got %s", what,
                         ks__conf_show(c, n->text, shown, sizeof shown));
  }
  return ks__conf_fail(c, n->line, "expected %s, got %s", what,
                       ks__conf_kind_name(n));
}

int ks__conf_str(ks__conf_ctx *c, const ks__conf_node *n, char **out) {
  *out = NULL;
  if (ks__conf_is_null(n))
    return 0;
  int r = expect_scalar(c, n, "a string");
  if (r == 0)
    r = ks__conf_interpolate(c, n, out);
  if (r == 0 && (*out)[0] == '\0') {
    ks_free(*out);
    *out = NULL;
  }
  return r;
}

/* Interpolated text of a scalar that must not be null. */
static int text_of(ks__conf_ctx *c, const ks__conf_node *n, const char *what,
                   char **out) {
  int r = expect_scalar(c, n, what);
  if (r)
    return r;
  return ks__conf_interpolate(c, n, out);
}

int ks__conf_int(ks__conf_ctx *c, const ks__conf_node *n, int64_t min,
                 int64_t max, int64_t *out) {
  char *s, *end, shown[128];
  int r = text_of(c, n, "an integer", &s);
  if (r)
    return r;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!((s[0] >= '0' && s[0] <= '9') || s[0] == '-') || *end != '\0' || errno) {
    r = ks__conf_fail(c, n->line, "expected an integer, got %s",
                      ks__conf_show(c, s, shown, sizeof shown));
  } else if (v < min || v > max) {
    if (max == INT64_MAX)
      r = ks__conf_fail(c, n->line, "expected an integer >= %lld, got %s",
                        (long long)min,
                        ks__conf_show(c, s, shown, sizeof shown));
    else
      r = ks__conf_fail(c, n->line,
                        "expected an integer from %lld to %lld, got %s",
                        (long long)min, (long long)max,
                        ks__conf_show(c, s, shown, sizeof shown));
  } else {
    *out = v;
  }
  ks_free(s);
  return r;
}

int ks__conf_size(ks__conf_ctx *c, const ks__conf_node *n, int64_t min,
                  int64_t *out) {
  char *s, shown[128];
  int64_t v;
  int r = text_of(c, n, "a size", &s);
  if (r)
    return r;
  if (ks_conf_parse_size(s, &v) != 0)
    r = ks__conf_fail(c, n->line, "expected a size like \"64KiB\", got %s",
                      ks__conf_show(c, s, shown, sizeof shown));
  else if (v < min && min == 1)
    r = ks__conf_fail(c, n->line,
                      "expected a size greater than 0 like \"64KiB\", got %s",
                      ks__conf_show(c, s, shown, sizeof shown));
  else if (v < min && min % (1 << 20) == 0)
    r = ks__conf_fail(c, n->line, "expected a size of at least %lldMiB, got %s",
                      (long long)(min >> 20),
                      ks__conf_show(c, s, shown, sizeof shown));
  else if (v < min)
    r = ks__conf_fail(c, n->line,
                      "expected a size of at least %lld bytes, got %s",
                      (long long)min, ks__conf_show(c, s, shown, sizeof shown));
  else
    *out = v;
  ks_free(s);
  return r;
}

int ks__conf_duration(ks__conf_ctx *c, const ks__conf_node *n, int64_t min,
                      int64_t *out) {
  char *s, shown[128];
  int64_t v;
  int r = text_of(c, n, "a duration", &s);
  if (r)
    return r;
  if (ks_conf_parse_duration(s, &v) != 0)
    r = ks__conf_fail(c, n->line, "expected a duration like \"30s\", got %s",
                      ks__conf_show(c, s, shown, sizeof shown));
  else if (v < min && min == 1)
    r = ks__conf_fail(c, n->line,
                      "expected a duration greater than 0 like \"30s\", "
                      "got %s",
                      ks__conf_show(c, s, shown, sizeof shown));
  else if (v < min)
    r = ks__conf_fail(c, n->line,
                      "expected a duration of at least %lldms, got %s",
                      (long long)min, ks__conf_show(c, s, shown, sizeof shown));
  else
    *out = v;
  ks_free(s);
  return r;
}

int ks__conf_enum(ks__conf_ctx *c, const ks__conf_node *n,
                  const char *const *names, int *out) {
  char *s, shown[128], list[256];
  size_t len = 0;
  int r = text_of(c, n, "one of a fixed set of words", &s);
  if (r)
    return r;
  for (int i = 0; names[i]; i++) {
    if (strcmp(s, names[i]) == 0) {
      *out = i;
      ks_free(s);
      return 0;
    }
  }
  list[0] = '\0';
  for (int i = 0; names[i]; i++) {
    int k = snprintf(list + len, sizeof list - len, "%s%s",
                     i == 0         ? ""
                     : names[i + 1] ? ", "
                                    : " or ",
                     names[i]);
    if (k > 0 && (size_t)k < sizeof list - len)
      len += (size_t)k;
  }
  r = ks__conf_fail(c, n->line, "expected %s, got %s", list,
                    ks__conf_show(c, s, shown, sizeof shown));
  ks_free(s);
  return r;
}
