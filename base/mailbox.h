/*
 * Mailbox: the one way control messages cross cores. A message is a
 * function to run on the receiving worker's loop; senders on any thread
 * post it, a uv_async_t wakes the owner, which runs every queued message
 * in FIFO order. Record data never travels here (DESIGN.md: flushed sets,
 * shutdown and status requests only).
 */
#ifndef KS_BASE_MAILBOX_H
#define KS_BASE_MAILBOX_H

#include <uv.h>

typedef struct ks_msg ks_msg;
typedef void (*ks_msg_fn)(ks_msg *m);

struct ks_msg {
  ks_msg *next;
  ks_msg_fn fn; /* runs on the receiver's loop; owns m from then on */
};

typedef struct ks_mailbox {
  uv_async_t async;
  uv_mutex_t lock;
  ks_msg *head, *tail;
  int closed;
} ks_mailbox;

int ks_mailbox_init(uv_loop_t *loop, ks_mailbox *mb);
/* Thread-safe. Returns KS_ESTOPPED once the mailbox is closed (the
 * message is not queued and stays the sender's). */
int ks_mailbox_post(ks_mailbox *mb, ks_msg *m);
/* Runs what is queued now (from the owner's loop). */
void ks_mailbox_run(ks_mailbox *mb);
/* Runs what is queued, then closes the handle (from the owner's loop). */
void ks_mailbox_close(ks_mailbox *mb);

#endif
