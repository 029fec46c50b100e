#!/usr/bin/env bash
# CI: run the date-sensitive tests with the whole process tree's clock shifted to another date
# (libfaketime, Debian package `faketime`), so a red CI never depends on which day it runs.
#
#   .ci/shifted_date_pass.sh ["2026-10-02 10:00:00" [pytest args…]]
#
# The date is given in Asia/Shanghai. The shift is a relative offset (FAKETIME="+Ns"), not an absolute
# start ("@…"): every subprocess (the Prefect test server, served flows, sshd-driving tests) computes the
# same offset from the real clock, so the API, the flows and Prefect's scheduler agree on "now" and the
# clock keeps ticking. Monotonic clocks move by the same constant offset (FAKETIME_DONT_FAKE_MONOTONIC=1
# makes libfaketime 0.9.10 fail every time.sleep with EINVAL), which intervals and timeouts do not notice.
set -euo pipefail
cd "$(dirname "$0")/.."
when="${1:-2026-10-02 10:00:00}"
shift || true
# Default subset: everything that reads the clock or the holiday calendar, kept under ~6 min.
subset=(tests/models tests/flows/test_release_deployment.py tests/notifications/test_outbox_rules.py
        tests/api/test_people.py tests/tasks/test_sweeper_promises.py tests/test_prefect_isolation.py)
[ "$#" -gt 0 ] && subset=("$@")
existing=()
for path in "${subset[@]}"; do [ -e "${path%%::*}" ] && existing+=("$path"); done

lib=""
for candidate in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1 \
                 /usr/lib/faketime/libfaketime.so.1; do
  [ -e "$candidate" ] && lib="$candidate" && break
done
if [ -z "$lib" ]; then
  if [ "${ITSS_REQUIRE_PEERS:-}" = 1 ]; then echo "shifted-date pass: libfaketime missing (apt-get install faketime)"; exit 1; fi
  echo "--- shifted-date pass skipped: libfaketime missing (apt-get install faketime)"; exit 0
fi
target=$(TZ=Asia/Shanghai date -d "$when" +%s)
offset=$(( target - $(date +%s) ))
sign="+"; [ "$offset" -lt 0 ] && sign="-" && offset=$(( -offset ))
echo "--- shifted-date pass at $when Asia/Shanghai (FAKETIME=${sign}${offset}s): ${existing[*]}"
start=$(date +%s)
LD_PRELOAD="$lib" FAKETIME="${sign}${offset}" \
  .venv/bin/pytest -q -p no:cacheprovider "${existing[@]}"
echo "shifted-date pass took $(( $(date +%s) - start )) s (real time)"
