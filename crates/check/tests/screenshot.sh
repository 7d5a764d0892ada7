#!/usr/bin/env bash
# Render the sample violation's HTML page and screenshot it with headless Chromium, to see that
# the page draws in a real browser. Not part of `cargo test` (it needs a browser); run by hand:
#
#   bash crates/check/tests/screenshot.sh [OUT_DIR]      # default OUT_DIR: target/check-screenshot
#
# Writes OUT_DIR/violation.html and OUT_DIR/violation.png. Skips (exit 0) without /usr/bin/chromium.
set -euo pipefail
crate_dir="$(cd "$(dirname "$0")/.." && pwd)"
workspace_dir="$(cd "$crate_dir/../.." && pwd)"
out_dir="${1:-$workspace_dir/target/check-screenshot}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"

if [[ ! -x /usr/bin/chromium ]]; then
    echo "skipped: /usr/bin/chromium not found (apt-get install chromium)"
    exit 0
fi

cd "$workspace_dir"
# Exit code 1 means "violation", which is what this sample shows; anything else is a failure.
set +e
cargo run --quiet -p check --example check_history -- \
    "$crate_dir/testdata/violation.jsonl" --html "$out_dir/violation.html" >"$out_dir/verdict.txt"
code=$?
set -e
if [[ $code -ne 1 ]]; then
    echo "expected exit code 1 (violation), got $code:"; cat "$out_dir/verdict.txt"; exit 1
fi

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --screenshot="$out_dir/violation.png" --window-size=1400,900 \
    "file://$out_dir/violation.html" 2>"$out_dir/chromium.log" || {
    echo "chromium failed:"; cat "$out_dir/chromium.log"; exit 1
}
[[ -s "$out_dir/violation.png" ]] || { echo "no screenshot written"; exit 1; }
echo "wrote $out_dir/violation.png"
