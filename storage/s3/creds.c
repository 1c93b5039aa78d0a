/*
 * Where S3 credentials come from: the AWS SDKs' default chain, in their
 * order, with their environment variables (botocore's
 * credentials.create_credential_resolver, aws-sdk-go-v2's config
 * resolution):
 *
 *   1. static keys: storage.s3.access_key_id / secret_access_key /
 *      session_token, then AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 *      AWS_SESSION_TOKEN;
 *   2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *      (+ AWS_ROLE_SESSION_NAME) -> STS AssumeRoleWithWebIdentity;
 *   3. the shared files: profile AWS_PROFILE (default "default") in
 *      AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and AWS_CONFIG_FILE
 *      (~/.aws/config, "[profile x]"): static keys, role_arn with
 *      source_profile (AssumeRole) or with web_identity_token_file;
 *   4. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (ECS)
 *      or AWS_CONTAINER_CREDENTIALS_FULL_URI (EKS Pod Identity) with
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE);
 *   5. IMDSv2, unless AWS_EC2_METADATA_DISABLED=true.
 *
 * storage.s3.role_arn (+ external_id) is assumed on top of what was
 * found. This file only decides, synchronously when the storage opens
 * (files are read here, at start-up); creds_fetch.c fetches and refreshes.
 * A source that is set up but broken (an unreadable token file, a profile
 * that is named but missing, a container URL on a host the SDKs refuse)
 * is an error, never a reason to try the next one. Secrets are never
 * logged.
 */
#include "storage/s3/creds.h"

#include "base/file.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KS_S3_CRED_NAME_(n, s) s,
static const char *const cred_names[] = {KS_S3_CRED_MAP(KS_S3_CRED_NAME_)};
#undef KS_S3_CRED_NAME_

