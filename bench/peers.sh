# Sourced by the side-by-side benchmarks: the three servers' binaries, and
# how memory held is counted.
#
# MINI is $MINIPROM_BIN, else bin/miniprom (built if missing). REF, the
# reference Prometheus 3.16, is $MINIPROM_REF_PROMETHEUS, else
# ~/.cache/miniprom/ref-v0.316.0/prometheus (what .ci/run builds), else
# /tmp/ref/prometheus. VM is $MINIPROM_VICTORIAMETRICS, else
# VictoriaMetrics 1.151 in ~/.cache/miniprom/vm-v1.151.0 (installed there
# from the Go module proxy on first use, about 30 s), else Debian's
# /usr/bin/victoria-metrics (1.79, far less lean); VM_OLD is Debian's.
MINI=${MINIPROM_BIN:-bin/miniprom}
REF=${MINIPROM_REF_PROMETHEUS:-$HOME/.cache/miniprom/ref-v0.316.0/prometheus}
[ -x "$REF" ] || REF=/tmp/ref/prometheus
VM_DIR=$HOME/.cache/miniprom/vm-v1.151.0
if [ -z "${MINIPROM_VICTORIAMETRICS:-}" ] && [ ! -x "$VM_DIR/victoria-metrics" ]; then
  echo "installing VictoriaMetrics 1.151 into $VM_DIR ..." >&2
  GOBIN=$VM_DIR go install github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@v1.151.0 >&2 ||
    echo "could not install VictoriaMetrics 1.151" >&2
fi
VM=${MINIPROM_VICTORIAMETRICS:-$VM_DIR/victoria-metrics}
VM_OLD=/usr/bin/victoria-metrics
[ -x "$VM" ] || VM=$VM_OLD
[ -x "$MINI" ] || make build >/dev/null
[ -x "$REF" ] || { echo "no reference Prometheus at $REF" >&2; exit 1; }

# kb PID FIELD: a field of /proc/PID/status, in kB.
kb() { awk -v k="$2:" '$1==k {print $2}' "/proc/$1/status"; }

# held PID [DIR]: memory held in MB: RssAnon + RssFile, plus the files in DIR
# on a RAM-backed filesystem. RssShmem is left out: those pages are the tmpfs
# files, already counted.
held() {
  local t=0
  [ -n "${2:-}" ] && t=$(du -sk "$2" | cut -f1)
  echo $(( ($(kb "$1" RssAnon) + $(kb "$1" RssFile) + t) / 1024 ))
}

# bench_setup makes what every side-by-side script needs: $work, a scratch
# directory, and $shm, a RAM-backed one for miniprom, both removed at exit
# with every process listed in pids; a development CA ($ca) and a server
# certificate for 127.0.0.1 ($cert, $key); and $work/web.yml, a web config
# serving TLS with it.
bench_setup() {
  work=$(mktemp -d)
  shm=$(mktemp -d /dev/shm/miniprom-bench-XXXXXX)
  pids=()
  trap bench_cleanup EXIT
  go run ./cmd/devcert -dir "$work/certs" -hosts 127.0.0.1,localhost >/dev/null
  cert=$work/certs/server.crt key=$work/certs/server.key ca=$work/certs/ca.crt
  printf 'tls_server_config:\n  cert_file: %s\n  key_file: %s\n' "$cert" "$key" > "$work/web.yml"
}
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work" "$shm"
}

ms() { date +%s%3N; }
# wait_ready URL PID: poll until the URL answers; give up if the process died.
wait_ready() {
  local n=0
  until curl -sf --cacert "$ca" "$1" >/dev/null; do
    kill -0 "$2" 2>/dev/null || { echo "server $2 died at start:" >&2; tail -5 "$work"/*.log >&2; exit 1; }
    n=$((n + 1)); [ $n -lt 600 ] || { echo "$1 never ready" >&2; exit 1; }
    sleep 0.05
  done
}
