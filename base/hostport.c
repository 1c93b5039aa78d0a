#include "base/hostport.h"
#include "base/ks.h"

#include <stdlib.h>
#include <string.h>

int ks_hostport_parse(const char *s, char *host, size_t hostlen, char *port,
                      size_t portlen) {
  const char *colon, *hbeg = s, *hend;
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close[1] != ':')
      return KS_EINVAL;
    hbeg = s + 1;
    hend = close;
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon == NULL || memchr(s, ':', (size_t)(colon - s)))
      return KS_EINVAL;
    hend = colon;
  }
  const char *p = colon + 1;
  size_t plen = strlen(p);
  if (plen == 0 || plen > 5 || plen >= portlen ||
      strspn(p, "0123456789") != plen || strtol(p, NULL, 10) > 65535)
    return KS_EINVAL;
  if ((size_t)(hend - hbeg) >= hostlen)
    return KS_EINVAL;
  memcpy(host, hbeg, (size_t)(hend - hbeg));
  host[hend - hbeg] = 0;
  memcpy(port, p, plen + 1);
  return 0;
}
