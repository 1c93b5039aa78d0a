/*
 * The credential chain of one S3 storage instance, shared by creds.c
 * (finding the source, synchronously, when the storage opens) and
 * creds_fetch.c (fetching and refreshing from remote sources on the
 * storage's loop, through the transport). Internal to storage/s3.
 */
#ifndef KS_STORAGE_S3_CREDS_H
#define KS_STORAGE_S3_CREDS_H

#include "storage/s3/s3_int.h"

#define KS__S3_MAX_ASSUME 2

struct ks__s3_chain {
  ks__s3 *s3;
  int provider;       /* enum ks_s3_cred */
  ks__s3_creds fixed; /* config, environment or profile keys */
  /* web identity */
  char *token_file, *web_role_arn;
  char *session_name;
  char *sts_url, *sts_path, *sts_host, *region;
  /* container */
  char *container_url, *container_path;
  char *container_token, *container_token_file;
  /* IMDS */
  char *imds_url;
  /* roles assumed in turn on top (profile role_arn, storage.s3.role_arn) */
  char *assume_arn[KS__S3_MAX_ASSUME], *assume_ext[KS__S3_MAX_ASSUME];
  int nassume;
  char *tried; /* what the chain looked at, in order, for messages */

  /* fetching (creds_fetch.c) */
  uv_timer_t timer; /* next refresh, or a retry after a failure */
  int timer_live;
  int fetching;
  int step;          /* see creds_fetch.c */
  int hop;           /* assume_arn index being assumed */
  ks__s3_creds work; /* credentials of the step done last */
  char *imds_token;
  char *imds_role;
  int have;          /* s3->creds holds usable credentials */
  uint64_t gen;      /* bumped at each install */
  int64_t margin_ms; /* credentials are not used this close to expiry */
  unsigned failures; /* fetches failed in a row */
  ks__s3_req *waiting, *waiting_tail;
  ks__s3_req *inflight; /* the fetch's request */
  char last_err[512];
};

/* Starts a fetch unless one runs (creds_fetch.c). */
void ks__s3_chain_fetch(ks__s3_chain *c);
/* Installs credentials that need no fetch (static keys, no role). */
void ks__s3_chain_install_fixed(ks__s3_chain *c);
/* Whether the source hands out credentials that change (refreshes). */
int ks__s3_chain_refreshable(const ks__s3_chain *c);

#endif
