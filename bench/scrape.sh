#!/usr/bin/env bash
# Memory held while scraping many active series: miniprom (in memory),
# Prometheus 3.16 and VictoriaMetrics scrape the same target
# (bench/cmd/bigtarget, 100,000 series) every 5s, side by side, for
# DURATION seconds; then the memory each holds is printed as in
# bench/memory.sh (RssAnon + RssFile + files on RAM-backed filesystems).
#
#   bench/scrape.sh                       # 100,000 series, 5 minutes
#   SERIES=20000 DURATION=60 bench/scrape.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=${SERIES:-100000}
DURATION=${DURATION:-300}
. bench/peers.sh
[ -x "$VM" ] || { echo "no VictoriaMetrics at $VM" >&2; exit 1; }

work=$(mktemp -d)
shm=$(mktemp -d /dev/shm/miniprom-bench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work" "$shm"; }
trap cleanup EXIT
go build -o "$work/bigtarget" ./bench/cmd/bigtarget
"$work/bigtarget" -listen 127.0.0.1:29399 -series "$SERIES" &
pids+=($!)
cat > "$work/prometheus.yml" <<YML
global: {scrape_interval: 5s, scrape_timeout: 5s}
scrape_configs:
  - job_name: big
    static_configs: [{targets: ["127.0.0.1:29399"]}]
YML

series() { # URL: series held of job big
  curl -sf "$1/api/v1/query" --data-urlencode 'query=count(big_target_value)' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'
}

"$MINI" --config.file="$work/prometheus.yml" --web.listen-address=127.0.0.1:29390 \
  --storage.memory.dir="$shm" --log.level=warn 2>"$work/mini.log" &
mini=$!; pids+=($mini)
"$REF" --config.file="$work/prometheus.yml" --web.listen-address=127.0.0.1:29391 \
  --storage.tsdb.path="$work/prom-data" --log.level=warn 2>"$work/ref.log" &
ref=$!; pids+=($ref)
"$VM" -httpListenAddr=127.0.0.1:29392 -storageDataPath="$work/vm-data" \
  -promscrape.config="$work/prometheus.yml" -loggerLevel=WARN 2>"$work/vm.log" &
vm=$!; pids+=($vm)

echo "scraping $SERIES series every 5s for ${DURATION}s ..." >&2
end=$(( $(date +%s) + DURATION ))
while [ "$(date +%s)" -lt "$end" ]; do
  for p in $mini $ref $vm; do kill -0 "$p" 2>/dev/null || { echo "server $p died" >&2; tail -5 "$work"/*.log >&2; exit 1; }; done
  sleep 5
done

printf '\n%s active series scraped every 5s for %ss\n\n' "$SERIES" "$DURATION"
printf '%-16s %9s %9s %10s\n' server held_MB series disk_MB
m=$(held $mini "$shm") r=$(held $ref "") v=$(held $vm "")
printf '%-16s %9s %9s %10s\n' miniprom "$m" "$(series http://127.0.0.1:29390)" 0
printf '%-16s %9s %9s %10s\n' prometheus "$r" "$(series http://127.0.0.1:29391)" "$(du -sm "$work/prom-data" | cut -f1)"
printf '%-16s %9s %9s %10s\n' victoriametrics "$v" "$(series http://127.0.0.1:29392)" "$(du -sm "$work/vm-data" | cut -f1)"
awk -v m="$m" -v r="$r" -v v="$v" 'BEGIN{printf "\nratios miniprom / other (memory held, lower is better): vs prometheus %.2fx, vs victoriametrics %.2fx\n", m/r, m/v}'
