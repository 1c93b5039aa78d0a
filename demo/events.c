#include "demo/events.h"
#include "base/civil.h"
#include "base/ks.h"

#include <string.h>

/*
 * Text is written straight into the caller's ks_buf by small helpers that
 * remember the first error, so the builders read like the JSON they make.
 * Pre-escaped string pools carry the unicode cases (raw UTF-8, \u escapes,
 * surrogate pairs, \" and \\) a real producer sends; a record's bytes depend
 * only on the rng, so the same seed gives the same records on every host.
 */

/* ---- rng: splitmix64 to seed, xorshift64* to draw ---- */

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t rnd(ks_demo_gen *g) {
  uint64_t x = g->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  g->rng = x;
  return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n) (Lemire's multiply-shift; bias is negligible here). */
static uint32_t below(ks_demo_gen *g, uint32_t n) {
  return (uint32_t)(((rnd(g) >> 32) * (uint64_t)n) >> 32);
}

static int chance(ks_demo_gen *g, uint32_t permille) {
  return below(g, 1000) < permille;
}

#define PICK(g, arr) ((arr)[below((g), (uint32_t)KS_ARRAY_SIZE(arr))])

/* ---- output helpers ---- */

typedef struct out {
  ks_buf *b;
  int err;
  /* invalid_utf8: bytes spliced into the string value number poison_at */
  const char *poison;
  int poison_at;
  int str_idx;
} out;

static void put(out *o, const char *s, size_t n) {
  if (!o->err)
    o->err = ks_buf_append(o->b, s, n);
}

#define PUTL(o, lit) put((o), "" lit, sizeof(lit) - 1) /* literals only */

static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }

static void put_u64(out *o, uint64_t v) {
  char tmp[24];
  char *p = tmp + sizeof tmp;
  do {
    *--p = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  put(o, p, (size_t)(tmp + sizeof tmp - p));
}

static void put_2d(out *o, unsigned v) {
  char t[2] = {(char)('0' + v / 10 % 10), (char)('0' + v % 10)};
  put(o, t, 2);
}

/* A money amount in cents, written the way JavaScript serialises it:
 * 19.99, 12.5, 15 -- all plain JSON numbers. */
static void put_money(out *o, uint64_t cents) {
  put_u64(o, cents / 100);
  unsigned c = (unsigned)(cents % 100);
  if (c == 0)
    return;
  PUTL(o, ".");
  if (c % 10 == 0) {
    char d = (char)('0' + c / 10);
    put(o, &d, 1);
  } else {
    put_2d(o, c);
  }
}

/* s is the already-escaped content of a JSON string. */
static void put_str(out *o, const char *s) {
  PUTL(o, "\"");
  if (o->poison && o->str_idx == o->poison_at && s[0]) {
    put(o, s, 1);
    puts_(o, o->poison);
    puts_(o, s + 1);
  } else {
    puts_(o, s);
  }
  o->str_idx++;
  PUTL(o, "\"");
}


/* RFC 3339: local time for the offset, frac_digits 6 or 3, then Z or +hh:mm. */
static void put_ts(out *o, int64_t us, int tz_min, int frac_digits) {
  int64_t local = us + (int64_t)tz_min * 60 * 1000000;
  int64_t secs = local / 1000000, frac = local % 1000000;
  if (frac < 0) {
    frac += 1000000;
    secs--;
  }
  int64_t days = secs / 86400, sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    days--;
  }
  int64_t y;
  unsigned m, d;
  ks_civil_from_days(days, &y, &m, &d);
  char t[40];
  int n = 0;
  t[n++] = '"';
  t[n++] = (char)('0' + y / 1000 % 10);
  t[n++] = (char)('0' + y / 100 % 10);
  t[n++] = (char)('0' + y / 10 % 10);
  t[n++] = (char)('0' + y % 10);
  t[n++] = '-';
  t[n++] = (char)('0' + m / 10);
  t[n++] = (char)('0' + m % 10);
  t[n++] = '-';
  t[n++] = (char)('0' + d / 10);
  t[n++] = (char)('0' + d % 10);
  t[n++] = 'T';
  unsigned hh = (unsigned)(sod / 3600), mi = (unsigned)(sod / 60 % 60),
           ss = (unsigned)(sod % 60);
  t[n++] = (char)('0' + hh / 10);
  t[n++] = (char)('0' + hh % 10);
  t[n++] = ':';
  t[n++] = (char)('0' + mi / 10);
  t[n++] = (char)('0' + mi % 10);
  t[n++] = ':';
  t[n++] = (char)('0' + ss / 10);
  t[n++] = (char)('0' + ss % 10);
  t[n++] = '.';
  unsigned f = (unsigned)frac;
  int div = 100000;
  for (int i = 0; i < frac_digits; i++, div /= 10)
    t[n++] = (char)('0' + f / (unsigned)div % 10);
  if (tz_min == 0) {
    t[n++] = 'Z';
  } else {
    int a = tz_min < 0 ? -tz_min : tz_min;
    t[n++] = tz_min < 0 ? '-' : '+';
    t[n++] = (char)('0' + a / 60 / 10);
    t[n++] = (char)('0' + a / 60 % 10);
    t[n++] = ':';
    t[n++] = (char)('0' + a % 60 / 10);
    t[n++] = (char)('0' + a % 60 % 10);
  }
  t[n++] = '"';
  put(o, t, (size_t)n);
  o->str_idx++;
}

