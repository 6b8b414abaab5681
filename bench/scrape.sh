#!/usr/bin/env bash
# Memory held while scraping many active series: miniprom (in memory),
# Prometheus 3.16 and VictoriaMetrics scrape the same target
# (bench/cmd/bigtarget, 100,000 series) every 5s, side by side, for
# DURATION seconds; then the memory each holds is printed as in
# bench/memory.sh (RssAnon + RssFile + files on RAM-backed filesystems).
# Then queries are timed with wrk (-t2 -c8, WRK_SECONDS each, one server
# at a time while all keep scraping), all over TLS with the same
# certificate: label values of pod (1,000 values) without and with
# match[], the instant query sum by (zone) (rate(big_target_value[1m])),
# and the same as a range query over the last hour at a 60s step, each
# request a query text and window never asked before (bench/coldrange.lua), so that
# miniprom's results cache cannot answer it: every query is cold. Each
# query over all the series is timed again over 100 of them (pod="p7"),
# where what a server adds around the engine weighs more.
#
#   bench/scrape.sh                       # 100,000 series, 5 minutes
#   SERIES=20000 DURATION=60 WRK_SECONDS=5 bench/scrape.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-100000}
DURATION=${DURATION:-300}
WRK_SECONDS=${WRK_SECONDS:-10}
. bench/peers.sh
[ -x "$VM" ] || { echo "no VictoriaMetrics at $VM" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }

# Another run's servers on these ports would be measured instead.
for port in 29390 29391 29392 29399; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use" >&2; exit 1; fi
done

bench_setup
go build -o "$work/bigtarget" ./bench/cmd/bigtarget
# VictoriaMetrics serves TLS too when its build has the flags (Debian's does).
vm_tls=() vm_scheme=http
if "$VM" -help 2>&1 | grep -q -- -tlsCertFile; then
  vm_tls=(-tls -tlsCertFile="$cert" -tlsKeyFile="$key") vm_scheme=https
fi
mini_url=https://127.0.0.1:29390 ref_url=https://127.0.0.1:29391 vm_url=$vm_scheme://127.0.0.1:29392
"$work/bigtarget" -listen 127.0.0.1:29399 -series "$SERIES" &
pids+=($!)
cat > "$work/prometheus.yml" <<YML
global: {scrape_interval: 5s, scrape_timeout: 5s}
scrape_configs:
  - job_name: big
    static_configs: [{targets: ["127.0.0.1:29399"]}]
YML

series() { # URL: series held of job big
  curl -sf --cacert "$ca" "$1/api/v1/query" --data-urlencode 'query=count(big_target_value)' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'
}

"$MINI" --config.file="$work/prometheus.yml" --web.config.file="$work/web.yml" \
  --web.listen-address=127.0.0.1:29390 --storage.memory.dir="$shm" --log.level=warn 2>"$work/mini.log" &
mini=$!; pids+=($mini)
"$REF" --config.file="$work/prometheus.yml" --web.config.file="$work/web.yml" --web.listen-address=127.0.0.1:29391 \
  --storage.tsdb.path="$work/prom-data" --log.level=warn 2>"$work/ref.log" &
ref=$!; pids+=($ref)
"$VM" -httpListenAddr=127.0.0.1:29392 "${vm_tls[@]}" -storageDataPath="$work/vm-data" \
  -promscrape.config="$work/prometheus.yml" -loggerLevel=WARN 2>"$work/vm.log" &
vm=$!; pids+=($vm)

