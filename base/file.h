/*
 * Whole files into memory, with a cap: configuration and schema files,
 * TZif zone files, the fs storage backend's gets. One read loop for all of
 * them (short reads, EINTR, a file that grows while read, the cap), so no
 * caller trusts st_size or a single read().
 *
 * Blocking: call it at start-up, from a CLI command, or on the libuv
 * thread pool (the fs backend), never on a worker's loop.
 */
#ifndef KS_BASE_FILE_H
#define KS_BASE_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Reads path to its end into *data (ks_malloc'd, NUL-terminated past *len;
 * the caller ks_frees it). cap: the most bytes accepted, 0 for no cap.
 * Returns 0; KS_ETOOBIG when the file holds more than cap bytes; -errno
 * when it cannot be opened or read (-EISDIR for a directory). On failure
 * *data is NULL and err (if given) says "<path>: <reason>". */
int ks_read_file(const char *path, size_t cap, uint8_t **data, size_t *len,
                 char *err, size_t errlen);

/* The same from an open descriptor (the caller keeps and closes it), for
 * callers that check the file with fstat first. */
int ks_read_fd(int fd, size_t cap, uint8_t **data, size_t *len);

#endif
