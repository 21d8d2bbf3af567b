#!/usr/bin/env bash
# Runs the executor, channels and reactor unit tests under AddressSanitizer
# and ThreadSanitizer (nightly, std rebuilt instrumented), and the echo
# server example under valgrind's leak checker with a short self-load.
# Any report fails the script; the reports that are not goro's to fix are
# suppressed in scripts/*.supp, each with its reason.
#
# Usage: scripts/sanitizers.sh [asan] [tsan] [valgrind]   (default: all three)
# Each step builds into its own target dir (target/asan, target/tsan), so
# the first run rebuilds std and every dependency; later runs are
# incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-gnu
CRATES=(-p goro-executor -p goro-channels -p goro-reactor)
# The sync crate is tested too once it is a workspace member.
if [ -f sync/Cargo.toml ]; then CRATES+=(-p goro-sync); fi
STEPS=("$@")
if [ ${#STEPS[@]} -eq 0 ]; then STEPS=(asan tsan valgrind); fi

nightly_test() { # $1 = sanitizer name, rest = extra env assignments
    local san=$1
    shift
    rustup component add rust-src --toolchain nightly >/dev/null 2>&1 || true
    env "$@" RUSTFLAGS="-Zsanitizer=$san" RUSTDOCFLAGS="-Zsanitizer=$san" \
        CARGO_TARGET_DIR="target/$san" \
        cargo +nightly test -Zbuild-std --target "$TARGET" "${CRATES[@]}" --lib
}

asan() {
    # detect_leaks: LeakSanitizer runs at exit of each test binary.
    nightly_test address ASAN_OPTIONS="detect_leaks=1:halt_on_error=1" \
        LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
}

tsan() {
    nightly_test thread \
        TSAN_OPTIONS="halt_on_error=1:suppressions=$PWD/scripts/tsan.supp:print_suppressions=0"
}

valgrind_echo() {
    command -v valgrind >/dev/null || apt-get install -y valgrind
    cargo build --example echo_server
    # 50 clients x 10 round trips on the multi-thread runtime, then a
    # normal runtime shutdown: every allocation must be freed or still
    # reachable from a static.
    GORO_ECHO_SELFTEST=50 valgrind --leak-check=full --error-exitcode=1 \
        --errors-for-leak-kinds=definite,possible \
        --suppressions=scripts/valgrind.supp \
        target/debug/examples/echo_server
}

for step in "${STEPS[@]}"; do
    start=$SECONDS
    case $step in
    asan) echo "== AddressSanitizer: ${CRATES[*]}"; asan ;;
    tsan) echo "== ThreadSanitizer: ${CRATES[*]}"; tsan ;;
    valgrind) echo "== valgrind: examples/echo_server"; valgrind_echo ;;
    *) echo "unknown step '$step' (want asan, tsan or valgrind)" >&2; exit 2 ;;
    esac
    echo "== $step: ok in $((SECONDS - start)) s"
done
