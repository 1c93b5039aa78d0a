/*
 * Opening and closing S3 storage: the URL and endpoint become a base URL,
 * Host header and key prefix; the region and the credential source are
 * found (creds.c); the breaker
 * is the endpoint's shared one. Small helpers every s3 file uses live here.
 */
#include "storage/s3/s3_int.h"

#include "base/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int ks__s3_check_key(const char *key) {
  return key == NULL || key[0] == '\0' || key[0] == '/' ? KS_EINVAL : 0;
}

const char *ks__s3_rel_key(const ks__s3 *s3, const char *full, size_t n,
                           size_t *reln) {
  size_t pl = strlen(s3->prefix);
  if (n >= pl && strncmp(full, s3->prefix, pl) == 0) {
    *reln = n - pl;
    return full + pl;
  }
  *reln = n;
  return full;
}

int64_t ks__s3_parse_time(const char *s) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm); /* RFC 1123 */
  if (end == NULL) {
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm); /* ListObjects */
    if (end == NULL)
      return 0;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    if (*end == '.')
      ms += strtol(end + 1, NULL, 10) % 1000;
    return ms;
  }
  return (int64_t)timegm(&tm) * 1000;
}

void ks__s3_close(ks_storage *s) { ks__s3_transport_close((ks__s3 *)s); }

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* Parses "scheme://authority[/]" into https flag, authority. */
static int parse_endpoint(const char *ep, int *https, char **authority) {
  const char *p;
  if (strncmp(ep, "https://", 8) == 0) {
    *https = 1;
    p = ep + 8;
  } else if (strncmp(ep, "http://", 7) == 0) {
    *https = 0;
    p = ep + 7;
  } else {
    return KS_EINVAL;
  }
  size_t n = strcspn(p, "/");
  if (n == 0 || (p[n] == '/' && p[n + 1] != '\0'))
    return KS_EINVAL; /* an endpoint with a path is not supported */
  *authority = ks_strndup(p, n);
  return 0;
}

