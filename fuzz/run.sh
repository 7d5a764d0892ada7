#!/usr/bin/env bash
# Fuzz every parser that takes bytes from outside a node, one target after the other.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     SECONDS per target (default 60), all targets by default
#
# Installs cargo-fuzz if it is missing, writes the seed corpora (valid inputs from the project's
# own encoders, src/bin/seeds.rs) into fuzz/corpus/<target>/, builds every target once (nightly,
# AddressSanitizer, debug assertions and overflow checks on), runs each for SECONDS with a
# per-allocation limit, and prints one row per target: executions, coverage (cov/ft from
# libFuzzer's last stats line) and findings (new files in fuzz/artifacts/<target>/).
#
# A finding is reproduced with `cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>`
# and minimized with `cargo +nightly fuzz tmin <target> <file>`; its fix gets a regression test
# in the crate's default tests. Logs of the last run: fuzz/logs/<target>.log. Exit code 1 if
# any target found something.
set -euo pipefail

seconds="${1:-60}"
shift || true
cd "$(dirname "$0")"

# A single allocation above this is a finding: the parsers must allocate by what the input
# holds, never by what a length field claims.
malloc_limit_mb=64
# Inputs up to this size: a node config is at most 64 KiB, WAL segments here a few KiB each.
max_len=32768
# One input running longer than this is a finding (a loop without a bound). Raise it with
# FUZZ_TIMEOUT_S when the machine is shared: a starved process can take 10 s over a 2 ms input.
timeout_s="${FUZZ_TIMEOUT_S:-10}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz ..." >&2
    cargo install cargo-fuzz
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "error: cargo-fuzz needs a nightly toolchain: rustup toolchain install nightly" >&2
    exit 2
fi

all_targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v -e '^distributed-fuzz$' -e '^seeds$')
targets="${*:-$all_targets}"

cargo run --quiet --release --bin seeds -- corpus >/dev/null
# Built once, then the binaries run directly: `cargo fuzz run` would rebuild before each
# target, picking up any source edited meanwhile.
cargo +nightly fuzz build >&2
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir="target/$triple/release"

mkdir -p logs
rows=()
found_any=0
for t in $targets; do
    mkdir -p "artifacts/$t"
    before=$(ls "artifacts/$t" | wc -l)
    set +e
    "$bin_dir/$t" -artifact_prefix="artifacts/$t/" "corpus/$t" \
        -max_total_time="$seconds" -malloc_limit_mb="$malloc_limit_mb" \
        -max_len="$max_len" -timeout="$timeout_s" -dict=edges.dict -print_final_stats=1 \
        >"logs/$t.log" 2>&1
    set -e
    # Scratch directories of a run that crashed before it could remove them.
    find /dev/shm -maxdepth 1 -name 'distributed-fuzz-*' -user "$(id -u)" \
        -exec rm -rf {} + 2>/dev/null || true
    after=$(ls "artifacts/$t" | wc -l)
    findings=$((after - before))
    stats=$(grep -E '^#[0-9]+[[:space:]].*cov: [0-9]+ ft: [0-9]+' "logs/$t.log" | tail -n 1 || true)
    execs=$(sed -nE 's/^stat::number_of_executed_units:[[:space:]]*([0-9]+)/\1/p' "logs/$t.log" | tail -n 1)
    [ -n "$execs" ] || execs=$(echo "$stats" | sed -nE 's/^#([0-9]+).*/\1/p')
    cov=$(echo "$stats" | sed -nE 's/.*cov: ([0-9]+).*/\1/p')
    ft=$(echo "$stats" | sed -nE 's/.* ft: ([0-9]+).*/\1/p')
    rows+=("$(printf '%-14s %12s %7s %7s %9s' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$findings")")
    if [ "$findings" -gt 0 ]; then
        found_any=1
        ls -t "artifacts/$t" | head -n "$findings" | sed "s|^|    artifacts/$t/|" >&2
    fi
done

printf '%-14s %12s %7s %7s %9s\n' target executions cov ft findings
for row in "${rows[@]}"; do
    echo "$row"
done
exit "$found_any"
