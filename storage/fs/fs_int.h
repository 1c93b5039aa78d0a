/*
 * Internals shared by the files of storage/fs (not for other folders).
 * The helpers run on thread-pool threads: they only make system calls and
 * allocate, and return 0 or a negative ksink/errno code.
 */
#ifndef KS_STORAGE_FS_FS_INT_H
#define KS_STORAGE_FS_FS_INT_H

#include "storage/storage.h"

#include <stddef.h>
#include <sys/types.h>

typedef struct ks__fs {
  ks_storage base;
  char *root; /* absolute, without a trailing '/' */
} ks__fs;

extern const ks_storage_vtable ks__fs_vtable;

/* KS_EINVAL unless key is relative, non-empty, without "." / ".." / empty
 * components. */
int ks__fs_check_key(const char *key);
/* root + "/" + key; the caller frees. */
char *ks__fs_path(const ks__fs *fs, const char *key);
/* ENOENT/EEXIST to the ksink codes, anything else to -errno. */
int ks__fs_err(int errnum);
/* mkdir -p of the directory that will hold path. */
int ks__fs_mkdirs_for(const char *path);
/* fsync the directory holding path (makes a rename/link durable). */
int ks__fs_fsync_dir_for(const char *path);
/* "<dir>/.<name>.ksink-<tag>-<16 hex>" next to path; the caller frees. */
char *ks__fs_tmp_path(const char *path, const char *tag);
/* 1 if a file name is one of ours in flight (skipped by list). */
int ks__fs_is_tmp_name(const char *name);
/* Whole buffer at off (pwrite), retrying short writes and EINTR. */
int ks__fs_pwrite_all(int fd, const void *data, size_t len, off_t off);
/* Creates path exclusively, writes data and fsyncs it. */
int ks__fs_write_new(const char *path, const void *data, size_t len);

/* Multipart (fs_upload.c). */
int ks__fs_upload_create(ks_storage *s, const char *key, ks_upload_cb cb,
                         void *arg);
int ks__fs_upload_part(ks_storage *s, ks_upload *up, int part_no,
                       const void *data, size_t len, ks_storage_cb cb,
                       void *arg);
int ks__fs_upload_complete(ks_storage *s, ks_upload *up, int if_absent,
                           ks_upload_done_cb cb, void *arg);
int ks__fs_upload_abort(ks_storage *s, ks_upload *up, ks_storage_cb cb,
                        void *arg);
/* Reports a finished operation to ks_storage_note: answers such as
 * not-found count as reachable, device faults (EIO, ENOSPC, ...) do not. */
void ks__fs_note(int status, uint64_t bytes);
/* Stale temp files (fs_sweep.c). */
int ks__fs_sweep_uploads(ks_storage *s, const char *prefix,
                         int64_t older_than_ms, ks_storage_sweep_cb cb,
                         void *arg);

#endif
