/*
 * Where S3 credentials come from, in order: storage.s3 in the config, the
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN environment
 * variables, then the shared credentials file (AWS_SHARED_CREDENTIALS_FILE,
 * default ~/.aws/credentials) section named by AWS_PROFILE (default
 * "default"). Read once when the storage opens; never logged.
 */
#include "storage/s3/s3_int.h"

#include "base/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s) {
  return s && *s ? ks_strdup(s) : NULL;
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1]))
    *--e = '\0';
  return s;
}

static int from_file(const char *path, const char *profile,
                     ks__s3_creds *out) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return KS_ENOENT;
  char line[4096];
  int in = 0;
  while (fgets(line, sizeof line, f)) {
    char *l = trim(line);
    if (*l == '#' || *l == ';' || *l == '\0')
      continue;
    if (*l == '[') {
      char *end = strchr(l, ']');
      if (end)
        *end = '\0';
      in = strcmp(trim(l + 1), profile) == 0;
      continue;
    }
    char *eq = strchr(l, '=');
    if (!in || eq == NULL)
      continue;
    *eq = '\0';
    char *k = trim(l), *v = trim(eq + 1);
    char **dst = strcmp(k, "aws_access_key_id") == 0       ? &out->access_key
                 : strcmp(k, "aws_secret_access_key") == 0 ? &out->secret_key
                 : strcmp(k, "aws_session_token") == 0     ? &out->token
                                                           : NULL;
    if (dst) {
      ks_free(*dst);
      *dst = dup_or_null(v);
    }
  }
  fclose(f);
  return out->access_key && out->secret_key ? 0 : KS_ENOENT;
}

int ks__s3_creds_resolve(const ks_conf_s3 *conf, ks__s3_creds *out) {
  memset(out, 0, sizeof *out);
  if (conf && conf->access_key_id && conf->secret_access_key) {
    out->access_key = ks_strdup(conf->access_key_id);
    out->secret_key = ks_strdup(conf->secret_access_key);
    out->token = dup_or_null(conf->session_token);
    return 0;
  }
  const char *ak = getenv("AWS_ACCESS_KEY_ID");
  const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
  if (ak && *ak && sk && *sk) {
    out->access_key = ks_strdup(ak);
    out->secret_key = ks_strdup(sk);
    out->token = dup_or_null(getenv("AWS_SESSION_TOKEN"));
    return 0;
  }
  const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
  const char *profile = getenv("AWS_PROFILE");
  char path[1024];
  if (file == NULL || *file == '\0') {
    const char *home = getenv("HOME");
    snprintf(path, sizeof path, "%s/.aws/credentials", home ? home : "");
    file = path;
  }
  if (profile == NULL || *profile == '\0')
    profile = "default";
  if (from_file(file, profile, out) == 0)
    return 0;
  ks__s3_creds_free(out);
  ks_log_error("storage.s3: no credentials: set storage.s3.access_key_id and "
               "secret_access_key, AWS_ACCESS_KEY_ID and "
               "AWS_SECRET_ACCESS_KEY, or profile \"%s\" in %s",
               profile, file);
  return KS_ECONFIG;
}

void ks__s3_creds_free(ks__s3_creds *c) {
  if (c->secret_key)
    memset(c->secret_key, 0, strlen(c->secret_key));
  ks_free(c->access_key);
  ks_free(c->secret_key);
  ks_free(c->token);
  memset(c, 0, sizeof *c);
}
