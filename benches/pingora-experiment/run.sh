#!/usr/bin/env bash
# Issue 14, item 8: Pingora's own per-request costs, as an experiment.
#
# Builds idbridge and the bare Pingora proxy twice, against pingora-core 0.9.1 as published and
# with pingora-core-0.9.1.diff applied (README.md here says what it removes), each into its own
# target directory, then runs the load benchmark against each build in turn and prints the rows
# that proxy. Nothing of this is shipped: Cargo.lock is restored on exit.
#
#   bash benches/pingora-experiment/run.sh [idbridge-load options]
#   (default: --duration 5s --rounds 3 --skip-replicas --sessions 20000)
set -euo pipefail
cd "$(dirname "$0")/../.."
here=benches/pingora-experiment
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--duration 5s --rounds 3 --skip-replicas --sessions 20000)

src=$(cargo metadata --format-version 1 --locked |
    python3 -c 'import json,sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "pingora-core" and p["version"] == "0.9.1"))')
work=$(mktemp -d)
cp Cargo.lock "$work/Cargo.lock"
trap 'cp "$work/Cargo.lock" Cargo.lock; rm -rf "$work"' EXIT
cp -r "$(dirname "$src")" "$work/pingora-core"
patch -d "$work/pingora-core" -p1 --quiet < "$here/pingora-core-0.9.1.diff"

cargo build --release -p idbridge -p idbridge-benches
cargo build --release -p idbridge -p idbridge-benches --target-dir target/pingora-experiment \
    --config "patch.crates-io.pingora-core.path=\"$work/pingora-core\""

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
for build in target/release target/pingora-experiment/release; do
    ./target/release/idbridge-load "${args[@]}" --idbridge "$build/idbridge" \
        --out "$work/results.md" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
    echo "== $build"
    grep -E '^\| (b|p|c|c-tls|d|p-hit) \|' "$work/results.md"
done
