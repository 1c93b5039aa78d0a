/* The names of the reject reasons (reject.h). */
#include "stages/record/reject.h"

#define KS_REASON_NAME_(n, s) s,
static const char *reason_names[] = {KS_REASON_MAP(KS_REASON_NAME_)};
#undef KS_REASON_NAME_

const char *ks_reason_name(int reason) {
  return reason >= 0 && reason < KS_REASON_COUNT ? reason_names[reason]
                                                 : "unknown";
}
