#!/usr/bin/env bash
# Two gateway replicas that behave as one through Redis, on this machine (`make demo-cluster`):
#
#   redis-server   127.0.0.1:16379 (not 6379, so a Redis of your own is left alone), no persistence
#   simulators     EnOS IAM 127.0.0.1:18081, Net iD Portal 127.0.0.1:18082
#   replica A      127.0.0.1:8080, admin 127.0.0.1:9090
#   replica B      127.0.0.1:8081, admin 127.0.0.1:9091
#
# Both replicas run `idbridge run` on config/idbridge.toml (whose backends are the simulators) with
# the same store.redis_url and the same tokens.key_dir (one ed25519 key made here), so a session or
# a gateway token from one is good on the other, and a logout on either ends it on both. Prints
# curl lines that show it, then runs until Ctrl-C or until one of the processes stops, and stops
# everything it started. Logs and the key live in a temporary directory that goes with them.
#
#   bash scripts/demo-cluster.sh         # CARGO=... to build with another cargo
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

REDIS_PORT=16379
ENOS_PORT=18081
NETID_PORT=18082
A_PORT=8080 A_ADMIN=9090
B_PORT=8081 B_ADMIN=9091
# Loopback only, and printed below: a demo token, not a secret.
ADMIN_TOKEN=demo-cluster-admin-token
BIN="${CARGO_TARGET_DIR:-target}/debug/idbridge"
read -r -a CARGO_CMD <<<"${CARGO:-cargo}"

die() { printf 'demo-cluster: %s\n' "$*" >&2; exit 1; }

for tool in redis-server openssl curl; do
    command -v "$tool" >/dev/null || die "$tool not found (make deps installs it)"
done

