#include "stages/table/partitioner.h"
#include "base/tz.h"
#include "base/civil.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* One partition column: where its value comes from in the staged row. */
typedef struct pcol {
  char *name;
  size_t leaf;     /* source column in the staging tree */
  ks_coltype src;  /* the source column's type */
  int derive;      /* -1: the column itself; else a ks_derive_unit */
  ks_coltype type; /* the partition column's type */
} pcol;

/* A path_format token. */
typedef enum pf_kind {
  PF_LITERAL,
  PF_YEAR,
  PF_MONTH,
  PF_DAY,
  PF_HOUR,
  PF_MINUTE
} pf_kind;

typedef struct pf_token {
  pf_kind kind;
  char *text; /* PF_LITERAL */
} pf_token;

struct ks_partitioner {
  pcol *cols;
  size_t ncols;
  pf_token *pf;
  size_t npf;
  size_t ts_leaf; /* path_format: the timestamp or date column */
  ks_coltype ts_type;
  const struct ks_tz *tz; /* path_format's zone (the config's), NULL: UTC */
};

/* ---- serialization and escaping ---------------------------------------- */

static int floor_div(int64_t a, int64_t b, int64_t *q) {
  *q = a / b - (a % b != 0 && (a < 0) != (b < 0));
  return 0;
}

static int append_date(ks_buf *out, int64_t days) {
  int64_t y;
  unsigned m, d;
  ks_civil_from_days(days, &y, &m, &d);
  return ks_buf_appendf(out, "%04" PRId64 "-%02u-%02u", y, m, d);
}

int ks_partition_value(ks_buf *out, ks_coltype type, const void *v, size_t n) {
  int32_t i32;
  int64_t i64, days;
  switch (type) {
  case KS_COL_BOOLEAN:
    return ks_buf_append_str(out, *(const uint8_t *)v ? "true" : "false");
  case KS_COL_INT32:
  case KS_COL_INT8:
  case KS_COL_INT16:
    memcpy(&i32, v, 4);
    return ks_buf_appendf(out, "%" PRId32, i32);
  case KS_COL_INT64:
    memcpy(&i64, v, 8);
    return ks_buf_appendf(out, "%" PRId64, i64);
  case KS_COL_STRING:
    return ks_buf_append(out, v, n);
  case KS_COL_DATE:
    memcpy(&i32, v, 4);
    return append_date(out, i32);
  case KS_COL_TIMESTAMP:
  case KS_COL_TIMESTAMP_NTZ: {
    /* "{year}-{month}-{day} {hour}:{minute}:{second}[.{microsecond}]" */
    memcpy(&i64, v, 8);
    floor_div(i64, INT64_C(86400000000), &days);
    int64_t us = i64 - days * INT64_C(86400000000);
    int r = append_date(out, days);
    if (r == 0)
      r = ks_buf_appendf(out, " %02d:%02d:%02d", (int)(us / 3600000000),
                         (int)(us / 60000000 % 60), (int)(us / 1000000 % 60));
    if (r == 0 && us % 1000000)
      r = ks_buf_appendf(out, ".%06d", (int)(us % 1000000));
    return r;
  }
  default:
    return KS_EUNSUPPORTED;
  }
}

static int needs_escape(uint8_t c) {
  if (c < 0x20 || c == 0x7f)
    return 1;
  return strchr("\"#%'*/:=?\\{[]^", c) != NULL && c != 0;
}

static int append_pct(ks_buf *out, uint8_t c) {
  static const char hex[] = "0123456789ABCDEF";
  char e[3] = {'%', hex[c >> 4], hex[c & 15]};
  return ks_buf_append(out, e, 3);
}

int ks_partition_escape(ks_buf *out, const char *s, size_t n) {
  int r = 0;
  for (size_t i = 0; r == 0 && i < n; i++) {
    uint8_t c = (uint8_t)s[i];
    r = needs_escape(c) ? append_pct(out, c) : ks_buf_append_byte(out, c);
  }
  return r;
}

