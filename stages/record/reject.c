#include "stages/record/reject.h"

#include <string.h>

#define KS_REASON_NAME_(n, s) s,
static const char *reason_names[] = {KS_REASON_MAP(KS_REASON_NAME_)};
#undef KS_REASON_NAME_

const char *ks_reason_name(int reason) {
  return reason >= 0 && reason < KS_REASON_COUNT ? reason_names[reason]
                                                 : "unknown";
}

int ks_reason_from_label(const char *label) {
  for (int i = 0; label && i < KS_REASON_COUNT; i++)
    if (strcmp(reason_names[i], label) == 0)
      return i;
  return KS_REASON_SCHEMA;
}

#define KS_KEYWORD_NAME_(n, s) s,
static const char *keyword_names[] = {KS_KEYWORD_MAP(KS_KEYWORD_NAME_)};
#undef KS_KEYWORD_NAME_

const char *ks_keyword_name(int keyword) {
  return keyword >= 0 && keyword < KS_KEYWORD_COUNT ? keyword_names[keyword]
                                                    : "other";
}

/* Linear: rejects are rare next to records, and the map is short. */
int ks_keyword_from_name(const char *name) {
  for (int i = 0; name && i < KS_KEYWORD_OTHER; i++)
    if (strcmp(keyword_names[i], name) == 0)
      return i;
  return KS_KEYWORD_OTHER;
}


