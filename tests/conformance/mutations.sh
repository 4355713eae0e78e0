#!/usr/bin/env bash
# Shows that the suite can fail: starting from fixtures Talos' own code made (green), breaks one
# file at a time and checks that the test meant to catch it goes red. Not part of run.sh.
#
#   bash tests/conformance/mutations.sh            v1.8 and v1.13 (one minor of each config shape)
#   bash tests/conformance/mutations.sh v1.11      any minors
#
# Needs python3 for the edits.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
minors=("$@")
[ ${#minors[@]} -gt 0 ] || minors=(v1.8 v1.13)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

missed=0
total=0

for m in "${minors[@]}"; do
    tag="talos_${m//./_}"
    gotest=(go test -mod=readonly -modfile="modules/$m.mod" -tags "$tag" -count=1)
    base="$work/$m/base"
    CONFORMANCE_WRITE_SELF="$base" "${gotest[@]}" -run '^TestWriteSelfFixtures$' . >/dev/null
    if ! CONFORMANCE_FIXTURES="$base" "${gotest[@]}" . >/dev/null; then
        echo "mutations $m: the suite is not green on Talos' own fixtures" >&2
        exit 1
    fi

    # mutate NAME FILE EXPECTED-RED-TEST PYTHON-EXPRESSION (s: the file's text; base: the fixture dir)
    mutate() {
        local name=$1 file=$2 want=$3 expr=$4
        local dir="$work/$m/$name"
        total=$((total + 1))
        cp -r "$base" "$dir"
        BASE="$base" FILE="$dir/$file" EXPR="$expr" python3 - <<'PY'
import json, os, re
base, path = os.environ["BASE"], os.environ["FILE"]
s = open(path).read()
t = eval(os.environ["EXPR"])
if t == s:
    raise SystemExit(f"mutation did not change {path}")
open(path, "w").write(t)
PY
        local out red
        # The wire checks start node processes and read no mutated fixture that the
        # talosconfig checks do not already cover: skipped here to keep the run short.
        out=$(CONFORMANCE_FIXTURES="$dir" "${gotest[@]}" -skip '^TestWire(Bootstrap|Apply)$' . 2>&1 || true)
        red=$(sed -n 's/^ *--- FAIL: \([^ ]*\) .*/\1/p' <<<"$out" | tr '\n' ' ')
        if grep -qx -- "$want" <<<"$(tr ' ' '\n' <<<"$red")"; then
            printf '  %-5s %-28s red: %s\n' "$m" "$name" "$want"
        else
            printf '  %-5s %-28s MISSED (want %s red; red: %s)\n' "$m" "$name" "$want" "${red:-nothing}"
            missed=$((missed + 1))
        fi
    }

    echo "== Talos $m"
    mutate forward-kube-dns-off controlplane.yaml TestMachineConfigLoadsAndValidates/controlplane \
        "s.replace('forwardKubeDNSToHost: true', 'forwardKubeDNSToHost: false', 1)"
    mutate unknown-key controlplane.yaml TestMachineConfigLoadsAndValidates/controlplane \
        "s.replace('machine:\n', 'machine:\n    notAKey: 1\n', 1)"
    mutate legacy-machine-type worker.yaml TestMachineConfigLoadsAndValidates/worker \
        "s.replace('type: worker', 'type: join', 1)"
    mutate kubelet-image worker.yaml TestMachineConfigMatchesTalosGenerator/worker \
        "s.replace('ghcr.io/siderolabs/kubelet:v', 'ghcr.io/siderolabs/kubelet:v9', 1)"
    mutate missing-san controlplane.yaml TestMachineConfigMatchesTalosGenerator/controlplane \
        "s.replace('        - 127.0.0.1\n', '', 1)"
    mutate secrets-indent secrets.yaml TestSecretsBundle/TalosctlForm \
        "s.replace('    ', '  ')"
    mutate secrets-unknown-key secrets.yaml TestSecretsBundle/KnownFields \
        "s.replace('cluster:\n', 'cluster:\n    extra: x\n', 1)"
    mutate secrets-bad-token secrets.yaml TestSecretsBundle/Tokens \
        "re.sub(r'bootstraptoken: \S+', 'bootstraptoken: not-a-token', s)"
    mutate secrets-empty-os-key secrets.yaml TestSecretsBundle/Validate \
        "re.sub(r'(os:\n        crt: \S+\n        key: )\S+', r'\1\"\"', s)"
    mutate talosconfig-endpoint talosconfig TestTalosconfig \
        "s.replace('127.0.0.1:50000', '127.0.0.1:50001')"
    mutate talosconfig-wrong-ca talosconfig TestTalosconfig \
        "re.sub(r'ca: \S+', 'ca: ' + open(base + '/secrets.yaml').read().split('k8s:\n        crt: ')[1].split()[0], s, count=1)"
    mutate kubeconfig-namespace kubeconfig TestKubeconfig \
        "s.replace('namespace: default', 'namespace: kube-system')"
    mutate kubeconfig-server kubeconfig TestKubeconfig \
        "s.replace('https://127.0.0.1:6444', 'https://127.0.0.1:6443')"
    mutate patch-result patches.json TestPatches/smp-map-merge \
        "s.replace('rotate-server-certificates: \\\\\"true\\\\\"', 'rotate-server-certificates: \\\\\"false\\\\\"', 1)"
    mutate patch-rejected patches.json TestPatches/smp-map-merge \
        "json.dumps([dict(c, result=None, error='ours said no') if c['name'] == 'smp-map-merge' else c for c in json.loads(s)])"
    mutate patch-accepted patches.json TestPatches/reject-unknown-field \
        "json.dumps([dict(c, result=open(base + '/controlplane.yaml').read(), error=None) if c['name'] == 'reject-unknown-field' else c for c in json.loads(s)])"
    mutate mirror-endpoint mirrors.json TestRegistryMirrorsMatchTalosGenerator/cache/worker \
        "json.dumps([dict(c, worker=c['worker'].replace('http://172.30.0.250:5000', 'http://172.30.0.250:5001')) for c in json.loads(s)])"
    mutate mirror-dropped mirrors.json TestRegistryMirrorsMatchTalosGenerator/one/controlplane \
        "json.dumps([dict(c, controlplane=c['controlplane'].replace('172.30.0.1:5000', '172.30.0.9:5000')) for c in json.loads(s)])"
    mutate wrong-minor options.json TestSecretsBundle \
        "s.replace('\"minor\": \"$m\"', '\"minor\": \"v1.7\"')"
done

echo "mutations: $((total - missed)) passed, $missed failed"
[ "$missed" = 0 ]
