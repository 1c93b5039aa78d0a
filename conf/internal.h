/*
 * Cross-file internals of conf/: the small node tree that yaml.c builds
 * from libyaml events (every node keeps its 1-based line), and the loader
 * context that value.c, load.c and tables.c share to read typed values out
 * of it and to format the one-line "file:line: key: message" errors.
 * Nothing outside conf/ includes this.
 */
#ifndef KS_CONF_INTERNAL_H
#define KS_CONF_INTERNAL_H

#include "conf/conf.h"

#include <stddef.h>
#include <stdint.h>

typedef enum ks__conf_kind {
  KS__CONF_SCALAR,
  KS__CONF_MAP,
  KS__CONF_SEQ
} ks__conf_kind;

typedef struct ks__conf_node ks__conf_node;
struct ks__conf_node {
  ks__conf_kind kind;
  int line;             /* 1-based */
  int quoted;           /* scalar written quoted or as a block: never null */
  char *text;           /* scalar: NUL-terminated, not yet interpolated */
  ks__conf_node **keys; /* map: key scalars, parallel to vals */
  ks__conf_node **vals; /* map values, sequence items */
  size_t n, cap;
};

/* Parses one YAML document into a tree. Rejects anchors, aliases, tags,
 * duplicate keys, non-scalar keys and more than one document. *root is
 * NULL for an empty document. On error writes one line into err and
 * returns KS_ECONFIG. */
int ks__conf_yaml_parse(const char *text, size_t len, const char *name,
                        ks__conf_node **root, char *err, size_t errlen);
void ks__conf_node_free(ks__conf_node *n);

/* Loader state. path is the key path of the value being read
 * ("tables[0].flush.interval"); push/pop keep it in step with the walk. */
typedef struct ks__conf_ctx {
  const char *file; /* as given, for messages */
  const char *dir;  /* config file's directory, NULL for strings */
  char *err;
  size_t errlen;
  char path[1024];
  size_t pathlen;
} ks__conf_ctx;

size_t ks__conf_path_push(ks__conf_ctx *c, const char *key);
size_t ks__conf_path_push_index(ks__conf_ctx *c, size_t i);
void ks__conf_path_pop(ks__conf_ctx *c, size_t len);

/* Writes "file:line: path: message" and returns KS_ECONFIG. */
/* Replaces control characters (line breaks included) by '?'. */
void ks__conf_one_line(char *msg);
int ks__conf_fail(ks__conf_ctx *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A value for a message: quoted and escaped onto one line, or
 * "<redacted>" when the current path names a secret. */
const char *ks__conf_show(const ks__conf_ctx *c, const char *text, char *buf,
                          size_t cap);
/* Does this key path hold a credential? */
int ks__conf_path_is_secret(const char *path);

int ks__conf_is_null(const ks__conf_node *n);
/* "a mapping", "a sequence", "a scalar": for "got ..." in messages. */
const char *ks__conf_kind_name(const ks__conf_node *n);
/* Value of key in a mapping, or NULL. */
ks__conf_node *ks__conf_get(const ks__conf_node *map, const char *key);
/* Line of key in a mapping (for "missing" messages), else fallback. */
int ks__conf_key_line(const ks__conf_node *map, const char *key, int fallback);
/* Fails on the first key of map not in known (NULL-terminated), suggesting
 * the closest known key when it is a likely typo. */
int ks__conf_check_keys(ks__conf_ctx *c, const ks__conf_node *map,
                        const char *const *known);
/* Suggestion for an unknown key, or NULL. */
const char *ks__conf_suggest(const char *key, const char *const *known);

/* Typed readers for the value at the current path. All scalars go through
 * ${ENV} interpolation first. */
int ks__conf_interpolate(ks__conf_ctx *c, const ks__conf_node *n, char **out);
/* String (NULL when the value is null or interpolates to ""). */
int ks__conf_str(ks__conf_ctx *c, const ks__conf_node *n, char **out);
int ks__conf_int(ks__conf_ctx *c, const ks__conf_node *n, int64_t min,
                 int64_t max, int64_t *out);
int ks__conf_size(ks__conf_ctx *c, const ks__conf_node *n, int64_t min,
                  int64_t *out);
int ks__conf_duration(ks__conf_ctx *c, const ks__conf_node *n, int64_t min,
                      int64_t *out);
/* One of names (NULL-terminated); *out is its index. */
int ks__conf_enum(ks__conf_ctx *c, const ks__conf_node *n,
                  const char *const *names, int *out);
/* Fails unless n is a mapping: "expected <what>, got ...". */
int ks__conf_expect_map(ks__conf_ctx *c, const ks__conf_node *n,
                        const char *what);

/* tables.c */
int ks__conf_load_tables(ks__conf_ctx *c, const ks__conf_node *root,
                         ks_conf *conf);
void ks__conf_table_free(ks_conf_table *t);
/* schema_registry (registry.c) */
int ks__conf_load_registry(ks__conf_ctx *c, const ks__conf_node *root,
                           ks_conf *conf);
void ks__conf_registry_free(ks_conf *conf);

/* partition.c: partition_by, derive, path_format, timestamp_field,
 * timezone, max_open_partitions of one table (after its format). */
int ks__conf_load_partition(ks__conf_ctx *c, const ks__conf_node *map,
                            ks_conf_table *t);
void ks__conf_partition_free(ks_conf_table *t);

/* features.c: table_features and properties of one table (after its
 * format). */
int ks__conf_load_features(ks__conf_ctx *c, const ks__conf_node *map,
                           ks_conf_table *t);
void ks__conf_features_free(ks_conf_table *t);

/* record.c: topics_regex, key, headers, null_values and transforms of
 * one table. */
int ks__conf_load_record(ks__conf_ctx *c, const ks__conf_node *map,
                         ks_conf_table *t);
void ks__conf_record_free(ks_conf_table *t);

/* Returns from the calling function with the status of stmt when it
 * fails: the loaders' one error path. */
#define KS__CONF_CALL(stmt)                                                    \
  do {                                                                         \
    int r_ = (stmt);                                                           \
    if (r_)                                                                    \
      return r_;                                                               \
  } while (0)

#endif
