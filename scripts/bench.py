#!/usr/bin/env python3
"""ksink's published benchmark (scripts/bench.sh runs this).

1. The stage chain in memory (build/bench/bench_chain): a bare yajl parse
   of the demo corpus and the whole chain (parse + validate + shred +
   encode + snappy) with the seed schema and the nested one, same run.
2. End to end: a broker in its own process (test/ks_mock_broker, 32
   partitions, lz4) holding N demo events, and `ksink run` as a separate
   process writing a local Delta table, with 1 and 2 workers and
   reactor.memory_budget 64MiB and 1GiB. Each run is timed from its first
   consumed record to its last (ksink_records_consumed_total, scraped every
   50 ms), with the process's CPU time over the same span (/proc/PID/stat)
   and its peak RSS (VmHWM) at the end.

Prints one table (records/s, MB/s, CPU us/record, records/s per core of
CPU, peak RSS, ratio to the bare parse) with the machine, the record size
and the schema width, writes it as Markdown and CSV into --out, and plots
throughput and peak RSS against workers and budget into a PNG (gnuplot).
Standard library only.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)

SEED_SCHEMA = {
    "type": "object",
    "properties": {
        "user_id": {"type": "integer"},
        "event_type": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "properties": {"type": "object"},
    },
    "required": ["user_id", "event_type", "timestamp"],
    "additionalProperties": False,
}
TICKS = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine():
    model, cores = "unknown", os.cpu_count()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model, cores


def run_chain(build, events, rounds):
    out = subprocess.run(
        [os.path.join(build, "bench", "bench_chain"), "--events", str(events),
         "--rounds", str(rounds), "--codec", "snappy", "--schema", "seed,nested"],
        capture_output=True, text=True, check=True).stdout
    res = {}
    for line in out.splitlines():
        m = re.match(r"corpus: (\d+) demo events, ([\d.]+) MB \((\d+) bytes/event\)", line)
        if m:
            res["bytes_per_record"] = int(m.group(3))
        m = re.match(r"bare yajl parse\s+(\d+) records/s\s+([\d.]+) MB/s", line)
        if m:
            res["bare"] = (float(m.group(1)), float(m.group(2)))
        m = re.match(r"chain (seed|nested) \(snappy\)\s+(\d+) records/s\s+([\d.]+) MB/s\s+ratio chain/bare ([\d.]+)", line)
        if m:
            res[m.group(1)] = (float(m.group(2)), float(m.group(3)), float(m.group(4)))
    return res, out


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def proc_hwm_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def consumed(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    n = 0
    for line in text.splitlines():
        if line.startswith("ksink_records_consumed_total"):
            n += int(float(line.rsplit(" ", 1)[1]))
    return n


def http_port(errfile, proc, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("ksink exited: " + open(errfile).read()[-2000:])
        m = re.search(r"http: serving [^\"]*\(port (\d+)\)", open(errfile).read())
        if m:
            return int(m.group(1))
        time.sleep(0.05)
    raise RuntimeError("ksink did not report its http port")


def run_e2e(build, work, bootstrap, schema_path, n, workers, budget, no, kafka=()):
    lake = os.path.join(work, f"lake-{no}")
    cfg = os.path.join(work, f"ksink-{no}.yaml")
    with open(cfg, "w") as f:
        f.write(f"""app_id: bench
kafka:
  bootstrap.servers: "{bootstrap}"
  group.id: bench-{no}
{"".join(f'  {k}: "{v}"' + chr(10) for k, v in kafka)}reactor: {{ workers: {workers}, memory_budget: {budget} }}
storage:
  url: file://{lake}
tables:
  - name: user_events
    topics: [user-events]
    schema: {schema_path}
    compression: snappy
    flush: {{ records: 1000000, bytes: 128MiB, interval: 30s }}
    errors: {{ tolerance: all }}
