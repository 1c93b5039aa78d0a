/*
 * Time zones for path layouts (`timezone:` of path_format): UTC, a fixed
 * offset, or a named IANA zone ("Europe/Berlin") read from the system's
 * tzdata (RFC 8536 TZif files under /usr/share/zoneinfo), whose offset
 * depends on the instant: the file's transitions, then its POSIX TZ
 * footer rule for instants past the last one. Loaded once at start-up
 * (conf/); ks_tz_offset runs per record and does not allocate.
 */
#ifndef KS_BASE_TZ_H
#define KS_BASE_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct ks_tz ks_tz;

/* "UTC" (also "Z", "Etc/UTC"), a fixed offset ("+02:00", "-0530",
 * "+05"), or a zone name looked up under dir (NULL: /usr/share/zoneinfo).
 * 0, or KS_EINVAL / KS_ENOENT / KS_EUNSUPPORTED with err saying why. */
int ks_tz_load(const char *spec, const char *dir, ks_tz **out, char *err,
               size_t errlen);
/* A TZif file's bytes (version 2 or later: 64-bit times and a footer).
 * KS_ECORRUPT with err for anything else; KS_EUNSUPPORTED for leap-second
 * ("right/") zones. */
int ks_tz_parse_tzif(const uint8_t *data, size_t len, ks_tz **out, char *err,
                     size_t errlen);
/* A POSIX TZ rule string ("CET-1CEST,M3.5.0,M10.5.0/3"). */
int ks_tz_parse_posix(const char *rule, ks_tz **out, char *err,
                      size_t errlen);
void ks_tz_free(ks_tz *tz);

/* Seconds east of UTC in force at the instant (seconds since the epoch). */
int32_t ks_tz_offset(const ks_tz *tz, int64_t utc_s);
/* 1 when the offset never changes (UTC or fixed). */
int ks_tz_is_fixed(const ks_tz *tz);

#endif
