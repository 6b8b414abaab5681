#!/usr/bin/env bash
# image-context.sh DIR: lays out, beside DIR/bin/miniprom (which `make image`
# builds first), every other file the Dockerfile copies into the image. The
# image is FROM scratch with COPY steps only, so its /etc files come from here.
set -euo pipefail
ctx=${1:?usage: image-context.sh DIR}
cd "$(dirname "$0")/.."

[ -x "$ctx/bin/miniprom" ] || { echo "image-context.sh: no $ctx/bin/miniprom: build it first (make image)" >&2; exit 1; }
ca=/etc/ssl/certs/ca-certificates.crt
[ -s "$ca" ] || { echo "image-context.sh: no $ca: install Debian's ca-certificates" >&2; exit 1; }

mkdir -p "$ctx/etc/ssl/certs" "$ctx/etc/miniprom" "$ctx/miniprom/memory" "$ctx/miniprom/snapshot" "$ctx/fs/tmp"
# COPY keeps the mode of what is inside the source directory, not of the
# directory itself: /tmp is fs/tmp, copied as fs/'s content.
chmod 1777 "$ctx/fs/tmp"
cp "$ca" "$ctx/etc/ssl/certs/ca-certificates.crt"

# The user miniprom runs as, nobody (65534), as in Prometheus's image.
cat >"$ctx/etc/passwd" <<'END'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
END
cat >"$ctx/etc/group" <<'END'
root:x:0:
nogroup:x:65534:
END

# The example configs, with the certificates `make run` makes in .dev/ at
# /etc/miniprom/tls/ instead (paths in both files are relative to the file),
# named as a Kubernetes TLS Secret names them. Their comments, which speak
# of `make run`, are left out.
example() { # example SRC DST: SRC with the image's paths and header.
  local src=$1 dst=$2
  grep -q '\.dev/' "$src" || { echo "image-context.sh: $src no longer names .dev/: update this script" >&2; exit 1; }
  {
    echo "# miniprom's image: the repository's $src, reading the server's certificate"
    echo "# and key from /etc/miniprom/tls/tls.crt and tls.key, and the CA that signed"
    echo "# them (for the self-scrape) from tls/ca.crt. Mount yours there."
    grep -v '^[[:space:]]*#' "$src" |
      sed -e 's#\.dev/server\.crt#tls/tls.crt#g' -e 's#\.dev/server\.key#tls/tls.key#g' -e 's#\.dev/ca\.crt#tls/ca.crt#g'
  } >"$dst"
  if grep -n '\.dev' "$dst" >&2; then
    echo "image-context.sh: $dst still names .dev/: update this script" >&2
    exit 1
  fi
}
example prometheus.example.yml "$ctx/etc/miniprom/prometheus.yml"
example web-config.example.yml "$ctx/etc/miniprom/web-config.yml"
