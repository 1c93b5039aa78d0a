/*
 * A storage double for tests: wraps a real backend and fails chosen calls
 * with a chosen error before passing the rest through, injected through
 * the storage vtable (never through getenv in production code). Counts
 * every call per operation.
 */
#ifndef KS_TEST_SUPPORT_FAULTY_STORAGE_H
#define KS_TEST_SUPPORT_FAULTY_STORAGE_H

#include "storage/storage.h"

enum ks_faulty_op {
  KS_OP_PUT,
  KS_OP_PUT_IF_ABSENT,
  KS_OP_GET,
  KS_OP_LIST,
  KS_OP_DEL,
  KS_OP_CREATE,
  KS_OP_PART,
  KS_OP_COMPLETE,
  KS_OP_ABORT,
  KS_OP_COUNT
};

typedef struct ks_faulty_storage {
  ks_storage base; /* first: handed out as ks_storage */
  ks_storage *inner;
  int fail_next[KS_OP_COUNT]; /* the next N calls of op fail, unseen */
  /* The next N calls of op reach storage and take effect, but the caller
   * is told they failed (a lost reply): only for idempotent operations
   * (put, upload_part). */
  int lose_reply[KS_OP_COUNT];
  int error;                  /* with this status (default KS_EIO) */
  int calls[KS_OP_COUNT];
  int failed[KS_OP_COUNT];
} ks_faulty_storage;

/* Wraps inner (owned: closed with the double). */
ks_storage *ks_faulty_storage_new(ks_storage *inner);

#endif
