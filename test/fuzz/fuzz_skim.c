/*
 * libFuzzer target for ks_json_skim (base/jsontext.h), differential
 * against yajl with the decoder's settings: whenever the skim vouches for
 * a value (length n > 0), yajl must accept exactly those n bytes as one
 * whole document, reach its end no sooner (no shorter prefix completes
 * it) -- when the value is UTF-8, which the decoder checks apart -- and
 * agree on its compact form: *compact set means ks_json_compact gives the
 * text back unchanged. The input's first byte picks the depth limit, and
 * a value nested deeper than that limit must not be vouched for.
 * Also ks_json_value_end on the same text: the bytes up to the end it
 * finds are one document yajl accepts, and they with whitespace after
 * them too; when it finds none, yajl refuses the whole text.
 */
#include "base/jsontext.h"
#include "jsonschema/jsonschema.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

static int yajl_accepts(const uint8_t *s, size_t n) {
  yajl_handle h = yajl_alloc(NULL, NULL, NULL);
  int ok = yajl_parse(h, s, n) == yajl_status_ok &&
           yajl_complete_parse(h) == yajl_status_ok;
  yajl_free(h);
  return ok;
}

static unsigned depth_of(const uint8_t *s, size_t n) {
  unsigned depth = 0, deepest = 0;
  int in_str = 0;
  for (size_t i = 0; i < n; i++) {
    if (in_str) {
      if (s[i] == '\\')
        i++;
      else if (s[i] == '"')
        in_str = 0;
    } else if (s[i] == '"') {
      in_str = 1;
    } else if (s[i] == '{' || s[i] == '[') {
      if (++depth > deepest)
        deepest = depth;
    } else if (s[i] == '}' || s[i] == ']') {
      depth--;
    }
  }
  return deepest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  unsigned max_depth = 1 + data[0] % 70;
  const uint8_t *s = data + 1;
  size_t len = size - 1;
  size_t e = ks_json_value_end(s, len);
  if (e > len || (e == 0 && yajl_accepts(s, len)))
    abort();
  if (e &&
      (!yajl_accepts(s, e) ||
       (ks_json_ws_yajl(s + e, len - e) == len - e && !yajl_accepts(s, len))))
    abort();
  int compact = -1;
  size_t n = ks_json_skim(s, len, max_depth, &compact);
  if (n == 0)
    return 0;
  if (n > len || (s[0] != '{' && s[0] != '[') || compact < 0)
    abort();
  if (depth_of(s, n) > max_depth)
    abort();
  if (ks_utf8_check(s, n, NULL))
    return 0; /* the decoder refuses it apart, as yajl would */
  if (!yajl_accepts(s, n))
    abort(); /* vouched for what the parser refuses */
  if (n > 1 && yajl_accepts(s, n - 1))
    abort(); /* the value ends sooner than the skim says */
  if (compact) {
    ks_buf b;
    ks_buf_init(&b, 1 << 24);
    if (ks_json_compact(&b, s, n) || b.len != n || memcmp(b.data, s, n))
      abort();
    ks_buf_free(&b);
  }
  return 0;
}
