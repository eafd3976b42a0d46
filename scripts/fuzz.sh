#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ (fuzz/README.md says what each one feeds where).
#
#   scripts/fuzz.sh smoke [TARGET...]   each target FUZZ_SMOKE_TIME seconds (default 10); fails on
#                                       any crash, timeout or out-of-memory; writes nothing
#   scripts/fuzz.sh report [TARGET...]  each target FUZZ_TIME seconds (default 60), then writes the
#                                       figures into benches/RELIABILITY.md (fuzz section only)
#
# Without TARGET, every target. All targets are built first, in one build (they share every
# dependency); the runs then reuse it. A crash stops that target's run and leaves its input in
# fuzz/artifacts/<target>/; the script carries on with the others and fails at the end.
set -euo pipefail

cd "$(dirname "$0")/.."

# The cargo-fuzz release checked for this project; installed when missing.
CARGO_FUZZ_VERSION=0.13.2
CARGO=${CARGO:-cargo}
MODE=${1:-}
shift || true
case "$MODE" in
smoke) SECONDS_EACH=${FUZZ_SMOKE_TIME:-10} ;;
report) SECONDS_EACH=${FUZZ_TIME:-60} ;;
*)
	echo "usage: $0 smoke|report [TARGET...]" >&2
	exit 64
	;;
esac

# cargo-fuzz builds with -Zsanitizer=address (and other -Z flags), which only a nightly rustc
# accepts. RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them: the stable toolchain ships
# the AddressSanitizer runtime, and the flags have been stable in practice for years. It is set
# for the cargo-fuzz invocations only, never for the project's own builds.
export RUSTC_BOOTSTRAP=1
# One flag set for the build and every run, so a run never rebuilds. 16 codegen units (cargo-fuzz
# defaults to 1) roughly halve the cold build on a small machine for a few percent of speed.
BUILD_FLAGS=(--fuzz-dir fuzz --release --debug-assertions --sanitizer address --codegen-units 16)
# Inputs up to 64 KiB: the decoders refuse bodies over Limits::DEFAULT_MAX_BODY (64 KiB) before
# parsing, so longer ones only exercise the size check. 10 s for one input is a hang.
LIBFUZZER_FLAGS=(-max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10
	-print_final_stats=1 -max_len=65536)

if ! $CARGO fuzz --version >/dev/null 2>&1; then
	echo "installing cargo-fuzz $CARGO_FUZZ_VERSION"
	$CARGO install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

if [ $# -gt 0 ]; then
	TARGETS=("$@")
else
	mapfile -t TARGETS < <($CARGO fuzz list --fuzz-dir fuzz)
fi

LOGS=fuzz/target/logs
mkdir -p "$LOGS"
echo "building ${#TARGETS[@]} fuzz targets (fuzz/target)"
build_start=$(date +%s)
if [ $# -gt 0 ]; then
	for t in "${TARGETS[@]}"; do $CARGO fuzz build "${BUILD_FLAGS[@]}" "$t"; done
else
	$CARGO fuzz build "${BUILD_FLAGS[@]}"
fi
BUILD_SECONDS=$(($(date +%s) - build_start))
echo "built in ${BUILD_SECONDS}s"

# Per target: "seconds executions exec/s cov ft corpus crashes".
declare -A ROW
failed=()
for t in "${TARGETS[@]}"; do
	mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t" "fuzz/artifacts/$t"
	log="$LOGS/$t.log"
	echo "fuzzing $t for ${SECONDS_EACH}s"
	start=$(date +%s)
	status=0
	# The work corpus first: libFuzzer adds new inputs to the first directory only.
	$CARGO fuzz run "${BUILD_FLAGS[@]}" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
		"${LIBFUZZER_FLAGS[@]}" >"$log" 2>&1 || status=$?
	elapsed=$(($(date +%s) - start))
	stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
	field() { sed -n "s/.* $1: \([0-9]*\).*/\1/p" <<<"$last"; }
	crashes=$(grep -c 'Test unit written to' "$log" || true)
	if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
		crashes=1 # died without writing an input (e.g. the build failed): still a failure
	fi
	ROW[$t]="$elapsed $(stat number_of_executed_units) $(stat average_exec_per_sec) $(field cov) $(field ft) $(field corp) $crashes"
	if [ "$crashes" -gt 0 ]; then
		failed+=("$t")
		echo "FAILED: $t (exit $status); the end of $log:" >&2
		tail -n 40 "$log" >&2
		grep 'Test unit written to' "$log" | sed 's/.*written to /  crash input: /' >&2 || true
	else
		read -r _ execs rate cov ft corp _ <<<"${ROW[$t]}"
		echo "  ok: $execs runs, $rate/s, cov $cov, ft $ft, corpus $corp"
	fi
done

if [ "$MODE" = report ]; then
	out=benches/RELIABILITY.md
	section=$(mktemp)
	{
		echo '<!-- fuzz:begin -->'
		echo '## Fuzzing'
		echo
		echo "Written by \`make fuzz FUZZ_TIME=$SECONDS_EACH\` (\`scripts/fuzz.sh report\`) on $(date -u +%Y-%m-%d):"
		echo "$(nproc) cores, $(uname -m), $(rustc --version), cargo-fuzz $($CARGO fuzz --version | awk '{print $2}'),"
		echo "libFuzzer with AddressSanitizer, release build with debug assertions; build ${BUILD_SECONDS}s."
		echo 'Each target starts from its seeds (`fuzz/seeds/`) and the work corpus left by earlier runs'
		echo '(`fuzz/corpus/`, not in git); `cov` and `ft` are libFuzzer'"'"'s final coverage and feature'
		echo 'counts, `corpus` the entries it ended with.'
		echo
		echo '| target | seconds | executions | exec/s | cov | ft | corpus | crashes |'
		echo '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
		for t in "${TARGETS[@]}"; do
			read -r secs execs rate cov ft corp crashes <<<"${ROW[$t]}"
			echo "| $t | $secs | ${execs:--} | ${rate:--} | ${cov:--} | ${ft:--} | ${corp:--} | $crashes |"
		done
		echo '<!-- fuzz:end -->'
	} >"$section"
	if [ ! -f "$out" ]; then
		printf '# Reliability, measured\n' >"$out"
	fi
	if grep -q '<!-- fuzz:begin -->' "$out"; then
		# Replace only the section between the markers; the rest of the file is not ours.
		awk -v section="$section" '
			/<!-- fuzz:begin -->/ { while ((getline line < section) > 0) print line; skip = 1; next }
			/<!-- fuzz:end -->/ { skip = 0; next }
			!skip { print }
		' "$out" >"$out.tmp"
		mv "$out.tmp" "$out"
	else
		{ [ -s "$out" ] && echo; cat "$section"; } >>"$out"
	fi
	rm -f "$section"
	echo "wrote the fuzz section of $out"
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/<target>/; fuzz/README.md says how to reproduce and minimise)" >&2
	exit 1
fi
echo "fuzzing: ${#TARGETS[@]} targets, no crash"
