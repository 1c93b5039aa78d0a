/*
 * What this binary is: ksink's version, the git commit it was built from,
 * the build type and the versions of the libraries it runs with. Read by
 * `ksink --version`, the ksink_build_info metric and Connect's GET /.
 */
#ifndef KS_BASE_VERSION_H
#define KS_BASE_VERSION_H

#include <stddef.h>

/* "0.1.0" (KS_VERSION). */
const char *ks_version(void);
/* The short git commit ("unknown" without git; "-dirty" with local
 * changes). */
const char *ks_git_commit(void);
/* CMAKE_BUILD_TYPE, with "+asan,ubsan"-style sanitizers appended. */
const char *ks_build_type(void);
/* "librdkafka 2.0.2, libuv 1.44.2, ..." into buf (truncated to n). */
void ks_version_libraries(char *buf, size_t n);

#endif
