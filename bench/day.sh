#!/usr/bin/env bash
# A realistic day, side by side: the series and values of a real
# node_exporter (Debian's prometheus-node-exporter on this machine, scraped
# SNAPSHOTS times a second apart), replayed for INSTANCES instances over
# HOURS at 15s (bench/cmd/rwgen -replay: counters keep rising by the
# captured increments, gauges replay the captured values), remote-written
# into miniprom, Prometheus 3.16 and VictoriaMetrics (1.151 if installed,
# see bench/peers.sh), each alone in turn. A second miniprom with
# GOMAXPROCS=1 gets the same samples, to show how its cold queries scale
# with cores.
#
# Then, per server: memory held after the backfill (as bench/memory.sh
# counts it); cold first loads of dashboard panels (6h at 30s, 24h at 120s,
# each the best of 3 requests whose query text no earlier request had, so
# no results cache answers); the cold day query and a full scan of the day
# (the heaviest query); memory right after it and again 2 minutes later
# (SETTLE seconds). The samples held, counted with count_over_time name by
# name, must be equal everywhere.
#
#   bench/day.sh                       # 20 instances x ~507 series x 24h
#   INSTANCES=4 HOURS=2 SETTLE=10 bench/day.sh
set -euo pipefail
cd "$(dirname "$0")/.."

INSTANCES=${INSTANCES:-20}
HOURS=${HOURS:-24}
SNAPSHOTS=${SNAPSHOTS:-6}
SETTLE=${SETTLE:-120}
NODE_EXPORTER=${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}
. bench/peers.sh
[ -x "$NODE_EXPORTER" ] || { echo "no node exporter at $NODE_EXPORTER (apt-get install prometheus-node-exporter)" >&2; exit 1; }
for port in 29490 29491 29492 29493 29499; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use" >&2; exit 1; fi
done

bench_setup
go build -o "$work/rwgen" ./bench/cmd/rwgen
echo "global: {}" > "$work/prometheus.yml"
began=$(date +%s)

# The snapshots: a real exporter on this machine, a second apart.
"$NODE_EXPORTER" --web.listen-address=127.0.0.1:29499 >"$work/node.log" 2>&1 &
pids+=($!)
until curl -sf -o /dev/null http://127.0.0.1:29499/metrics; do sleep 0.1; done
replay=()
for i in $(seq "$SNAPSHOTS"); do
  curl -sf -o "$work/snap$i.prom" http://127.0.0.1:29499/metrics
  replay+=(-replay "$work/snap$i.prom")
  sleep 1
done
kill "${pids[-1]}"

declare -A base pid memdir diskdir
start_server() { # NAME PORT CMD...
  local name=$1 port=$2; shift 2
  "$@" 2>"$work/$name.log" &
  pids+=($!); pid[$name]=$!
  base[$name]=https://127.0.0.1:$port
  local health=/-/ready; [ "$name" = victoriametrics ] && health=/health
  wait_ready "${base[$name]}$health" "$!"
}
# The full scan reads every sample of the day, more than the default
# --query.max-samples (50M): both Prometheus engines get the same higher one.
mini_flags=(--config.file="$work/prometheus.yml" --web.config.file="$work/web.yml" --web.enable-remote-write-receiver
  --storage.tsdb.retention.time=2d --log.level=warn --query.max-samples=200000000)
shm1=$(mktemp -d /dev/shm/miniprom-bench-XXXXXX)
trap 'bench_cleanup; rm -rf "$shm1"' EXIT
start_server miniprom 29490 "$MINI" "${mini_flags[@]}" --web.listen-address=127.0.0.1:29490 --storage.memory.dir="$shm"
memdir[miniprom]=$shm
start_server miniprom-1cpu 29493 env GOMAXPROCS=1 "$MINI" "${mini_flags[@]}" --web.listen-address=127.0.0.1:29493 --storage.memory.dir="$shm1"
memdir[miniprom-1cpu]=$shm1
start_server prometheus 29491 "$REF" --config.file="$work/prometheus.yml" --web.config.file="$work/web.yml" \
  --web.listen-address=127.0.0.1:29491 --web.enable-remote-write-receiver \
  --storage.tsdb.path="$work/prom-data" --storage.tsdb.retention.time=2d --log.level=warn --query.max-samples=200000000
diskdir[prometheus]=$work/prom-data
names=(miniprom miniprom-1cpu prometheus)
if [ -x "$VM" ]; then
  start_server victoriametrics 29492 "$VM" -httpListenAddr=127.0.0.1:29492 -storageDataPath="$work/vm-data" \
    -retentionPeriod=2d -tls -tlsCertFile="$cert" -tlsKeyFile="$key" -loggerLevel=WARN
  diskdir[victoriametrics]=$work/vm-data
  names+=(victoriametrics)
fi
trap 'bench_cleanup; rm -rf "$shm1"' EXIT

end=$(( $(date +%s) * 1000 ))
declare -A rate
for n in "${names[@]}"; do
  echo "writing ${HOURS}h of $INSTANCES replayed node exporters at 15s to $n ..." >&2
  t0=$(ms)
  end=$("$work/rwgen" -ca "$ca" "${replay[@]}" -instances "$INSTANCES" -duration "${HOURS}h" -interval 15s \
    -end "$end" -url "${base[$n]}/api/v1/write")
  rate[$n]=$(( $(ms) - t0 ))