int ks_partition_uri_encode(ks_buf *out, const char *s, size_t n) {
  int r = 0;
  for (size_t i = 0; r == 0 && i < n; i++) {
    uint8_t c = (uint8_t)s[i];
    int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
               (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
               c == '~' || c == '/' || c == '=';
    r = keep ? ks_buf_append_byte(out, c) : append_pct(out, c);
  }
  return r;
}

/* ---- set-up ------------------------------------------------------------- */

static const ks_pq_node *top_field(const ks_pq_schema *pq, const char *name) {
  const ks_pq_node *root = ks_pq_schema_root((ks_pq_schema *)pq);
  for (size_t i = 0; i < root->nchildren; i++)
    if (strcasecmp(root->children[i]->name, name) == 0)
      return root->children[i];
  return NULL;
}

/* A top-level scalar column the partitioning may read. */
static int scalar_leaf(const ks_pq_schema *pq, const char *name,
                       const ks_pq_node **out, const char **why) {
  const ks_pq_node *n = top_field(pq, name);
  *out = n;
  if (n == NULL)
    *why = "is not a top-level column of the table's schema";
  else if (!n->is_leaf)
    *why = "is a struct, list or map; partition columns are scalars";
  else if (n->precision > 0 || n->spec.type == KS_COL_DOUBLE ||
           n->spec.type == KS_COL_FLOAT || n->spec.type == KS_COL_BINARY)
    *why = "is a number with a fraction or binary; partition by an "
           "integer, string, boolean, date or timestamp column";
  else
    return 0;
  return -1;
}

/* A timestamp or date column to read times from: NULL, or why not. */
static const char *time_leaf(const ks_pq_schema *pq, const char *name,
                             const ks_pq_node **n) {
  const char *why = NULL;
  if (scalar_leaf(pq, name, n, &why))
    return why;
  if ((*n)->spec.type != KS_COL_TIMESTAMP && (*n)->spec.type != KS_COL_DATE)
    return "is not a timestamp (format: date-time) or date column";
  return NULL;
}

static int parse_format(ks_partitioner *pt, const char *f) {
  size_t cap = strlen(f) + 1;
  pt->pf = ks_calloc(cap, sizeof *pt->pf);
  ks_buf lit;
  ks_buf_init(&lit, 0);
  int r = 0;
  for (const char *s = f; *s && r == 0;) {
    pf_kind k = PF_LITERAL;
    size_t len = 0;
    if (*s == '\'') {
      /* 'literal', '' is a quote */
      if (s[1] == '\'') {
        ks_buf_append_byte(&lit, '\'');
        s += 2;
        continue;
      }
      const char *e = strchr(s + 1, '\'');
      if (e == NULL) {
        r = -1;
        break;
      }
      ks_buf_append(&lit, s + 1, (size_t)(e - s - 1));
      s = e + 1;
      continue;
    }
    if (strncmp(s, "YYYY", 4) == 0 || strncmp(s, "yyyy", 4) == 0)
      k = PF_YEAR, len = 4;
    else if (strncmp(s, "MM", 2) == 0)
      k = PF_MONTH, len = 2;
    else if (strncmp(s, "dd", 2) == 0)
      k = PF_DAY, len = 2;
    else if (strncmp(s, "HH", 2) == 0)
      k = PF_HOUR, len = 2;
    else if (strncmp(s, "mm", 2) == 0)
      k = PF_MINUTE, len = 2;
    else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
      r = -1; /* a pattern letter we do not render */
    if (r)
      break;
    if (k == PF_LITERAL) {
      ks_buf_append_byte(&lit, (uint8_t)*s++);
      continue;
    }
    if (lit.len) {
      ks_buf_cstr(&lit);
      pt->pf[pt->npf++] = (pf_token){PF_LITERAL, ks_strdup((char *)lit.data)};
      ks_buf_reset(&lit);
    }
    pt->pf[pt->npf++] = (pf_token){k, NULL};
    s += len;
  }
  if (r == 0 && lit.len) {
    ks_buf_cstr(&lit);
    pt->pf[pt->npf++] = (pf_token){PF_LITERAL, ks_strdup((char *)lit.data)};
  }
  ks_buf_free(&lit);
  return r;
}

int ks_partitioner_new(const char *file, const ks_conf_table *tc, size_t table,
                       const ks_pq_schema *pq, size_t ndata,
                       ks_partitioner **out, char *err, size_t errlen) {
  ks_partitioner *pt = ks_calloc(1, sizeof *pt);
  const ks_pq_node *n = NULL;
  const char *why = NULL;
  *out = NULL;
  pt->cols =
      ks_calloc(tc->npartition_by ? tc->npartition_by : 1, sizeof *pt->cols);
  for (size_t i = 0; i < tc->nderive; i++) {
    const ks_conf_derive *d = &tc->derive[i];
    if (top_field(pq, d->name)) {
      snprintf(err, errlen,
               "%s:%d: tables[%zu].derive.%s: the schema already has a "
               "column of that name",
               file, d->line, table, d->name);
      goto fail;
    }
    if ((why = time_leaf(pq, d->from, &n)) != NULL) {
      snprintf(err, errlen, "%s:%d: tables[%zu].derive.%s.from: \"%s\" %s",
               file, d->line, table, d->name, d->from, why);
      goto fail;
    }
    int used = 0;
    for (size_t j = 0; j < tc->npartition_by; j++)
      used |= strcasecmp(tc->partition_by[j], d->name) == 0;
    if (!used) {
      snprintf(err, errlen,
               "%s:%d: tables[%zu].derive.%s: a derived column is a "
               "partition column: list it in partition_by",
               file, d->line, table, d->name);
      goto fail;
    }
  }
  for (size_t i = 0; i < tc->npartition_by; i++) {
    const char *name = tc->partition_by[i];
    pcol *c = &pt->cols[pt->ncols];
    const ks_conf_derive *d = NULL;
    for (size_t j = 0; j < tc->nderive; j++)
      if (strcasecmp(tc->derive[j].name, name) == 0)
        d = &tc->derive[j];
    if (d) {
      time_leaf(pq, d->from, &n);
      c->derive = (int)d->as;
      c->type = d->as == KS_DERIVE_DATE ? KS_COL_DATE : KS_COL_INT32;
    } else {
      why = NULL;
      if (scalar_leaf(pq, name, &n, &why) == 0 && n->leaf >= ndata)
        why = "is one of ksink's _kafka_* columns; partition by a column of "
              "the schema or a derived one";
      else if (n == NULL)
        why = "is neither a top-level column of the table's schema nor "
              "named in derive";
      if (why) {
        snprintf(err, errlen, "%s:%d: tables[%zu].partition_by: \"%s\" %s",
                 file, tc->partition_by_line, table, name, why);
        goto fail;
      }
      c->derive = -1;
      c->type = n->spec.type;
    }
    c->name = ks_strdup(d ? d->name : n->name);
    c->leaf = n->leaf;
    c->src = n->spec.type;
    pt->ncols++;
  }
  if (tc->path_format) {
    if (parse_format(pt, tc->path_format) || pt->npf == 0) {
      snprintf(err, errlen,
               "%s:%d: tables[%zu].path_format: expected a layout like "
               "\"'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH\" (tokens YYYY "
               "MM dd HH mm, literals in single quotes), got \"%s\"",
               file, tc->path_format_line, table, tc->path_format);
      goto fail;
    }
    pt->ts_leaf = ndata + 3; /* _kafka_timestamp */
    pt->ts_type = KS_COL_TIMESTAMP;
    if (tc->timestamp_field) {
      if ((why = time_leaf(pq, tc->timestamp_field, &n)) != NULL) {
        snprintf(err, errlen, "%s:%d: tables[%zu].timestamp_field: \"%s\" %s",
                 file, tc->timestamp_field_line, table, tc->timestamp_field,
                 why);
        goto fail;
      }
      pt->ts_leaf = n->leaf;
      pt->ts_type = n->spec.type;
    }
    pt->tz = tc->tz;
  }
  *out = pt;
  return 0;
fail:
  ks_partitioner_free(pt);
  return KS_ECONFIG;
}

void ks_partitioner_free(ks_partitioner *pt) {
  if (pt == NULL)
    return;
  for (size_t i = 0; i < pt->ncols; i++)
    ks_free(pt->cols[i].name);
  ks_free(pt->cols);
  for (size_t i = 0; i < pt->npf; i++)
    ks_free(pt->pf[i].text);
  ks_free(pt->pf);
  ks_free(pt);
}

size_t ks_partitioner_ncols(const ks_partitioner *pt) {
  return pt->ncols;
}
const char *ks_partitioner_col_name(const ks_partitioner *pt, size_t i) {
  return pt->cols[i].name;
}
ks_coltype ks_partitioner_col_type(const ks_partitioner *pt, size_t i) {
  return pt->cols[i].type;
}
int ks_partitioner_col_is_field(const ks_partitioner *pt, size_t i) {
  return pt->cols[i].derive < 0;
}

/* ---- routing ------------------------------------------------------------ */

/* The staged row's value of a flat column: NULL when null. */
static const void *staged(const ks_rowgroup *rg, size_t leaf, size_t *n) {
  const ks_column *c = &rg->cols[leaf];
  if (c->max_def > 0 && (c->defs.len == 0 || c->defs.data[0] != c->max_def))
    return NULL;
  if (c->nvalues == 0)
    return NULL;
  if (c->width == 0) {
    uint32_t len;
    memcpy(&len, c->lens.data, 4);
    *n = len;
  } else {
    *n = c->width;
  }
  return c->values.data;
}

/* Microseconds of a timestamp or date value. */
static int64_t micros_of(ks_coltype t, const void *v) {
  if (t == KS_COL_DATE) {
    int32_t d;
    memcpy(&d, v, 4);
    return (int64_t)d * INT64_C(86400000000);
  }
  int64_t us;
  memcpy(&us, v, 8);
  return us;
}

typedef struct civil_time {
  int64_t year, days;
  unsigned month, day;
  int hour, minute;
} civil_time;

static void split(int64_t us, civil_time *ct) {
  floor_div(us, INT64_C(86400000000), &ct->days);
  int64_t rest = us - ct->days * INT64_C(86400000000);
  ks_civil_from_days(ct->days, &ct->year, &ct->month, &ct->day);
  ct->hour = (int)(rest / 3600000000);
  ct->minute = (int)(rest / 60000000 % 60);
}

static int derived_value(ks_buf *out, const pcol *c, const void *v) {
  civil_time ct;
  split(micros_of(c->src, v), &ct);
  switch (c->derive) {
  case KS_DERIVE_DATE:
    return append_date(out, ct.days);
  case KS_DERIVE_YEAR:
    return ks_buf_appendf(out, "%" PRId64, ct.year);
  case KS_DERIVE_MONTH:
    return ks_buf_appendf(out, "%u", ct.month);
  case KS_DERIVE_DAY:
    return ks_buf_appendf(out, "%u", ct.day);
  default:
    return ks_buf_appendf(out, "%d", ct.hour);
  }
}

static int route_format(const ks_partitioner *pt, const ks_rowgroup *rg,
                        ks_buf *dir) {
  size_t n;
  const void *v = staged(rg, pt->ts_leaf, &n);
  int r = 0;
  if (v == NULL) {
    /* No time: TimeBasedPartitioner fails such a record; keeping it in a
     * directory of its own loses nothing and stays visible. */
    for (size_t i = 0; r == 0 && i < pt->npf; i++)
      r = pt->pf[i].kind == PF_LITERAL
              ? ks_buf_append_str(dir, pt->pf[i].text)
              : ks_buf_append_str(dir, KS_HIVE_DEFAULT_PARTITION);
    return r;
  }
  civil_time ct;
  int64_t us = micros_of(pt->ts_type, v);
  if (pt->tz) { /* the offset in force at that instant */
    int64_t s = us / 1000000 - (us % 1000000 < 0);
    us += (int64_t)ks_tz_offset(pt->tz, s) * 1000000;
  }
  split(us, &ct);
  for (size_t i = 0; r == 0 && i < pt->npf; i++) {
    switch (pt->pf[i].kind) {
    case PF_LITERAL:
      r = ks_buf_append_str(dir, pt->pf[i].text);
      break;
    case PF_YEAR:
      r = ks_buf_appendf(dir, "%04" PRId64, ct.year);
      break;
    case PF_MONTH:
      r = ks_buf_appendf(dir, "%02u", ct.month);
      break;
    case PF_DAY:
      r = ks_buf_appendf(dir, "%02u", ct.day);
      break;
    case PF_HOUR:
      r = ks_buf_appendf(dir, "%02d", ct.hour);
      break;
    case PF_MINUTE:
      r = ks_buf_appendf(dir, "%02d", ct.minute);
      break;
    }
  }
  return r;
}

int ks_partitioner_route(const ks_partitioner *pt, const ks_rowgroup *rg,
                         ks_buf *dir, ks_buf *values, uint8_t *isnull) {
  if (pt->npf)
    return route_format(pt, rg, dir);
  int r = 0;
  for (size_t i = 0; r == 0 && i < pt->ncols; i++) {
    const pcol *c = &pt->cols[i];
    size_t n = 0;
    const void *v = staged(rg, c->leaf, &n);
    size_t start = values->len;
    if (v)
      r = c->derive < 0 ? ks_partition_value(values, c->type, v, n)
                        : derived_value(values, c, v);
    /* Spark stores "" as null: both are __HIVE_DEFAULT_PARTITION__ */
    isnull[i] = r == 0 && values->len == start;
    if (i && r == 0)
      r = ks_buf_append_byte(dir, '/');
    if (r == 0)
      r = ks_partition_escape(dir, c->name, strlen(c->name));
    if (r == 0)
      r = ks_buf_append_byte(dir, '=');
    if (r == 0)
      r = isnull[i] ? ks_buf_append_str(dir, KS_HIVE_DEFAULT_PARTITION)
                    : ks_partition_escape(dir, (char *)values->data + start,
                                          values->len - start);
    if (r == 0)
      r = ks_buf_append_byte(values, 0);
  }
  return r;
}

int ks_partition_dir_check(const char *dir, size_t len, char *msg, size_t n) {
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && dir[i] != '/')
      continue;
    size_t seg = i - start;
    if (seg > KS_PARTITION_SEGMENT_MAX || len > KS_PARTITION_DIR_MAX) {
      const char *name = dir + start;
      const char *eq = memchr(name, '=', seg);
      int nlen = (int)(eq ? (size_t)(eq - name) : seg);
      if (nlen > 64)
        nlen = 64;
      if (seg > KS_PARTITION_SEGMENT_MAX)
        snprintf(msg, n,
                 ": partition column %.*s: value makes a path segment of %zu "
                 "bytes (at most %d)",
                 nlen, name, seg, KS_PARTITION_SEGMENT_MAX);
      else
        snprintf(msg, n,
                 ": partition directory of %zu bytes (at most %d; the "
                 "longest segment is column %.*s)",
                 len, KS_PARTITION_DIR_MAX, nlen, name);
      return KS_EINVALID;
    }
    start = i + 1;
  }
  return 0;
}
