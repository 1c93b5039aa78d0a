/*
 * A checker for the Prometheus text exposition format 0.0.4 as ksink
 * promises it, and sample look-ups, for test_http.c (which #includes this
 * file; it is not a test of its own).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_name_start(int c) {
  return isalpha(c) || c == '_' || c == ':';
}
static int is_name_char(int c) {
  return isalnum(c) || c == '_' || c == ':';
}

/* Returns NULL when text is valid Prometheus text format 0.0.4 as ksink
 * promises it: every family has # HELP then # TYPE before its samples,
 * samples of a family are contiguous, counters end in _total, every sample
 * is `name{label="value",...} value`. Else a description of the first
 * offence, in why. */
static const char *check_exposition(const char *text, char *why, size_t n) {
  char family[128] = "", type[32] = "", help_for[128] = "";
  int lineno = 0;
  for (const char *l = text; *l;) {
    const char *end = strchr(l, '\n');
    if (end == NULL) {
      snprintf(why, n, "last line has no line feed");
      return why;
    }
    lineno++;
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)(end - l), l);
    l = end + 1;
    char name[128], rest[256];
    if (strncmp(line, "# HELP ", 7) == 0) {
      if (sscanf(line + 7, "%127s %255[^\n]", name, rest) != 2) {
        snprintf(why, n, "line %d: HELP without text", lineno);
        return why;
      }
      snprintf(help_for, sizeof help_for, "%s", name);
      continue;
    }
    if (strncmp(line, "# TYPE ", 7) == 0) {
      if (sscanf(line + 7, "%127s %31s", name, type) != 2 ||
          strcmp(name, help_for) != 0) {
        snprintf(why, n, "line %d: TYPE without a HELP before it", lineno);
        return why;
      }
      if (strcmp(type, "counter") && strcmp(type, "gauge") &&
          strcmp(type, "histogram") && strcmp(type, "summary") &&
          strcmp(type, "untyped")) {
        snprintf(why, n, "line %d: unknown type %s", lineno, type);
        return why;
      }
      size_t len = strlen(name);
      if (strcmp(type, "counter") == 0 &&
          (len < 6 || strcmp(name + len - 6, "_total") != 0)) {
        snprintf(why, n, "line %d: counter %s does not end in _total", lineno,
                 name);
        return why;
      }
      snprintf(family, sizeof family, "%s", name);
      continue;
    }
    if (line[0] == '#' || line[0] == 0) {
      snprintf(why, n, "line %d: unexpected \"%.64s\"", lineno, line);
      return why;
    }
    /* A sample. */
    const char *s = line;
    size_t k = 0;
    if (!is_name_start((unsigned char)*s)) {
      snprintf(why, n, "line %d: bad metric name", lineno);
      return why;
    }
    while (is_name_char((unsigned char)*s) && k < sizeof name - 1)
      name[k++] = *s++;
    name[k] = 0;
    /* A histogram's samples are <family>_bucket, _sum and _count. */
    size_t fl = strlen(family);
    int hist_part = strcmp(type, "histogram") == 0 &&
                    strncmp(name, family, fl) == 0 &&
                    (strcmp(name + fl, "_bucket") == 0 ||
                     strcmp(name + fl, "_sum") == 0 ||
                     strcmp(name + fl, "_count") == 0);
    if (family[0] == 0 || (strcmp(name, family) != 0 && !hist_part)) {
      snprintf(why, n, "line %d: sample %.60s outside its family (%.60s)", lineno,
               name, family[0] ? family : "none declared");
      return why;
    }
    if (*s == '{') {
      s++;
      while (*s != '}') {
        if (!is_name_start((unsigned char)*s)) {
          snprintf(why, n, "line %d: bad label name", lineno);
          return why;
        }
        while (is_name_char((unsigned char)*s))
          s++;
        if (s[0] != '=' || s[1] != '"') {
          snprintf(why, n, "line %d: label without =\"", lineno);
          return why;
        }
        for (s += 2; *s != '"'; s++) {
          if (*s == 0) {
            snprintf(why, n, "line %d: unterminated label value", lineno);
            return why;
          }
          if (*s == '\\') {
            s++;
            if (*s != '\\' && *s != '"' && *s != 'n') {
              snprintf(why, n, "line %d: bad escape", lineno);
              return why;
            }
          }
        }
        s++;
        if (*s == ',')
          s++;
        else if (*s != '}') {
          snprintf(why, n, "line %d: labels not closed", lineno);
          return why;
        }
      }
      s++;
    }
    if (*s != ' ') {
      snprintf(why, n, "line %d: no space before the value", lineno);
      return why;
    }
    char *vend;
    strtod(s + 1, &vend);
    if (vend == s + 1 || *vend != 0) {
      snprintf(why, n, "line %d: bad value \"%s\"", lineno, s + 1);
      return why;
    }
  }
  return NULL;
}

/* The value text of the sample whose name-and-labels is exactly series. */
static const char *sample_value(const char *text, const char *series, char *out,
                                size_t n) {
  size_t len = strlen(series);
  for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l)
    if (strncmp(l, series, len) == 0 && l[len] == ' ') {
      snprintf(out, n, "%.*s", (int)strcspn(l + len + 1, "\n"), l + len + 1);
      return out;
    }
  return NULL;
}

static void assert_sample(const char *text, const char *series,
                          const char *want) {
  char v[64];
  if (sample_value(text, series, v, sizeof v) == NULL) {
    print_error("no sample %s in:\n%s\n", series, text);
    fail();
  }
  if (strcmp(v, want) != 0)
    print_error("%s = %s, want %s\n", series, v, want);
  assert_string_equal(v, want);
}
