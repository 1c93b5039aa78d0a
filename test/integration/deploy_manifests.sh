#!/usr/bin/env bash
# deploy/: the Kustomize base and its overlays render (`kubectl kustomize`,
# when kubectl is installed) and every rendered object is checked by
# parsing: per-environment replicas, resources, log level and table config;
# the image pinned (never :latest); startup, readiness and liveness probes;
# the pod's UID/GID equal to the Dockerfile's ksink user; the admin token
# from a Secret; a ServiceAccount ready for IRSA; a PodDisruptionBudget; the
# ServiceMonitor; the PrometheusRule's alerts, each naming only metrics
# ksink exports (promtool checks the plain rules file, which must match,
# and every Grafana panel query as PromQL);
# each overlay's ksink.yaml loads as a ksink config. The Dockerfile and
# .dockerignore are checked by reading (no Docker engine runs here).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
D=$KS_SOURCE_DIR/deploy
mkdir -p "$WORK/render"
if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
  for e in dev staging prod; do
    kubectl kustomize "$D/k8s/overlays/$e" >"$WORK/render/$e.yaml" 2>"$WORK/kustomize-$e.err" ||
      fail "kubectl kustomize overlays/$e: $(cat "$WORK/kustomize-$e.err")"
  done
  log "rendered with $(kubectl version --client 2>/dev/null | grep -i kustomize)"
else
  # the Dockerfile, the alerts and the dashboard are still checked below
  log "no kubectl with kustomize here: the overlays are not rendered or checked"
