/*
 * Optimize planning (optimize.h): which active files go into which bin.
 *
 * Files are grouped by their partition values, then packed in log order
 * (roughly the order the rows arrived in, so time-clustered data stays
 * clustered) into bins that stop before the next file would take them
 * past the target. Sorting by size first (first-fit decreasing) would
 * pack a little tighter but interleaves old and new rows; with files of
 * similar size, as a streaming writer makes them, the difference is at
 * most one bin per partition.
 */
#include "storage/delta/optimize.h"

#include "base/ks.h"
#include "storage/delta/delta_int.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_TARGET ((int64_t)256 << 20)

static int64_t target_of(const ks_delta_optimize_opts *o) {
  return o->target_size > 0 ? o->target_size : DEFAULT_TARGET;
}

static size_t min_files_of(const ks_delta_optimize_opts *o) {
  return o->min_files >= 2 ? o->min_files : 2;
}

/* The value of partition column name in a, *found 0 when a has none. */
static const char *part_value(const ks_delta_add *a, const char *name,
                              int *found) {
  for (size_t i = 0; i < a->nparts; i++)
    if (strcmp(a->part_names[i], name) == 0) {
      *found = 1;
      return a->part_values[i];
    }
  *found = 0;
  return NULL;
}

static int passes(const ks_delta_add *a, const ks_delta_optimize_opts *o) {
  for (size_t i = 0; i < o->nwhere; i++) {
    int found;
    const char *v = part_value(a, o->where_names[i], &found);
    if (v == NULL || strcmp(v, o->where_values[i]) != 0)
      return 0;
  }
  return 1;
}

/* A partition's identity: every partition column's value, length-prefixed
 * ("n" for null), in metaData's column order. */
static char *partition_key(const ks_delta_snapshot *s, const ks_delta_add *a) {
  ks_buf b;
  ks_buf_init(&b, 0);
  const ks_delta_metadata *m = &s->metadata;
  for (size_t i = 0; i < m->npartition_columns; i++) {
    int found;
    const char *v = part_value(a, m->partition_columns[i], &found);
    if (v)
      ks_buf_appendf(&b, "%zu:%s;", strlen(v), v);
    else
      ks_buf_append_str(&b, "n;");
  }
  ks_buf_cstr(&b);
  return (char *)ks_buf_steal(&b, NULL);
}

typedef struct cand {
  char *key;
  size_t idx; /* into s->files */
} cand;

static int cmp_cand(const void *pa, const void *pb) {
  const cand *a = pa, *b = pb;
  int c = strcmp(a->key, b->key);
  if (c)
    return c;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

typedef struct group {
  size_t first, n; /* run in the sorted candidates */
} group;

static int cmp_group(const void *pa, const void *pb, void *arg) {
  const cand *c = arg;
  const group *a = pa, *b = pb;
  size_t x = c[a->first].idx, y = c[b->first].idx;
  return x < y ? -1 : x > y;
}

/* Candidates (small files passing the filter) sorted into partitions. */
static size_t candidates(const ks_delta_snapshot *s,
                         const ks_delta_optimize_opts *o, cand **out,
                         group **groups, size_t *ngroups) {
  int64_t target = target_of(o);
  cand *c = ks_calloc(s->nfiles ? s->nfiles : 1, sizeof *c);
  size_t n = 0;
  for (size_t i = 0; i < s->nfiles; i++) {
    const ks_delta_add *a = &s->files[i];
    /* a file with a deletion vector is left as it is: rewriting it would
     * have to apply the vector, and its remove must carry it */
    if (a->size >= target || !passes(a, o) || a->dv_cardinality > 0 ||
        (a->extra && strstr(a->extra, "\"deletionVector\":{")))
      continue;
    c[n].key = partition_key(s, a);
    c[n++].idx = i;
  }
  qsort(c, n, sizeof *c, cmp_cand);
  group *g = ks_calloc(n ? n : 1, sizeof *g);
  size_t ng = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || strcmp(c[i].key, c[i - 1].key) != 0)
      g[ng++] = (group){.first = i};
    g[ng - 1].n++;
  }
  qsort_r(g, ng, sizeof *g, cmp_group, c);
  *out = c;
  *groups = g;
  *ngroups = ng;
  return n;
}

