/*
 * Parsers of what credential sources hand back, all outside input: the
 * STS XML answers (AssumeRole, AssumeRoleWithWebIdentity), the JSON of the
 * container credentials endpoint and of IMDS, and the AWS shared config and
 * credentials INI files. Pure functions over a bounded buffer (the
 * transport caps answers, files are read with a cap), unit-tested and
 * fuzzed (test/fuzz/fuzz_creds.c).
 */
#include "storage/s3/s3_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

static int set_err(char *err, size_t errlen, const char *msg) {
  if (err && errlen)
    snprintf(err, errlen, "%s", msg);
  return KS_EINVAL;
}

int ks__s3_parse_sts(const char *s, size_t n, ks__s3_creds *out, char *err,
                     size_t errlen) {
  memset(out, 0, sizeof *out);
  const char *cur = s, *v;
  size_t vl;
  if (ks__xml_next(&cur, s + n, "Credentials", &v, &vl))
    return set_err(err, errlen, "STS answer without <Credentials>");
  char ak[256], sk[256], exp[64];
  char *tok = NULL;
  const char *tv;
  size_t tvl;
  const char *c2 = v;
  if (ks__xml_get(v, vl, "AccessKeyId", ak, sizeof ak) ||
      ks__xml_get(v, vl, "SecretAccessKey", sk, sizeof sk) ||
      ks__xml_next(&c2, v + vl, "SessionToken", &tv, &tvl) || ak[0] == '\0' ||
      sk[0] == '\0')
    return set_err(err, errlen,
                   "STS answer without AccessKeyId, SecretAccessKey and "
                   "SessionToken");
  tok = ks__xml_unescape(tv, tvl);
  int64_t e = 0;
  if (ks__xml_get(v, vl, "Expiration", exp, sizeof exp) == 0)
    e = ks__s3_parse_time(exp);
  if (e <= 0) {
    ks_free(tok);
    memset(sk, 0, sizeof sk);
    return set_err(err, errlen, "STS answer without a valid Expiration");
  }
  out->access_key = ks_strdup(ak);
  out->secret_key = ks_strdup(sk);
  out->token = tok;
  out->expires_ms = e;
  memset(sk, 0, sizeof sk);
  return 0;
}

static const char *json_str(yajl_val root, const char *name) {
  const char *path[] = {name, NULL};
  yajl_val v = yajl_tree_get(root, path, yajl_t_string);
  return v ? YAJL_GET_STRING(v) : NULL;
}

int ks__s3_parse_json_creds(const char *s, size_t n, ks__s3_creds *out,
                            char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  /* yajl_tree_parse wants a NUL-terminated string. */
  char *text = ks_strndup(s, n);
  if (strlen(text) != n) {
    ks_free(text);
    return set_err(err, errlen, "credentials answer holds a NUL byte");
  }
  char perr[128];
  yajl_val root = yajl_tree_parse(text, perr, sizeof perr);
  ks_free(text);
  if (root == NULL || !YAJL_IS_OBJECT(root)) {
    yajl_tree_free(root);
    return set_err(err, errlen, "credentials answer is not a JSON object");
  }
  const char *code = json_str(root, "Code");
  const char *ak = json_str(root, "AccessKeyId");
  const char *sk = json_str(root, "SecretAccessKey");
  const char *tok = json_str(root, "Token");
  const char *exp = json_str(root, "Expiration");
  int r = 0;
  if (code && strcmp(code, "Success") != 0) {
    const char *msg = json_str(root, "Message");
    if (err && errlen)
      snprintf(err, errlen, "credentials answer: Code %.64s%s%.160s", code,
               msg ? ": " : "", msg ? msg : "");
    r = KS_EINVAL;
  } else if (ak == NULL || sk == NULL || *ak == '\0' || *sk == '\0') {
    r = set_err(err, errlen,
                "credentials answer without AccessKeyId and SecretAccessKey");
  } else {
    int64_t e = exp ? ks__s3_parse_time(exp) : 0;
    if (exp && e <= 0) {
      r = set_err(err, errlen, "credentials answer: Expiration is not a time");
    } else {
      out->access_key = ks_strdup(ak);
      out->secret_key = ks_strdup(sk);
      out->token = tok && *tok ? ks_strdup(tok) : NULL;
      out->expires_ms = e;
    }
  }
  yajl_tree_free(root);
  return r;
}

/* [start, end) without the blanks at both ends. */
static void strip(const char **start, const char **end) {
  while (*start < *end && isspace((unsigned char)**start))
    (*start)++;
  while (*end > *start && isspace((unsigned char)(*end)[-1]))
    (*end)--;
}

/*
 * The AWS INI dialect: "[section]" lines, "key = value" lines, comments
 * starting with '#' or ';', and indented lines continuing a nested value
 * ("s3 =\n  max_concurrent_requests = 4"), which no key we read uses and
 * which are skipped. Keys are matched case-sensitively like botocore;
 * blanks around section names, keys and values are dropped.
 */
int ks__s3_ini_get(const char *text, size_t n, const char *section,
                   const char *key, char **out) {
  const char *p = text, *end = text + n;
  int in = 0;
  size_t sl = strlen(section), kl = strlen(key);
  char *val = NULL;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    const char *next = nl ? nl + 1 : end;
    int indented = p < le && (*p == ' ' || *p == '\t');
    const char *a = p, *b = le;
    strip(&a, &b);
    p = next;
    if (a == b || *a == '#' || *a == ';')
      continue;
    if (*a == '[') {
      const char *close = memchr(a, ']', (size_t)(b - a));
      if (close == NULL) {
        in = 0;
        continue;
      }
      const char *sa = a + 1, *sb = close;
      strip(&sa, &sb);
      in = (size_t)(sb - sa) == sl && memcmp(sa, section, sl) == 0;
      continue;
    }
    if (!in || indented)
      continue;
    const char *eq = memchr(a, '=', (size_t)(b - a));
    if (eq == NULL)
      continue;
    const char *ka = a, *kb = eq, *va = eq + 1, *vb = b;
    strip(&ka, &kb);
    strip(&va, &vb);
    if ((size_t)(kb - ka) == kl && memcmp(ka, key, kl) == 0) {
      ks_free(val); /* a later duplicate wins, as in botocore */
      val = ks_strndup(va, (size_t)(vb - va));
    }
  }
  if (val == NULL)
    return KS_ENOENT;
  if (strlen(val) == 0) {
    ks_free(val);
    return KS_ENOENT;
  }
  *out = val;
  return 0;
}

int ks__s3_ini_has(const char *text, size_t n, const char *section) {
  const char *p = text, *end = text + n;
  size_t sl = strlen(section);
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    const char *a = p, *b = le;
    p = nl ? nl + 1 : end;
    strip(&a, &b);
    if (a < b && *a == '[') {
      const char *close = memchr(a, ']', (size_t)(b - a));
      if (close == NULL)
        continue;
      const char *sa = a + 1, *sb = close;
      strip(&sa, &sb);
      if ((size_t)(sb - sa) == sl && memcmp(sa, section, sl) == 0)
        return 1;
    }
  }
  return 0;
}
