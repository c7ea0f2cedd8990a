#!/usr/bin/env bash
# The whole test suite, as CI runs it (root, Debian 12, after scripts/install-deps.sh):
#   1. debug build of everything, failing on any compiler warning in our code;
#   2. unit tests inside a throwaway network namespace (real nftables there);
#   3. the libFuzzer targets, each for a bounded time;
#   4. a release build, the command-line contract tests and the end-to-end attack lab (real Kamailio, real sipvicious,
#      real nftables, all inside network namespaces on 198.18.0.0/15).
# Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (network namespaces, nftables)" >&2; exit 1; }

FUZZ_SECONDS=${FUZZ_SECONDS:-15}
JOBS=${JOBS:-2}
passed=0
failed=0
failures=()
stage() { echo; echo "=== $* (at ${SECONDS} s)"; }
ok() { passed=$((passed + ${2:-1})); echo "--- ok: $1"; }
ko() { failed=$((failed + ${2:-1})); failures+=("$1"); echo "--- FAILED: $1"; }

stage "debug build (warnings are errors for our code)"
if swift build --build-tests -j "$JOBS" 2>&1 | tee /tmp/sipwarden-build.log | grep -E "error|warning:|Compiling|Build complete" | grep -v "^\[" ; then :; fi
if ! grep -q "Build complete" /tmp/sipwarden-build.log; then
  ko "debug build"; echo "$passed passed, $failed failed"; exit 1
fi
if grep -E "^/.*/(Sources|Tests|Fuzz)/.*warning:" /tmp/sipwarden-build.log | grep -v "/.build/" ; then
  ko "compiler warnings in our code"
else
  ok "debug build without warnings"
fi

stage "format (swift format lint --strict with .swift-format)"
if swift format lint --strict -r Sources Tests Fuzz Package.swift > /tmp/sipwarden-format.log 2>&1; then
  ok "swift format lint"
else
  head -30 /tmp/sipwarden-format.log; ko "swift format lint ($(grep -c ': error:' /tmp/sipwarden-format.log) findings; fix with: swift format format -i -r Sources Tests Fuzz Package.swift)"
fi

stage "unit tests (inside a network namespace)"
SIPWARDEN_REQUIRE_NETNS=1 scripts/test-in-netns.sh swift test --skip-build 2>&1 | tee /tmp/sipwarden-unit.log | grep -vE "^(◇|↳|✔ Test |􀟈|􁁛)" | tail -40
n=$(grep -oE "Test run with [0-9]+ tests? in [0-9]+ suites? passed" /tmp/sipwarden-unit.log | grep -oE "[0-9]+" | head -1)
if [ -n "$n" ] && ! grep -qE "Test run with .* failed|✘" /tmp/sipwarden-unit.log; then
  ok "unit tests" "$n"
else
  nf=$(grep -E "^✘ Test .* failed after" /tmp/sipwarden-unit.log | grep -vc "^✘ Test run with")
  while IFS= read -r what; do failures+=("unit: $what"); done < <(grep -E "^✘ Test .* recorded an issue" /tmp/sipwarden-unit.log | head -20 | cut -c1-300)
  ko "unit tests ($nf failing)" "$((nf > 0 ? nf : 1))"
fi

stage "fuzzing (${FUZZ_SECONDS}s per target)"
for target in Fuzz/run.sh Fuzz/*-run.sh; do
  [ -x "$target" ] || continue
  if "$target" "$FUZZ_SECONDS" > "/tmp/sipwarden-$(basename "$target").log" 2>&1; then
    ok "$target $(grep -oE 'exec/s: [0-9]+' "/tmp/sipwarden-$(basename "$target").log" | tail -1)"
  else
    tail -30 "/tmp/sipwarden-$(basename "$target").log"; ko "$target"
  fi
done

stage "release build + end-to-end attack lab"
if swift build -c release -j "$JOBS" --product sipwarden > /tmp/sipwarden-release.log 2>&1; then
  ok "release build"
  BIN="$(swift build -c release --show-bin-path)/sipwarden"
  for suite in integration/cli/run.sh integration/answers/run.sh integration/services/run.sh integration/api/run.sh integration/log-oracle/run.sh integration/e2e-probe/run.sh integration/abuse/run.sh integration/abuseipdb/run.sh integration/outbox/run.sh integration/cases/run.sh integration/e2e/run.sh; do
    [ -x "$suite" ] || continue
    stage "$suite"
    log="/tmp/sipwarden-$(echo "$suite" | tr '/' '-').log"
    # Into a file, not a pipe: a process a suite left behind (holding its stdout) can
    # never hold the whole run up waiting for the end of a pipe.
    SIPWARDEN_BIN="$BIN" timeout 1200 "$suite" "$BIN" > "$log" 2>&1 < /dev/null
    cat "$log"
    line=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
    if [ -n "$line" ]; then
      passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
      n_failed=$(echo "$line" | cut -d' ' -f3)
      failed=$((failed + n_failed))
      if [ "$n_failed" != 0 ]; then
        while IFS= read -r what; do failures+=("$suite: $what"); done < <(grep -E "^(FAIL|not ok)" "$log")
      fi
    else
      ko "$suite did not report"
    fi
  done
else
  tail -30 /tmp/sipwarden-release.log; ko "release build"
fi

echo
# What failed, once more at the end, so that the tail of the log (all a CI summary may keep) names it.
for what in "${failures[@]}"; do echo "FAILED: $what"; done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