/* ---- pools (escaped JSON string contents) ---- */

enum ev_type {
  EV_PAGE_VIEW, EV_CLICK, EV_SEARCH, EV_ADD_TO_CART, EV_REMOVE_FROM_CART,
  EV_PURCHASE, EV_SIGNUP, EV_LOGIN, EV_LOGOUT, EV_COUNT
};
static const char *const k_type_names[EV_COUNT] = {
    "page_view", "click",  "search", "add_to_cart", "remove_from_cart",
    "purchase",  "signup", "login",  "logout"};
/* Cumulative weights out of 1000: mostly browsing, a little buying. */
static const uint16_t k_type_cdf[EV_COUNT] = {390, 590, 690, 770, 800,
                                              840, 860, 940, 1000};

#define SHOP "https://shop.example.com"
static const char *const k_pages[] = {
    SHOP "/", SHOP "/products", SHOP "/products/espresso-machine-pro",
    SHOP "/cart", SHOP "/checkout", SHOP "/search?q=grinder",
    SHOP "/account/orders", SHOP "/blog/how-to-brew-caf%C3%A9",
    SHOP "/deals?utm_source=newsletter&utm_campaign=spring",
    SHOP "/help/returns", SHOP "/products/ceramic-mug-350ml",
    SHOP "/de/produkte/m\u00fchle"};
static const char *const k_referrers[] = {
    "https://www.google.com/", "https://www.bing.com/search?q=coffee+grinder",
    "https://t.co/Ab3dE9xQ", "https://news.ycombinator.com/",
    "https://shop.example.com/products", "https://duckduckgo.com/?q=caf\\u00e9"};
static const char *const k_os[] = {"iOS", "Android", "Windows", "macOS",
                                   "Linux"};
static const char *const k_browsers[] = {"Safari", "Chrome", "Firefox", "Edge",
                                         "Samsung Internet"};
static const char *const k_queries[] = {
    "espresso machine", "caf\\u00e9 grinder", "\\\"french press\\\" glass",
    "m\u00fcsli bowl", "\u6771\u4eac tea set", "gift card 50\u20ac",
    "\\ud83c\\udf89 party cups", "mug \U0001f375", "back\\\\slash pour-over",
    "tab\\tseparated", "o'reilly coffee book", "na\\u00efve latte art"};
static const char *const k_elements[] = {
    "button#add-to-cart", "a.nav-link", "img.hero", "button#checkout",
    "div.recommendation[data-rank=\\\"3\\\"]", "a#footer-careers"};
static const char *const k_products[] = {
    "Espresso Machine Pro", "Ceramic Mug 350ml", "Burr Grinder",
    "Cr\u00e8me Br\u00fbl\u00e9e Torch", "Pour-Over Kettle 1L",
    "Caf\\u00e9 Beans \\\"House Blend\\\" 1kg", "Matcha Whisk \u8336\u7b4c"};
