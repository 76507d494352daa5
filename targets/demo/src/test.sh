#!/usr/bin/env bash
# test.sh — tests for the demo system (kvserver, kvload).
#
#   targets/demo/src/test.sh
#
# Builds the static binaries and the sanitizer build into a temporary
# directory, then talks to real servers on 127.0.0.1 (bash's /dev/tcp is the
# client for the byte-exact protocol checks). The protocol checks run twice:
# against the static release build and against the AddressSanitizer +
# UndefinedBehaviorSanitizer build, whose server must also exit 0 (no leaks,
# no sanitizer reports) on SIGTERM.
#
# Prints one line per check and "N passed, M failed" last; exits 1 if any
# check failed.
set -euo pipefail

SRC=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kvtest.XXXXXX")
SERVER_PIDS=()

cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() {
    FAILED=$((FAILED + 1))
    echo "FAIL - $1"
    if [ -n "${2:-}" ]; then printf '%s\n' "$2" | head -20 | sed 's/^/       /'; fi
}

# Sanitizers: report, then exit non-zero (the server's exit status is checked).
export ASAN_OPTIONS=detect_leaks=1:exitcode=23
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# need_server BIN NAME: start_server, or give up with the summary.
need_server() {
    start_server "$@" && return 0
    fail "start $1"
    echo "$PASSED passed, $FAILED failed"
    exit 1
}

# start_server BIN NAME: start BIN on a free port of 127.0.0.1. Picks a random
# port and tries again if it is taken. Sets PORT, PID, READY (the ready file),
# and leaves stdout/stderr in $WORK/NAME.{out,err}.
start_server() {
    local bin=$1 name=$2 try i
    for try in $(seq 1 20); do
        PORT=$((20000 + RANDOM % 40000))
        READY=$WORK/$name.ready
        rm -f "$READY"
        "$bin" --port "$PORT" --bind 127.0.0.1 --threads 2 --ready-file "$READY" \
            --log "$WORK/$name.log" >"$WORK/$name.out" 2>"$WORK/$name.err" &
        PID=$!
        # Readiness: the ready file appears, or the process exits. 10 s at most.
        for i in $(seq 1 200); do
            if [ -s "$READY" ]; then
                SERVER_PIDS+=("$PID")
                return 0
            fi
            kill -0 "$PID" 2>/dev/null || break
            sleep 0.05
        done
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
        grep -q 'in use' "$WORK/$name.err" || break   # only a taken port is worth a retry
    done
    echo "cannot start $bin:" >&2
    cat "$WORK/$name.err" >&2
    return 1
}

# stop_server PID: SIGTERM, then its exit status in STOP_RC.
stop_server() {
    STOP_RC=0
    kill -TERM "$1"
    wait "$1" || STOP_RC=$?
    local keep=() p
    for p in "${SERVER_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    SERVER_PIDS=("${keep[@]+"${keep[@]}"}")
}

# session PORT IN OUT: send file IN on one connection in one write, and save
# all the server sends back in OUT. IN should end with QUIT so that the
# server closes the connection.
session() {
    local fd
    exec {fd}<>"/dev/tcp/127.0.0.1/$1"
    cat "$2" >&"$fd"
    timeout 10 cat <&"$fd" >"$3" || true
    exec {fd}>&-
}

# expect NAME EXPECTED_FILE GOT_FILE: byte-exact comparison.
expect() {
    if cmp -s "$2" "$3"; then
        pass "$1"
    else
        fail "$1" "$(diff <(od -c "$2") <(od -c "$3") || true)"
    fi
}

# json_num KEY FILE: the number after "KEY": in a one-line JSON object.
json_num() { grep -o "\"$1\":[0-9.e+-]*" "$2" | head -1 | cut -d: -f2; }

# ---------------------------------------------------------------------------
# Protocol checks, against one server binary
# ---------------------------------------------------------------------------

