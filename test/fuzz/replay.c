/*
 * Runs a libFuzzer target without libFuzzer, so every build (and the
 * sanitizer build in CI) exercises it: each file of the seed corpus as is,
 * then a fixed number of deterministic mutations of each (bit flips, byte
 * overwrites, truncations, splices of two seeds). Usage:
 *   replay_<target> CORPUS_DIR [MUTATIONS_PER_SEED]
 * Outside the sanitizer builds (whose shadow memory needs terabytes of
 * address space) the process is held to 2 GiB of address space, as
 * libFuzzer's -malloc_limit_mb would: an input of a few KB that makes a
 * parser allocate gigabytes (a footer's counts, a page bomb) fails the
 * allocation, and the allocator's abort fails the test.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seed {
  uint8_t *data;
  size_t len;
} seed;

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static int load(const char *dir, seed **out, size_t *n) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    perror(dir);
    return -1;
  }
  struct dirent *e;
  size_t cap = 0;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
      continue;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)len + 1);
    if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
      fclose(f);
      free(buf);
      continue;
    }
    fclose(f);
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      *out = realloc(*out, cap * sizeof **out);
    }
    (*out)[(*n)++] = (seed){buf, (size_t)len};
  }
  closedir(d);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS_PER_SEED]\n", argv[0]);
    return 2;
  }
  long muts = argc > 2 ? atol(argv[2]) : 2000;
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  struct rlimit as = {(rlim_t)2 << 30, (rlim_t)2 << 30};
  if (setrlimit(RLIMIT_AS, &as) != 0)
    perror("setrlimit");
#endif
  seed *seeds = NULL;
  size_t n = 0;
  if (load(argv[1], &seeds, &n) || n == 0) {
    fprintf(stderr, "%s: no seeds in %s\n", argv[0], argv[1]);
    return 1;
  }
  size_t runs = 0;
  for (size_t i = 0; i < n; i++) {
    LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].len);
    runs++;
    for (long m = 0; m < muts; m++) {
      const seed *s = &seeds[i];
      const seed *o = &seeds[next() % n];
      size_t cap = s->len + o->len + 16;
      uint8_t *buf = malloc(cap);
      size_t len = s->len;
      memcpy(buf, s->data, len);
      int edits = 1 + (int)(next() % 4);
      for (int k = 0; k < edits; k++) {
        switch (next() % 5) {
        case 0: /* flip a bit */
          if (len)
            buf[next() % len] ^= (uint8_t)(1u << (next() % 8));
          break;
        case 1: /* overwrite a byte with an interesting one */
          if (len) {
            static const uint8_t hot[] = {0,   '"', '\\', '{', '}', '[', ']',
                                          ':', ',', 0x80, 0xC0, 0xFF, '\n',
                                          '-', '0', 'e'};
            buf[next() % len] = hot[next() % sizeof hot];
          }
          break;
        case 2: /* truncate */
          if (len)
            len = next() % len;
          break;
        case 3: /* splice the tail of another seed */
          if (o->len) {
            size_t at = len ? next() % len : 0;
            size_t from = next() % o->len;
            size_t take = o->len - from;
            if (at + take > cap)
              take = cap - at;
            memcpy(buf + at, o->data + from, take);
            len = at + take;
          }
          break;
        default: /* duplicate a chunk */
          if (len && len + 8 <= cap) {
            size_t at = next() % len;
            size_t take = len - at < 8 ? len - at : 8;
            memmove(buf + at + take, buf + at, len - at);
            len += take;
          }
        }
      }
      LLVMFuzzerTestOneInput(buf, len);
      free(buf);
      runs++;
    }
  }
  printf("%s: %zu inputs from %zu seeds, no crash\n", argv[0], runs, n);
  for (size_t i = 0; i < n; i++)
    free(seeds[i].data);
  free(seeds);
  return 0;
}