http: {{ listen: "127.0.0.1:0" }}
log: {{ level: info, format: json }}
""")
    errfile = os.path.join(work, f"ksink-{no}.err")
    with open(errfile, "w") as err:
        proc = subprocess.Popen([os.path.join(build, "ksink"), "run", "-c", cfg],
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        port = http_port(errfile, proc)
        first = last = None
        deadline = time.time() + 600
        while time.time() < deadline:
            c = consumed(port)
            now = time.time()
            if c is not None and c > 0 and first is None:
                first = (now, c, proc_cpu_s(proc.pid))
            if c is not None and c >= n:
                last = (now, c, proc_cpu_s(proc.pid))
                break
            if proc.poll() is not None:
                raise RuntimeError("ksink exited: " + open(errfile).read()[-2000:])
            time.sleep(0.05)
        if last is None:
            raise RuntimeError(f"only {c} of {n} records consumed")
        hwm = proc_hwm_mib(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        hwm = max(hwm, 0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    shutil.rmtree(lake, ignore_errors=True)
    secs = last[0] - first[0]
    recs = last[1] - first[1]
    cpu = last[2] - first[2]
    return {"workers": workers, "budget": budget, "records": recs, "secs": secs,
            "cpu_s": cpu, "rss_mib": hwm}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--events", type=int, default=1000000, help="end-to-end records")
    ap.add_argument("--chain-events", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=1, help="end-to-end runs per setting (best kept)")
    ap.add_argument("--out", default=None, help="results dir (default BUILD/bench-results)")
    ap.add_argument("--png", default=None, help="plot (default OUT/bench.png)")
    ap.add_argument("-X", dest="kafka", action="append", default=[],
                    help="kafka.key=value for ksink (repeatable)")
    ap.add_argument("--only", default=None, help="end-to-end settings, e.g. 1:64MiB,2:1GiB")
    a = ap.parse_args()
    out_dir = a.out or os.path.join(a.build, "bench-results")
    os.makedirs(out_dir, exist_ok=True)
    png = a.png or os.path.join(out_dir, "bench.png")
    model, cores = machine()

    log(f"chain: {a.chain_events} events, best of 3")
    chain, chain_text = run_chain(a.build, a.chain_events, 3)
    bare_rps = chain["bare"][0]

    work = tempfile.mkdtemp(prefix="ksink-bench.")
    broker = None
    rows = []
    try:
        port_file = os.path.join(work, "bootstrap")
        broker = subprocess.Popen(
            [os.path.join(a.build, "test", "ks_mock_broker"), "--topic", "user-events:32",
             "--port-file", port_file], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
                break
            time.sleep(0.05)
        bootstrap = open(port_file).read().split("\n")[0]
        log(f"broker at {bootstrap}: producing {a.events} demo events (lz4)")
        subprocess.run(
            [os.path.join(a.build, "test", "ks_produce"), "--bootstrap", bootstrap,
             "--topic", "user-events", "--count", str(a.events), "-X",
             "compression.codec=lz4", "-X", "linger.ms=50"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        schema_path = os.path.join(work, "seed.json")
        with open(schema_path, "w") as f:
            json.dump(SEED_SCHEMA, f)
        no = 0
        settings = [(w, b) for w in (1, 2) for b in ("64MiB", "1GiB")]
        if a.only:
            settings = [(int(x.split(":")[0]), x.split(":")[1]) for x in a.only.split(",")]
        kafka = [tuple(x.split("=", 1)) for x in a.kafka]
        best = {}
        for r in range(a.rounds):
            for w, b in settings:
                no += 1
                log(f"end to end: {w} worker(s), memory_budget {b} (round {r + 1})")
                res = run_e2e(a.build, work, bootstrap, schema_path, a.events, w, b, no, kafka)
                key = (w, b)
                rate = res["records"] / res["secs"]
                if key not in best or rate > best[key]["records"] / best[key]["secs"]:
                    best[key] = res
        rows = [best[k] for k in settings]
    finally:
        if broker is not None:
            broker.terminate()
            try:
                broker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                broker.kill()
        if os.environ.get("KS_BENCH_KEEP") == "1":
            log(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    bpr = chain["bytes_per_record"]
    width = len(SEED_SCHEMA["properties"])
    head = (f"Machine: {model}, {cores} cores (shared). Records: demo events, "
            f"{bpr} bytes of JSON each on average; seed schema, {width} "
            f"top-level fields -> {width} data columns + 4 _kafka_* columns; "
            f"snappy Parquet, local Delta table.")
    lines = ["| run | records/s | MB/s | CPU us/record | records/s per core | peak RSS | vs bare parse |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    csv = ["run,workers,budget,records_per_s,mb_per_s,cpu_us_per_record,records_per_core_s,peak_rss_mib,ratio_bare"]
    mb = lambda rps: rps * bpr / 1e6
    lines.append(f"| bare yajl parse (in memory) | {bare_rps:,.0f} | {chain['bare'][1]:.1f} | "
                 f"{1e6 / bare_rps:.2f} | {bare_rps:,.0f} | - | 1.00 |")
    for s in ("seed", "nested"):
        rps, mbs, ratio = chain[s]
        lines.append(f"| chain, {s} schema (in memory) | {rps:,.0f} | {mbs:.1f} | "
                     f"{1e6 / rps:.2f} | {rps:,.0f} | - | {ratio:.2f} |")
        csv.append(f"chain-{s},1,-,{rps:.0f},{mbs:.1f},{1e6 / rps:.3f},{rps:.0f},,{ratio:.3f}")
    for r in rows:
        rps = r["records"] / r["secs"]
        us = r["cpu_s"] * 1e6 / r["records"]
        per_core = 1e6 / us
        label = f"end to end, {r['workers']} worker{'s' if r['workers'] > 1 else ''}, budget {r['budget']}"
        lines.append(f"| {label} | {rps:,.0f} | {mb(rps):.1f} | {us:.2f} | {per_core:,.0f} | "
                     f"{r['rss_mib']:.0f} MiB | {rps / bare_rps:.2f} |")
        csv.append(f"e2e,{r['workers']},{r['budget']},{rps:.0f},{mb(rps):.1f},{us:.3f},"
                   f"{per_core:.0f},{r['rss_mib']:.1f},{rps / bare_rps:.3f}")
    table = head + "\n\n" + "\n".join(lines) + "\n"
    print(table)
    with open(os.path.join(out_dir, "bench.md"), "w") as f:
        f.write(table)
    with open(os.path.join(out_dir, "bench.csv"), "w") as f:
        f.write("\n".join(csv) + "\n")
    with open(os.path.join(out_dir, "bench_chain.txt"), "w") as f:
        f.write(chain_text)
    plot(rows, bare_rps, model, cores, png, out_dir)


def plot(rows, bare_rps, model, cores, png, out_dir):
    if shutil.which("gnuplot") is None:
        log("gnuplot not installed: no plot (apt-get install gnuplot-nox)")
        return
    data = os.path.join(out_dir, "bench_e2e.dat")
    with open(data, "w") as f:
        for i, r in enumerate(rows):
            rps = r["records"] / r["secs"]
            f.write(f"{i} \"{r['workers']}w\\n{r['budget']}\" {rps / 1e3:.1f} {r['rss_mib']:.1f}\n")
    script = f"""