# Something accepting connections on 127.0.0.1:PORT. A clear refusal beats a replica that exits
# with "address in use" halfway through the start.
listening() { (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
busy=()
for port in $REDIS_PORT $ENOS_PORT $NETID_PORT $A_PORT $A_ADMIN $B_PORT $B_ADMIN; do
    if listening "$port"; then busy+=("$port"); fi
done
if [ "${#busy[@]}" -gt 0 ]; then
    die "port(s) ${busy[*]} on 127.0.0.1 already in use; the demo needs $REDIS_PORT, $ENOS_PORT," \
        "$NETID_PORT, $A_PORT, $A_ADMIN, $B_PORT and $B_ADMIN. Is \`make demo\` or another" \
        "demo-cluster still running?"
fi

"${CARGO_CMD[@]}" build -q -p idbridge

PIDS=()
NAMES=()
TMP="$(mktemp -d)"
cleanup() {
    trap - EXIT INT TERM
    local pid _
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    # The gateways drain on SIGTERM; give them a few seconds, then make sure.
    for _ in $(seq 50); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo; exit 130' INT
trap 'exit 143' TERM

# start NAME CMD...: in the background, output to $TMP/NAME.log.
start() {
    local name=$1
    shift
    "$@" >"$TMP/$name.log" 2>&1 &
    PIDS+=("$!")
    NAMES+=("$name")
}

# await NAME CHECK...: polls CHECK for up to 20 s (a bounded readiness wait, not a guess of how
# long a start takes); fails early, with the log, if the process already exited.
await() {
    local name=$1 pid=${PIDS[-1]} _
    shift
    for _ in $(seq 100); do
        if "$@"; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$TMP/$name.log" >&2
            die "$name exited during start-up (its log is above)"
        fi
        sleep 0.2
    done
    tail -n 20 "$TMP/$name.log" >&2
    die "$name not ready after 20 s (its log is above)"
}

redis_pong() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" && printf 'PING\r\n' >&3 &&
            IFS=$'\r' read -r -t 1 reply <&3 && [ "$reply" = "+PONG" ]
    ) 2>/dev/null
}
sims_up() { listening "$ENOS_PORT" && listening "$NETID_PORT"; }
ready() { curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$1/readyz" 2>/dev/null; }
store_state() {
    curl -sS --max-time 1 "http://127.0.0.1:$1/readyz" 2>/dev/null |
        sed -n 's/.*"store" *: *"\([a-z]*\)".*/\1/p'
}

mkdir -m 0700 "$TMP/keys" "$TMP/redis"
openssl genpkey -algorithm ed25519 -out "$TMP/keys/k1.pem" 2>/dev/null

# No snapshots, no append-only file: the store holds nothing the backends cannot give again.
start redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --dir "$TMP/redis"
await redis redis_pong

start simulators "$BIN" sim --enos "127.0.0.1:$ENOS_PORT" --netid "127.0.0.1:$NETID_PORT"
await simulators sims_up

# replica NAME PORT ADMIN: the default config (backends on the simulators' ports) plus these.
replica() {
    start "$1" env \
        IDBRIDGE__SERVER__LISTEN="127.0.0.1:$2" \
        IDBRIDGE__SERVER__ADMIN_LISTEN="127.0.0.1:$3" \
        IDBRIDGE__BACKENDS__ENOS__URL="http://127.0.0.1:$ENOS_PORT" \
        IDBRIDGE__BACKENDS__NETID__URL="http://127.0.0.1:$NETID_PORT" \
        IDBRIDGE__TOKENS__KEY_DIR="$TMP/keys" \
        IDBRIDGE__STORE__REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
        IDBRIDGE__ADMIN__TOKEN="$ADMIN_TOKEN" \
        "$BIN" run
    await "$1" ready "$3"
}
replica A "$A_PORT" "$A_ADMIN"
replica B "$B_PORT" "$B_ADMIN"

# Ready says the backends answer; the store's state is reported beside it. Give the Redis
# connections a moment, then say plainly if a replica is not sharing.
for admin in $A_ADMIN $B_ADMIN; do
    for _ in $(seq 25); do
        [ "$(store_state "$admin")" = up ] && break
        sleep 0.2
    done
    state=$(store_state "$admin")
    if [ "$state" != up ]; then
        printf 'warning: the replica with admin port %s reports store "%s", not "up": it works, but alone\n' \
            "$admin" "${state:-?}" >&2
    fi
done

cat <<EOF

Two idbridge replicas sharing one Redis (redis://127.0.0.1:$REDIS_PORT):
  A  http://127.0.0.1:$A_PORT   admin http://127.0.0.1:$A_ADMIN
  B  http://127.0.0.1:$B_PORT   admin http://127.0.0.1:$B_ADMIN
  simulators: EnOS 127.0.0.1:$ENOS_PORT, Net iD 127.0.0.1:$NETID_PORT
  admin token: $ADMIN_TOKEN
  logs: $TMP/{redis,simulators,A,B}.log

In another shell, from this directory:

A=http://127.0.0.1:$A_PORT B=http://127.0.0.1:$B_PORT

# EnOS: log in on A; B answers from Redis (no backend call); log out on B; A refuses (30401).
ID=\$(curl -s \$A/enos-iam-service/v2.0/login -H 'Content-Type: application/json' \\
  -d '{"authType":0,"principal":"portal_test01","credentials":"Demo-Passw0rd"}' \\
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"]["id"])')
curl -s -X POST \$B/enos-iam-service/v2.0/session/info -H "Authorization: Bearer \$ID"
curl -s 127.0.0.1:$B_ADMIN/metrics | grep 'cache_lookups_total{result="shared"}'
curl -s -X POST \$B/enos-iam-service/v2.0/logout -H "Authorization: Bearer \$ID"
curl -s -X POST \$A/enos-iam-service/v2.0/session/info -H "Authorization: Bearer \$ID"

# Net iD: log in on A; one Count sequence across both replicas; log out on B; A says IsLoggedIn False.
# (Both login steps: the certificate's challenge, then the answer John Doe's key makes.)
SID=\$($BIN netid-login --url \$A --via rest)
curl -s \$B/api/login/status/get -H 'Content-Type: application/json' -d "{\\"SessionId\\":\\"\$SID\\",\\"Count\\":\\"1\\"}"
curl -s \$A/api/login/status/get -H 'Content-Type: application/json' -d "{\\"SessionId\\":\\"\$SID\\",\\"Count\\":\\"2\\"}"
curl -s \$B/api/logout -H 'Content-Type: application/json' -d "{\\"SessionId\\":\\"\$SID\\",\\"Count\\":\\"3\\"}"
curl -s \$A/api/login/status/get -H 'Content-Type: application/json' -d "{\\"SessionId\\":\\"\$SID\\",\\"Count\\":\\"4\\"}"

# A gateway token minted on A verifies on B (same key dir); an admin revoke on B ends it on A.
TOKEN=\$(curl -s \$A/idbridge/v1/login -H 'Content-Type: application/json' \\
  -d '{"backend":"enos","principal":"portal_test01","credentials":"Demo-Passw0rd"}' \\
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
curl -s \$B/idbridge/v1/session -H "Authorization: Bearer \$TOKEN"
curl -s -X DELETE -H "Authorization: Bearer $ADMIN_TOKEN" 127.0.0.1:$B_ADMIN/admin/subjects/u15578227990211/sessions
curl -s \$A/idbridge/v1/session -H "Authorization: Bearer \$TOKEN"

# Each replica's view of the store: "store":"up", or "degraded" while Redis does not answer.
curl -s 127.0.0.1:$A_ADMIN/readyz; echo; curl -s 127.0.0.1:$B_ADMIN/readyz; echo

# Degraded mode: Redis stops answering for 5 s. A login still works (200), B says "degraded",
# and a few seconds later "up" again, by itself.
redis-cli -p $REDIS_PORT client pause 5000 all
curl -s -o /dev/null -w '%{http_code}\n' \$B/idbridge/v1/login -H 'Content-Type: application/json' \
  -d '{"backend":"enos","principal":"portal_test01","credentials":"Demo-Passw0rd"}'
curl -s 127.0.0.1:$B_ADMIN/readyz; echo

Ctrl-C stops everything.
EOF

# Until Ctrl-C, or until one of them stops on its own (then say which, and stop the rest).
set +e
wait -n "${PIDS[@]}"
rc=$?
set -e
for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
        tail -n 20 "$TMP/${NAMES[$i]}.log" >&2
        die "${NAMES[$i]} stopped (exit $rc; its log is above); stopping the rest"
    fi
done
