/*
 * The reject vocabulary: why a record did not become a row (the metric's
 * reason label) and which JSON Schema keyword failed first. Enums cross
 * layers; names are looked up only where text is written.
 */
#ifndef KS_STAGES_RECORD_REJECT_H
#define KS_STAGES_RECORD_REJECT_H

/* Reject reasons counted per table (metric label order). */
#define KS_REASON_MAP(XX)                                                      \
  XX(MALFORMED_JSON, "malformed_json")                                         \
  XX(INVALID_UTF8, "invalid_utf8")                                             \
  XX(SCHEMA, "schema")                                                         \
  XX(TOO_LARGE, "too_large")                                                   \
  XX(NULL_VALUE, "null_value")                                                 \
  XX(TYPE_CONFLICT, "type_conflict")                                           \
  XX(NEW_FIELD, "new_field")
#define KS_REASON_ENUM_(n, s) KS_REASON_##n,
enum ks_reason { KS_REASON_MAP(KS_REASON_ENUM_) KS_REASON_COUNT };
#undef KS_REASON_ENUM_
const char *ks_reason_name(int reason);
int ks_reason_from_label(const char *label);

/* The JSON Schema keyword a schema reject failed on (ks_reject.keyword),
 * counted per table: every draft-07 assertion, "$ref" (a reference that
 * recursed without consuming input), "false" (a false schema), "maxDepth"
 * (nesting past the validator's limit), and "other" for a reject with no
 * keyword (a value its column cannot store). */
#define KS_KEYWORD_MAP(XX)                                                     \
  XX(TYPE, "type")                                                             \
  XX(ENUM, "enum")                                                             \
  XX(CONST, "const")                                                           \
  XX(MULTIPLE_OF, "multipleOf")                                                \
  XX(MAXIMUM, "maximum")                                                       \
  XX(EXCLUSIVE_MAXIMUM, "exclusiveMaximum")                                    \
  XX(MINIMUM, "minimum")                                                       \
  XX(EXCLUSIVE_MINIMUM, "exclusiveMinimum")                                    \
  XX(MAX_LENGTH, "maxLength")                                                  \
  XX(MIN_LENGTH, "minLength")                                                  \
  XX(PATTERN, "pattern")                                                       \
  XX(ITEMS, "items")                                                           \
  XX(ADDITIONAL_ITEMS, "additionalItems")                                      \
  XX(MAX_ITEMS, "maxItems")                                                    \
  XX(MIN_ITEMS, "minItems")                                                    \
  XX(UNIQUE_ITEMS, "uniqueItems")                                              \
  XX(CONTAINS, "contains")                                                     \
  XX(MAX_PROPERTIES, "maxProperties")                                          \
  XX(MIN_PROPERTIES, "minProperties")                                          \
  XX(REQUIRED, "required")                                                     \
  XX(PROPERTIES, "properties")                                                 \
  XX(PATTERN_PROPERTIES, "patternProperties")                                  \
  XX(ADDITIONAL_PROPERTIES, "additionalProperties")                            \
  XX(DEPENDENCIES, "dependencies")                                             \
  XX(PROPERTY_NAMES, "propertyNames")                                          \
  XX(IF, "if")                                                                 \
  XX(THEN, "then")                                                             \
  XX(ELSE, "else")                                                             \
  XX(ALL_OF, "allOf")                                                          \
  XX(ANY_OF, "anyOf")                                                          \
  XX(ONE_OF, "oneOf")                                                          \
  XX(NOT, "not")                                                               \
  XX(FORMAT, "format")                                                         \
  XX(REF, "$ref")                                                              \
  XX(FALSE, "false")                                                           \
  XX(MAX_DEPTH, "maxDepth")                                                    \
  XX(OTHER, "other")
#define KS_KEYWORD_ENUM_(n, s) KS_KEYWORD_##n,
enum ks_keyword { KS_KEYWORD_MAP(KS_KEYWORD_ENUM_) KS_KEYWORD_COUNT };
#undef KS_KEYWORD_ENUM_
const char *ks_keyword_name(int keyword);
/* KS_KEYWORD_OTHER for NULL or a name not in the map. */
int ks_keyword_from_name(const char *name);

#endif
