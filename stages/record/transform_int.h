/*
 * Cross-file internals of the transforms (transform.c: events, value
 * modes, the chain and the small stages; transform_dbz.c: Debezium's
 * envelope). Nothing outside stages/record/transform*.c includes this.
 */
#ifndef KS_STAGES_RECORD_TRANSFORM_INT_H
#define KS_STAGES_RECORD_TRANSFORM_INT_H

#include "base/buf.h"
#include "base/datefmt.h"
#include "stages/record/transform.h"

typedef enum evtype {
  EV_NULL,
  EV_BOOL,
  EV_NUM,
  EV_STR,
  EV_KEY,
  EV_SMAP,
  EV_EMAP,
  EV_SARR,
  EV_EARR
} evtype;

typedef struct ev {
  evtype t;
  int b;
  const uint8_t *s;
  size_t n;
} ev;

typedef enum vmode { VM_NONE, VM_SKIP, VM_PASS, VM_CAPTURE } vmode;

typedef struct stage stage;
struct stage {
  const ks_conf_transform *conf;
  ks_xf *x;
  const yajl_callbacks *ncb;
  void *nctx;
  int (*on)(stage *st, const ev *e);
  int depth; /* of the input, before the event */
  /* value mode: the value that starts with the next event */
  vmode mode;
  int mode_depth, mode_hold_close;
  ks_buf *tape;
  /* extract_field */
  int found;
  /* timestamp_converter */
  ks_datefmt *fmt;
#define KS__XF_NISO 3
  ks_datefmt *iso[KS__XF_NISO]; /* RFC 3339 forms, when no format */
  int convert_next;
  /* debezium_unwrap */
  int env_depth;   /* the envelope's members are at this depth */
  int out_open;    /* `after` is being (or was) passed on, its } held */
  int after_null;  /* `after` is null */
  int have_before; /* the before tape holds an object */
  int in_source;   /* inside `source` */
  int pick;        /* the member whose value comes next (on_member) */
  char op[8];
  ks_buf before;
  ks_buf adds; /* per add_fields entry: type byte, u32 length, text */
  int *add_set;
};

struct ks_xf {
  stage *stages;
  size_t n;
  const ks_xf_meta *meta;
  int status;
  char err[300];
};

/* Hand e, or a key / string / integer / event without text, to the
 * next stage; 1 go on, 0 stop (yajl's convention). */
int ks__xf_next(stage *st, const ev *e);
int ks__xf_next_key(stage *st, const char *k);
int ks__xf_next_str(stage *st, const char *s, size_t n);
int ks__xf_next_num(stage *st, int64_t v);
int ks__xf_next_plain(stage *st, evtype t);
/* Fails the record ("transforms[<kind>]: <message>"); returns 0. */
int ks__xf_fail(stage *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Event tapes: events with their text copied, replayed in order. */
void ks__xf_tape_put(ks_buf *t, const ev *e);
int ks__xf_tape_get(const ks_buf *t, size_t *off, ev *e);
int ks__xf_tape_replay(stage *st, const ks_buf *t);
int ks__xf_opens(const ev *e);
int ks__xf_closes(const ev *e);
int ks__xf_key_is(const ev *e, const char *k);
/* The value starting with the next event goes per mode m; _at: the value
 * whose first (opening) event was just taken at depth d. */
void ks__xf_value_mode(stage *st, vmode m, ks_buf *tape, int hold_close);
void ks__xf_value_mode_at(stage *st, int d, vmode m, ks_buf *tape, int hold);
int ks__xf_in_value(stage *st, const ev *e);
void ks__xf_move_depth(stage *st, const ev *e);
/* RFC 3339 text of a time (microseconds): its length, 0 out of range. */
size_t ks__xf_rfc3339(int64_t us, char *out, size_t cap);

/* transform_dbz.c */
int ks__xf_on_unwrap(stage *st, const ev *e);

#endif
