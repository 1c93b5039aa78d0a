// json_shape.mjs FILE EXAMPLE [--open-maps KEY,...]: FILE's JSON must have
// EXAMPLE's shape: the same keys in every object (order free) and the same
// JSON type for every value, recursively; an array's elements each match
// the example's first element (an empty array matches any). Objects under a
// key named in --open-maps may have any keys whose values are strings (a
// connector config). Prints the first difference and exits 1.
import { readFileSync } from "node:fs";

const [file, example, ...rest] = process.argv.slice(2);
const open = new Set();
for (let i = 0; i < rest.length; i++)
  if (rest[i] === "--open-maps") open.add(...rest[++i].split(","));

const type = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

function diff(got, want, path, key) {
  const tg = type(got), tw = type(want);
  if (tg !== tw) return `${path}: ${tg}, expected ${tw}`;
  if (tw === "array") {
    if (want.length === 0) return null;
    for (let i = 0; i < got.length; i++) {
      const d = diff(got[i], want[0], `${path}[${i}]`, key);
      if (d) return d;
    }
    return null;
  }
  if (tw !== "object") return null;
  if (open.has(key)) {
    for (const [k, v] of Object.entries(got))
      if (typeof v !== "string") return `${path}.${k}: ${type(v)}, expected string`;
    return null;
  }
  const gk = Object.keys(got).sort(), wk = Object.keys(want).sort();
  const missing = wk.filter((k) => !(k in got)), extra = gk.filter((k) => !(k in want));
  if (missing.length || extra.length)
    return `${path || "$"}: missing [${missing}] extra [${extra}]`;
  for (const k of wk) {
    const d = diff(got[k], want[k], `${path}.${k}`, k);
    if (d) return d;
  }
  return null;
}

const got = JSON.parse(readFileSync(file, "utf8"));
const d = diff(got, JSON.parse(example), "", "");
if (d) {
  console.error("shape:", d);
  process.exit(1);
}
