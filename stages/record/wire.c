/*
 * Confluent wire format (wire.h). A value that starts with magic byte 0
 * carries its schema id in the next four bytes, big-endian; a record
 * with a `__value_schema_id` header (magic 1 + GUID) carries a bare
 * payload. Anything else cannot be tied to a schema: bad_wire_format.
 */
#include "stages/record/wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int bad(ks_reject *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int bad(ks_reject *r, const char *fmt, ...) {
  if (r) {
    ks_reject_clear(r);
    r->code = KS_EINVALID;
    r->reason = KS_REASON_BAD_WIRE_FORMAT;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
  }
  return KS_EINVALID;
}

int ks_wire_parse(const uint8_t *value, size_t len, const uint8_t *hdr,
                  size_t hdr_len, ks_wire *out, ks_reject *r) {
  memset(out, 0, sizeof *out);
  if (hdr) {
    if (hdr_len != 17 || hdr[0] != 1)
      return bad(r,
                 ": header " KS_WIRE_VALUE_HEADER " is not magic byte 1 and "
                 "a 16-byte schema GUID (%u bytes, first byte %u)",
                 (unsigned)hdr_len, hdr_len ? hdr[0] : 0u);
    out->by_guid = 1;
    memcpy(out->guid, hdr + 1, 16);
    out->payload = value;
    out->len = len;
    return 0;
  }
  if (len == 0 || value == NULL)
    return bad(r, ": record value is empty: no schema id");
  if (value[0] != 0)
    return bad(r,
               ": first byte is %u, not the magic byte 0 of a Schema "
               "Registry serializer (%u bytes)",
               value[0], (unsigned)len);
  if (len < 5)
    return bad(r,
               ": record of %u bytes ends inside the 5-byte schema id "
               "prefix",
               (unsigned)len);
  out->id = (uint32_t)value[1] << 24 | (uint32_t)value[2] << 16 |
            (uint32_t)value[3] << 8 | value[4];
  out->payload = value + 5;
  out->len = len - 5;
  return 0;
}

void ks_wire_guid_str(const uint8_t guid[16], char out[37]) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[o++] = '-';
    out[o++] = hex[guid[i] >> 4];
    out[o++] = hex[guid[i] & 15];
  }
  out[o] = 0;
}
