// node --test: prom_check.mjs accepts valid exposition text and refuses
// each kind of malformed scrape it exists to catch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const tool = path.join(path.dirname(fileURLToPath(import.meta.url)), 'prom_check.mjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prom-check-'));
let k = 0;
function runWith(opts, ...scrapes) {
  const files = scrapes.map((s) => {
    const f = path.join(dir, `s${k++}`);
    fs.writeFileSync(f, s);
    return f;
  });
  return spawnSync(process.execPath, [tool, ...opts, ...files], { encoding: 'utf8' });
}
const run = (...scrapes) => runWith([], ...scrapes);

const good = `# HELP a_total Things.
# TYPE a_total counter
a_total{table="t",reason="x\\"y\\\\z\\n"} 5
a_total{table="t",reason="w"} 0
# TYPE g gauge
g -1.5e3
# TYPE h histogram
h_bucket{le="0.1"} 1
h_bucket{le="1"} 3
h_bucket{le="+Inf"} 4
h_sum 2.5
h_count 4
`;

test('valid scrapes pass and report the series', () => {
  const r = run(good, good.replace('a_total{table="t",reason="w"} 0', 'a_total{table="t",reason="w"} 2'));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).series['a_total{table="t",reason="w"}'], 2);
});

test('required families with their labels pass', () => {
  const r = runWith(['--require', 'a_total{reason,table}', '--require', 'g', '--require', 'h'], good);
  assert.equal(r.status, 0, r.stderr);
});

for (const [what, spec] of [
  ['a missing required family', 'nope_total'],
  ['a required family with other labels', 'a_total{table}'],
  ['a required label-less family that has labels', 'a_total'],
  ['a histogram required with a label it lacks', 'h{table}'],
]) {
  test(`refuses ${what}`, () => {
    assert.equal(runWith(['--require', spec], good).status, 1, `${what}: accepted`);
  });
}

for (const [what, text, again] of [
  ['a counter going down', good, good.replace('} 5', '} 4')],
  ['a bad escape', good.replace('\\n"} 5', '\\q"} 5')],
  ['a second TYPE', good + '# TYPE g gauge\n'],
  ['a duplicate series', good + 'g -1.5e3\n'],
  ['non-contiguous samples', good + 'a_total{table="u"} 1\n'],
  ['buckets not cumulative', good.replace('h_bucket{le="1"} 3', 'h_bucket{le="1"} 0')],
  ['+Inf bucket not the count', good.replace('h_count 4', 'h_count 5')],
  ['a bad value', good.replace('g -1.5e3', 'g one')],
  ['a bad metric name', good + '9bad 1\n'],
  ['no final newline', good.trimEnd()],
  ['a negative counter', good.replace('} 5', '} -5')],
  ['buckets out of le order', good.replace('h_bucket{le="1"} 3', 'h_bucket{le="0.1"} 3')],
  ['a histogram bucket going down', good, good.replace('h_bucket{le="0.1"} 1', 'h_bucket{le="0.1"} 0')],
  ['a histogram count going down', good.replace('h_bucket{le="+Inf"} 4\nh_sum 2.5\nh_count 4', 'h_bucket{le="+Inf"} 5\nh_sum 2.5\nh_count 5'), good],
]) {
  test(`refuses ${what}`, () => {
    const r = again ? run(text, again) : run(text);
    assert.equal(r.status, 1, `${what}: accepted`);
  });
}