static void cands_free(cand *c, size_t n, group *g) {
  for (size_t i = 0; i < n; i++)
    ks_free(c[i].key);
  ks_free(c);
  ks_free(g);
}

int ks_delta_optimize_due(const ks_delta_snapshot *s,
                          const ks_delta_optimize_opts *o) {
  cand *c;
  group *g;
  size_t ng, n = candidates(s, o, &c, &g, &ng);
  int due = 0;
  for (size_t i = 0; i < ng && !due; i++)
    due = g[i].n >= min_files_of(o);
  cands_free(c, n, g);
  return due;
}

static char **strs_copy(char *const *v, size_t n) {
  if (n == 0)
    return NULL;
  char **out = ks_calloc(n, sizeof *out);
  for (size_t i = 0; i < n; i++)
    out[i] = v[i] ? ks_strdup(v[i]) : NULL;
  return out;
}

static void add_copy(ks_delta_add *dst, const ks_delta_add *src) {
  *dst = *src;
  dst->path = ks_strdup(src->path);
  dst->stats = src->stats ? ks_strdup(src->stats) : NULL;
  dst->part_names = strs_copy(src->part_names, src->nparts);
  dst->part_values = strs_copy(src->part_values, src->nparts);
  dst->extra = src->extra ? ks_strdup(src->extra) : NULL;
  dst->dv_file = src->dv_file ? ks_strdup(src->dv_file) : NULL;
  dst->dv_id = src->dv_id ? ks_strdup(src->dv_id) : NULL;
}

static void close_bin(ks_delta_bin *b, ks_delta_bin **bins, size_t *nbins,
                      size_t *cap) {
  if (b->ninputs < 2) { /* one file alone gains nothing */
    for (size_t i = 0; i < b->ninputs; i++)
      ks__delta_add_free(&b->inputs[i]);
    ks_free(b->inputs);
  } else {
    if (*nbins == *cap) {
      *cap = *cap ? *cap * 2 : 8;
      *bins = ks_realloc(*bins, *cap * sizeof **bins);
    }
    (*bins)[(*nbins)++] = *b;
  }
  memset(b, 0, sizeof *b);
}

void ks_delta_optimize_plan(const ks_delta_snapshot *s,
                            const ks_delta_optimize_opts *o,
                            ks_delta_bin **bins, size_t *nbins) {
  int64_t target = target_of(o);
  cand *c;
  group *g;
  size_t ng, n = candidates(s, o, &c, &g, &ng);
  size_t cap = 0;
  *bins = NULL;
  *nbins = 0;
  for (size_t gi = 0; gi < ng; gi++) {
    if (g[gi].n < min_files_of(o))
      continue;
    ks_delta_bin b;
    memset(&b, 0, sizeof b);
    for (size_t k = 0; k < g[gi].n; k++) {
      const ks_delta_add *a = &s->files[c[g[gi].first + k].idx];
      if (b.ninputs && b.bytes + a->size > target)
        close_bin(&b, bins, nbins, &cap);
      if (b.ninputs == 0)
        b.inputs = ks_calloc(g[gi].n - k, sizeof *b.inputs);
      add_copy(&b.inputs[b.ninputs++], a);
      b.bytes += a->size;
    }
    close_bin(&b, bins, nbins, &cap);
  }
  cands_free(c, n, g);
}

void ks_delta_optimize_bins_free(ks_delta_bin *bins, size_t n) {
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < bins[i].ninputs; k++)
      ks__delta_add_free(&bins[i].inputs[k]);
    ks_free(bins[i].inputs);
    ks__delta_add_free(&bins[i].out);
  }
  ks_free(bins);
}
