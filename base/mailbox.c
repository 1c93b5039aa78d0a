#include "base/mailbox.h"
#include "base/ks.h"

static void drain(ks_mailbox *mb) {
  for (;;) {
    uv_mutex_lock(&mb->lock);
    ks_msg *m = mb->head;
    mb->head = mb->tail = NULL;
    uv_mutex_unlock(&mb->lock);
    if (m == NULL)
      return;
    while (m) {
      ks_msg *next = m->next;
      m->next = NULL;
      m->fn(m);
      m = next;
    }
  }
}

void ks_mailbox_run(ks_mailbox *mb) { drain(mb); }

static void on_async(uv_async_t *a) {
  drain(ks_container_of(a, ks_mailbox, async));
}

int ks_mailbox_init(uv_loop_t *loop, ks_mailbox *mb) {
  mb->head = mb->tail = NULL;
  mb->closed = 0;
  int r = uv_mutex_init(&mb->lock);
  if (r)
    return r;
  return uv_async_init(loop, &mb->async, on_async);
}

int ks_mailbox_post(ks_mailbox *mb, ks_msg *m) {
  m->next = NULL;
  uv_mutex_lock(&mb->lock);
  if (mb->closed) {
    uv_mutex_unlock(&mb->lock);
    return KS_ESTOPPED;
  }
  if (mb->tail)
    mb->tail->next = m;
  else
    mb->head = m;
  mb->tail = m;
  uv_mutex_unlock(&mb->lock);
  uv_async_send(&mb->async);
  return 0;
}

static void on_closed(uv_handle_t *h) {
  ks_mailbox *mb = ks_container_of((uv_async_t *)h, ks_mailbox, async);
  uv_mutex_destroy(&mb->lock);
}

void ks_mailbox_close(ks_mailbox *mb) {
  uv_mutex_lock(&mb->lock);
  mb->closed = 1;
  uv_mutex_unlock(&mb->lock);
  drain(mb);
  uv_close((uv_handle_t *)&mb->async, on_closed);
}
