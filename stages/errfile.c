#include "stages/errfile.h"

#include "base/buf.h"
#include "base/backoff.h"
#include "base/jsontree.h"
#include "base/log.h"
#include "jsonschema/jsonschema.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

/* The rejects of one partition in one batch: one object. */
typedef struct job {
  struct job *next;
  char *topic;
  int32_t partition;
  ks_buf lines;
  size_t *starts; /* where each line begins in lines */
  int64_t *offs;  /* each line's record offset, ascending */
  size_t n, cap;
  ks_dlq_wait *wait;
} job;

/* Highest offset of a partition whose reject is known to be stored. */
typedef struct mark {
  char *topic;
  int32_t partition;
  int64_t done;
} mark;

struct ks_errfiles {
  uv_loop_t *loop;
  ks_storage *st;
  char *dir;
  job *open;        /* the open batch, one job per partition */
  job *head, *tail; /* flushed, written in this order */
  mark *marks;
  size_t nmarks;
  int busy; /* a storage operation for head is in flight */
  int closing;
  unsigned attempt;
  uv_timer_t retry;
  ks_buf body; /* what the put in flight sends */
  char *key;
  atomic_uint_fast64_t *records;
  atomic_uint_fast64_t *failures; /* [KS_DLF_COUNT] */
};

ks_errfiles *ks_errfiles_new(uv_loop_t *loop, ks_storage *st, const char *dir,
                             atomic_uint_fast64_t *records,
                             atomic_uint_fast64_t *failures) {
  ks_errfiles *ef = ks_calloc(1, sizeof *ef);
  ef->records = records;
  ef->failures = failures;
  ef->loop = loop;
  ef->st = st;
  ef->dir = ks_strdup(dir);
  ks_buf_init(&ef->body, 0);
  uv_timer_init(loop, &ef->retry);
  return ef;
}

static void job_free(job *j) {
  ks_free(j->topic);
  ks_buf_free(&j->lines);
  ks_free(j->starts);
  ks_free(j->offs);
  ks_free(j);
}

static void free_list(job *j, int release) {
  while (j) {
    job *next = j->next;
    if (release && j->wait)
      ks_dlq_wait_done(j->wait, 0);
    job_free(j);
    j = next;
  }
}

static mark *find_mark(ks_errfiles *ef, const char *topic, int32_t part) {
  for (size_t i = 0; i < ef->nmarks; i++)
    if (ef->marks[i].partition == part &&
        strcmp(ef->marks[i].topic, topic) == 0)
      return &ef->marks[i];
  ef->marks = ks_realloc(ef->marks, (ef->nmarks + 1) * sizeof *ef->marks);
  mark *m = &ef->marks[ef->nmarks++];
  m->topic = ks_strdup(topic);
  m->partition = part;
  m->done = -1;
  return m;
}

/* ---- the line ------------------------------------------------------------ */

/* "name":"text" when bytes are UTF-8, else base64; "name_base64": flag.
 * NULL bytes (no key, a tombstone) give null. */
static void put_bytes(ks_buf *b, const char *name, const void *data,
                      size_t len) {
  ks_buf_appendf(b, ",\"%s\":", name);
  int base64 = data && ks_utf8_check(data, len, NULL) != 0;
  if (data == NULL) {
    ks_buf_append_str(b, "null");
  } else if (!base64) {
    ks_buf_append_json_str(b, data, len);
  } else {
    size_t cap = 4 * ((len + 2) / 3) + 1;
    char *enc = ks_malloc(cap);
    int n = EVP_EncodeBlock((unsigned char *)enc, data, (int)len);
    ks_buf_append_byte(b, '"');
    ks_buf_append(b, enc, (size_t)n);
    ks_buf_append_byte(b, '"');
    ks_free(enc);
  }
  ks_buf_appendf(b, ",\"%s_base64\":%s", name, base64 ? "true" : "false");
}

ks_errfile_rec ks_errfile_rec_of(const char *topic,
                                 const rd_kafka_message_t *m) {
  ks_errfile_rec r = {topic,      m->partition, m->offset, -1,  m->key,
                      m->payload, m->key_len,   m->len,    NULL};
  rd_kafka_timestamp_type_t tt;
  r.timestamp_ms = rd_kafka_message_timestamp(m, &tt);
  rd_kafka_headers_t *h = NULL;
  if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR)
    r.headers = h;
  return r;
}

static void put_headers(ks_buf *b, const rd_kafka_headers_t *h) {
  ks_buf_append_str(b, ",\"headers\":[");
  if (h) {
    const char *name;
    const void *val;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR;
         i++) {
      ks_buf_append_str(b, i ? ",{\"key\":" : "{\"key\":");
      ks_buf_append_json_str(b, name, strlen(name));
      put_bytes(b, "value", val, size);
      ks_buf_append_byte(b, '}');
    }
  }
  ks_buf_append_byte(b, ']');
}