protocol_checks() {
    local bin=$1 label=$2 i
    if ! start_server "$bin" "$label"; then
        fail "$label: server starts"
        return
    fi
    local in=$WORK/in exp=$WORK/exp got=$WORK/got

    if grep -qx "kvserver listening on 127.0.0.1:$PORT" "$WORK/$label.out" &&
        [ "$(cat "$READY")" = "$PID" ]; then
        pass "$label: listening line printed, pid in ready file"
    else
        fail "$label: listening line printed, pid in ready file" "$(cat "$WORK/$label.out" "$READY")"
    fi

    # Every command once, byte-exact.
    printf 'PING\r\nSET k1 5\r\nhello\r\nGET k1\r\nGET missing\r\nSET empty 0\r\n\r\nGET empty\r\n' >"$in"
    printf 'DEL k1\r\nDEL k1\r\nGET k1\r\nDEL empty\r\nSTATS\r\nQUIT\r\n' >>"$in"
    printf 'PONG\r\nSTORED\r\nVALUE 5\r\nhello\r\nNOT_FOUND\r\nSTORED\r\nVALUE 0\r\n\r\n' >"$exp"
    printf 'DELETED\r\nNOT_FOUND\r\nNOT_FOUND\r\nDELETED\r\nSTATS keys=0 gets=4 sets=2 conns=1\r\n' >>"$exp"
    session "$PORT" "$in" "$got"
    expect "$label: PING SET GET DEL STATS round trip" "$exp" "$got"

    # A 100 KiB binary value (NUL bytes, "\r\n" inside) comes back intact.
    head -c 102400 /dev/urandom >"$WORK/value"
    { printf 'SET big 102400\r\n'; cat "$WORK/value"; printf '\r\nGET big\r\nQUIT\r\n'; } >"$in"
    { printf 'STORED\r\nVALUE 102400\r\n'; cat "$WORK/value"; printf '\r\n'; } >"$exp"
    session "$PORT" "$in" "$got"
    expect "$label: 100 KiB binary value round trip" "$exp" "$got"

    # Malformed requests get ERROR and the connection goes on.
    {
        printf 'BOGUS\r\n'                            # unknown command
        printf '\r\n'                                 # empty line
        printf 'GET\r\n'                              # missing key
        printf 'GET a b\r\n'                          # extra argument
        printf 'SET k notanumber\r\n'                 # bad length
        printf 'GET %s\r\n' "$(head -c 251 /dev/zero | tr '\0' k)"   # key too long
        printf 'SET k 3\r\nabcXY'                     # data not followed by \r\n
        printf '\r\n'
        head -c 2000 /dev/zero | tr '\0' x; printf '\r\n'            # line too long
        printf 'PING\r\nQUIT\r\n'
    } >"$in"
    session "$PORT" "$in" "$got"
    local words
    words=$(tr -d '\r' <"$got" | cut -d' ' -f1 | tr '\n' ' ')
    if [ "$words" = "ERROR ERROR ERROR ERROR ERROR ERROR ERROR ERROR PONG " ]; then
        pass "$label: malformed requests get ERROR, connection still works"
    else
        fail "$label: malformed requests get ERROR, connection still works" "$(cat -A "$got")"
    fi

    # A value over 1 MiB is refused and its data skipped.
    { printf 'SET huge 1048577\r\n'; head -c 1048577 /dev/zero; printf '\r\nPING\r\nQUIT\r\n'; } >"$in"
    printf 'ERROR value too large (max 1048576 bytes)\r\nPONG\r\n' >"$exp"
    session "$PORT" "$in" "$got"
    expect "$label: value over 1 MiB refused, connection still works" "$exp" "$got"

    # 100 pipelined requests in one write.
    : >"$in"
    : >"$exp"
    for i in $(seq 1 50); do
        printf 'SET p%d %d\r\nv%d\r\nGET p%d\r\n' "$i" $((${#i} + 1)) "$i" "$i" >>"$in"
        printf 'STORED\r\nVALUE %d\r\nv%d\r\n' $((${#i} + 1)) "$i" >>"$exp"
    done
    printf 'QUIT\r\n' >>"$in"
    session "$PORT" "$in" "$got"
    expect "$label: 100 pipelined requests in one write" "$exp" "$got"

    # Requests trickling in one byte per write: the server waits for the rest.
    printf 'SET slow 4\r\nabcd\r\nGET slow\r\nQUIT\r\n' >"$in"
    printf 'STORED\r\nVALUE 4\r\nabcd\r\n' >"$exp"
    local fd
    exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
    dd if="$in" bs=1 status=none >&"$fd"
    timeout 10 cat <&"$fd" >"$got" || true
    exec {fd}>&-
    expect "$label: requests split into 1-byte writes" "$exp" "$got"

    # Pipelined GETs of a 1 MiB value: 8 MiB of replies, more than the server
    # buffers before it waits for the client to read (flow control).
    head -c 1048576 /dev/urandom >"$WORK/value"
    { printf 'SET max 1048576\r\n'; cat "$WORK/value"; printf '\r\n'
      for i in $(seq 1 8); do printf 'GET max\r\n'; done; printf 'QUIT\r\n'; } >"$in"
    { printf 'STORED\r\n'
      for i in $(seq 1 8); do printf 'VALUE 1048576\r\n'; cat "$WORK/value"; printf '\r\n'; done; } >"$exp"
    session "$PORT" "$in" "$got"
    expect "$label: 8 pipelined GETs of a 1 MiB value" "$exp" "$got"

    # SIGTERM: exit 0 (for the sanitizer build: no reports, no leaks), ready file gone.
    local ready=$READY pid=$PID
    stop_server "$pid"
    if [ "$STOP_RC" = 0 ] && [ ! -e "$ready" ]; then
        pass "$label: SIGTERM -> exit 0, ready file removed"
    else
        fail "$label: SIGTERM -> exit 0, ready file removed" \
            "exit $STOP_RC; $(ls "$ready" 2>&1); $(tail -20 "$WORK/$label.err")"
    fi
}

# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------

BIN=$WORK/bin
if make -s -C "$SRC" OUT="$BIN" all debug >"$WORK/build.log" 2>&1; then
    pass "build (static release + sanitizer debug)"
else
    fail "build (static release + sanitizer debug)" "$(cat "$WORK/build.log")"
    echo "$PASSED passed, $FAILED failed"
    exit 1
fi

if make -q -C "$SRC" OUT="$BIN" all debug; then
    pass "make with nothing changed does nothing"
else
    fail "make with nothing changed does nothing"
fi

make -s -C "$SRC" OUT="$WORK/bin2" all >/dev/null 2>&1 || true
if cmp -s "$BIN/kvserver" "$WORK/bin2/kvserver" && cmp -s "$BIN/kvload" "$WORK/bin2/kvload"; then
    pass "two builds in different directories are byte-identical"
else
    fail "two builds in different directories are byte-identical"
fi

# Static: no program interpreter (ld-linux) requested.
if ! readelf -l "$BIN/kvserver" "$BIN/kvload" | grep -q 'program interpreter'; then
    pass "binaries are statically linked"
else
    fail "binaries are statically linked" "$(readelf -l "$BIN/kvserver" | grep interpreter)"
fi

# ---------------------------------------------------------------------------
# Protocol, release build and sanitizer build
# ---------------------------------------------------------------------------

protocol_checks "$BIN/kvserver" release
protocol_checks "$BIN/debug/kvserver" asan

# ---------------------------------------------------------------------------
# Server options and errors
# ---------------------------------------------------------------------------

rc=0
"$BIN/kvserver" --port x 2>"$WORK/err" || rc=$?
if [ "$rc" = 1 ] && [ "$(cat "$WORK/err")" = 'kvserver: --port: expected 1..65535, got "x"' ]; then
    pass "bad --port: exit 1 with a message naming the option"
else
    fail "bad --port: exit 1 with a message naming the option" "exit $rc: $(cat "$WORK/err")"
fi

need_server "$BIN/kvserver" main
MAIN_PORT=$PORT
MAIN_PID=$PID
rc=0
timeout 10 "$BIN/kvserver" --port "$MAIN_PORT" --bind 127.0.0.1 --ready-file "$WORK/second.ready" \
    >"$WORK/out" 2>"$WORK/err" || rc=$?
if [ "$rc" != 0 ] && grep -q "cannot listen on 127.0.0.1:$MAIN_PORT: Address already in use" "$WORK/err" &&
    [ ! -e "$WORK/second.ready" ] && [ ! -s "$WORK/out" ]; then
    pass "port already taken: non-zero exit, message, no ready file"
else
    fail "port already taken: non-zero exit, message, no ready file" "exit $rc: $(cat "$WORK/err")"
fi

# ---------------------------------------------------------------------------
# kvload
# ---------------------------------------------------------------------------

rc=0
"$BIN/kvload" --servers "127.0.0.1:$MAIN_PORT" --clients 8 --value-size 100 --duration 2 \
    --json "$WORK/load.json" >"$WORK/load.out" 2>"$WORK/load.err" || rc=$?
ops=$(json_num ops "$WORK/load.out")
errors=$(json_num errors "$WORK/load.out")
p50=$(json_num p50 "$WORK/load.out")
p99=$(json_num p99 "$WORK/load.out")
max=$(json_num max "$WORK/load.out")
if [ "$rc" = 0 ] && [ "${errors:-x}" = 0 ] && [ "${ops:-0}" -gt 0 ] &&
    awk -v a="$p50" -v b="$p99" -v c="$max" 'BEGIN { exit !(a > 0 && a <= b && b <= c) }'; then
    pass "kvload 8 clients x 2 s: ops>0, errors=0, p50<=p99<=max"
else
    fail "kvload 8 clients x 2 s: ops>0, errors=0, p50<=p99<=max" \
        "exit $rc: $(cat "$WORK/load.out" "$WORK/load.err")"
fi
echo "       $(cat "$WORK/load.out")"

if [ "$(wc -l <"$WORK/load.out")" = 1 ] && cmp -s "$WORK/load.out" "$WORK/load.json" &&
    { ! command -v jq >/dev/null || jq -e '.latency_us.p999 and (.servers | length == 1)' "$WORK/load.json" >/dev/null; }; then
    pass "kvload prints one JSON object, the same as --json"
else
    fail "kvload prints one JSON object, the same as --json" "$(cat "$WORK/load.json")"
fi

# Two servers: the clients of each server store every key on it.
need_server "$BIN/kvserver" second
SECOND_PORT=$PORT
SECOND_PID=$PID
rc=0
"$BIN/kvload" --servers "127.0.0.1:$MAIN_PORT,127.0.0.1:$SECOND_PORT" --clients 5 --value-size 10 \
    --keys 77 --duration 0.3 --get-ratio 1 >"$WORK/load2.out" 2>&1 || rc=$?
printf 'STATS\r\nQUIT\r\n' >"$WORK/in"
session "$SECOND_PORT" "$WORK/in" "$WORK/got"
if [ "$rc" = 0 ] && grep -q '^STATS keys=77 ' "$WORK/got" && grep -q '"servers":\[".*",".*"\]' "$WORK/load2.out"; then
    pass "kvload over two servers loads all keys on each"
else
    fail "kvload over two servers loads all keys on each" "exit $rc: $(cat "$WORK/load2.out" "$WORK/got")"
fi

# The sanitizer build of kvload against the sanitizer build of kvserver.
need_server "$BIN/debug/kvserver" asan-load
ASAN_PORT=$PORT
ASAN_PID=$PID
rc=0
"$BIN/debug/kvload" --servers "127.0.0.1:$ASAN_PORT" --clients 16 --value-size 5000 --keys 200 \
    --get-ratio 0.5 --duration 1 >"$WORK/load3.out" 2>&1 || rc=$?
stop_server "$ASAN_PID"
if [ "$rc" = 0 ] && [ "$STOP_RC" = 0 ]; then
    pass "asan: kvload 16 clients against kvserver, both clean"
else
    fail "asan: kvload 16 clients against kvserver, both clean" \
        "kvload exit $rc, kvserver exit $STOP_RC: $(cat "$WORK/load3.out" "$WORK/asan-load.err")"
fi

# A dead port: every connection fails -> errors > 0, exit 2, JSON still printed.
stop_server "$SECOND_PID"
rc=0
"$BIN/kvload" --servers "127.0.0.1:$SECOND_PORT" --clients 3 --value-size 10 --duration 0.2 \
    >"$WORK/dead.out" 2>"$WORK/dead.err" || rc=$?
errors=$(json_num errors "$WORK/dead.out")
if [ "$rc" = 2 ] && [ "${errors:-0}" -gt 0 ] && [ "$(json_num ops "$WORK/dead.out")" = 0 ] &&
    grep -q 'Connection refused' "$WORK/dead.err"; then
    pass "kvload against a dead port: exit 2, errors>0"
else
    fail "kvload against a dead port: exit 2, errors>0" "exit $rc: $(cat "$WORK/dead.out" "$WORK/dead.err")"
fi

rc=0
"$BIN/kvload" --servers "127.0.0.1:$MAIN_PORT" --clients 0 --value-size 10 --duration 1 \
    >"$WORK/out" 2>"$WORK/err" || rc=$?
if [ "$rc" = 1 ] && grep -q -- '--clients' "$WORK/err" && [ ! -s "$WORK/out" ]; then
    pass "kvload bad option: exit 1 naming the option"
else
    fail "kvload bad option: exit 1 naming the option" "exit $rc: $(cat "$WORK/err")"
fi

stop_server "$MAIN_PID"
if [ "$STOP_RC" = 0 ]; then pass "server exits 0 on SIGTERM after load"; else fail "server exits 0 on SIGTERM after load" "exit $STOP_RC"; fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