fi
# the metric families ksink exports: the names http/metrics.c writes
grep -ohE '"(ksink|process)_[a-z0-9_]+"' "$KS_SOURCE_DIR"/http/*.c | tr -d '"' | sort -u >"$WORK/families"

python3 - "$WORK/render" "$D" "$KS_SOURCE_DIR/Dockerfile" "$KS_SOURCE_DIR/.dockerignore" \
  "$WORK/families" <<'PY' || fail "manifests"
import re, sys, yaml
render, deploy, dockerfile, dockerignore, families = sys.argv[1:]
fams = set(open(families).read().split())
bad = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok: bad.append(what)

df = open(dockerfile).read()
uid = re.search(r"ARG KS_UID=(\d+)", df).group(1)
gid = re.search(r"ARG KS_GID=(\d+)", df).group(1)
check(re.search(rf"^USER {uid}:{gid}$", df, re.M) is not None, f"Dockerfile: USER {uid}:{gid} (numeric, the ksink user)")
check(re.search(r"^WORKDIR /var/lib/ksink$", df, re.M) is not None, "Dockerfile: WORKDIR /var/lib/ksink for the runtime stage")
check("deps.sh build" in df and "npm" not in df, "Dockerfile: the build stage installs build dependencies only")
check(not re.search(r"^COPY \. ", df, re.M), "Dockerfile: no COPY of the whole context")
ign = open(dockerignore).read().split()
for x in (".git", "build", "node_modules", "test"):
    check(x in ign, f".dockerignore: {x}")

def docs(env):
    return [d for d in yaml.safe_load_all(open(f"{render}/{env}.yaml")) if d]
want = {"dev": (1, "1", "debug", "10s"), "staging": (2, "2", "info", "30s"), "prod": (3, "4", "warn", "60s")}
import os
rules = yaml.safe_load(open(f"{deploy}/k8s/base/prometheusrule.yaml"))["spec"]["groups"]
for env, (replicas, cpu, level, interval) in want.items():
    if not os.path.exists(f"{render}/{env}.yaml"):
        continue
    objs = docs(env)
    kinds = {}
    for o in objs: kinds.setdefault(o["kind"], []).append(o)
    for k in ("Deployment", "Service", "ServiceAccount", "ConfigMap", "PodDisruptionBudget", "ServiceMonitor", "PrometheusRule"):
        check(k in kinds, f"{env}: has a {k}")
    dep = kinds["Deployment"][0]
    spec = dep["spec"]; pod = spec["template"]["spec"]; c = pod["containers"][0]
    check(spec["replicas"] == replicas, f"{env}: replicas {spec['replicas']}")
    check(c["resources"]["requests"]["cpu"] == cpu == c["resources"]["limits"]["cpu"], f"{env}: {cpu} CPUs, requests == limits")
    image = c["image"]
    check(":" in image.split("/")[-1] and not image.endswith(":latest"), f"{env}: image {image} pinned")
    for p in ("startupProbe", "readinessProbe", "livenessProbe"):
        check(p in c, f"{env}: {p}")
    check(c["readinessProbe"]["httpGet"]["path"] == "/readyz" and c["startupProbe"]["httpGet"]["path"] == "/healthz", f"{env}: probes on /readyz and /healthz")
    sc = pod["securityContext"]
    check(str(sc["runAsUser"]) == uid and str(sc["runAsGroup"]) == gid and str(sc["fsGroup"]) == gid, f"{env}: runAsUser/runAsGroup/fsGroup {uid}/{gid} = the image's user")
    check(pod["serviceAccountName"] == "ksink" and pod.get("automountServiceAccountToken") is False, f"{env}: ServiceAccount ksink, no API token")
    sa = kinds["ServiceAccount"][0]
    check(re.match(r"arn:aws:iam::\d{12}:role/", sa["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn", "")) is not None, f"{env}: ServiceAccount annotated for IRSA")
    tok = [e for e in c["env"] if e["name"] == "KSINK_ADMIN_TOKEN"]
    check(len(tok) == 1 and "secretKeyRef" in tok[0]["valueFrom"] and not tok[0]["valueFrom"]["secretKeyRef"].get("optional"), f"{env}: admin token from a Secret (required)")
    secret = tok[0]["valueFrom"]["secretKeyRef"]["name"]
    if env == "dev":
        check(any(s["metadata"]["name"] == secret for s in kinds.get("Secret", [])), f"dev: generates {secret}")
    else:
        check(not any(s["metadata"]["name"].startswith("ksink-admin") for s in kinds.get("Secret", [])), f"{env}: ships no admin token")
    cm = kinds["ConfigMap"][0]
    check(pod["volumes"][0]["configMap"]["name"] == cm["metadata"]["name"], f"{env}: mounts the generated ConfigMap {cm['metadata']['name']}")
    conf = yaml.safe_load(cm["data"]["ksink.yaml"])
    check(conf["log"]["level"] == level and conf["log"]["format"] == "json", f"{env}: log level {level}, JSON")
    check(conf["reactor"]["workers"] == int(cpu), f"{env}: one worker per CPU")
    check(conf["tables"][0]["flush"]["interval"] == interval, f"{env}: flush interval {interval}")
    check("user-events.json" in cm["data"], f"{env}: the schema in the ConfigMap")
    open(f"{render}/{env}.ksink.yaml", "w").write(cm["data"]["ksink.yaml"].replace("/etc/ksink/schemas/", render + "/schemas/"))
    check(kinds["PodDisruptionBudget"][0]["spec"].get("maxUnavailable") == 1, f"{env}: PDB maxUnavailable 1")
    check(all(o["metadata"].get("namespace") == f"ksink-{env}" for o in objs), f"{env}: everything in namespace ksink-{env}")
    check(rules == kinds["PrometheusRule"][0]["spec"]["groups"], f"{env}: the base's alert rules")
    os.makedirs(render + "/schemas", exist_ok=True)
    open(render + "/schemas/user-events.json", "w").write(cm["data"]["user-events.json"])

alerts = {r["alert"]: r for g in rules for r in g["rules"]}
for a in ("KsinkConsumerLagGrowing", "KsinkNoCommit", "KsinkRejectRateSpike", "KsinkCircuitBreakerOpen", "KsinkNotReady", "KsinkDeadLettersFailing"):
    check(a in alerts, f"alert {a}")
for name, r in alerts.items():
    used = set(re.findall(r"\b((?:ksink|process)_[a-z0-9_]+)", r["expr"]))
    unknown = sorted(u for u in used if re.sub(r"_(bucket|sum|count)$", "", u) not in fams)
    check(not unknown, f"alert {name}: metrics {sorted(used)} exported" + (f"; unknown {unknown}" if unknown else ""))
    check(not re.search(r"\b(namespace|pod)\b", r["expr"]), f"alert {name}: no Kubernetes-only label")
plain = yaml.safe_load(open(f"{deploy}/prometheus/ksink-alerts.yaml"))
check(plain["groups"] == rules, "deploy/prometheus/ksink-alerts.yaml = the PrometheusRule's groups")
sys.exit(1 if bad else 0)
PY
if command -v promtool >/dev/null; then
  promtool check rules "$D/prometheus/ksink-alerts.yaml" >"$WORK/promtool.out" 2>&1 ||
    fail "promtool: $(cat "$WORK/promtool.out")"
  log "promtool: $(grep -o 'SUCCESS.*' "$WORK/promtool.out")"
  # the Grafana panels' queries parse as PromQL: each becomes a recording
  # rule ($job and $instance as "All" would send them)
  python3 - "$D/grafana/ksink.json" "$WORK/dashboard-rules.yaml" <<'PY' || fail "dashboard queries"
import json, sys, yaml
d = json.load(open(sys.argv[1]))
rules = []
for i, p in enumerate(d["panels"]):
    for t in p.get("targets", []):
        e = t["expr"].replace("$job", ".*").replace("$instance", ".*")
        rules.append({"record": f"dashboard:panel{i}:{t['refId'].lower()}", "expr": e})
yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(sys.argv[2], "w"))
print(f"{len(rules)} dashboard queries")
PY
  promtool check rules "$WORK/dashboard-rules.yaml" >"$WORK/promtool2.out" 2>&1 ||
    fail "a dashboard query is not valid PromQL: $(cat "$WORK/promtool2.out")"
  log "promtool: dashboard queries: $(grep -o 'SUCCESS.*' "$WORK/promtool2.out")"
else
  log "no promtool here (Debian package prometheus): the rules were checked by parsing only"
fi
# each overlay's config loads (Kafka and S3 are not reachable here)
for e in dev staging prod; do
  [ -f "$WORK/render/$e.ksink.yaml" ] || continue
  out=$(cd "$WORK" && KSINK_ADMIN_TOKEN=t "$KSINK" check -c "$WORK/render/$e.ksink.yaml" --timeout 1s 2>&1) || true
  grep -qE '^ok +config:' <<<"$out" && grep -qE '^ok +schema user_events' <<<"$out" ||
    fail "overlays/$e ksink.yaml: $(echo "$out" | head -3)"
done
# the image's config (the Dockerfile's RUN sed over conf/ksink.yaml):
# 0.0.0.0 with the admin token from the environment, no default, so the
# image refuses to start without the secret and starts with it
mkdir -p "$WORK/image/etc/ksink"
cp "$KS_SOURCE_DIR/conf/ksink.yaml" "$WORK/image/etc/ksink/ksink.yaml"
cp -r "$KS_SOURCE_DIR/conf/schemas" "$WORK/image/etc/ksink/schemas"
step=$(awk '/^RUN sed .*\\$/ {on=1} on {print} on && !/\\$/ {exit}' "$KS_SOURCE_DIR/Dockerfile" |
  sed -e 's#^RUN ##' -e "s#/etc/ksink/#$WORK/image/etc/ksink/#g")
[ -n "$step" ] || fail "Dockerfile: no RUN sed over /etc/ksink/ksink.yaml"
bash -c "$step" || fail "the Dockerfile's config step failed: $step"
IMG=$WORK/image/etc/ksink/ksink.yaml
grep -q '^  listen: 0.0.0.0:8083' "$IMG" || fail "image config: not listening on 0.0.0.0:8083"
grep -q '^  admin_token: ${KSINK_ADMIN_TOKEN}' "$IMG" || fail "image config: admin_token not from KSINK_ADMIN_TOKEN"
grep -q 'admin_token: ${KSINK_ADMIN_TOKEN}' "$D/k8s/base/ksink.yaml" || fail "k8s base: admin_token not required from the Secret"
rc=0
out=$(cd "$WORK/image/etc/ksink" && env -u KSINK_ADMIN_TOKEN "$KSINK" check -c "$IMG" --timeout 1s 2>&1) || rc=$?
[ "$rc" = 2 ] && grep -q KSINK_ADMIN_TOKEN <<<"$out" ||
  fail "image config without KSINK_ADMIN_TOKEN: exit $rc, want 2 naming it: $(echo "$out" | head -3)"
out=$(cd "$WORK/image/etc/ksink" && KSINK_ADMIN_TOKEN=t "$KSINK" check -c "$IMG" --timeout 1s 2>&1) || true
grep -qE '^ok +config:' <<<"$out" || fail "image config with KSINK_ADMIN_TOKEN: $(echo "$out" | head -3)"
log "image config: refused without KSINK_ADMIN_TOKEN, loads with it"
log "deploy_manifests: passed"