static void put_line(ks_buf *b, const ks_errfile_rec *m, const ks_reject *rej) {
  ks_buf_append_str(b, "{\"topic\":");
  ks_buf_append_json_str(b, m->topic, strlen(m->topic));
  ks_buf_appendf(b, ",\"partition\":%d,\"offset\":%lld,\"timestamp\":",
                 (int)m->partition, (long long)m->offset);
  if (m->timestamp_ms < 0)
    ks_buf_append_str(b, "null");
  else
    ks_buf_appendf(b, "%lld", (long long)m->timestamp_ms);
  put_bytes(b, "key", m->key, m->key_len);
  put_bytes(b, "value", m->value, m->value_len);
  put_headers(b, m->headers);
  ks_buf_append_str(b, ",\"error\":{\"stage\":\"" KS_DLQ_STAGE
                       "\",\"class\":\"" KS_DLQ_CLASS "\",\"reason\":");
  const char *reason = ks_reason_name(
      rej->reason != KS_REASON_NONE ? rej->reason : KS_REASON_SCHEMA);
  ks_buf_append_json_str(b, reason, strlen(reason));
  ks_buf_append_str(b, ",\"keyword\":");
  if (rej->keyword != KS_KEYWORD_NONE)
    ks_buf_append_json_str(b, ks_keyword_name(rej->keyword),
                           strlen(ks_keyword_name(rej->keyword)));
  else
    ks_buf_append_str(b, "null");
  ks_buf_append_str(b, ",\"pointer\":");
  ks_buf_append_json_str(b, rej->path, strnlen(rej->path, sizeof rej->path));
  ks_buf_append_str(b, ",\"message\":");
  ks_buf_append_json_str(b, rej->message,
                         strnlen(rej->message, sizeof rej->message));
  ks_buf_append_str(b, "}}\n");
}

void ks_errfiles_add(ks_errfiles *ef, const ks_errfile_rec *m,
                     const ks_reject *rej) {
  job *j = ef->open;
  while (j && (j->partition != m->partition || strcmp(j->topic, m->topic) != 0))
    j = j->next;
  if (j == NULL) {
    j = ks_calloc(1, sizeof *j);
    j->topic = ks_strdup(m->topic);
    j->partition = m->partition;
    ks_buf_init(&j->lines, 0);
    j->next = ef->open;
    ef->open = j;
  }
  if (j->n == j->cap) {
    j->cap = j->cap ? 2 * j->cap : 16;
    j->starts = ks_realloc(j->starts, j->cap * sizeof *j->starts);
    j->offs = ks_realloc(j->offs, j->cap * sizeof *j->offs);
  }
  j->starts[j->n] = j->lines.len;
  j->offs[j->n] = m->offset;
  j->n++;
  put_line(&j->lines, m, rej);
}

/* ---- writing, one object at a time --------------------------------------- */

static void kick(ks_errfiles *ef);

static void on_timer_closed(uv_handle_t *h) {
  ks_errfiles *ef = ks_container_of((uv_timer_t *)h, ks_errfiles, retry);
  ef->retry.data = ef; /* closed: busy decides when to free */
  if (ef->busy)
    return;
  for (size_t i = 0; i < ef->nmarks; i++)
    ks_free(ef->marks[i].topic);
  ks_free(ef->marks);
  ks_buf_free(&ef->body);
  ks_free(ef->key);
  ks_free(ef->dir);
  ks_free(ef);
}

/* A storage callback after close: the last one frees. */
static int returned_closing(ks_errfiles *ef) {
  ef->busy = 0;
  if (!ef->closing)
    return 0;
  if (ef->retry.data == ef) /* the timer already closed */
    on_timer_closed((uv_handle_t *)&ef->retry);
  return 1;
}

static void job_done(ks_errfiles *ef) {
  job *j = ef->head;
  ef->head = j->next;
  if (ef->head == NULL)
    ef->tail = NULL;
  ks_dlq_wait *w = j->wait;
  job_free(j);
  ef->attempt = 0;
  if (w)
    ks_dlq_wait_done(w, 1);
}

static void on_retry(uv_timer_t *t) {
  kick(ks_container_of(t, ks_errfiles, retry));
}

static void later(ks_errfiles *ef, const char *what, int status) {
  atomic_fetch_add_explicit(&ef->failures[status == KS_ECORRUPT
                                              ? KS_DLF_FILE_FOREIGN
                                              : KS_DLF_FILE_WRITE],
                            1, memory_order_relaxed);
  uint64_t d = ks_backoff_ms(ef->attempt++, 200, 30000);
  ks_log_warn("error file %s: %s (%s); retrying in %llu ms", ef->key, what,
              ks_strerror(status), (unsigned long long)d);
  uv_timer_start(&ef->retry, on_retry, d, 0);
}

