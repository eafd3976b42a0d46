# idbridge — the two commands a fresh machine needs:
#   make demo   the gateway with both backend simulators, ready to curl
#   make test   fmt check, clippy -D warnings, the whole test suite, every shipped config validated
# And: make demo-cluster (two replicas sharing sessions through Redis), make bench (load benchmark
# against nginx, writes benches/RESULTS.md), make bench-micro, and the reliability runs that
# write benches/RELIABILITY.md: make fuzz, make chaos, make soak.
# Both install what the build needs first (Pingora needs cmake).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
TLS_DIR := config/demo/tls
CONFIGS := $(wildcard config/*.toml config/examples/*.toml deploy/kubernetes/*.toml)
# deploy/check.sh unpacks promtool here. Under make test the checks by outside tools (promtool,
# PyJWT, zeep, schemathesis, nginx) are required (IDBRIDGE_REQUIRE_TOOLS), never silently skipped.
TOOLS := $(or $(IDBRIDGE_TOOLS_DIR),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/idbridge/tools)

.PHONY: deps test demo demo-cluster demo-tls tls-certs sim check-configs fmt bench bench-micro fuzz fuzz-smoke chaos soak

## deps: install the system packages and Rust components the build needs (idempotent).
deps:
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs" >&2; exit 1; }
	@if ! command -v cmake >/dev/null; then \
		echo "installing cmake (needed to build Pingora)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq cmake >/dev/null; \
	fi
	@if ! command -v nginx >/dev/null; then \
		echo "installing nginx (the forward-auth check runs a real nginx)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nginx >/dev/null; \
	fi
	@# The shared-store tests and make demo-cluster start their own redis-server on free ports; the
	@# Debian package also starts one on 6379 that nothing here uses, so it is stopped.
	@if ! command -v redis-server >/dev/null; then \
		echo "installing redis-server (the shared session store of the replica tests and demo-cluster)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server >/dev/null; \
		{ $(SUDO) systemctl disable --now redis-server || $(SUDO) service redis-server stop; } >/dev/null 2>&1 || true; \
	fi
	@if ! command -v curl >/dev/null || ! command -v openssl >/dev/null; then \
		echo "installing curl and openssl (the TLS tests make certificates and connect with both)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq curl openssl >/dev/null; \
	fi
	@python3 -c 'import jwt, cryptography, zeep' 2>/dev/null || { \
		echo "installing PyJWT and zeep (interoperability checks)"; \
		python3 -m pip install --quiet --disable-pip-version-check 'pyjwt[crypto]' zeep; }
	@python3 -c 'import sys, schemathesis; sys.exit(schemathesis.__version__.split(".")[0] != "4")' 2>/dev/null || { \
		echo "installing schemathesis 4 (OpenAPI conformance fuzzing of the unified face)"; \
		python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4,<5'; }
	@if command -v rustup >/dev/null; then \
		rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt; \
		rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy; \
	fi

## test: everything CI checks.
test: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@# The deploy checks validate the shipped configurations with this build, not a stale one.
	$(CARGO) build -q -p idbridge
	bash deploy/check.sh
	PATH="$(TOOLS):$$PATH" IDBRIDGE_REQUIRE_TOOLS=1 $(CARGO) test --workspace
	$(CARGO) bench --workspace --no-run
	$(MAKE) --no-print-directory check-configs
	$(MAKE) --no-print-directory fuzz-smoke

## check-configs: every shipped configuration file must validate.
check-configs:
	$(CARGO) build -q -p idbridge
	@for f in $(CONFIGS); do \
		echo "check-config $$f"; \
		./target/debug/idbridge check-config --config "$$f"; \
	done

## sim: only the two backend simulators on 127.0.0.1:18081 and :18082.
sim: deps
	$(CARGO) run -p idbridge -- sim

## demo: the gateway and both simulators on the demo ports.
demo: deps
	$(CARGO) run -p idbridge -- demo

## demo-tls: the same, fully over TLS: the simulators serve HTTPS, the gateway verifies them with
## the demo CA and listens on https://localhost:8443 only. Makes the demo PKI first if missing.
demo-tls: deps tls-certs
	$(CARGO) run -p idbridge -- demo --tls-cert $(TLS_DIR)/server.pem \
		--tls-key $(TLS_DIR)/server-key.pem --tls-ca $(TLS_DIR)/ca.pem

## tls-certs: the demo PKI (CA, server and client certificates) in config/demo/tls.
tls-certs:
	@test -f $(TLS_DIR)/ca.pem || bash scripts/make-tls-certs.sh $(TLS_DIR)

## demo-cluster: two gateway replicas (:8080 and :8081, admin :9090 and :9091) sharing sessions,
## revocations and counters through one redis-server on 127.0.0.1:16379, with both simulators.
## Prints curl lines that log in on one replica and log out on the other; Ctrl-C stops everything.
demo-cluster: deps
	CARGO="$(CARGO)" bash scripts/demo-cluster.sh

## bench: the load benchmark, idbridge against nginx on this machine (benches/load); installs
## nginx and wrk, builds in release mode, and writes benches/RESULTS.md. Takes about ten minutes.
## Options go through BENCH_ARGS, e.g. make bench BENCH_ARGS="--duration 5s --rounds 1".
bench: deps
	@command -v wrk >/dev/null || { \
		echo "installing wrk (the load generator)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	$(CARGO) build --release -p idbridge -p idbridge-benches
	@# 1000 concurrent callers in the coalescing check need more than the usual 1024 descriptors.
	ulimit -n "$$(ulimit -Hn)" 2>/dev/null || true; ./target/release/idbridge-load $(BENCH_ARGS)

## bench-micro: the criterion micro-benchmarks of the hot paths (benches/micro).
bench-micro: deps
	$(CARGO) bench -p idbridge-benches

## fuzz: every cargo-fuzz target of fuzz/ for FUZZ_TIME seconds (default 60), then the figures
## into benches/RELIABILITY.md (its fuzz section). Builds fuzz/target first (cold: ~10 min, 2 cores).
## One target: make fuzz FUZZ_TARGETS=jwt. fuzz/README.md has the rest.
fuzz: deps
	CARGO="$(CARGO)" FUZZ_TIME="$(or $(FUZZ_TIME),60)" bash scripts/fuzz.sh report $(FUZZ_TARGETS)

## fuzz-smoke: every target for FUZZ_SMOKE_TIME seconds (default 10); fails on any crash.
fuzz-smoke: deps
	CARGO="$(CARGO)" FUZZ_SMOKE_TIME="$(or $(FUZZ_SMOKE_TIME),10)" bash scripts/fuzz.sh smoke $(FUZZ_TARGETS)

## chaos: two release replicas, Redis and both simulators under a steady load that checks every
## answer, while each simulator, Redis and replica B are stalled and crashed in turn; writes the
## chaos section of benches/RELIABILITY.md. About five minutes. Options go through CHAOS_ARGS,
## e.g. make chaos CHAOS_ARGS="--fault-for 20s --rate 2000".
chaos: deps
	$(CARGO) build --release -p idbridge -p idbridge-benches
	./target/release/idbridge-reliability chaos $(CHAOS_ARGS)

## soak: mixed and hostile traffic for SOAK_DURATION (default 30m) with sessions churning through
## the replicas' caches; samples memory and descriptors, plots them (benches/soak.png) and writes
## the soak section of benches/RELIABILITY.md. Options go through SOAK_ARGS.
soak: deps
	@# The plot's text is drawn with DejaVu Sans.
	@test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || { \
		echo "installing fonts-dejavu-core (the soak plot's font)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq fonts-dejavu-core >/dev/null; }
	$(CARGO) build --release -p idbridge -p idbridge-benches
	./target/release/idbridge-reliability soak --duration $(or $(SOAK_DURATION),30m) $(SOAK_ARGS)

fmt:
	$(CARGO) fmt --all
