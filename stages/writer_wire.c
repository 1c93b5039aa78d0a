/*
 * Records in Confluent's wire format (tables[].value_format json_schema
 * and avro): split off the prefix (record/wire.h), find the writer schema
 * by id, then decode into the writer's stage -- JSON with the table's
 * decoder, Avro with the Avro decoder driving the same decoder
 * (record/avro.h). Resolution against the table is by field name.
 *
 * A schema id the writer has not seen yet is asked of the registry off the
 * loop (stages/registry.h). Until the answer, the record and every later
 * one of its partition wait in the lane (source.c holds them and pauses
 * the partition); nothing is dropped or rejected because the registry is
 * slow or down. An unreachable registry is asked again with backoff
 * (1 s doubling to 30 s) for as long as it takes. The answer decides:
 *   - a schema: cached for the run; its columns are compared with the
 *     table's once: a field the table has no column for rejects that id's
 *     records as schema_change, naming the column;
 *   - 404 (unknown id) or a schema that does not load: the records are
 *     rejected as unknown_schema_id (asked again after 30 s).
 */
#include "base/log.h"
#include "stages/record/avro.h"
#include "stages/record/wire.h"
#include "stages/registry.h"
#include "stages/source.h"
#include "stages/writer_int.h"

#include <stdio.h>
#include <string.h>

#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000
#define UNKNOWN_TTL_MS 30000

typedef struct known {
  uint32_t id;
  int by_guid;
  uint8_t guid[16];
  const ks_registry_schema *rs; /* NULL: unknown (until `until`) */
  uint64_t until;
  char why[400]; /* unknown: why; else a schema change: which column */
} known;

typedef struct fetch {
  ks_registry_fetch f;
  struct ks__tw_wire *wire; /* NULL once the writer is gone */
} fetch;

typedef struct ks__tw_wire {
  ks_table_writer *tw;
  ks_avro_decoder *ad;
  const ks_decoder *ad_dec; /* the decoder ad drives */
  known *ids;
  size_t n, cap;
  fetch *fetching; /* one at a time */
  ks_wire want;    /* id or GUID being asked, or waiting for a retry */
  int waiting;     /* records wait for `want` */
  unsigned retry_ms;
  uv_timer_t retry;
} ks__tw_wire;

static known *find(ks__tw_wire *w, const ks_wire *x) {
  for (size_t i = 0; i < w->n; i++)
    if (x->by_guid ? w->ids[i].by_guid &&
                         memcmp(w->ids[i].guid, x->guid, 16) == 0
                   : !w->ids[i].by_guid && w->ids[i].id == x->id)
      return &w->ids[i];
  return NULL;
}

static known *add(ks__tw_wire *w, const ks_wire *x) {
  known *k = find(w, x);
  if (k)
    return k;
  if (w->n == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 8;
    w->ids = ks_realloc(w->ids, w->cap * sizeof *w->ids);
  }
  k = &w->ids[w->n++];
  memset(k, 0, sizeof *k);
  k->id = x->id;
  k->by_guid = x->by_guid;
  memcpy(k->guid, x->guid, 16);
  return k;
}

/* A field the writer's schema maps to that the table has no column for:
 * its name in why, else why is empty. */
static void compare_columns(ks__tw_wire *w, known *k) {
  ks_schema *ws = NULL;
  char err[256] = "", name[64];
  snprintf(name, sizeof name, "schema id %u", k->id);
  ks_schema_opts o = {.table = 1, .format_assertion = 1};
  if (ks_schema_load_opts(k->rs->json_schema, k->rs->json_schema_len, name, &o,
                          &ws, err, sizeof err)) {
    snprintf(k->why, sizeof k->why, ": schema id %u does not map to columns: "
                                    "%.180s", k->id, err);
    return;
  }
  const ks_colspec *wc = ks_schema_columns(ws);
  const ks_colspec *tc = ks_schema_columns(w->tw->schema);
  size_t tn = ks_schema_ncolumns(w->tw->schema);
  for (size_t i = 0; i < ks_schema_ncolumns(ws) && !k->why[0]; i++) {
    size_t j = 0;
    while (j < tn && strcmp(wc[i].name, tc[j].name) != 0)
      j++;
    if (j == tn)
      snprintf(k->why, sizeof k->why,
               ": schema id %u has column %.100s, which table %.60s does not "
               "have (schema_evolution of registry schemas is not applied "
               "while running: restart to evolve the table)",
               k->id, wc[i].name, w->tw->t->conf->name);
  }
  ks_schema_free(ws);
}

static void ask(ks__tw_wire *w);

static void on_retry(uv_timer_t *t) {
  ks__tw_wire *w = t->data;
  ask(w);
}