static const char *const k_names[] = {
    "Zo\u00eb M\u00fcller", "Jos\\u00e9 \\\"Pepe\\\" Garc\\u00eda", "\u674e\u96f7",
    "\u00d8rjan \u00d8deg\u00e5rd", "Am\u00e9lie Poulain", "Sam O'Neil"};
static const char *const k_currencies[] = {"EUR", "USD", "GBP", "JPY"};
static const char *const k_categories[] = {"coffee", "tea", "kitchen",
                                           "books"};
static const char *const k_hex = "0123456789abcdef";

/* ---- properties per event type ---- */

static void put_device(out *o, ks_demo_gen *g) {
  PUTL(o, "\"device\":{\"os\":");
  put_str(o, PICK(g, k_os));
  PUTL(o, ",\"browser\":");
  put_str(o, PICK(g, k_browsers));
  PUTL(o, "}");
}

static void put_sku(out *o, ks_demo_gen *g) {
  char s[10] = "SKU-";
  uint32_t n = below(g, 100000);
  for (int i = 8; i >= 4; i--, n /= 10)
    s[i] = (char)('0' + n % 10);
  s[9] = 0;
  PUTL(o, "\"sku\":");
  put_str(o, s);
}

static void put_props(out *o, ks_demo_gen *g, int type) {
  PUTL(o, "{");
  switch (type) {
  case EV_PAGE_VIEW:
    PUTL(o, "\"url\":");
    put_str(o, PICK(g, k_pages));
    PUTL(o, ",\"referrer\":");
    if (chance(g, 300))
      PUTL(o, "null");
    else
      put_str(o, PICK(g, k_referrers));
    PUTL(o, ",");
    put_device(o, g);
    PUTL(o, ",\"load_ms\":");
    put_u64(o, 80 + below(g, 2400));
    if (chance(g, 250)) {
      PUTL(o, ",\"scroll_depth\":0.");
      put_2d(o, 1 + below(g, 98));
    }
    break;
  case EV_CLICK:
    PUTL(o, "\"element\":");
    put_str(o, PICK(g, k_elements));
    PUTL(o, ",\"url\":");
    put_str(o, PICK(g, k_pages));
    PUTL(o, ",\"x\":");
    put_u64(o, below(g, 1920));
    PUTL(o, ",\"y\":");
    put_u64(o, below(g, 1080));
    break;
  case EV_SEARCH:
    PUTL(o, "\"query\":");
    put_str(o, PICK(g, k_queries));
    PUTL(o, ",\"results\":");
    put_u64(o, chance(g, 100) ? 0 : below(g, 500));
    PUTL(o, ",\"filters\":{\"category\":");
    put_str(o, PICK(g, k_categories));
    PUTL(o, ",\"in_stock\":");
    if (chance(g, 500))
      PUTL(o, "true}");
    else
      PUTL(o, "false}");
    break;
  case EV_ADD_TO_CART:
  case EV_REMOVE_FROM_CART:
    put_sku(o, g);
    PUTL(o, ",\"name\":");
    put_str(o, PICK(g, k_products));
    PUTL(o, ",\"price\":");
    put_money(o, 99 + below(g, 30000));
    PUTL(o, ",\"quantity\":");
    put_u64(o, 1 + below(g, 4));
    PUTL(o, ",\"currency\":");
    put_str(o, PICK(g, k_currencies));
    break;
  case EV_PURCHASE: {
    char id[17] = "ord_";
    uint64_t r = rnd(g);
    for (int i = 4; i < 16; i++, r >>= 4)
      id[i] = k_hex[r & 15];
    id[16] = 0;
    PUTL(o, "\"order_id\":");
    put_str(o, id);
    PUTL(o, ",\"items\":[");
    uint32_t nitems = 1 + below(g, 2);
    uint64_t total = 0;
    for (uint32_t i = 0; i < nitems; i++) {
      uint32_t price = 99 + below(g, 20000), qty = 1 + below(g, 3);
      total += (uint64_t)price * qty;
      puts_(o, i ? ",{" : "{");
      put_sku(o, g);
      PUTL(o, ",\"price\":");
      put_money(o, price);
      PUTL(o, ",\"quantity\":");
      put_u64(o, qty);
      PUTL(o, "}");
    }
    PUTL(o, "],\"total\":");
    put_money(o, total);
    PUTL(o, ",\"currency\":");
    put_str(o, PICK(g, k_currencies));
    PUTL(o, ",\"coupon\":");
    if (chance(g, 800))
      PUTL(o, "null");
    else
      put_str(o, "SPRING10");
    break;
  }
  case EV_SIGNUP:
    PUTL(o, "\"method\":");
    put_str(o, chance(g, 600) ? "email" : chance(g, 500) ? "google" : "apple");
    PUTL(o, ",\"plan\":");
    put_str(o, chance(g, 850) ? "free" : "pro");
    PUTL(o, ",\"name\":");
    put_str(o, PICK(g, k_names));
    PUTL(o, ",\"marketing_opt_in\":");
    if (chance(g, 400))
      PUTL(o, "true");
    else
      PUTL(o, "false");
    break;
  case EV_LOGIN:
    PUTL(o, "\"method\":");
    put_str(o, chance(g, 700) ? "password" : chance(g, 500) ? "sso" : "magic_link");
    PUTL(o, ",\"success\":");
    if (chance(g, 920))
      PUTL(o, "true");
    else
      PUTL(o, "false");
    PUTL(o, ",");
    put_device(o, g);
    break;
  case EV_LOGOUT:
    PUTL(o, "\"reason\":");
    put_str(o, chance(g, 700) ? "user" : "session_timeout");
    PUTL(o, ",\"session_seconds\":");
    put_u64(o, 5 + below(g, 7200));
    break;
  }
  PUTL(o, "}");
}

