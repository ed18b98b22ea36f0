#!/usr/bin/env bash
# Builds the envelope fuzzer with clang in its own build directory, or runs
# it for a bounded time from the committed seed corpus.
#   tests/fuzz/run_fuzz.sh build BUILD_DIR
#   tests/fuzz/run_fuzz.sh run BUILD_DIR [SECONDS]   (default 30)
# Fails when clang is missing: scripts/setup installs it (clang,
# libclang-rt-14-dev), and a fuzzer that silently did not run proves nothing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mode="$1"
build="$2"
seconds="${3:-30}"
case "$mode" in
  build)
    if ! command -v clang++ >/dev/null; then
      echo "run_fuzz: clang++ not found; run scripts/setup" >&2
      exit 1
    fi
    cmake -S "$here" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++
    exec ninja -C "$build" envelope_fuzzer
    ;;
  run)
    [[ -x "$build/envelope_fuzzer" ]] || { echo "run_fuzz: not built; run it with 'build' first" >&2; exit 1; }
    # New inputs go to a scratch corpus; the committed seeds stay untouched.
    work="$build/corpus"
    mkdir -p "$work"
    cd "$build"
    exec ./envelope_fuzzer -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 "$work" "$here/corpus/envelope"
    ;;
  *)
    echo "usage: run_fuzz.sh build|run BUILD_DIR [SECONDS]" >&2
    exit 2
    ;;
esac
