#include "base/jsontext.h"

#include <stdint.h>

int ks_json_too_deep(const void *text, size_t n, int max_depth) {
  const uint8_t *s = text;
  int depth = 0, in_str = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = s[i];
    if (in_str) {
      if (ch == '\\')
        i++;
      else if (ch == '"')
        in_str = 0;
    } else if (ch == '"') {
      in_str = 1;
    } else if (ch == '{' || ch == '[') {
      if (++depth > max_depth)
        return 1;
    } else if ((ch == '}' || ch == ']') && depth > 0) {
      depth--; /* never below 0: "]]][[[" must not hide its depth */
    }
  }
  return 0;
}