/* ---- one event ---- */

enum { F_USER_ID, F_EVENT_TYPE, F_TIMESTAMP, F_PROPERTIES, F_COUNT };
static const char *const k_field_keys[F_COUNT] = {
    "\"user_id\"", "\"event_type\"", "\"timestamp\"", "\"properties\""};

/* What to write, and for an invalid event, how to break it. -1 = off. */
typedef struct event {
  uint64_t user_id;
  int type;
  int64_t ts_us;
  int tz_min, frac_digits;
  int props;    /* 0 omitted, 1 {}, 2 full */
  int reversed; /* field order properties..user_id (valid JSON, rarer) */
  int spaced;   /* ": " and ", " between top-level members */
  int omit, null_field, wrong_type, extra, unquoted_key;
  const char *ts_text; /* replaces the timestamp (bad_timestamp) */
} event;

static void put_field(out *o, ks_demo_gen *g, const event *e, int f) {
  if (f == F_USER_ID && e->unquoted_key)
    PUTL(o, "user_id");
  else
    puts_(o, k_field_keys[f]);
  if (e->spaced)
    PUTL(o, ": ");
  else
    PUTL(o, ":");
  if (f == e->null_field) {
    PUTL(o, "null");
    return;
  }
  switch (f) {
  case F_USER_ID:
    if (e->wrong_type == 0) { /* integer as a string */
      PUTL(o, "\"");
      put_u64(o, e->user_id);
      PUTL(o, "\"");
    } else if (e->wrong_type == 1) { /* not an integer: draft-07 accepts 5.0 */
      put_u64(o, e->user_id);
      PUTL(o, ".5");
    } else if (e->wrong_type == 2) {
      PUTL(o, "true");
    } else {
      put_u64(o, e->user_id);
    }
    break;
  case F_EVENT_TYPE:
    if (e->wrong_type == 3) {
      put_u64(o, (uint64_t)e->type);
    } else {
      put_str(o, k_type_names[e->type]);
    }
    break;
  case F_TIMESTAMP:
    if (e->wrong_type == 4) /* epoch millis as a number */
      put_u64(o, (uint64_t)(e->ts_us / 1000));
    else if (e->ts_text)
      put_str(o, e->ts_text);
    else
      put_ts(o, e->ts_us, e->tz_min, e->frac_digits);
    break;
  case F_PROPERTIES:
    if (e->wrong_type == 5)
      PUTL(o, "[\"page_view\",\"click\"]");
    else if (e->wrong_type == 6)
      PUTL(o, "\"url=https://shop.example.com/\"");
    else if (e->props == 1)
      PUTL(o, "{}");
    else
      put_props(o, g, e->type);
    break;
  }
}