# cpu PID: seconds of CPU the process has used (user + system).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
echo "scraping $SERIES series every 5s for ${DURATION}s ..." >&2
# The first scrapes create the series: CPU is counted from the second
# minute on, when every server scrapes in its steady state.
until [ "$(series $mini_url)" = "$SERIES" ] && [ "$(series $ref_url)" = "$SERIES" ]; do sleep 1; done
sleep 30
t0=$(date +%s.%N) c0_mini=$(cpu $mini) c0_ref=$(cpu $ref) c0_vm=$(cpu $vm)
end=$(( $(date +%s) + DURATION ))
while [ "$(date +%s)" -lt "$end" ]; do
  for p in $mini $ref $vm; do kill -0 "$p" 2>/dev/null || { echo "server $p died" >&2; tail -5 "$work"/*.log >&2; exit 1; }; done
  sleep 5
done

t1=$(date +%s.%N)
pct() { awk -v a="$1" -v b="$2" -v t0="$t0" -v t1="$t1" 'BEGIN{printf "%.1f", (b - a) * 100 / (t1 - t0)}'; }
cpu_mini=$(pct "$c0_mini" "$(cpu $mini)") cpu_ref=$(pct "$c0_ref" "$(cpu $ref)") cpu_vm=$(pct "$c0_vm" "$(cpu $vm)")
printf '\n%s active series scraped every 5s for %ss\n\n' "$SERIES" "$DURATION"
printf '%-16s %9s %9s %10s %8s\n' server held_MB series disk_MB cpu_%
m=$(held $mini "$shm") r=$(held $ref "") v=$(held $vm "")
printf '%-16s %9s %9s %10s %8s\n' miniprom "$m" "$(series $mini_url)" 0 "$cpu_mini"
printf '%-16s %9s %9s %10s %8s\n' prometheus "$r" "$(series $ref_url)" "$(du -sm "$work/prom-data" | cut -f1)" "$cpu_ref"
printf '%-16s %9s %9s %10s %8s\n' victoriametrics "$v" "$(series $vm_url)" "$(du -sm "$work/vm-data" | cut -f1)" "$cpu_vm"
awk -v m="$m" -v r="$r" -v v="$v" -v cm="$cpu_mini" -v cr="$cpu_ref" -v cv="$cpu_vm" 'BEGIN{printf "\nratios miniprom / other (lower is better): memory held vs prometheus %.2fx, vs victoriametrics %.2fx; scrape CPU vs prometheus %.2fx, vs victoriametrics %.2fx\n", m/r, m/v, cm/cr, cm/cv}'

# Queries, one server at a time.
q='sum by (zone) (rate(big_target_value[1m]))'
q100='sum by (zone) (rate(big_target_value{pod="p7"}[1m]))'
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
labels=/api/v1/label/pod/values
labels_match="$labels?match%5B%5D=$(enc 'big_target_value{zone="z1"}')"
instant="/api/v1/query?query=$(enc "$q")"
instant100="/api/v1/query?query=$(enc "$q100")"
# settle waits until no server is still evaluating queries: when wrk stops,
# queries it sent keep running (a second or more each over 100k series),
# and would take CPU from the next server's measurement.
settle() {
  local n
  for _ in $(seq 600); do
    n=$( { curl -sf --cacert "$ca" "$mini_url/metrics" || true; curl -sf --cacert "$ca" "$ref_url/metrics" || true; curl -sf --cacert "$ca" "$vm_url/metrics" || true; } |
      awk '/^(prometheus_engine_queries|vm_concurrent_select_current) / {n += $2} END {print n + 0}')
    [ "$n" = 0 ] && return
    sleep 0.1
  done
}
rps() { # URL [wrk options]: requests/s, or "errors" if any answer was not 2xx
  local out
  settle
  # A query over 100k series takes about half a second: with 8 at a time,
  # wrk's default 2s timeout would count answers still coming as errors.
  out=$(wrk -t2 -c8 -d"${WRK_SECONDS}s" --timeout 60s "$@" 2>&1)
  if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then echo errors; else awk '/Requests\/sec/ {print $2}' <<<"$out"; fi
}
cold_range() { rps "$1/" -s bench/coldrange.lua -- "$(enc "$2")" 60 3600; } # URL QUERY
# The same one request at a time: a dashboard's first load on an otherwise
# idle server, where miniprom shards the query over the idle cores. Each
# takes seconds: wrk runs 4 times as long to count more than a few.
cold_range1() { rps "$1/" -t1 -c1 -d"$((WRK_SECONDS * 4))s" -s bench/coldrange.lua -- "$(enc "$2")" 60 3600; } # URL QUERY
cache_served() { # range queries miniprom's results cache answered, wholly or in part
  curl -sf --cacert "$ca" "$mini_url/metrics" |
    awk '/^miniprom_query_cache_range_queries_total\{result="(hit|partial)"\}/ {n += $2} END {print n + 0}'
}
# The answers compared are the label values: every server scraped the
# same pods (the sample values differ, each server scraping at its own
# moments).
for u in "$ref_url" "$vm_url"; do
  for p in "$labels" "$labels_match"; do
    [ "$(curl -sf --cacert "$ca" "$mini_url$p")" = "$(curl -sf --cacert "$ca" "$u$p")" ] ||
      echo "warning: $u$p answers differently from miniprom" >&2
  done
done

printf '\nqueries at %s active series: wrk -t2 -c8 %ss each, one server at a time, requests/s\n' "$SERIES" "$WRK_SECONDS"
[ "$vm_scheme" = https ] || echo "(VictoriaMetrics over plain HTTP: its build has no -tlsCertFile; the others over TLS)"
printf '%-34s %10s %10s %10s %10s\n' query miniprom prometheus victoria "mini/prom"
row() { # name miniprom-rps prometheus-rps vm-rps
  printf '%-34s %10s %10s %10s %10s\n' "$1" "$2" "$3" "$4" \
    "$(awk -v a="$2" -v b="$3" 'BEGIN { if (b + 0 == 0 || a + 0 == 0) print "-"; else printf "%.2fx", a / b }')"
}
row "label values pod" "$(rps "$mini_url$labels")" "$(rps "$ref_url$labels")" "$(rps "$vm_url$labels")"
row "label values pod, match[] zone" "$(rps "$mini_url$labels_match")" "$(rps "$ref_url$labels_match")" "$(rps "$vm_url$labels_match")"
row "instant sum by (zone) (rate[1m])" "$(rps "$mini_url$instant")" "$(rps "$ref_url$instant")" "$(rps "$vm_url$instant")"
row "  the same over 100 series" "$(rps "$mini_url$instant100")" "$(rps "$ref_url$instant100")" "$(rps "$vm_url$instant100")"
# The hour holds more samples every second while the servers scrape on, so
# a server measured later reads more: Prometheus and miniprom are measured
# in the order Prometheus, miniprom, miniprom, Prometheus, and each row is
# the mean of a server's two runs, read at the same mean age of the data.
mean() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "errors" || b == "errors") print "errors"; else printf "%.2f", (a + b) / 2 }'; }
r=$(cold_range "$ref_url" "$q") r100=$(cold_range "$ref_url" "$q100")
before=$(cache_served)
m=$(cold_range "$mini_url" "$q") m100=$(cold_range "$mini_url" "$q100")
m100=$(mean "$m100" "$(cold_range "$mini_url" "$q100")") m=$(mean "$m" "$(cold_range "$mini_url" "$q")")
served=$(( $(cache_served) - before ))
r100=$(mean "$r100" "$(cold_range "$ref_url" "$q100")") r=$(mean "$r" "$(cold_range "$ref_url" "$q")")
row "range 1h/60s, cold" "$m" "$r" "$(cold_range "$vm_url" "$q")"
row "  the same over 100 series" "$m100" "$r100" "$(cold_range "$vm_url" "$q100")"
r1=$(cold_range1 "$ref_url" "$q")
before=$(cache_served)
m1=$(cold_range1 "$mini_url" "$q")
m1=$(mean "$m1" "$(cold_range1 "$mini_url" "$q")")
served=$(( served + $(cache_served) - before ))
r1=$(mean "$r1" "$(cold_range1 "$ref_url" "$q")")
row "range 1h/60s, cold, one at a time" "$m1" "$r1" "$(cold_range1 "$vm_url" "$q")"
m=$(held $mini "$shm") r=$(held $ref "") v=$(held $vm "")
sleep "${SETTLE:-120}"
printf '\nmemory held right after the queries, and %ss later (MB): miniprom %s, %s; prometheus %s, %s; victoriametrics %s, %s\n' \
  "${SETTLE:-120}" "$m" "$(held $mini "$shm")" "$r" "$(held $ref "")" "$v" "$(held $vm "")"
echo "(the range queries: window ends at now, a new query text (a comment) and start phase each request; miniprom's results cache served $served of them and must serve none; VictoriaMetrics aligns windows to the step and may answer from its rollup cache)"
