// Prints the number of rows of a Delta table's active files (the sum of
// add.stats.numRecords after replaying _delta_log), or 0 if there is no
// table yet. Used by integration tests to wait for the pipeline.
import fs from 'node:fs';
import path from 'node:path';

const dir = path.join(process.argv[2], '_delta_log');
let files = [];
try {
  files = fs.readdirSync(dir).filter((f) => /^\d{20}\.json$/.test(f)).sort();
} catch {
  console.log(0);
  process.exit(0);
}
const active = new Map();
for (const f of files) {
  for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const a = JSON.parse(line);
    if (a.add) active.set(a.add.path, JSON.parse(a.add.stats).numRecords);
    if (a.remove) active.delete(a.remove.path);
  }
}
let n = 0;
for (const v of active.values()) n += v;
console.log(n);
