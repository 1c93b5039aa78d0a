/*
 * debezium_unwrap (Debezium's ExtractNewRecordState) over the streaming
 * events: the `after` row is passed on as it arrives with its } held
 * back; `before` is recorded only when deletes are rewritten; the
 * scalars add_fields names are recorded wherever they appear. At the
 * envelope's } the row is closed with the added fields, or a delete is
 * dropped or rewritten from `before`. Both JSON shapes: the envelope
 * itself (schemas.enable false) or {"schema": ..., "payload": envelope}.
 */
#include "stages/record/transform_int.h"

#include <stdio.h>
#include <string.h>

/* ---- debezium_unwrap ---- */

/* add_fields entry i: where it is in the envelope, and its column name
 * as Debezium names it (op -> __op, source.ts_ms -> __source_ts_ms,
 * table -> __table from source). */
static const char *const envelope_fields[] = {"op", "ts_ms", "ts_us", "ts_ns",
                                              NULL};

static int in_envelope(const char *f) {
  for (size_t i = 0; envelope_fields[i]; i++)
    if (strcmp(f, envelope_fields[i]) == 0)
      return 1;
  return 0;
}

/* The source member an add_fields entry names, or NULL (an envelope
 * member). */
static const char *source_member(const char *f) {
  if (strncmp(f, "source.", 7) == 0)
    return f + 7;
  return strchr(f, '.') || in_envelope(f) ? NULL : f;
}

static void set_add(stage *st, size_t i, const ev *e) {
  /* stored in adds as: index u32, type byte, u32 length, text */
  uint32_t k = (uint32_t)i;
  ks_buf_append(&st->adds, &k, sizeof k);
  ks__xf_tape_put(&st->adds, e);
  st->add_set[i] = 1;
}

static int emit_adds(stage *st) {
  const ks_conf_transform *c = st->conf;
  for (size_t i = 0; i < c->nadd_fields; i++) {
    char name[160];
    const char *f = c->add_fields[i];
    snprintf(name, sizeof name, "__%s", f);
    for (char *p = name; *p; p++)
      if (*p == '.')
        *p = '_';
    if (!ks__xf_next_key(st, name))
      return 0;
    int done = 0;
    size_t off = 0;
    ev e;
    while (!done && st->add_set[i] && off < st->adds.len) {
      uint32_t k;
      memcpy(&k, st->adds.data + off, sizeof k);
      off += sizeof k;
      ks__xf_tape_get(&st->adds, &off, &e);
      if (k == i) {
        if (!ks__xf_next(st, &e))
          return 0;
        done = 1;
      }
    }
    if (!done && !ks__xf_next_plain(st, EV_NULL))
      return 0;
  }
  return 1;
}

static void unwrap_reset(stage *st) {
  st->env_depth = 1;
  st->out_open = st->after_null = st->have_before = st->in_source = 0;
  st->op[0] = 0;
  ks_buf_reset(&st->before);
  ks_buf_reset(&st->adds);
  for (size_t i = 0; i < st->conf->nadd_fields; i++)
    st->add_set[i] = 0;
}

/* The envelope's }: the row goes on, or the delete is dropped or
 * rewritten. */
static int unwrap_end(stage *st) {
  const ks_conf_transform *c = st->conf;
  int is_delete =
      !st->out_open && (strcmp(st->op, "d") == 0 ||
                        (st->after_null && st->have_before && st->op[0] == 0));
  if (!st->out_open && !is_delete)
    return ks__xf_fail(
        st, "not a Debezium change event (no \"after\" row%s%s%s)",
        st->op[0] ? ", op \"" : "", st->op, st->op[0] ? "\"" : "");
  if (is_delete) {
    if (!c->deletes_rewrite) {
      st->x->status = KS_XF_DROPPED;
      return 1;
    }
    if (st->have_before) {
      /* the before image without its } */
      ks_buf_truncate(&st->before, st->before.len - 1);
      if (!ks__xf_tape_replay(st, &st->before))
        return 0;
    } else if (!ks__xf_next_plain(st, EV_SMAP)) {
      return 0;
    }
  }
  if (!emit_adds(st))
    return 0;
  if (c->deletes_rewrite &&
      (!ks__xf_next_key(st, "__deleted") ||
       !ks__xf_next_str(st, is_delete ? "true" : "false", is_delete ? 4 : 5)))
    return 0;
  return ks__xf_next_plain(st, EV_EMAP);
}

/* A member of `source` (depth d = envelope + 1). */
static int on_source(stage *st, const ev *e, int d) {
  const ks_conf_transform *c = st->conf;
  if (e->t == EV_EMAP) {
    st->in_source = 0;
    return 1;
  }
  if (e->t == EV_KEY) {
    st->pick = 0;
    for (size_t i = 0; i < c->nadd_fields; i++) {
      const char *src = source_member(c->add_fields[i]);
      if (src && ks__xf_key_is(e, src))
        st->pick = (int)i + 1;
    }
    if (!st->pick)
      ks__xf_value_mode(st, VM_SKIP, NULL, 0);
    return 1;
  }
  if (ks__xf_opens(e)) /* named, but not a scalar: null */
    ks__xf_value_mode_at(st, d, VM_SKIP, NULL, 0);
  else
    set_add(st, (size_t)st->pick - 1, e);
  st->pick = 0;
  return 1;
}