/* Top-level members the schema does not allow (additionalProperties). */
static const char *const k_extras[] = {
    "\"session_id\":\"s_8f2a9c41\"", "\"userId\":42", "\"_debug\":true",
    "\"properties_v2\":{}"};

static void put_event(out *o, ks_demo_gen *g, const event *e) {
  const char *sep = e->spaced ? ", " : ",";
  int first = 1;
  PUTL(o, "{");
  for (int i = 0; i < F_COUNT; i++) {
    int f = e->reversed ? F_COUNT - 1 - i : i;
    if (f == e->omit || (f == F_PROPERTIES && e->props == 0))
      continue;
    if (!first)
      puts_(o, sep);
    first = 0;
    put_field(o, g, e, f);
  }
  if (e->extra >= 0) {
    puts_(o, sep);
    puts_(o, k_extras[e->extra]);
  }
  PUTL(o, "}");
}

static uint64_t pick_user(ks_demo_gen *g) {
  uint32_t r = below(g, 1000);
  if (r < 300) /* a few thousand very active users */
    return 1 + below(g, 5000);
  if (r < 990)
    return 1 + below(g, 10000000);
  /* ids from a newer id scheme: large, still exact in a double (< 2^53) */
  return 1000000000000000ull + (rnd(g) % 3000000000000000ull);
}

static int pick_type(ks_demo_gen *g) {
  uint32_t r = below(g, 1000);
  int t = 0;
  while (t < EV_COUNT - 1 && r >= k_type_cdf[t])
    t++;
  return t;
}

static const int k_tz_offsets[] = {120, -300, 330, 540, 60, -420, 345, -150};

/* The kinds, as names and in order. */
#define KIND_ENUM_(name, str) K_##name,
enum { KS_DEMO_INVALID_KINDS(KIND_ENUM_) K_COUNT };
#undef KIND_ENUM_
#define KIND_NAME_(name, str) str,
static const char *const k_kind_names[K_COUNT] = {
    KS_DEMO_INVALID_KINDS(KIND_NAME_)};
#undef KIND_NAME_

/* Bad timestamps: each breaks RFC 3339 in a way a date-time check must see. */
static const char *const k_bad_ts[] = {
    "2024-13-01T10:00:00Z",         /* month 13 */
    "2024-06-01T25:10:00Z",         /* hour 25 */
    "2024-06-01T10:00:00.123456",   /* no offset */
    "2024-02-30T08:00:00Z",         /* no such day */
    "last tuesday",                 /* prose */
    "1717236000",                   /* epoch seconds in a string */
    "2024-06-01T10:00:00+2:00",     /* short offset */
    "2024/06/01 10:00:00Z",         /* wrong separators */
    ""};

/* Byte sequences that are not UTF-8 (RFC 3629). */
static const char *const k_bad_utf8[] = {
    "\x80",         /* lone continuation byte */
    "\xc3(",        /* truncated two-byte sequence */
    "\xc0\xaf",     /* overlong '/' */
    "\xff",         /* never valid */
    "\xed\xa0\x80", /* UTF-16 surrogate encoded as UTF-8 */
    "\xf4\x90\x80\x80" /* above U+10FFFF */};

void ks_demo_gen_init(ks_demo_gen *g, uint64_t seed, int invalid_permille) {
  uint64_t s = seed;
  g->rng = splitmix64(&s);
  if (!g->rng)
    g->rng = 0x9e3779b97f4a7c15ull;
  g->seq = 0;
  g->invalid_permille = invalid_permille < 0      ? 0
                        : invalid_permille > 1000 ? 1000
                                                  : invalid_permille;
  /* 2024-06-01T00:00:00Z plus up to ~11 days, so seeds differ in time too */
  g->base_us = 1717200000000000ll + (int64_t)(splitmix64(&s) % 1000000) * 1000000;
}

