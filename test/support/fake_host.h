/*
 * A fake host for one lane (stages/lane.h): the lane's stages run on a
 * loop of the test's own, with no worker thread, no pipeline and no Kafka
 * broker. Its ops post through one mailbox on that loop (every lane index
 * is this lane), record fatal errors, count "maybe drained" calls and
 * remember whether the lane asked to consume. The consumer handle is a
 * real librdkafka consumer that is never subscribed: offset commits and
 * seeks go to it and fail at once (it has no group), which the stages
 * log and go on from, as they do when a commit to Kafka fails.
 *
 * The lane's tables are opened from a config string and schema texts with
 * the start-up code the pipeline uses (ks_table_open). Header-only:
 * include it after cmocka.h.
 */
#ifndef KS_TEST_SUPPORT_FAKE_HOST_H
#define KS_TEST_SUPPORT_FAKE_HOST_H

#include "base/mailbox.h"
#include "conf/conf.h"
#include "stages/lane.h"
#include "stages/record/schema.h"
#include "stages/table/table.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KS_FAKE_MAX_TABLES 4

typedef struct ks_fake_host {
  uv_loop_t loop;
  ks_mailbox mailbox;
  ks_conf *conf;
  ks_table tables[KS_FAKE_MAX_TABLES];
  char *topics[KS_FAKE_MAX_TABLES * 4];
  ks_lane_env env;
  ks_lane lane;
  ks_lane *lanes[1];
  int fatal;          /* fatal() calls */
  char fatal_why[256];
  int maybe_drained;  /* maybe_drained() calls */
  int consuming;      /* the last consume() said on */
  int posts;          /* messages posted */
} ks_fake_host;

static ks_fake_host *ks_fake_host_of_(ks_lane *l) {
  return ks_container_of(l, ks_fake_host, lane);
}

static int ks_fake_post_(ks_lane *from, int to, ks_msg *m) {
  ks_fake_host *h = ks_fake_host_of_(from);
  if (to != 0)
    return KS_EINVAL;
  h->posts++;
  return ks_mailbox_post(&h->mailbox, m);
}

static void ks_fake_fatal_(ks_lane *l, const char *why) {
  ks_fake_host *h = ks_fake_host_of_(l);
  h->fatal++;
  snprintf(h->fatal_why, sizeof h->fatal_why, "%s", why);
  atomic_store(&h->env.fatal, 1);
}

static void ks_fake_maybe_drained_(ks_lane *l) {
  ks_fake_host_of_(l)->maybe_drained++;
}

static void ks_fake_consume_(ks_lane *l, int on) {
  ks_fake_host_of_(l)->consuming = on;
  l->consuming = on;
}

static const ks_lane_ops ks_fake_ops_ = {ks_fake_post_, ks_fake_fatal_,
                                         ks_fake_maybe_drained_,
                                         ks_fake_consume_};

/* Opens the config `yaml` (its tables' schema: omitted; schemas[i] is
 * the schema text of table i) and one lane over it. */
static void ks_fake_host_open(ks_fake_host *h, const char *yaml,
                              const char *const *schemas) {
  memset(h, 0, sizeof *h);
  char err[512];
  int r = ks_conf_load_string(yaml, strlen(yaml), "test", &h->conf, err,
                              sizeof err);
  if (r)
    print_error("%s\n", err);
  assert_int_equal(r, 0);
  assert_true(h->conf->ntables <= KS_FAKE_MAX_TABLES);
  h->env.conf = h->conf;
  h->env.tables = h->tables;
  h->env.ntables = h->conf->ntables;
  for (size_t i = 0; i < h->conf->ntables; i++) {
    ks_schema *s = NULL;
    assert_int_equal(ks_schema_load_string(schemas[i], strlen(schemas[i]),
                                           "s", &s, err, sizeof err),
                     0);
    r = ks_table_open(h->conf, i, s, 1, &h->tables[i], err, sizeof err);
    if (r)
      print_error("%s\n", err);
    assert_int_equal(r, 0);
    for (size_t j = 0; j < h->conf->tables[i].ntopics; j++)
      if (h->env.ntopics < KS_ARRAY_SIZE(h->topics))
        h->topics[h->env.ntopics++] = h->conf->tables[i].topics[j];
  }
  h->env.topics = h->topics;
  rd_kafka_conf_t *kc = rd_kafka_conf_new();
  rd_kafka_conf_set(kc, "log_level", "0", err, sizeof err);
  h->env.rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, err, sizeof err);
  assert_non_null(h->env.rk);
  h->lanes[0] = &h->lane;
  h->env.lanes = h->lanes;
  h->env.nlanes = 1;
  assert_int_equal(uv_loop_init(&h->loop), 0);
  assert_int_equal(ks_mailbox_init(&h->loop, &h->mailbox), 0);
  h->lane.id = 0;
  h->lane.ops = &ks_fake_ops_;
  h->lane.env = &h->env;
  assert_int_equal(ks_lane_open(&h->lane, &h->loop), 0);
}

/* Closes the lane, runs the loop dry and asserts no handle leaked. */
static void ks_fake_host_close(ks_fake_host *h) {
  ks_lane_close(&h->lane);
  ks_mailbox_close(&h->mailbox);
  uv_run(&h->loop, UV_RUN_DEFAULT);
  ks_lane_free(&h->lane);
  uv_run(&h->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&h->loop), 0);
  for (size_t i = 0; i < h->env.ntables; i++)
    ks_table_close(&h->tables[i]);
  /* never subscribed: nothing to leave, no coordinator to wait for */
  rd_kafka_destroy_flags(h->env.rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  ks_conf_free(h->conf);
}

#endif