const char *ks_s3_cred_name(int p) {
  return p >= 0 && p < KS_S3_CRED_COUNT ? cred_names[p] : "none";
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static char *dup_or_null(const char *s) {
  return s && *s ? ks_strdup(s) : NULL;
}

void ks__s3_creds_free(ks__s3_creds *c) {
  if (c->secret_key)
    memset(c->secret_key, 0, strlen(c->secret_key));
  if (c->token)
    memset(c->token, 0, strlen(c->token));
  ks_free(c->access_key);
  ks_free(c->secret_key);
  ks_free(c->token);
  memset(c, 0, sizeof *c);
}

/* ---- the shared files --------------------------------------------------- */

typedef struct shared_files {
  char cred_path[1024], conf_path[1024];
  char *cred, *conf; /* contents, NULL when missing */
  size_t cred_len, conf_len;
  const char *profile;
  int profile_explicit;
} shared_files;

static void files_load(shared_files *f) {
  memset(f, 0, sizeof *f);
  const char *home = env("HOME");
  const char *cp = env("AWS_SHARED_CREDENTIALS_FILE");
  const char *fp = env("AWS_CONFIG_FILE");
  if (home == NULL)
    home = "";
  snprintf(f->cred_path, sizeof f->cred_path, "%s%s", cp ? cp : home,
           cp ? "" : "/.aws/credentials");
  snprintf(f->conf_path, sizeof f->conf_path, "%s%s", fp ? fp : home,
           fp ? "" : "/.aws/config");
  uint8_t *d;
  if (ks_read_file(f->cred_path, 1 << 20, &d, &f->cred_len, NULL, 0) == 0)
    f->cred = (char *)d;
  if (ks_read_file(f->conf_path, 1 << 20, &d, &f->conf_len, NULL, 0) == 0)
    f->conf = (char *)d;
  f->profile = env("AWS_PROFILE");
  f->profile_explicit = f->profile != NULL;
  if (f->profile == NULL)
    f->profile = "default";
}

static void files_free(shared_files *f) {
  ks_free(f->cred);
  ks_free(f->conf);
}

/* "[default]" or "[profile x]" in the config file; botocore also accepts
 * "[profile default]". */
static int conf_get(const shared_files *f, const char *profile, const char *key,
                    char **out) {
  if (f->conf == NULL)
    return KS_ENOENT;
  char sec[300];
  snprintf(sec, sizeof sec, "profile %s", profile);
  if (ks__s3_ini_get(f->conf, f->conf_len, sec, key, out) == 0)
    return 0;
  if (strcmp(profile, "default") == 0)
    return ks__s3_ini_get(f->conf, f->conf_len, "default", key, out);
  return KS_ENOENT;
}

/* The credentials file first, then the config file. */
static int prof_get(const shared_files *f, const char *profile, const char *key,
                    char **out) {
  if (f->cred && ks__s3_ini_get(f->cred, f->cred_len, profile, key, out) == 0)
    return 0;
  return conf_get(f, profile, key, out);
}

static int prof_exists(const shared_files *f, const char *profile) {
  char sec[300];
  snprintf(sec, sizeof sec, "profile %s", profile);
  return (f->cred && ks__s3_ini_has(f->cred, f->cred_len, profile)) ||
         (f->conf && (ks__s3_ini_has(f->conf, f->conf_len, sec) ||
                      (strcmp(profile, "default") == 0 &&
                       ks__s3_ini_has(f->conf, f->conf_len, "default"))));
}

static int prof_keys(const shared_files *f, const char *profile,
                     ks__s3_creds *out) {
  memset(out, 0, sizeof *out);
  prof_get(f, profile, "aws_access_key_id", &out->access_key);
  prof_get(f, profile, "aws_secret_access_key", &out->secret_key);
  prof_get(f, profile, "aws_session_token", &out->token);
  if (out->access_key && out->secret_key)
    return 0;
  ks__s3_creds_free(out);
  return KS_ENOENT;
}

char *ks__s3_region(const ks_conf_s3 *conf) {
  if (conf && conf->region && *conf->region)
    return ks_strdup(conf->region);
  const char *r = env("AWS_REGION");
  if (r == NULL)
    r = env("AWS_DEFAULT_REGION");
  if (r)
    return ks_strdup(r);
  shared_files f;
  files_load(&f);
  char *v = NULL;
  conf_get(&f, f.profile, "region", &v);
  files_free(&f);
  return v ? v : ks_strdup("us-east-1");
}

/* ---- finding the source ------------------------------------------------- */

static void tried(ks_buf *b, const char *fmt, const char *arg) {
  if (b->len)
    ks_buf_append_str(b, "; ");
  ks_buf_appendf(b, fmt, arg);
}

/* The token file must be readable now (SDKs fail rather than fall
 * through); it is read again at every refresh. */
static int check_token_file(const char *path, const char *what) {
  uint8_t *d = NULL;
  size_t n = 0;
  char err[512];
  int r = ks_read_file(path, 64 << 10, &d, &n, err, sizeof err);
  ks_free(d);
  if (r == 0 && n == 0) {
    ks_log_error("storage.s3: credentials: %s: %s is empty", what, path);
    return KS_EACCES;
  }
  if (r) {
    ks_log_error("storage.s3: credentials: %s: %s (the chain stops at a "
                 "source that is set up but broken)",
                 what, err);
    return KS_EACCES;
  }
  return 0;
}

/* The SDKs' rule for AWS_CONTAINER_CREDENTIALS_FULL_URI: https to any
 * host; http only to a loopback address or the ECS / EKS Pod Identity
 * agents (169.254.170.2, 169.254.170.23, fd00:ec2::23). */
int ks__s3_container_host_allowed(const char *url) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL;
  int ok = 0;
  if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
    if (strcasecmp(scheme, "https") == 0)
      ok = 1;
    else if (strcasecmp(scheme, "http") == 0)
      ok = strncmp(host, "127.", 4) == 0 ||
           strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
           strcmp(host, "169.254.170.2") == 0 ||
           strcmp(host, "169.254.170.23") == 0 ||
           strcasecmp(host, "[fd00:ec2::23]") == 0;
  }
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  return ok;
}