int ks_s3_open(uv_loop_t *loop, const char *url, const ks_conf_s3 *conf,
               ks_storage **out) {
  if (strncmp(url, "s3://", 5) != 0 || url[5] == '\0' || url[5] == '/') {
    ks_log_error("storage.url: %s: expected s3://bucket/prefix", url);
    return KS_ECONFIG;
  }
  pthread_once(&curl_once, curl_init_once);
  ks_conf_s3 defaults;
  if (conf == NULL) {
    memset(&defaults, 0, sizeof defaults);
    ks_conf_s3_defaults(&defaults);
    conf = &defaults;
  }
  ks__s3 *s3 = ks_calloc(1, sizeof *s3);
  s3->base.vt = &ks__s3_vtable;
  s3->base.loop = loop;
  s3->conf = *conf;
  /* Zero values mean "default" for code that fills the struct by hand. */
  ks_conf_s3 d;
  memset(&d, 0, sizeof d);
  ks_conf_s3_defaults(&d);
  if (s3->conf.connect_timeout_ms <= 0)
    s3->conf.connect_timeout_ms = d.connect_timeout_ms;
  if (s3->conf.stall_timeout_ms < 1000)
    s3->conf.stall_timeout_ms = d.stall_timeout_ms;
  if (s3->conf.retry_base_ms <= 0)
    s3->conf.retry_base_ms = d.retry_base_ms;
  if (s3->conf.retry_cap_ms <= 0)
    s3->conf.retry_cap_ms = d.retry_cap_ms;
  if (s3->conf.retry_max_attempts <= 0)
    s3->conf.retry_max_attempts = d.retry_max_attempts;
  s3->conf.endpoint = s3->conf.region = s3->conf.addressing = NULL;
  s3->conf.access_key_id = s3->conf.secret_access_key = NULL;
  s3->conf.session_token = s3->conf.sse = s3->conf.kms_key_id = NULL;
  s3->conf.ca_file = s3->conf.role_arn = s3->conf.external_id = NULL;
  s3->conf.acl = NULL;

  const char *b = url + 5;
  size_t bl = strcspn(b, "/");
  s3->bucket = ks_strndup(b, bl);
  const char *pfx = b[bl] == '/' ? b + bl + 1 : "";
  size_t pl = strlen(pfx);
  while (pl && pfx[pl - 1] == '/')
    pl--;
  s3->prefix = ks_malloc(pl + 2);
  memcpy(s3->prefix, pfx, pl);
  if (pl)
    s3->prefix[pl++] = '/';
  s3->prefix[pl] = '\0';
  s3->region = ks__s3_region(conf);
  s3->acl = conf->acl ? ks_strdup(conf->acl) : NULL;
  s3->sse = conf->sse ? ks_strdup(conf->sse) : NULL;
  s3->kms_key_id = conf->kms_key_id ? ks_strdup(conf->kms_key_id) : NULL;
  s3->ca_file = conf->ca_file ? ks_strdup(conf->ca_file) : NULL;

  char *authority = NULL;
  int r;
  if (conf->endpoint) {
    if (parse_endpoint(conf->endpoint, &s3->https, &authority)) {
      ks_log_error("storage.s3.endpoint: %s: expected http://host[:port] or "
                   "https://host[:port]",
                   conf->endpoint);
      r = KS_ECONFIG;
      goto fail;
    }
  } else {
    s3->https = 1;
    size_t n = strlen(s3->region) + 32;
    authority = ks_malloc(n);
    snprintf(authority, n, "s3.%s.amazonaws.com", s3->region);
  }
  int path_style = conf->addressing ? strcmp(conf->addressing, "path") == 0
                                    : conf->endpoint != NULL;
  const char *scheme = s3->https ? "https://" : "http://";
  ks_buf ub, pb;
  ks_buf_init(&ub, 0);
  ks_buf_init(&pb, 0);
  if (path_style) {
    s3->host = ks_strdup(authority);
    ks_buf_appendf(&ub, "%s%s", scheme, authority);
    ks_buf_append_byte(&pb, '/');
    ks_sigv4_uri_encode(&pb, s3->bucket, strlen(s3->bucket), 0);
  } else {
    size_t n = strlen(authority) + strlen(s3->bucket) + 2;
    s3->host = ks_malloc(n);
    snprintf(s3->host, n, "%s.%s", s3->bucket, authority);
    ks_buf_appendf(&ub, "%s%s", scheme, s3->host);
  }
  ks_buf_cstr(&ub);
  ks_buf_cstr(&pb);
  s3->base_url = (char *)ks_buf_steal(&ub, NULL);
  s3->path_base = pb.data ? (char *)ks_buf_steal(&pb, NULL) : ks_strdup("");
  s3->breaker = ks__s3_breaker_get(authority, conf->breaker_failures,
                                   (uint64_t)conf->breaker_cooldown_ms);
  ks_free(authority);
  authority = NULL;
  if ((r = ks__s3_chain_open(s3, conf)))
    goto fail;
  if ((r = ks__s3_transport_init(s3)))
    goto fail;
  ks__s3_chain_start(s3);
  *out = &s3->base;
  return 0;
fail:
  ks_free(authority);
  ks__s3_free(s3);
  return r;
}

void ks_conf_s3_defaults(ks_conf_s3 *s3) {
  s3->part_size = INT64_C(8) << 20;
  s3->max_parts_in_flight = 4;
  s3->verify_tls = 1;
  s3->connect_timeout_ms = 5000;
  s3->stall_timeout_ms = 30000;
  s3->retry_base_ms = 100;
  s3->retry_cap_ms = 20000;
  s3->retry_max_attempts = 8;
  s3->breaker_failures = 5;
  s3->breaker_cooldown_ms = 5000;
  s3->stale_upload_age_ms = 3600000;
  s3->conditional_writes_probe = 1;
}