set terminal pngcairo size 900,500 font "DejaVu Sans,10"
set bmargin 4
set output "{png}"
set title "ksink end to end (Kafka -> Delta, seed schema): {model}, {cores} cores"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel "thousand records/s"
set y2label "peak RSS (MiB)"
set ytics nomirror
set y2tics
set yrange [0:{max([bare_rps] + [r["records"] / r["secs"] for r in rows]) / 1e3 * 1.2:.0f}]
set y2range [0:*]
set key top left
set xtics ("1 worker\\n64MiB" 0, "1 worker\\n1GiB" 1, "2 workers\\n64MiB" 2, "2 workers\\n1GiB" 3)
set arrow from -0.5,{bare_rps / 1e3:.1f} to 3.5,{bare_rps / 1e3:.1f} nohead dt 2 lc rgb "gray40"
set label "bare yajl parse, one core" at -0.45,{bare_rps / 1e3 * 1.03:.1f} tc rgb "gray40"
plot "{data}" using 3 title "records/s (thousands)" lc rgb "#3070b0" axes x1y1, \\
     "" using 4 title "peak RSS (MiB)" lc rgb "#d08030" axes x1y2
"""
    res = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if res.returncode != 0:
        log("gnuplot failed: " + res.stderr)
    else:
        log(f"plot: {png}")


if __name__ == "__main__":
    main()
