/*
 * fs: the local-directory storage backend (file:///abs/path). Same vtable
 * as s3; every system call runs on the libuv thread pool and completes on
 * the loop. Atomic create is link(2) of a fully written, fsynced temp file,
 * so put_if_absent never exposes a partial object and never overwrites.
 * Temp files (".<name>.ksink-tmp-*", ".<name>.ksink-upload-*") are hidden
 * from list. Opened by ks_storage_open; tests may open it directly.
 */
#ifndef KS_STORAGE_FS_FS_H
#define KS_STORAGE_FS_FS_H

#include "storage/storage.h"

/* root: an absolute directory path (created on first write if missing). */
int ks_fs_open(uv_loop_t *loop, const char *root, ks_storage **out);

#endif
