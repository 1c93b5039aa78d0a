/*
 * schema_registry: the Confluent-compatible Schema Registry that
 * tables[].value_format json_schema and avro read their schemas from
 * (Kafka Connect's value.converter.schema.registry.url,
 * basic.auth.user.info, bearer.auth.token).
 *   schema_registry:
 *     url: http://registry:8081      # or a list, tried in turn
 *     basic_auth_user_info: "user:password"   # or
 *     bearer_token: "..."
 */
#include "conf/internal.h"

#include <string.h>

static const char *const registry_keys[] = {"url", "basic_auth_user_info",
                                            "bearer_token", NULL};

static int add_url(ks__conf_ctx *c, const ks__conf_node *v, ks_conf *conf) {
  char *u = NULL;
  int r = ks__conf_str(c, v, &u);
  if (r)
    return r;
  if (u == NULL || (strncmp(u, "http://", 7) != 0 &&
                    strncmp(u, "https://", 8) != 0)) {
    ks_free(u);
    return ks__conf_fail(c, v->line,
                         "expected an http:// or https:// URL like "
                         "http://schema-registry:8081");
  }
  conf->registry_urls = ks_realloc(
      conf->registry_urls, (conf->nregistry_urls + 1) * sizeof(char *));
  conf->registry_urls[conf->nregistry_urls++] = u;
  return 0;
}

int ks__conf_load_registry(ks__conf_ctx *c, const ks__conf_node *root,
                           ks_conf *conf) {
  const ks__conf_node *map = ks__conf_get(root, "schema_registry");
  int r;
  if (map == NULL || ks__conf_is_null(map))
    return 0;
  size_t saved = ks__conf_path_push(c, "schema_registry");
  if ((r = ks__conf_expect_map(c, map, "a mapping")) ||
      (r = ks__conf_check_keys(c, map, registry_keys)))
    return r;
  const ks__conf_node *v = ks__conf_get(map, "url");
  size_t s2 = ks__conf_path_push(c, "url");
  if (v == NULL || ks__conf_is_null(v))
    return ks__conf_fail(c, map->line, "missing; expected the registry's "
                                       "URL like http://schema-registry:8081");
  if (v->kind == KS__CONF_SEQ) {
    for (size_t i = 0; i < v->n; i++) {
      size_t s3 = ks__conf_path_push_index(c, i);
      if ((r = add_url(c, v->vals[i], conf)))
        return r;
      ks__conf_path_pop(c, s3);
    }
    if (v->n == 0)
      return ks__conf_fail(c, v->line, "expected at least one URL");
  } else if ((r = add_url(c, v, conf))) {
    return r;
  }
  ks__conf_path_pop(c, s2);
  if ((v = ks__conf_get(map, "basic_auth_user_info")) &&
      !ks__conf_is_null(v)) {
    s2 = ks__conf_path_push(c, "basic_auth_user_info");
    if ((r = ks__conf_str(c, v, &conf->registry_basic_auth)))
      return r;
    if (conf->registry_basic_auth && !strchr(conf->registry_basic_auth, ':'))
      return ks__conf_fail(c, v->line, "expected \"user:password\"");
    ks__conf_path_pop(c, s2);
  }
  if ((v = ks__conf_get(map, "bearer_token")) && !ks__conf_is_null(v)) {
    s2 = ks__conf_path_push(c, "bearer_token");
    if ((r = ks__conf_str(c, v, &conf->registry_bearer_token)))
      return r;
    if (conf->registry_basic_auth)
      return ks__conf_fail(c, v->line, "give basic_auth_user_info or "
                                       "bearer_token, not both");
    ks__conf_path_pop(c, s2);
  }
  ks__conf_path_pop(c, saved);
  return 0;
}

void ks__conf_registry_free(ks_conf *conf) {
  for (size_t i = 0; i < conf->nregistry_urls; i++)
    ks_free(conf->registry_urls[i]);
  ks_free(conf->registry_urls);
  ks_free(conf->registry_basic_auth);
  ks_free(conf->registry_bearer_token);
}