/* "scheme://authority" and the rest ("/" when empty) of an http(s) URL. */
int ks__s3_split_url(const char *url, char **base, char **path) {
  const char *p = strstr(url, "://");
  if (p == NULL || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
    return KS_EINVAL;
  p += 3;
  size_t n = strcspn(p, "/?#");
  if (n == 0)
    return KS_EINVAL;
  *base = ks_strndup(url, (size_t)(p + n - url));
  *path = ks_strdup(p[n] == '/' ? p + n : "/");
  return 0;
}

static int set_sts(ks__s3_chain *c) {
  const char *ep = env("AWS_ENDPOINT_URL_STS");
  char def[256];
  if (ep == NULL) {
    snprintf(def, sizeof def, "https://sts.%s.amazonaws.com", c->region);
    ep = def;
  }
  if (ks__s3_split_url(ep, &c->sts_url, &c->sts_path)) {
    ks_log_error("storage.s3: credentials: AWS_ENDPOINT_URL_STS: %s: expected "
                 "http(s)://host[:port][/path]",
                 ep);
    return KS_ECONFIG;
  }
  c->sts_host = ks_strdup(strstr(c->sts_url, "://") + 3);
  return 0;
}

static void add_assume(ks__s3_chain *c, const char *arn, const char *ext) {
  c->assume_arn[c->nassume] = ks_strdup(arn);
  c->assume_ext[c->nassume] = dup_or_null(ext);
  c->nassume++;
}

/* Profile role_arn: with web_identity_token_file, or source_profile
 * holding keys. 1 when the profile is a role, 0 when not, < 0 on error. */
static int profile_role(ks__s3_chain *c, const shared_files *f) {
  char *arn = NULL, *tf = NULL, *src = NULL, *ext = NULL, *sn = NULL;
  char *csrc = NULL;
  int r = 0;
  if (prof_get(f, f->profile, "role_arn", &arn))
    return 0;
  prof_get(f, f->profile, "web_identity_token_file", &tf);
  prof_get(f, f->profile, "source_profile", &src);
  prof_get(f, f->profile, "external_id", &ext);
  prof_get(f, f->profile, "role_session_name", &sn);
  prof_get(f, f->profile, "credential_source", &csrc);
  if (tf) {
    if ((r = check_token_file(tf, "profile web_identity_token_file")) == 0) {
      c->provider = KS_S3_CRED_WEB_IDENTITY;
      c->token_file = tf;
      c->web_role_arn = arn;
      tf = arn = NULL;
      if (sn)
        c->session_name = ks_strdup(sn);
      r = 1;
    }
  } else if (src) {
    if (prof_keys(f, src, &c->fixed)) {
      ks_log_error("storage.s3: credentials: profile \"%s\": source_profile "
                   "\"%s\" has no aws_access_key_id and aws_secret_access_key "
                   "(in %s or %s)",
                   f->profile, src, f->cred_path, f->conf_path);
      r = KS_ECONFIG;
    } else {
      c->provider = KS_S3_CRED_PROFILE;
      add_assume(c, arn, ext);
      if (sn)
        c->session_name = ks_strdup(sn);
      r = 1;
    }
  } else {
    ks_log_error("storage.s3: credentials: profile \"%s\": role_arn needs "
                 "source_profile or web_identity_token_file%s",
                 f->profile,
                 csrc ? " (credential_source is not supported)" : "");
    r = KS_ECONFIG;
  }
  ks_free(arn);
  ks_free(tf);
  ks_free(src);
  ks_free(ext);
  ks_free(sn);
  ks_free(csrc);
  return r;
}

/* Fills c from the first source that is set up; KS_ENOENT when none. */
static int find_source(ks__s3_chain *c, const ks_conf_s3 *conf, ks_buf *t) {
  /* 1. static keys */
  if (conf && conf->access_key_id && *conf->access_key_id &&
      conf->secret_access_key && *conf->secret_access_key) {
    c->provider = KS_S3_CRED_CONFIG;
    c->fixed.access_key = ks_strdup(conf->access_key_id);
    c->fixed.secret_key = ks_strdup(conf->secret_access_key);
    c->fixed.token = dup_or_null(conf->session_token);
    return 0;
  }
  tried(t, "%s", "storage.s3.access_key_id (not set)");
  const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
  if (ak && sk) {
    c->provider = KS_S3_CRED_ENV;
    c->fixed.access_key = ks_strdup(ak);
    c->fixed.secret_key = ks_strdup(sk);
    c->fixed.token = dup_or_null(env("AWS_SESSION_TOKEN"));
    return 0;
  }
  tried(t, "%s", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (not set)");
  /* 2. web identity from the environment */
  const char *tf = env("AWS_WEB_IDENTITY_TOKEN_FILE");
  const char *ra = env("AWS_ROLE_ARN");
  if (tf && ra) {
    int r = check_token_file(tf, "AWS_WEB_IDENTITY_TOKEN_FILE");
    if (r)
      return r;
    c->provider = KS_S3_CRED_WEB_IDENTITY;
    c->token_file = ks_strdup(tf);
    c->web_role_arn = ks_strdup(ra);
    c->session_name = dup_or_null(env("AWS_ROLE_SESSION_NAME"));
    return 0;
  }
  if (tf || ra) {
    ks_log_error("storage.s3: credentials: %s is set but %s is not (web "
                 "identity needs both)",
                 tf ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
                 tf ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
    return KS_ECONFIG;
  }
  tried(t, "%s", "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (not set)");
  /* 3. the shared files */
  shared_files f;
  files_load(&f);
  int r = KS_ENOENT;
  if (prof_exists(&f, f.profile)) {
    r = profile_role(c, &f);
    if (r == 1) {
      r = 0;
    } else if (r == 0) {
      if (prof_keys(&f, f.profile, &c->fixed) == 0)
        c->provider = KS_S3_CRED_PROFILE;
      else
        r = KS_ENOENT;
    }
  } else if (f.profile_explicit) {
    ks_log_error("storage.s3: credentials: AWS_PROFILE=%s: no such profile in "
                 "%s or %s",
                 f.profile, f.cred_path, f.conf_path);
    r = KS_EACCES;
  }
  if (r == KS_ENOENT) {
    char what[2400];
    snprintf(what, sizeof what, "profile \"%s\" in %s and %s (no keys)",
             f.profile, f.cred_path, f.conf_path);
    tried(t, "%s", what);
  }
  files_free(&f);
  if (r != KS_ENOENT)
    return r;
  /* 4. container credentials */
  const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (rel || full) {
    char url[2048];
    if (rel) {
      snprintf(url, sizeof url, "http://169.254.170.2%s%s",
               rel[0] == '/' ? "" : "/", rel);
    } else {
      if (!ks__s3_container_host_allowed(full)) {
        ks_log_error("storage.s3: credentials: "
                     "AWS_CONTAINER_CREDENTIALS_FULL_URI=%s: over http the "
                     "host must be a loopback address, 169.254.170.2, "
                     "169.254.170.23 or fd00:ec2::23 (or use https)",
                     full);
        return KS_ECONFIG;
      }
      snprintf(url, sizeof url, "%s", full);
    }
    if (ks__s3_split_url(url, &c->container_url, &c->container_path)) {
      ks_log_error("storage.s3: credentials: container credentials URL %s: "
                   "expected http(s)://host[:port]/path",
                   url);
      return KS_ECONFIG;
    }
    const char *tokf = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (tokf) {
      if ((r = check_token_file(tokf,
                                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")))
        return r;
      c->container_token_file = ks_strdup(tokf);
    } else {
      c->container_token =
          dup_or_null(env("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
    }
    c->provider = KS_S3_CRED_CONTAINER;
    return 0;
  }
  tried(t, "%s",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI (not set)");
  /* 5. IMDSv2 */
  const char *dis = env("AWS_EC2_METADATA_DISABLED");
  if (dis && strcasecmp(dis, "true") == 0) {
    tried(t, "%s", "EC2 instance metadata (AWS_EC2_METADATA_DISABLED=true)");
    return KS_ENOENT;
  }
  const char *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  char *path = NULL;
  if (ks__s3_split_url(ep ? ep : "http://169.254.169.254", &c->imds_url,
                       &path)) {
    ks_log_error("storage.s3: credentials: AWS_EC2_METADATA_SERVICE_ENDPOINT="
                 "%s: expected http://host[:port]",
                 ep);
    return KS_ECONFIG;
  }
  ks_free(path);
  c->provider = KS_S3_CRED_IMDS;
  tried(t, "EC2 instance metadata at %s", c->imds_url);
  return 0;
}

int ks__s3_chain_open(ks__s3 *s3, const ks_conf_s3 *conf) {
  ks__s3_chain *c = ks_calloc(1, sizeof *c);
  c->s3 = s3;
  s3->chain = c;
  c->region = ks_strdup(s3->region);
  ks_buf t;
  ks_buf_init(&t, 0);
  int r = find_source(c, conf, &t);
  ks_buf_cstr(&t);
  c->tried = (char *)ks_buf_steal(&t, NULL);
  if (r == KS_ENOENT) {
    ks_log_error("storage.s3: no credentials found; tried, in order: %s. Set "
                 "one of them (see \"Credentials\" in the README)",
                 c->tried);
    return KS_EACCES; /* a runtime failure (exit 1), not a bad config */
  }
  if (r)
    return r;
  if (conf && conf->role_arn)
    add_assume(c, conf->role_arn, conf->external_id);
  atomic_store(&ks_s3_stats_g.cred_assumed, conf && conf->role_arn ? 1 : 0);
  if (c->session_name == NULL) {
    char sn[64];
    snprintf(sn, sizeof sn, "ksink-%lld", (long long)time(NULL));
    c->session_name = ks_strdup(sn);
  }
  if ((c->provider == KS_S3_CRED_WEB_IDENTITY || c->nassume) &&
      (r = set_sts(c)))
    return r;
  ks_log_debug("storage.s3: credentials from %s%s%s",
               ks_s3_cred_name(c->provider),
               c->nassume ? ", then assuming " : "",
               c->nassume ? c->assume_arn[c->nassume - 1] : "");
  return 0;
}

void ks__s3_chain_start(ks__s3 *s3) {
  ks__s3_chain *c = s3->chain;
  uv_timer_init(s3->base.loop, &c->timer);
  uv_unref((uv_handle_t *)&c->timer);
  c->timer_live = 1;
  s3->handles++;
  if (!ks__s3_chain_refreshable(c))
    ks__s3_chain_install_fixed(c);
  else
    ks__s3_chain_fetch(c);
}

void ks__s3_chain_free(ks__s3_chain *c) {
  if (c == NULL)
    return;
  ks__s3_creds_free(&c->fixed);
  ks__s3_creds_free(&c->work);
  ks_free(c->token_file);
  ks_free(c->web_role_arn);
  ks_free(c->session_name);
  ks_free(c->sts_url);
  ks_free(c->sts_path);
  ks_free(c->sts_host);
  ks_free(c->region);
  ks_free(c->container_url);
  ks_free(c->container_path);
  if (c->container_token)
    memset(c->container_token, 0, strlen(c->container_token));
  ks_free(c->container_token);
  ks_free(c->container_token_file);
  ks_free(c->imds_url);
  ks_free(c->imds_token);
  ks_free(c->imds_role);
  for (int i = 0; i < c->nassume; i++) {
    ks_free(c->assume_arn[i]);
    ks_free(c->assume_ext[i]);
  }
  ks_free(c->tried);
  ks_free(c);
}