/* The value of envelope member `which` (PICK_*, or add_fields index + 1),
 * whose first event is e, at depth d. */
enum { PICK_AFTER = -1, PICK_BEFORE = -2, PICK_SOURCE = -3, PICK_OP = -4 };

static int on_member(stage *st, const ev *e, int d, int which) {
  const ks_conf_transform *c = st->conf;
  switch (which) {
  case PICK_AFTER:
    if (e->t == EV_NULL) {
      st->after_null = 1;
      return 1;
    }
    if (e->t != EV_SMAP)
      return ks__xf_fail(st, "\"after\" is not an object");
    if (st->out_open)
      return ks__xf_fail(st, "\"after\" appears twice");
    st->out_open = 1;
    ks__xf_value_mode_at(st, d, VM_PASS, NULL, 1); /* its } waits for the end */
    return ks__xf_next(st, e);
  case PICK_BEFORE:
    if (e->t == EV_SMAP && c->deletes_rewrite) {
      st->have_before = 1;
      ks_buf_reset(&st->before);
      ks__xf_tape_put(&st->before, e);
      ks__xf_value_mode_at(st, d, VM_CAPTURE, &st->before, 0);
    } else if (ks__xf_opens(e)) {
      ks__xf_value_mode_at(st, d, VM_SKIP, NULL, 0);
    }
    return 1;
  case PICK_SOURCE:
    if (e->t == EV_SMAP)
      st->in_source = 1;
    else if (ks__xf_opens(e))
      ks__xf_value_mode_at(st, d, VM_SKIP, NULL, 0);
    return 1;
  default:
    if (which == PICK_OP && e->t == EV_STR && e->n < sizeof st->op) {
      memcpy(st->op, e->s, e->n);
      st->op[e->n] = 0;
    }
    if (ks__xf_opens(e)) {
      ks__xf_value_mode_at(st, d, VM_SKIP, NULL, 0);
      return 1;
    }
    for (size_t i = 0; i < c->nadd_fields; i++) {
      const char *f = c->add_fields[i];
      if ((which == PICK_OP && strcmp(f, "op") == 0) || which == (int)i + 1)
        set_add(st, i, e);
    }
    return 1;
  }
}

int ks__xf_on_unwrap(stage *st, const ev *e) {
  int d = st->depth;
  ks__xf_move_depth(st, e);
  if (st->mode)
    return ks__xf_in_value(st, e);
  const ks_conf_transform *c = st->conf;
  if (d == 0) {
    if (e->t != EV_SMAP)
      return ks__xf_fail(st, "the record is not an object");
    unwrap_reset(st);
    return 1;
  }
  if (st->in_source)
    return on_source(st, e, d);
  if (d == 1 && st->env_depth == 1 && e->t == EV_KEY) {
    if (ks__xf_key_is(e, "schema")) { /* schemas.enable: the value's schema */
      ks__xf_value_mode(st, VM_SKIP, NULL, 0);
      return 1;
    }
    if (ks__xf_key_is(e, "payload")) { /* schemas.enable: the envelope */
      st->env_depth = 2;
      st->pick = 0;
      return 1;
    }
  }
  if (d == 1 && st->env_depth == 2 && e->t == EV_KEY) {
    ks__xf_value_mode(st, VM_SKIP, NULL, 0); /* beside the payload */
    return 1;
  }
  if (d == 1 && st->env_depth == 2 && !ks__xf_closes(e)) {
    if (e->t != EV_SMAP)
      return ks__xf_fail(st, "\"payload\" is not an object");
    return 1;
  }
  if (d == st->env_depth && e->t == EV_KEY) {
    st->pick = ks__xf_key_is(e, "after")    ? PICK_AFTER
               : ks__xf_key_is(e, "before") ? PICK_BEFORE
               : ks__xf_key_is(e, "source") ? PICK_SOURCE
               : ks__xf_key_is(e, "op")     ? PICK_OP
                                            : 0;
    for (size_t i = 0; i < c->nadd_fields && !st->pick; i++)
      if (!source_member(c->add_fields[i]) &&
          ks__xf_key_is(e, c->add_fields[i]))
        st->pick = (int)i + 1;
    if (!st->pick)
      ks__xf_value_mode(st, VM_SKIP, NULL, 0);
    return 1;
  }
  if (d == st->env_depth && !ks__xf_closes(e)) {
    int which = st->pick;
    st->pick = 0;
    return on_member(st, e, d, which);
  }
  if (d == st->env_depth && e->t == EV_EMAP)
    return unwrap_end(st); /* the envelope's } */
  return 1;                /* the root's } around a payload */
}