/* The last offset in an object ksink wrote, or -1 when it is not one. */
static int64_t last_offset(const uint8_t *data, size_t len) {
  while (len && data[len - 1] == '\n')
    len--;
  size_t start = len;
  while (start && data[start - 1] != '\n')
    start--;
  if (start == len)
    return -1;
  char *line = ks_malloc(len - start + 1);
  memcpy(line, data + start, len - start);
  line[len - start] = 0;
  /* an object in storage: anyone may have written it */
  yajl_val v = ks_json_tree_parse(line, KS_JSON_MAX_DEPTH, NULL, 0);
  ks_free(line);
  static const char *const path[] = {"offset", NULL};
  yajl_val off =
      v ? yajl_tree_get(v, (const char **)path, yajl_t_number) : NULL;
  int64_t r = off && YAJL_IS_INTEGER(off) ? YAJL_GET_INTEGER(off) : -1;
  ks_json_tree_free(v);
  return r;
}

static void on_get(void *arg, int status, const uint8_t *data, size_t len) {
  ks_errfiles *ef = arg;
  if (returned_closing(ef))
    return;
  if (status) {
    later(ef, "reading the existing object", status);
    return;
  }
  int64_t last = last_offset(data, len);
  if (last < 0) {
    /* Not ours: writing elsewhere could lose nothing but would hide the
     * conflict; stall the table's commits and say why. */
    ks_log_error("error file %s exists and is not an error file ksink "
                 "wrote; move it away",
                 ef->key);
    later(ef, "existing object unreadable", KS_ECORRUPT);
    return;
  }
  mark *m = find_mark(ef, ef->head->topic, ef->head->partition);
  ks_log_info("error file %s exists (written before a restart or by the "
              "previous owner): its records up to offset %lld are not "
              "written again",
              ef->key, (long long)last);
  if (last > m->done)
    m->done = last;
  kick(ef);
}

static void on_put(void *arg, int status) {
  ks_errfiles *ef = arg;
  if (returned_closing(ef))
    return;
  ks_buf_free(&ef->body); /* a retry builds it again */
  job *j = ef->head;
  if (status == KS_EEXIST) {
    /* Written before a crash (or by the previous owner): see how far. */
    ef->busy = 1;
    int r = ks_storage_get(ef->st, ef->key, on_get, ef);
    if (r) {
      ef->busy = 0;
      later(ef, "reading the existing object", r);
    }
    return;
  }
  if (status) {
    later(ef, "write failed", status);
    return;
  }
  mark *m = find_mark(ef, j->topic, j->partition);
  size_t first = 0;
  while (first < j->n && j->offs[first] <= m->done)
    first++;
  atomic_fetch_add_explicit(ef->records, j->n - first, memory_order_relaxed);
  m->done = j->offs[j->n - 1];
  job_done(ef);
  kick(ef);
}

static void kick(ks_errfiles *ef) {
  while (!ef->busy && !ef->closing && ef->head) {
    job *j = ef->head;
    mark *m = find_mark(ef, j->topic, j->partition);
    size_t first = 0;
    while (first < j->n && j->offs[first] <= m->done)
      first++;
    if (first == j->n) { /* all of it is stored already */
      job_done(ef);
      continue;
    }
    ks_buf key;
    ks_buf_init(&key, 0);
    ks_buf_appendf(&key, "%s/%s+%d+%lld.jsonl", ef->dir, j->topic,
                   (int)j->partition, (long long)j->offs[first]);
    ks_buf_cstr(&key);
    ks_free(ef->key);
    ef->key = (char *)ks_buf_steal(&key, NULL);
    ks_buf_free(&ef->body);
    ks_buf_append(&ef->body, j->lines.data + j->starts[first],
                  j->lines.len - j->starts[first]);
    ef->busy = 1;
    int r = ks_storage_put_if_absent(ef->st, ef->key, ef->body.data,
                                     ef->body.len, on_put, ef);
    if (r) {
      ef->busy = 0;
      later(ef, "write refused", r);
    }
    return;
  }
}

void ks_errfiles_flush(ks_errfiles *ef, ks_dlq_wait **wait) {
  /* Partitions in a stable order: the list was built newest first. */
  job *rev = NULL;
  while (ef->open) {
    job *j = ef->open;
    ef->open = j->next;
    j->next = rev;
    rev = j;
  }
  for (job *j = rev, *next; j; j = next) {
    next = j->next;
    j->next = NULL;
    j->wait = ks_dlq_wait_add(wait);
    if (ef->tail)
      ef->tail->next = j;
    else
      ef->head = j;
    ef->tail = j;
  }
  kick(ef);
}

size_t ks_errfiles_bytes(const ks_errfiles *ef) {
  size_t n = ef->body.len; /* the copy a put in flight sends */
  for (const job *j = ef->open; j; j = j->next)
    n += j->lines.len;
  for (const job *j = ef->head; j; j = j->next)
    n += j->lines.len;
  return n;
}

void ks_errfiles_discard(ks_errfiles *ef) {
  free_list(ef->open, 0);
  ef->open = NULL;
}

void ks_errfiles_close(ks_errfiles *ef) {
  if (ef == NULL)
    return;
  ef->closing = 1;
  free_list(ef->open, 0);
  ef->open = NULL;
  free_list(ef->head, 1);
  ef->head = ef->tail = NULL;
  ef->retry.data = NULL;
  uv_close((uv_handle_t *)&ef->retry, on_timer_closed);
}