static void on_fetched(ks_registry_fetch *f_, int outcome,
                       const ks_registry_schema *s, const char *err) {
  fetch *f = ks_container_of(f_, fetch, f);
  ks__tw_wire *w = f->wire;
  char errbuf[sizeof f->f.err];
  snprintf(errbuf, sizeof errbuf, "%s", err); /* err lives in f */
  err = errbuf;
  ks_free(f);
  if (w == NULL)
    return; /* the writer closed meanwhile */
  w->fetching = NULL;
  ks_lane *lane = w->tw->w;
  char what[64];
  if (w->want.by_guid) {
    char g[37];
    ks_wire_guid_str(w->want.guid, g);
    snprintf(what, sizeof what, "schema GUID %s", g);
  } else
    snprintf(what, sizeof what, "schema id %u", w->want.id);
  if (outcome == KS_REGISTRY_UNREACHABLE) {
    ks_log_warn("table %s: %s: %s; records wait, asking again in %u ms",
                w->tw->t->conf->name, what, err, w->retry_ms);
    uv_timer_start(&w->retry, on_retry, w->retry_ms, 0);
    w->retry_ms = w->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS
                                                 : w->retry_ms * 2;
    return;
  }
  known *k = add(w, &w->want);
  if (outcome == KS_REGISTRY_OK) {
    k->rs = s;
    k->why[0] = 0;
    compare_columns(w, k);
    ks_log_info("table %s: %s from the registry%s%s", w->tw->t->conf->name,
                what, k->why[0] ? " refused" : "", k->why);
  } else {
    k->rs = NULL;
    k->until = uv_now(lane->loop) + UNKNOWN_TTL_MS;
    snprintf(k->why, sizeof k->why, ": %.240s", err);
    ks_log_warn("table %s: %s: %s", w->tw->t->conf->name, what, err);
  }
  w->waiting = 0;
  w->retry_ms = RETRY_MIN_MS;
  ks_source_replay(lane);
}

static void ask(ks__tw_wire *w) {
  ks_lane *lane = w->tw->w;
  fetch *f = ks_calloc(1, sizeof *f);
  f->wire = w;
  w->fetching = f;
  if (w->want.by_guid)
    ks_wire_guid_str(w->want.guid, f->f.guid);
  if (ks_registry_fetch_start(&f->f, lane->loop, lane->env->registry,
                              w->want.id, on_fetched)) {
    w->fetching = NULL;
    ks_free(f);
    uv_timer_start(&w->retry, on_retry, w->retry_ms, 0);
  }
}

static void on_retry_closed(uv_handle_t *h) {
  ks_free(h->data);
}

static ks__tw_wire *wire_of(ks_table_writer *tw) {
  if (tw->wire == NULL) {
    ks__tw_wire *w = ks_calloc(1, sizeof *w);
    w->tw = tw;
    w->retry_ms = RETRY_MIN_MS;
    uv_timer_init(tw->w->loop, &w->retry);
    w->retry.data = w;
    tw->wire = w;
  }
  return tw->wire;
}

void ks__tw_wire_free(ks_table_writer *tw) {
  ks__tw_wire *w = tw->wire;
  if (w == NULL)
    return;
  if (w->fetching)
    w->fetching->wire = NULL; /* its callback frees it */
  ks_avro_decoder_free(w->ad);
  ks_free(w->ids);
  tw->wire = NULL;
  uv_close((uv_handle_t *)&w->retry, on_retry_closed);
}

static int reject(ks_reject *rej, ks_reason reason, const char *why) {
  ks_reject_clear(rej);
  rej->code = KS_EINVALID;
  rej->reason = reason;
  snprintf(rej->message, sizeof rej->message, "%s", why);
  return KS_EINVALID;
}

static const uint8_t *header(const rd_kafka_message_t *m, size_t *len) {
  rd_kafka_headers_t *h = NULL;
  const void *v = NULL;
  if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_header_get_last(h, KS_WIRE_VALUE_HEADER, &v, len) !=
          RD_KAFKA_RESP_ERR_NO_ERROR || v == NULL)
    return NULL;
  return v;
}

int ks__tw_feed_wire(ks_table_writer *tw, const rd_kafka_message_t *m,
                     ks_reject *rej) {
  ks__tw_wire *w = wire_of(tw);
  ks_wire wire;
  size_t hl = 0;
  const uint8_t *h = header(m, &hl);
  if (ks_wire_parse(m->payload, m->len, h, hl, &wire, rej))
    return KS_EINVALID;
  known *k = find(w, &wire);
  if (k && k->rs == NULL && uv_now(tw->w->loop) >= k->until)
    k = NULL; /* an unknown id, asked again */
  if (k == NULL) {
    if (!w->waiting) {
      w->waiting = 1;
      w->want = wire;
      ask(w);
    }
    return KS_EAGAIN;
  }
  if (k->rs == NULL)
    return reject(rej, KS_REASON_UNKNOWN_SCHEMA_ID, k->why);
  if (k->why[0])
    return reject(rej, KS_REASON_SCHEMA_CHANGE, k->why);
  int want_avro = tw->t->conf->value_format == KS_VALUE_FORMAT_AVRO;
  if (k->rs->avro != want_avro) {
    char why[128];
    snprintf(why, sizeof why, ": schema id %u is %s, the table reads %s",
             k->id, k->rs->avro ? "AVRO" : "JSON", want_avro ? "avro" : "json_schema");
    return reject(rej, KS_REASON_UNKNOWN_SCHEMA_ID, why);
  }
  if (!k->rs->avro)
    return ks_decoder_feed(tw->dec, wire.payload, wire.len, rej);
  if (w->ad == NULL || w->ad_dec != tw->dec) {
    ks_avro_decoder_free(w->ad);
    w->ad = ks_avro_decoder_new(tw->dec);
    w->ad_dec = tw->dec;
    /* a table mapped from the registry's Avro schema requires no
     * nullable field; a schema file might */
    ks_avro_decoder_skip_null_fields(w->ad, tw->t->conf->schema_path == NULL);
  }
  return ks_avro_decoder_feed(w->ad, ks_avro_schema_root(k->rs->av),
                              wire.payload, wire.len, rej);
}
