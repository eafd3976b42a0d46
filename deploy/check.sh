#!/usr/bin/env bash
# Offline validation of deploy/: everything that can be checked without a container engine or a
# cluster. One line per check ("ok", "skip" with the reason, or "FAIL" followed by the details);
# exits 1 if any check failed. Idempotent: it writes only to a temporary directory and, the first
# time, to a tool cache (promtool).
#
#   bash deploy/check.sh          # from anywhere; `make test` runs it
#
# What it cannot check: that the image builds and runs (no Docker engine on the build machines),
# and that the manifests are accepted by a real API server.

set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

TOOLS="${IDBRIDGE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/idbridge/tools}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
FAILED=0

ok()   { printf 'ok    %s\n' "$1"; }
skip() { printf 'skip  %s: %s\n' "$1" "$2"; }
fail() { printf 'FAIL  %s\n' "$1"; FAILED=1; }

# run NAME CMD...: ok when CMD exits 0; otherwise FAIL and CMD's output, indented.
run() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        ok "$name"
    else
        fail "$name"
        printf '%s\n' "$out" | sed 's/^/      /'
    fi
}

# silent NAME CMD...: like run, but any output at all is a failure too (systemd-analyze verify
# reports unknown keys and bad values as warnings and still exits 0).
silent() {
    local name=$1 out rc
    shift
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
        ok "$name"
    else
        fail "$name"
        printf '%s\n' "$out" | sed 's/^/      /'
    fi
}

# === tools ===

# PyYAML for the YAML checks: pip first (it works on a pyenv or venv python); Debian's package for
# a system python that refuses pip (PEP 668).
have_yaml() { python3 -c 'import yaml' >/dev/null 2>&1; }
if ! have_yaml; then
    python3 -m pip install --quiet --disable-pip-version-check pyyaml >/dev/null 2>&1 ||
        { [ "$(id -u)" = 0 ] && apt-get install -y -qq python3-yaml >/dev/null 2>&1; }
fi

