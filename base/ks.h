/*
 * base: the few things every ksink module shares -- the error-code table,
 * the allocation wrapper and its out-of-memory policy, container_of.
 * Everything here is tiny and dependency-free so any folder may include it.
 */
#ifndef KS_BASE_KS_H
#define KS_BASE_KS_H

#include <stddef.h>
#include <stdint.h>

#define KS_VERSION "0.1.0"

/* One table maps every error code to its message (libuv's UV_ERRNO_MAP).
 * Functions return 0 or one of these negative codes. */
#define KS_ERRNO_MAP(XX)                                                       \
  XX(NOMEM, "out of memory")                                                   \
  XX(INVAL, "invalid argument")                                                \
  XX(IO, "i/o error")                                                          \
  XX(EXIST, "already exists")                                                  \
  XX(NOENT, "not found")                                                       \
  XX(TOOBIG, "size limit exceeded")                                            \
  XX(CONFIG, "bad configuration")                                              \
  XX(SCHEMA, "bad schema")                                                     \
  XX(PARSE, "malformed JSON")                                                  \
  XX(INVALID, "record does not match the schema")                              \
  XX(CONFLICT, "concurrent commit conflict")                                   \
  XX(ZOMBIE, "batch superseded by another writer")                             \
  XX(KAFKA, "kafka error")                                                     \
  XX(CORRUPT, "corrupt table log")                                             \
  XX(UNSUPPORTED, "unsupported")                                               \
  XX(CANCELED, "operation canceled")                                           \
  XX(STOPPED, "pipeline stopped")                                              \
  XX(ACCES, "access denied by storage")                                        \
  XX(UNAVAIL, "storage unavailable")                                           \
  XX(NEWFIELD, "record has fields the table has no column for")               \
  XX(AGAIN, "waiting for the schema registry")

/* The codes come from the table too, so a code cannot exist without its
 * message: KS_ERRNUM_<NAME> is the positive number (1001, 1002, ... in
 * table order) and KS_E<NAME> the negative code functions return. */
#define KS_ERR_ENUM_(name, msg) KS_ERRNUM_##name,
enum ks_errnum_ {
  KS_ERRNUM_FIRST_ = 1000,
  KS_ERRNO_MAP(KS_ERR_ENUM_) KS_ERRNUM_LAST_
};
#undef KS_ERR_ENUM_
#define KS_ERR_CODE_(name, msg) KS_E##name = -(int)KS_ERRNUM_##name,
enum ks_err { KS_ERRNO_MAP(KS_ERR_CODE_) };
#undef KS_ERR_CODE_
#define KS_ERR(name) (-(int)KS_ERRNUM_##name)

/* Message for a ksink error code (or a negated errno value). */
const char *ks_strerror(int err);
/* Short symbolic name ("EEXIST") for logs and metric labels. */
const char *ks_errname(int err);

/* Allocation policy, chosen once: ksink cannot make progress without
 * memory, and a half-built row group is worth nothing, so allocation failure
 * writes one line to stderr and aborts, without allocating (so not
 * through the logger, which allocates). Callers never check for NULL. Byte
 * budgets (reactor) keep ksink far from this point in normal operation. */
void *ks_malloc(size_t n);
void *ks_calloc(size_t n, size_t size);
void *ks_realloc(void *p, size_t n);
char *ks_strdup(const char *s);
char *ks_strndup(const char *s, size_t n);
void ks_free(void *p);

#define ks_container_of(ptr, type, member)                                     \
  ((type *)((char *)(ptr)-offsetof(type, member)))

#define KS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KS_UNUSED(x) ((void)(x))

/* Compression codecs for data files (Parquet pages, JSON Lines). */
typedef enum ks_codec {
  KS_CODEC_NONE,
  KS_CODEC_SNAPPY,
  KS_CODEC_ZSTD,
  KS_CODEC_GZIP
} ks_codec;

/* Microseconds since the Unix epoch, wall clock. */
int64_t ks_now_us(void);
/* Milliseconds, monotonic. */
uint64_t ks_mono_ms(void);
/* Wall clock, milliseconds since the Unix epoch. */
int64_t ks_unix_ms(void);

#endif
