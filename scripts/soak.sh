#!/usr/bin/env bash
# A soak: 60 s of load against examples/http_server (goro-load, HTTP/1.1,
# keep-alive) and examples/echo_server (a Python client of round trips),
# one after the other. Passes when, for each server:
#   - the client saw zero errors;
#   - the server's resident set, sampled every 5 s, stays within 10% of
#     its median after the first 10 s (no growth under steady load);
#   - the client's and the server's request counts are equal: the HTTP
#     server prints "served N requests" at shutdown, the echo server one
#     "closed after N bytes" line per connection, summed here.
#
# Usage: scripts/soak.sh [http] [echo]   (default both; SOAK_SECS=60,
# SOAK_CONNS=32). The checks run inside `if`, where `set -e` is off, so
# each step's result is its last command's, combined explicitly.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SOAK_SECS:-60}
CONNS=${SOAK_CONNS:-32}
STEPS=("$@")
if [ ${#STEPS[@]} -eq 0 ]; then STEPS=(http echo); fi
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

nice -n 19 cargo build --release -q -p goro-load
nice -n 19 cargo build --release -q --features hyper --example http_server --example echo_server

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# Samples $1's RSS every 5 s into $2 until the pid exits or $3 s passed.
sample_rss() {
    local pid=$1 out=$2 secs=$3 t=0
    while [ "$t" -le "$secs" ] && kill -0 "$pid" 2>/dev/null; do
        echo "$t $(rss_kib "$pid")" >>"$out"
        sleep 5
        t=$((t + 5))
    done
}

# Prints the samples and fails if one after 10 s is off their median by
# more than 10%.
check_rss() {
    python3 - "$1" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
print("  rss KiB every 5 s:", " ".join(str(r) for _, r in rows))
late = sorted(r for t, r in rows if t > 10)
if len(late) < 3:
    sys.exit("  too few RSS samples")
med = late[len(late) // 2]
worst = max(abs(r - med) / med for r in late)
print(f"  after 10 s: median {med} KiB, max deviation {worst:.1%} (limit 10%)")
sys.exit(0 if worst <= 0.10 else 1)
PY
}

# Waits (at most 10 s) for a line matching $2 in file $1.
wait_for() {
    for _ in $(seq 100); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for '$2' in $1" >&2
    return 1
}

soak_http() {
    local log=$WORK/http.log
    target/release/examples/http_server 127.0.0.1:0 >"$log" 2>&1 &
    local pid=$!
    wait_for "$log" "listening on http://"
    local url
    url=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$log" | head -1)
    sample_rss "$pid" "$WORK/http.rss" $((SECS + 5)) &
    local sampler=$!
    target/release/goro-load -c "$CONNS" -d "${SECS}s" --json --no-progress "$url/" >"$WORK/http.json"
    kill -INT "$pid"
    wait "$pid"
    kill "$sampler" 2>/dev/null || true
    wait_for "$log" "shut down"
    local served
    served=$(sed -n 's/^served \([0-9]*\) requests/\1/p' "$log")
    python3 - "$WORK/http.json" "$served" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
served = int(sys.argv[2])
errors = sum(r["errors"].values())
print(f"  client: {r['requests']} responses ({r['sent']} sent) in {r['duration_s']:.1f} s, "
      f"{r['rps']:.0f} req/s, {errors} errors, status {r['status']}; server: {served} requests")
ok = errors == 0 and r["requests"] == served
sys.exit(0 if ok else 1)
PY
    local counts=$?
    check_rss "$WORK/http.rss" && [ "$counts" -eq 0 ]
}

soak_echo() {
    local log=$WORK/echo.log
    target/release/examples/echo_server 127.0.0.1:0 >"$log" 2>&1 &
    local pid=$!
    wait_for "$log" "listening on"
    local addr
    addr=$(sed -n 's/^echo server listening on \(.*\)$/\1/p' "$log")
    sample_rss "$pid" "$WORK/echo.rss" $((SECS + 5)) &
    local sampler=$!
    # Each client thread: one connection, round trips of 64 bytes until
    # the time is up; prints round trips, bytes and errors.
    python3 - "$addr" "$CONNS" "$SECS" >"$WORK/echo.client" <<'PY'
import socket, sys, threading, time
host, port = sys.argv[1].rsplit(":", 1)
conns, secs = int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + secs
totals, lock = [0, 0, 0], threading.Lock()
def client(i):
    trips = sent = errors = 0
    try:
        s = socket.create_connection((host, int(port)))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        msg = (b"soak %d " % i).ljust(64, b".")
        while time.monotonic() < end:
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(len(msg) - len(got))
                if not chunk:
                    raise ConnectionError("closed early")
                got += chunk
            if got != msg:
                errors += 1
            trips += 1
            sent += len(msg)
        s.close()
    except OSError:
        errors += 1
    with lock:
        totals[0] += trips; totals[1] += sent; totals[2] += errors
threads = [threading.Thread(target=client, args=(i,)) for i in range(conns)]
for t in threads: t.start()
for t in threads: t.join()
print(*totals)
PY
    # The server logs each connection's byte count when the client closes.
    local trips bytes errors
    read -r trips bytes errors <"$WORK/echo.client"
    for _ in $(seq 100); do
        [ "$(grep -c 'closed after' "$log")" -ge "$CONNS" ] && break
        sleep 0.1
    done
    # SIGTERM, not SIGINT: a background job of a non-interactive shell
    # starts with SIGINT ignored, and echo_server installs no handler.
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    kill "$sampler" 2>/dev/null || true
    local server_bytes closed
    server_bytes=$(sed -n 's/.*closed after \([0-9]*\) bytes/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
    closed=$(grep -c 'closed after' "$log" || true)
    echo "  client: $trips round trips, $bytes bytes, $errors errors; server: $closed connections, $server_bytes bytes echoed"
    local counts=0
    [ "$errors" -eq 0 ] && [ "$bytes" -eq "$server_bytes" ] && [ "$closed" -eq "$CONNS" ] || counts=1
    check_rss "$WORK/echo.rss" && [ "$counts" -eq 0 ]
}

status=0
for step in "${STEPS[@]}"; do
    start=$SECONDS
    echo "== soak $step: $CONNS connections, $SECS s"
    case $step in
    http) if soak_http; then r=ok; else r=FAILED; status=1; fi ;;
    echo) if soak_echo; then r=ok; else r=FAILED; status=1; fi ;;
    *) echo "unknown step '$step' (want http or echo)" >&2; exit 2 ;;
    esac
    echo "== soak $step: $r in $((SECONDS - start)) s"
done
exit $status
