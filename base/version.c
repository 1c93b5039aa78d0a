/* Build facts for base/version.h. The commit comes from a header written
 * at build time (cmake/build_info.cmake), the build type and snappy's
 * version (its header is C++ only) from compile definitions; the other
 * libraries say their own version at run time, which is the one that
 * matters when a shared library was upgraded under the binary. */
#include "base/version.h"
#include "base/ks.h"
#include "ks_build.h"

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <uv.h>
#include <yajl/yajl_version.h>
#include <zlib.h>
#include <zstd.h>

#ifndef KS_BUILD_TYPE
#define KS_BUILD_TYPE "unknown"
#endif
#ifndef KS_SNAPPY_VERSION
#define KS_SNAPPY_VERSION "unknown"
#endif

const char *ks_version(void) { return KS_VERSION; }

const char *ks_git_commit(void) { return KS_GIT_COMMIT; }

const char *ks_build_type(void) { return KS_BUILD_TYPE; }

void ks_version_libraries(char *buf, size_t n) {
  int y = yajl_version();
  snprintf(buf, n,
           "librdkafka %s, libuv %s, yajl %d.%d.%d, curl %s, zstd %s, "
           "snappy %s, zlib %s",
           rd_kafka_version_str(), uv_version_string(), y / 10000,
           y / 100 % 100, y % 100, curl_version_info(CURLVERSION_NOW)->version,
           ZSTD_versionString(), KS_SNAPPY_VERSION, zlibVersion());
}
