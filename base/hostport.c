#include "base/hostport.h"
#include "base/ks.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <strings.h>
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

int ks_host_is_loopback(const char *host) {
  if (strcasecmp(host, "localhost") == 0)
    return 1;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, host, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&a6) ||
           (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
  return 0;
}