# promtool: from PATH, else from the tool cache, else extracted from Debian's prometheus package.
# Only the promtool binary is unpacked (apt-get download + dpkg-deb, no root needed): installing
# the package would also start a Prometheus server, on port 9090, the gateway's own admin port.
find_promtool() {
    if command -v promtool >/dev/null; then command -v promtool; return 0; fi
    if [ -x "$TOOLS/promtool" ]; then echo "$TOOLS/promtool"; return 0; fi
    command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || return 1
    local dl="$TMP/deb"
    mkdir -p "$dl"
    if ! (cd "$dl" && apt-get download prometheus >/dev/null 2>&1); then
        # The package lists may be missing or stale; refreshing them needs root.
        [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 &&
            (cd "$dl" && apt-get download prometheus >/dev/null 2>&1) || return 1
    fi
    mkdir -p "$TOOLS" &&
        dpkg-deb --fsys-tarfile "$dl"/prometheus_*.deb | tar -xOf - ./usr/bin/promtool >"$TMP/promtool" &&
        chmod 0755 "$TMP/promtool" && "$TMP/promtool" --version >/dev/null 2>&1 &&
        mv "$TMP/promtool" "$TOOLS/promtool" || return 1
    echo "note  promtool unpacked from Debian's prometheus package into $TOOLS (once)" >&2
    echo "$TOOLS/promtool"
}

# The gateway binary, if a build left one (this script never builds: `make test` does).
IDBRIDGE=""
for b in target/debug/idbridge target/release/idbridge; do
    if [ -x "$b" ]; then IDBRIDGE=$b; break; fi
done

# === files ===

if have_yaml; then
    yaml_files=$(find deploy -name '*.yml' -o -name '*.yaml' | wc -l)
    run "yaml: all $yaml_files YAML files under deploy/ parse" python3 deploy/checks.py yaml
else
    fail "yaml: PyYAML is not importable and could not be installed (pip install pyyaml)"
fi

run "json: deploy/grafana/dashboards/idbridge.json is valid JSON" \
    python3 -m json.tool deploy/grafana/dashboards/idbridge.json /dev/null

have_yaml && run "dashboard: \${datasource} everywhere, every contract metric shown, no other" \
    python3 deploy/checks.py dashboard deploy/grafana/dashboards/idbridge.json "$TMP/dashboard-rules.yml"
have_yaml && run "alerts: contract metric names, severity, summary and description on every alert" \
    python3 deploy/checks.py alerts deploy/prometheus/alerts.yml
have_yaml && run "compose: services, bind mounts, loopback-only ports, simulators, Redis, balancer" \
    python3 deploy/checks.py compose deploy/compose.yaml
run "dockerfile: COPY sources exist, ports, user, entrypoint, env, ignore file" \
    python3 deploy/checks.py dockerfile deploy/Dockerfile
have_yaml && run "healthchecks: image and compose probes pass on 200, fail on 503 and on a closed port" \
    python3 deploy/checks.py healthchecks deploy/Dockerfile deploy/compose.yaml

# The compose balancer's nginx.conf, through a real nginx: its paths (and its log) moved into $TMP
# and the gateways' service names (which resolve only inside compose) replaced by the loopback
# address.
if command -v nginx >/dev/null; then
    mkdir -p "$TMP/balancer"
    sed -e "s#/tmp/#$TMP/balancer/#g" -e "s#/dev/stderr#$TMP/balancer/error.log#" \
        -e 's#gateway-[12]:8080#127.0.0.1:8080#' \
        deploy/nginx/compose-balancer.conf >"$TMP/balancer/nginx.conf"
    run "nginx -t deploy/nginx/compose-balancer.conf (the compose load balancer)" \
        nginx -t -q -p "$TMP/balancer" -c "$TMP/balancer/nginx.conf"
else
    skip "nginx" "not installed; deploy/nginx/compose-balancer.conf is NOT validated"
fi

# === Prometheus ===

if PROMTOOL=$(find_promtool); then
    run "promtool check config deploy/prometheus/prometheus.yml (with its rule files)" \
        "$PROMTOOL" check config deploy/prometheus/prometheus.yml
    run "promtool check rules deploy/prometheus/alerts.yml" \
        "$PROMTOOL" check rules deploy/prometheus/alerts.yml
    run "promtool test rules deploy/prometheus/alerts_test.yml (every alert fires and stays quiet)" \
        "$PROMTOOL" test rules deploy/prometheus/alerts_test.yml
    if [ -s "$TMP/dashboard-rules.yml" ]; then
        run "promtool: every dashboard query is valid PromQL" \
            "$PROMTOOL" check rules "$TMP/dashboard-rules.yml"
    fi
else
    skip "promtool" "not on PATH, and Debian's prometheus package could not be fetched;
      prometheus.yml, alerts.yml and the dashboard's PromQL are NOT validated"
fi

# === Kubernetes ===

if command -v kubectl >/dev/null && have_yaml; then
    if kubectl kustomize deploy/kubernetes >"$TMP/k8s.yaml" 2>"$TMP/k8s.err"; then
        run "kubernetes: kustomize build; Deployment, Services, ServiceMonitor, PDB wired together" \
            python3 deploy/checks.py kubernetes "$TMP/k8s.yaml"
    else
        fail "kubernetes: kubectl kustomize deploy/kubernetes"
        sed 's/^/      /' "$TMP/k8s.err"
    fi
    # The overlay recipe of deploy/README.md, built for real: kustomize wants a relative base.
    overlay="$TMP/overlay"
    mkdir -p "$overlay"
    base=$(python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' \
        "$PWD/deploy/kubernetes" "$overlay")
    printf 'check-sh-token-0123456789abcdef' >"$overlay/admin-token"
    printf -- '-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----\n' >"$overlay/signing.pem"
    sed 's#http://enos-iam.example.internal:8080#http://enos.overlay.test:8080#' \
        deploy/kubernetes/idbridge.toml >"$overlay/idbridge.toml"
    cat >"$overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $base
images:
  - name: idbridge
    newName: registry.example.com/platform/idbridge
    newTag: "0.1.0"
configMapGenerator:
  - name: idbridge-config
    behavior: replace
    files:
      - idbridge.toml
secretGenerator:
  - name: idbridge-admin
    behavior: replace
    files:
      - admin-token
  - name: idbridge-keys
    behavior: replace
    files:
      - signing.pem
EOF
    if kubectl kustomize "$overlay" >"$TMP/overlay.yaml" 2>"$TMP/overlay.err"; then
        run "kubernetes: the README's overlay replaces the image, config, admin token and keys" \
            python3 deploy/checks.py overlay "$TMP/overlay.yaml"
    else
        fail "kubernetes: the README's overlay does not build"
        sed 's/^/      /' "$TMP/overlay.err"
    fi
    # "A Redis of your own": the README's block itself, on the base.
    redis_overlay="$TMP/overlay-redis"
    mkdir -p "$redis_overlay"
    printf 'rediss://idbridge:check-sh@redis.overlay.test:6380' >"$redis_overlay/redis-url"
    {
        # A sibling of $overlay: the same relative base.
        printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\n' "$base"
        sed -n '/^# my-idbridge\/kustomization.yaml, beside/,/^```/p' deploy/README.md | sed '$d'
    } >"$redis_overlay/kustomization.yaml"
    if kubectl kustomize "$redis_overlay" >"$TMP/overlay-redis.yaml" 2>"$TMP/overlay-redis.err"; then
        run "kubernetes: the README's own-Redis overlay takes the URL from a Secret, drops Redis" \
            python3 deploy/checks.py overlay-redis "$TMP/overlay-redis.yaml"
    else
        fail "kubernetes: the README's own-Redis overlay does not build"
        sed 's/^/      /' "$TMP/overlay-redis.err"
    fi
else
    skip "kubernetes" "kubectl (for its built-in kustomize) or PyYAML missing"
fi

# === systemd ===

if command -v systemd-analyze >/dev/null; then
    # verify insists that ExecStart's binary exists; point a copy of the unit at a stub so the
    # check covers every directive without installing anything.
    mkdir -p "$TMP/systemd"
    printf '#!/bin/sh\n' >"$TMP/systemd/idbridge"
    chmod 0755 "$TMP/systemd/idbridge"
    sed "s#/usr/local/bin/idbridge#$TMP/systemd/idbridge#g" deploy/systemd/idbridge.service \
        >"$TMP/systemd/idbridge.service"
    silent "systemd-analyze verify deploy/systemd/idbridge.service" \
        systemd-analyze verify --man=no "$TMP/systemd/idbridge.service"
    # Keep the sandboxing from eroding: systemd's own exposure score (0 best, 10 worst; the
    # threshold is in tenths). The unit scores 1.4 with systemd 252; weakening the sandbox fails here.
    if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
        run "systemd-analyze security: exposure at most 1.4" \
            systemd-analyze security --offline=yes --threshold=14 --no-pager "$TMP/systemd/idbridge.service"
    fi
else
    skip "systemd" "systemd-analyze not installed"
fi

# === configuration, through the real binary ===

if [ -n "$IDBRIDGE" ] && have_yaml; then
    # A clean environment, so the caller's IDBRIDGE__* variables cannot hide or cause a problem.
    run "check-config: deploy/kubernetes/idbridge.toml ($IDBRIDGE)" \
        env -i PATH="$PATH" "$IDBRIDGE" check-config --config deploy/kubernetes/idbridge.toml
    # What a compose gateway sees: the image's ENV, compose's environment and the env file. This
    # catches a misspelt variable, which the gateway rejects as an unknown key. Compose mounts
    # deploy/keys/ at the key directory; a fresh key in $TMP stands in for it (checks.py compose
    # checks the mount itself).
    mapfile -t compose_env < <(python3 deploy/checks.py gateway-env deploy/compose.yaml)
    mapfile -t file_env < <(grep -E '^IDBRIDGE__[A-Z_]+=' deploy/idbridge.env.example)
    mkdir -p "$TMP/keys"
    openssl genpkey -algorithm ed25519 -out "$TMP/keys/k1.pem" 2>/dev/null
    run "check-config: compose gateway environment + idbridge.env.example" \
        env -i PATH="$PATH" IDBRIDGE__SERVER__LISTEN=0.0.0.0:8080 IDBRIDGE__SERVER__ADMIN_LISTEN=0.0.0.0:9090 \
        "${compose_env[@]}" "${file_env[@]}" IDBRIDGE__TOKENS__KEY_DIR="$TMP/keys" \
        "$IDBRIDGE" check-config
else
    skip "check-config" "no target/debug/idbridge yet (cargo build -p idbridge)"
fi

exit "$FAILED"
