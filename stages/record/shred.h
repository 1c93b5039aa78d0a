/*
 * Record shredding: how a record's values land in the table's Parquet
 * leaves, with their repetition and definition levels (Dremel), in the
 * same yajl pass that validates them.
 *
 * columns.c maps the table's compiled JSON Schema to a tree of ks__shnode,
 * one per Parquet node of the data columns: STRUCT (object with
 * properties), LIST (array), MAP (object with only additionalProperties),
 * LEAF (a scalar column) and JSON (a value kept as its JSON text in a
 * STRING leaf). Leaves are numbered depth first, the Parquet column order,
 * so a node's leaves are one range.
 *
 * The shredder (shred.c) keeps a frame per open container and follows the
 * events down that tree: a scalar goes to its leaf with the current
 * repetition level; a null, an absent property or an empty list writes one
 * levels-only entry to every leaf below it; anything outside the tree
 * (undeclared properties) is validated and dropped. Every call runs after
 * the validator accepted the same event; a value a column cannot hold
 * (an integer past int64, a date-time past year 9999) fails through the
 * validator's reject, with its path. With no columns the shredder walks
 * and converts without appending: `ksink validate` reaches the same
 * verdicts as the pipeline.
 */
#ifndef KS_STAGES_RECORD_SHRED_H
#define KS_STAGES_RECORD_SHRED_H

#include "jsonschema/jsonschema.h"
#include "stages/record/reject.h"
#include "stages/record/schema.h"

typedef enum ks__shkind {
  KS__SH_LEAF,
  KS__SH_JSON,
  KS__SH_STRUCT,
  KS__SH_LIST,
  KS__SH_MAP
} ks__shkind;

typedef struct ks__shnode ks__shnode;
struct ks__shnode {
  uint8_t kind;
  uint8_t nullable; /* OPTIONAL: may be null (or absent) */
  uint8_t def;      /* definition level where this node is present */
  uint8_t rep;      /* LIST, MAP: repetition level of their entries */
  ks_coltype type;  /* LEAF */
  int precision, scale; /* LEAF: DECIMAL(precision, scale) when > 0 */
  uint32_t leaf, nleaves; /* its leaves: [leaf, leaf + nleaves) */
  char *name;             /* the Parquet field name */
  const ks_js_node *obj;   /* STRUCT: where member names are looked up */
  int32_t *prop_kid;      /* STRUCT: kid of each of obj's props, or -1 */
  /* STRUCT: the fields, in declaration order; LIST: the element; MAP: the
   * value (the key is leaf `leaf`) */
  ks__shnode **kids;
  uint32_t nkids;
};

/* The table-mapped schema (schema.h): the compiled graph it wraps, and
 * its mapping (columns.c): the shred tree, the data columns' Parquet
 * tree, and one spec per leaf (dotted path names). */
typedef struct ks__checks ks__checks;
struct ks_schema {
  ks__checks *checks; /* the table's constraints (checks.c), NULL: none */
  ks_js_schema *js;
  ks__shnode *shroot;
  ks__shnode **shnodes;
  size_t nshnodes, shcap;
  ks_pq_schema *pq;
  ks_colspec *cols;
  size_t ncols;
  int allow_no_columns;
};

/* Maps s->js's root properties to columns (columns.c). 0 or KS_ESCHEMA
 * and err ("<schema>: <schema path>: reason"). */
int ks__map_columns(ks_schema *s, char *err, size_t errlen);

typedef struct ks__shframe {
  const ks__shnode *node; /* NULL: dropped, or inside a JSON text value */
  const ks__shnode *next; /* STRUCT, MAP: the current member's node */
  uint32_t count;         /* members / elements so far */
  uint32_t seen;          /* STRUCT of more than 64 fields: offset of its
                             fields' seen bytes */
  uint64_t mask;          /* STRUCT of up to 64 fields: those seen */
  uint8_t rep0;           /* repetition level of the container's first entry */
  uint8_t rep;            /* STRUCT, MAP: of the current member's entries */
  uint8_t is_array;
} ks__shframe;

