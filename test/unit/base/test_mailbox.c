/*
 * The mailbox: messages posted from other threads all run on the owner's
 * loop, each sender's messages in the order it posted them; ks_mailbox_run
 * runs what is queued without the loop; close runs what is still queued,
 * then refuses new posts with KS_ESTOPPED (the message stays the sender's).
 * Every test closes its loop with nothing left open.
 */
#include "base/ks.h"
#include "base/mailbox.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define NTHREADS 4
#define PER_THREAD 2000

typedef struct counted {
  ks_msg msg;
  int sender, seq;
  struct box *box;
} counted;

typedef struct box {
  ks_mailbox mb;
  uv_thread_t owner;
  int next_seq[NTHREADS];
  int total, out_of_order, wrong_thread;
} box;

static void on_counted(ks_msg *m) {
  counted *c = ks_container_of(m, counted, msg);
  box *b = c->box;
  uv_thread_t self = uv_thread_self();
  if (!uv_thread_equal(&self, &b->owner))
    b->wrong_thread++;
  if (c->seq != b->next_seq[c->sender])
    b->out_of_order++;
  b->next_seq[c->sender] = c->seq + 1;
  b->total++;
  free(c);
}

typedef struct sender {
  box *b;
  int id;
} sender;

static void send_all(void *arg) {
  sender *s = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    counted *c = calloc(1, sizeof *c);
    c->msg.fn = on_counted;
    c->sender = s->id;
    c->seq = i;
    c->box = s->b;
    assert_int_equal(ks_mailbox_post(&s->b->mb, &c->msg), 0);
  }
}

static void test_posts_from_threads_run_on_owner_in_order(void **state) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  box b;
  memset(&b, 0, sizeof b);
  b.owner = uv_thread_self();
  assert_int_equal(ks_mailbox_init(&loop, &b.mb), 0);
  uv_thread_t th[NTHREADS];
  sender s[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) {
    s[i].b = &b;
    s[i].id = i;
    assert_int_equal(uv_thread_create(&th[i], send_all, &s[i]), 0);
  }
  /* The loop wakes for the senders' posts while they are still posting.
   * The mailbox closes only after the senders are joined: a sender may
   * still be inside uv_async_send for its last message. */
  while (b.total < NTHREADS * PER_THREAD)
    uv_run(&loop, UV_RUN_ONCE);
  for (int i = 0; i < NTHREADS; i++)
    assert_int_equal(uv_thread_join(&th[i]), 0);
  ks_mailbox_close(&b.mb);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(b.total, NTHREADS * PER_THREAD);
  assert_int_equal(b.out_of_order, 0);
  assert_int_equal(b.wrong_thread, 0);
  for (int i = 0; i < NTHREADS; i++)
    assert_int_equal(b.next_seq[i], PER_THREAD);
  assert_int_equal(uv_loop_close(&loop), 0);
}

typedef struct logged {
  ks_msg msg;
  int id;
  int *log, *n;
} logged;

static void on_logged(ks_msg *m) {
  logged *l = ks_container_of(m, logged, msg);
  l->log[(*l->n)++] = l->id;
}

static void test_run_is_fifo_without_the_loop(void **state) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  ks_mailbox mb;
  assert_int_equal(ks_mailbox_init(&loop, &mb), 0);
  int log[8], n = 0;
  logged m[5];
  for (int i = 0; i < 5; i++) {
    m[i].msg.fn = on_logged;
    m[i].id = i;
    m[i].log = log;
    m[i].n = &n;
    assert_int_equal(ks_mailbox_post(&mb, &m[i].msg), 0);
  }
  ks_mailbox_run(&mb);
  assert_int_equal(n, 5);
  for (int i = 0; i < 5; i++)
    assert_int_equal(log[i], i);
  ks_mailbox_run(&mb); /* nothing left: runs nothing */
  assert_int_equal(n, 5);
  ks_mailbox_close(&mb);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

/* A message that posts another one while the mailbox drains: the second
 * runs in the same drain, after the first. */
typedef struct chain {
  ks_msg msg;
  ks_mailbox *mb;
  struct chain *then;
  int *ran;
} chain;

static void on_chain(ks_msg *m) {
  chain *c = ks_container_of(m, chain, msg);
  (*c->ran)++;
  if (c->then)
    assert_int_equal(ks_mailbox_post(c->mb, &c->then->msg), 0);
}

static void test_close_runs_queued_then_refuses(void **state) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  ks_mailbox mb;
  assert_int_equal(ks_mailbox_init(&loop, &mb), 0);
  int ran = 0;
  chain second = {.msg.fn = on_chain, .mb = &mb, .then = NULL, .ran = &ran};
  chain first = {.msg.fn = on_chain, .mb = &mb, .then = NULL, .ran = &ran};
  assert_int_equal(ks_mailbox_post(&mb, &first.msg), 0);
  assert_int_equal(ks_mailbox_post(&mb, &second.msg), 0);
  ks_mailbox_close(&mb);
  assert_int_equal(ran, 2); /* queued messages ran before the close */
  chain late = {.msg.fn = on_chain, .mb = &mb, .then = NULL, .ran = &ran};
  assert_int_equal(ks_mailbox_post(&mb, &late.msg), KS_ESTOPPED);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(ran, 2); /* the refused message never runs */
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_post_from_a_message_runs_in_same_drain(void **state) {
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  ks_mailbox mb;
  assert_int_equal(ks_mailbox_init(&loop, &mb), 0);
  int ran = 0;
  chain second = {.msg.fn = on_chain, .mb = &mb, .then = NULL, .ran = &ran};
  chain first = {.msg.fn = on_chain, .mb = &mb, .then = &second, .ran = &ran};
  assert_int_equal(ks_mailbox_post(&mb, &first.msg), 0);
  ks_mailbox_run(&mb);
  assert_int_equal(ran, 2);
  ks_mailbox_close(&mb);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_posts_from_threads_run_on_owner_in_order),
      cmocka_unit_test(test_run_is_fifo_without_the_loop),
      cmocka_unit_test(test_close_runs_queued_then_refuses),
      cmocka_unit_test(test_post_from_a_message_runs_in_same_drain),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
