#!/usr/bin/env bash
# The conformance suite: writes our fixtures (write-fixtures.ts), then runs the Go tests once per
# Talos minor against that minor's machinery, one after the other. Exits non-zero on any failure.
#
#   bash tests/conformance/run.sh              every minor, fixtures from our TypeScript layer
#   bash tests/conformance/run.sh v1.8 v1.13   only these minors
#   bash tests/conformance/run.sh --self       fixtures from Talos' own generator (checks the suite itself)
#   CONFORMANCE_VERBOSE=1 bash ...run.sh       go test -v (shows the allowed differences and their reasons)
#
# Needs go and node; Go modules come from the module proxy, verified against the committed
# modules/<minor>.sum (no go.sum is written: -mod=readonly).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

all_minors=(v1.8 v1.9 v1.10 v1.11 v1.12 v1.13 v1.14)
self=0
minors=()
for arg in "$@"; do
    case "$arg" in
        --self) self=1 ;;
        v1.*) minors+=("$arg") ;;
        *) echo "run.sh: unknown argument $arg (expected --self or minors like v1.8)" >&2; exit 2 ;;
    esac
done
[ ${#minors[@]} -gt 0 ] || minors=("${all_minors[@]}")
for m in "${minors[@]}"; do
    [ -f "$here/modules/$m.mod" ] || { echo "run.sh: no module for Talos $m (have: ${all_minors[*]})" >&2; exit 2; }
done

command -v go >/dev/null || { echo "run.sh: go is not installed" >&2; exit 1; }
echo "conformance: $(go version), Talos minors ${minors[*]}"

verbose=()
[ "${CONFORMANCE_VERBOSE:-0}" = 1 ] && verbose=(-v)

started=$SECONDS
if [ "$self" = 1 ]; then
    fixtures="$here/.fixtures-self"
    echo "== fixtures: Talos' own generator (--self) -> $fixtures"
else
    fixtures="$here/.fixtures"
    echo "== fixtures: write-fixtures.ts -> $fixtures"
    (cd "$root" && npx --no-install tsx "$here/write-fixtures.ts" "$fixtures" "${minors[@]}")
fi
echo "   ($((SECONDS - started)) s)"

declare -A result seconds
failed=0
cd "$here"
for m in "${minors[@]}"; do
    tag="talos_${m//./_}"
    gotest=(go test -mod=readonly -modfile="modules/$m.mod" -tags "$tag")
    echo "== $(head -1 "modules/$m.mod" | sed "s|^// ||")"
    t0=$SECONDS
    status=0
    if [ "$self" = 1 ]; then
        CONFORMANCE_WRITE_SELF="$fixtures/$m" "${gotest[@]}" -count=1 -run '^TestWriteSelfFixtures$' . >/dev/null || status=$?
    fi
    if [ "$status" = 0 ]; then
        CONFORMANCE_FIXTURES="$fixtures/$m" "${gotest[@]}" -count=1 "${verbose[@]}" . || status=$?
    fi
    seconds[$m]=$((SECONDS - t0))
    if [ "$status" = 0 ]; then
        result[$m]=passed
    else
        result[$m]=FAILED
        failed=$((failed + 1))
    fi
    echo "   Talos $m: ${result[$m]} in ${seconds[$m]} s"
done

echo "== conformance summary ($((SECONDS - started)) s)"
for m in "${minors[@]}"; do
    printf '   %-6s %-7s %4s s\n' "$m" "${result[$m]}" "${seconds[$m]}"
done
echo "conformance: $(( ${#minors[@]} - failed )) passed, $failed failed"
[ "$failed" = 0 ]
