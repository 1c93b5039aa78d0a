/*
 * The S3 backend's settings (storage.s3.* in the config). storage/ owns
 * the type: conf/ fills it from the YAML, the backend and the tools that
 * open S3 storage without a config read it.
 */
#ifndef KS_STORAGE_S3_S3_CONF_H
#define KS_STORAGE_S3_S3_CONF_H

#include <stdint.h>

typedef struct ks_conf_s3 {
  char *endpoint;
  char *region;     /* NULL: AWS_REGION, AWS_DEFAULT_REGION, the profile's
                       region, else us-east-1 */
  char *addressing; /* path | virtual */
  char *access_key_id;
  char *secret_access_key;
  char *session_token;
  int64_t part_size;          /* default 8 MiB, minimum 5 MiB */
  int max_parts_in_flight;    /* default 4 */
  char *sse;                  /* NULL, "AES256" or "aws:kms" */
  char *kms_key_id;           /* with sse aws:kms; NULL: the bucket's default */
  char *ca_file;              /* CA bundle for HTTPS; NULL: the system's */
  int verify_tls;             /* default 1 */
  int unsigned_payload;       /* UNSIGNED-PAYLOAD over HTTPS; default 0 */
  int64_t connect_timeout_ms; /* default 5 s */
  int64_t stall_timeout_ms;   /* a transfer below 1 KiB/s this long fails;
                                 default 30 s */
  int64_t retry_base_ms;      /* retry.base, default 100 ms */
  int64_t retry_cap_ms;       /* retry.cap, default 20 s */
  int retry_max_attempts;     /* retry.max_attempts, default 8 */
  int breaker_failures;       /* breaker.failures: consecutive failures that
                                 open it; default 5 */
  int64_t breaker_cooldown_ms; /* breaker.cooldown before a probe; 5 s */
  int64_t stale_upload_age_ms; /* uploads (multipart on S3, temp files on
                                  fs) older than this are aborted at start
                                  and at shutdown; default 1 h, >= 1 s, never
                                  below 2 x the largest flush.interval */
  char *role_arn;    /* assumed on top of what the credential chain finds */
  char *external_id; /* with role_arn */
  char *acl;         /* canned ACL sent as x-amz-acl on object writes */
  int conditional_writes_probe; /* default 1: check put-if-absent at
                                   start-up */
} ks_conf_s3;

/* The defaults above, for code that opens S3 storage without a config. */
void ks_conf_s3_defaults(ks_conf_s3 *s3);

#endif
