/*
 * The synchronous snapshot read of start-up and assignment: a private
 * loop and storage, one log read, the snapshot shown to a callback.
 */
#include "stages/table/snapshot.h"

#include <stdio.h>

typedef struct sync_load {
  const ks_table *t;
  ks_snapshot_fn fn;
  void *arg;
  char *err;
  size_t errlen;
  int done, status;
} sync_load;

static void on_sync_loaded(void *arg, int status) {
  sync_load *s = arg;
  s->done = 1;
  s->status = status;
}

static int load_and_show(uv_loop_t *loop, ks_storage *st, void *arg) {
  sync_load *s = arg;
  ks_delta_table *dt = ks_delta_table_new(st, s->t->conf->path);
  int r = ks_delta_table_load(dt, on_sync_loaded, s);
  if (r == 0) {
    uv_run(loop, UV_RUN_DEFAULT);
    r = s->done ? s->status : KS_EIO;
  }
  if (r == 0)
    s->fn(s->arg, ks_delta_table_snapshot(dt));
  else
    snprintf(s->err, s->errlen, "table %s: reading the Delta log: %s",
             s->t->conf->name,
             *ks_delta_table_error(dt) ? ks_delta_table_error(dt)
                                       : ks_strerror(r));
  ks_delta_table_free(dt);
  return r;
}

int ks_table_with_snapshot(const ks_conf *conf, const ks_table *t,
                           ks_snapshot_fn fn, void *arg, char *err,
                           size_t errlen) {
  sync_load s = {t, fn, arg, err, errlen, 0, 0};
  return ks_storage_run_private(conf->storage_url, &conf->s3, load_and_show,
                                &s, err, errlen);
}