int ks_demo_gen_next(ks_demo_gen *g, ks_buf *ob, char key[32],
                     const char **kind) {
  out o = {.b = ob, .err = 0, .poison = NULL, .poison_at = -1, .str_idx = 0};
  event e = {.omit = -1, .null_field = -1, .wrong_type = -1, .extra = -1};
  size_t start = ob->len;

  g->seq++;
  g->base_us += 200 + below(g, 1800);
  e.user_id = pick_user(g);
  e.type = pick_type(g);
  e.ts_us = g->base_us;
  if (chance(g, 80)) /* a late event, buffered on a phone */
    e.ts_us -= (int64_t)below(g, 120000) * 1000;
  e.tz_min = chance(g, 60) ? PICK(g, k_tz_offsets) : 0;
  e.frac_digits = chance(g, 20) ? 3 : 6;
  e.props = chance(g, 40) ? 0 : chance(g, 10) ? 1 : 2;
  e.reversed = chance(g, 60);
  e.spaced = chance(g, 30);

  int k = -1, malformed = -1;
  if ((int)below(g, 1000) < g->invalid_permille) {
    k = (int)below(g, K_COUNT);
    e.reversed = 0;
    switch (k) {
    case K_MALFORMED_JSON:
      malformed = (int)below(g, 4);
      e.unquoted_key = malformed == 3; /* {user_id:1,...} */
      break; /* the others are broken after writing, below */
    case K_MISSING_REQUIRED:
      e.omit = (int)below(g, 3);
      break;
    case K_WRONG_TYPE:
      e.wrong_type = (int)below(g, 7);
      if (e.wrong_type >= 5 && e.props == 0)
        e.props = 2;
      break;
    case K_BAD_TIMESTAMP:
      e.ts_text = PICK(g, k_bad_ts);
      break;
    case K_ADDITIONAL_PROPERTY:
      e.extra = (int)below(g, KS_ARRAY_SIZE(k_extras));
      break;
    case K_INVALID_UTF8:
      o.poison = PICK(g, k_bad_utf8);
      /* string 0 is event_type, 1 the timestamp, 2 the first in properties
       (every properties shape starts with a string member) */
      o.poison_at = e.props == 2 && chance(g, 600) ? 2 : 0;
      break;
    case K_NOT_AN_OBJECT:
      break; /* written below */
    case K_NULL_REQUIRED:
      e.null_field = (int)below(g, 3);
      break;
    }
  }

  char *kp = key;
  {
    char tmp[24];
    int n = 0;
    uint64_t v = e.user_id;
    do {
      tmp[n++] = (char)('0' + v % 10);
      v /= 10;
    } while (v);
    while (n)
      *kp++ = tmp[--n];
    *kp = 0;
  }

  if (k == K_NOT_AN_OBJECT) {
    switch (below(g, 5)) {
    case 0: /* a valid event, but wrapped in an array */
      PUTL(&o, "[");
      put_event(&o, g, &e);
      PUTL(&o, "]");
      break;
    case 1:
      put_str(&o, k_type_names[e.type]);
      break;
    case 2:
      put_u64(&o, e.user_id);
      break;
    case 3:
      PUTL(&o, "true");
      break;
    default:
      PUTL(&o, "null");
      break;
    }
  } else {
    put_event(&o, g, &e);
  }

  if (k == K_MALFORMED_JSON && !o.err) {
    uint8_t *d = ob->data + start;
    size_t n = ob->len - start; /* ends in '}' */
    switch (malformed) {
    case 0: { /* cut short, never inside a UTF-8 sequence */
      size_t cut = 1 + below(g, (uint32_t)(n - 1));
      while (cut > 1 && (d[cut] & 0xc0) == 0x80)
        cut--;
      ob->len = start + cut;
      break;
    }
    case 1: /* trailing comma */
      ob->len--;
      PUTL(&o, ",}");
      break;
    case 2: /* garbage after the object */
      PUTL(&o, "}");
      break;
    default: /* unquoted key, written so above */
      break;
    }
  }

  if (kind)
    *kind = k >= 0 ? k_kind_names[k] : NULL;
  if (o.err) {
    ob->len = start;
    return o.err;
  }
  return k >= 0 ? 1 : 0;
}
