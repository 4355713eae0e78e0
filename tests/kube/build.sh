#!/usr/bin/env bash
# Builds the real kube-apiserver the Kubernetes-side tests run against, from the Go module proxy
# (k8s.io/kubernetes with each ./staging module replaced by its release, go.mod here), once: the
# binary is cached under ~/.cache/talos-docker/kube-apiserver/<key>, keyed by go.mod, go.sum and
# the Go version, and reused by every later run. Prints the binary's path on its last line.
#
#   bash tests/kube/build.sh          build if not cached, print the path
#
# A build takes minutes on 2 cores (about 4 to 10); a cached run takes milliseconds.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
command -v go >/dev/null || { echo "build.sh: go is not installed" >&2; exit 1; }

version="$(sed -n 's|^require k8s.io/kubernetes v||p' "$here/go.mod")"
[ -n "$version" ] || { echo "build.sh: no k8s.io/kubernetes version in $here/go.mod" >&2; exit 1; }
minor="${version#*.}"; minor="${minor%%.*}"
key="$( { cat "$here/go.mod" "$here/go.sum"; go version; } | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/talos-docker/kube-apiserver/$key"
binary="$cache/kube-apiserver"

if [ ! -x "$binary" ]; then
    echo "build.sh: building kube-apiserver v$version (cached afterwards in $cache)" >&2
    started=$SECONDS
    mkdir -p "$cache"
    # What /version reports: the release, as the real binary's build stamps it.
    stamp="k8s.io/component-base/version"
    ldflags="-s -w -X $stamp.gitVersion=v$version -X $stamp.gitMajor=1 -X $stamp.gitMinor=$minor"
    (cd "$here" && go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$binary.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
    mv "$binary.tmp" "$binary"
    echo "build.sh: built in $((SECONDS - started)) s" >&2
fi
echo "$binary"
