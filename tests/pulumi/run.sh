#!/usr/bin/env bash
# Pulumi.yaml and the stack files through the Pulumi CLI's own Go code (the loaders and the config
# check `pulumi up` runs before the program, at the CLI version go.mod names), then the config the
# CLI hands the program through the program's own reader. Exits non-zero on any failure.
#
#   bash tests/pulumi/run.sh                          the check
#   PULUMI_CONFIG_VERBOSE=1 bash tests/pulumi/run.sh  go test -v (every stack and case by name)
#
# Needs go and node with the project's npm ci (without node_modules, the program's side skips,
# saying why). Go modules come from the module proxy, verified against the committed go.sum
# (-mod=readonly: go.mod and go.sum are never rewritten).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
command -v go >/dev/null || { echo "run.sh: go is not installed" >&2; exit 1; }
cd "$here"

pulumi_version="$(go list -mod=readonly -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)"
echo "pulumi config: $(go version), github.com/pulumi/pulumi/pkg/v3 and sdk/v3 $pulumi_version"

verbose=()
[ "${PULUMI_CONFIG_VERBOSE:-0}" = 1 ] && verbose=(-v)

started=$SECONDS
status=0
go test -mod=readonly -count=1 "${verbose[@]}" . || status=$?
if [ "$status" = 0 ]; then
    echo "pulumi config: passed in $((SECONDS - started)) s"
else
    echo "pulumi config: FAILED in $((SECONDS - started)) s"
fi
exit "$status"