done
q() { # BASE QUERY: the instant query's answer at the end, as JSON
  curl -sS --cacert "$ca" "$1/api/v1/query" --data-urlencode "query=$2" --data-urlencode "time=$(( end / 1000 ))"
}
value() { python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'; }
# The heaviest query reads every sample of the day: last_over_time keeps
# the metric name, where count_over_time's answers over several names
# would collide.
scan='count(last_over_time({job="node"}['$((HOURS * 2))'h]))'
# samples BASE: every sample held, counted name by name for that reason.
samples() {
  python3 - "$1" "$ca" "$(( end / 1000 ))" "$((HOURS * 2))h" <<'PY'
import json, ssl, sys, urllib.parse, urllib.request
base, ca, t, rng = sys.argv[1:]
ctx = ssl.create_default_context(cafile=ca)
get = lambda path, **q: json.load(urllib.request.urlopen(base + path + "?" + urllib.parse.urlencode(q), context=ctx))
total = 0
for name in get("/api/v1/label/__name__/values")["data"]:
    r = get("/api/v1/query", query='sum(count_over_time(%s{job="node"}[%s]))' % (name, rng), time=t)
    if r["status"] != "success":
        sys.exit("%s: %s" % (name, r))
    total += sum(int(float(s["value"][1])) for s in r["data"]["result"])
print(total)
PY
}
samples=$(samples "${base[prometheus]}")
for n in "${names[@]}"; do # VictoriaMetrics makes fresh samples searchable after a short delay.
  tries=0
  until [ "$(samples "${base[$n]}")" = "$samples" ]; do
    tries=$((tries + 1)); [ $tries -lt 240 ] || { echo "$n never held the $samples samples Prometheus holds" >&2; exit 1; }
    sleep 0.5
  done
done
for n in "${names[@]}"; do rate[$n]=$(( samples * 1000 / rate[$n] )); done

declare -A held_after held_heavy held_later
for n in "${names[@]}"; do held_after[$n]=$(held "${pid[$n]}" "${memdir[$n]:-}"); done

# timed BASE PATH ARGS...: seconds of the best of 3 requests, each with a
# query text no earlier request had (a PromQL comment numbering it).
k=0
best3() { # BASE QUERY [range: START STEP]
  local best=999 t i
  for i in 1 2 3; do
    k=$((k + 1))
    if [ $# -gt 2 ]; then
      t=$(curl -sf -o /dev/null -w '%{time_total}' --cacert "$ca" "$1/api/v1/query_range" \
        --data-urlencode "query=$2
# cold $k" --data-urlencode "start=$3" --data-urlencode "end=$(( end / 1000 ))" --data-urlencode "step=$4")
    else
      t=$(curl -sf -o /dev/null -w '%{time_total}' --cacert "$ca" "$1/api/v1/query" \
        --data-urlencode "query=$2
# cold $k" --data-urlencode "time=$(( end / 1000 ))")
    fi
    best=$(awk -v a="$best" -v b="$t" 'BEGIN{print (b < a) ? b : a}')
  done
  echo "$best"
}
panel='sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))'
declare -A p6 p24 qday qscan
for n in "${names[@]}"; do
  p6[$n]=$(best3 "${base[$n]}" "$panel" $(( end / 1000 - 6 * 3600 )) 30)
  p24[$n]=$(best3 "${base[$n]}" "$panel" $(( end / 1000 - HOURS * 3600 )) 120)
  qday[$n]=$(best3 "${base[$n]}" "sum(rate(node_cpu_seconds_total[${HOURS}h]))")
  qscan[$n]=$(best3 "${base[$n]}" "$scan")
  held_heavy[$n]=$(held "${pid[$n]}" "${memdir[$n]:-}")
done
echo "waiting ${SETTLE}s after the heaviest query ..." >&2
sleep "$SETTLE"
for n in "${names[@]}"; do held_later[$n]=$(held "${pid[$n]}" "${memdir[$n]:-}"); done

series=$(q "${base[prometheus]}" 'count({job="node"})' | value)
printf '\na realistic day: %s series (%s node exporters) x %sh at 15s = %s samples, equal in every server\n\n' \
  "$series" "$INSTANCES" "$HOURS" "$samples"
printf '%-16s %9s %9s %9s %8s %11s %8s %8s %8s %8s\n' server held_MB heavy_MB later_MB disk_MB ingest_s/s 6h_s 24h_s day_s scan_s
for n in "${names[@]}"; do
  d=0; [ -n "${diskdir[$n]:-}" ] && d=$(du -sm "${diskdir[$n]}" | cut -f1)
  printf '%-16s %9s %9s %9s %8s %11s %8s %8s %8s %8s\n' "$n" "${held_after[$n]}" "${held_heavy[$n]}" "${held_later[$n]}" \
    "$d" "${rate[$n]}" "${p6[$n]}" "${p24[$n]}" "${qday[$n]}" "${qscan[$n]}"
done
printf '\nratios miniprom / other (memory: lower is better; times: lower is better; ingest: higher is better)\n'
for n in "${names[@]}"; do
  [ "$n" = miniprom ] && continue
  awk -v n="$n" -v ha="${held_after[miniprom]}" -v hb="${held_after[$n]}" -v la="${held_later[miniprom]}" -v lb="${held_later[$n]}" \
    -v ia="${rate[miniprom]}" -v ib="${rate[$n]}" -v a6="${p6[miniprom]}" -v b6="${p6[$n]}" -v a24="${p24[miniprom]}" -v b24="${p24[$n]}" \
    -v ad="${qday[miniprom]}" -v bd="${qday[$n]}" -v as="${qscan[miniprom]}" -v bs="${qscan[$n]}" \
    'BEGIN{printf "  vs %-14s held %.2fx  later %.2fx  ingest %.2fx  6h %.2fx  24h %.2fx  day %.2fx  scan %.2fx\n", n, ha/hb, la/lb, ia/ib, a6/b6, a24/b24, ad/bd, as/bs}'
done
echo "(bench/day.sh took $(( $(date +%s) - began ))s)"