typedef struct ks__shredder {
  const ks__shnode *root;
  ks_column *cols; /* leaf i is cols[i]; NULL: validate only */
  ks_js_validator *v;
  ks__shframe stack[KS_JS_MAX_DEPTH];
  size_t depth;
  ks_buf seen;
  /* a value being kept as JSON text: its column (NULL when validating
   * only), where its text starts, and the depth of its container */
  ks_column *cap;
  size_t cap_start, cap_depth;
  uint8_t cap_rep;
  /* The record's JSON text, when the events come from one (NULL: built
   * from the events), and the offset just past the current event's token
   * (the decoder sets it before ks__sh_open and ks__sh_close). With text,
   * a value kept as JSON text is copied from cap_from at its close
   * (ks_json_compact) instead of being rebuilt event by event. */
  const uint8_t *text;
  size_t at, cap_from;
  int text_compact; /* the next close's text is its own compact form */
  uint32_t dropped; /* non-null scalars of this record outside the tree */
  ks_reason reason; /* a failure of the shredder's own that is not a
                       schema failure (null_value), else KS_REASON_NONE */
} ks__shredder;

void ks__sh_init(ks__shredder *sh, const ks__shnode *root, ks_column *cols,
                 ks_js_validator *v);
void ks__sh_free(ks__shredder *sh);
void ks__sh_reset(ks__shredder *sh);

/* Each returns 0, or fills the validator's reject and returns its code. */
int ks__sh_key(ks__shredder *sh, const uint8_t *k, size_t n);
int ks__sh_null(ks__shredder *sh);
int ks__sh_bool(ks__shredder *sh, int b);
int ks__sh_number(ks__shredder *sh, ks_js_num *num);
int ks__sh_string(ks__shredder *sh, const uint8_t *s, size_t n);
int ks__sh_open(ks__shredder *sh, int is_array);
/* Before the validator pops the container (failures name its path). */
int ks__sh_close(ks__shredder *sh);

/* Nonzero inside a value kept as JSON text that is copied from the
 * record's text at its close, or not kept at all (validating only): the
 * events inside it change nothing here, so a container opened there may
 * get no events until its close (ks__sh_close). */
static inline int ks__sh_opaque(const ks__shredder *sh) {
  return sh->cap_depth != 0 && (sh->text != NULL || sh->cap == NULL);
}

/* Unscaled value of a JSON number in DECIMAL(precision, scale): 0, or -1
 * when it has more fractional digits than scale or more digits than
 * precision. */
int ks__decimal_unscaled(const char *text, size_t len, int precision,
                         int scale, ks_int128 *out);

/* A date-time without zone offset ("2024-01-02T03:04:05.123456", or a
 * space for the T) as microseconds of wall-clock time since 1970-01-01:
 * 0, -2 when it carries an offset, -1 when it is not a date-time. */
int ks__ntz_parse(const uint8_t *s, size_t n, int64_t *us);
/* RFC 4648 base64 (padding optional) into out (room for n * 3 / 4 + 3
 * bytes): 0 and *outn, or -1. */
int ks__base64_decode(const uint8_t *s, size_t n, uint8_t *out,
                      size_t *outn);
/* 0 when s is a JSON number's text (a decimal given as a string). */
int ks__decimal_text(const uint8_t *s, size_t n);

/* checks.c: 0 when every constraint of s holds for the row just appended
 * to cols (the decoder's columns), else -1 with msg naming the one that
 * does not. */
int ks__checks_run(const ks_schema *s, const ks_column *cols, char *msg,
                   size_t msglen);
void ks__checks_free(ks__checks *c);

/* After a compile: rebuilds s's Parquet tree and column specs from its
 * shred tree, once leaves were retyped (stages/record/infer.c gives the
 * columns of an existing table their exact Delta types). */
int ks__schema_remap(ks_schema *s, char *err, size_t errlen);

#endif
