#!/usr/bin/env bash
# Strata local stack: Temporal dev server, PostgreSQL and Redis on loopback.
#
#   infra/stack.sh up | down | status | env | restart-redis | kafka-up | kafka-down | cluster-up | cluster-down
#                  | replica-up | replica-down
#
# Kafka (for stream sources) is not part of `up`: `kafka-up` starts one local KRaft broker (infra/kafka.sh).
# Idempotent: `up` starts only what is not already running and leaves running services alone.
# State lives in ${STRATA_STATE_DIR:-<repo>/.strata} (gitignored). See docs/stack.md.
#
# When STRATA_POSTGRES_URL, STRATA_REDIS_URL or TEMPORAL_ADDRESS point somewhere else than this script's defaults,
# that service is treated as external: it is checked for reachability, never started or stopped.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${STRATA_STATE_DIR:-$REPO_DIR/.strata}"
CACHE_DIR="${STRATA_CACHE:-${HOME:-/tmp}/.cache/strata}"
TEMPORAL_VERSION="v1.5.1"

# Ports can be moved (e.g. to run a second stack beside the first one); the defaults are what docs/stack.md lists.
PG_PORT="${STRATA_PG_PORT:-5433}"
REDIS_PORT="${STRATA_REDIS_PORT:-6380}"
TEMPORAL_PORT="${STRATA_TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${STRATA_TEMPORAL_UI_PORT:-8233}"
# A Redis Cluster for the cluster binding's tests (cluster-up): 6 nodes on ports BASE..BASE+5 (3 masters, 3 replicas);
# each node's cluster bus is its port + 10000, which must be free too.
CLUSTER_PORT="${STRATA_REDIS_CLUSTER_PORT:-7001}"
# A hot-standby replica of the stack's Postgres (replica-up), for the read replica of training sets (offline.readUrl).
PG_REPLICA_PORT="${STRATA_PG_REPLICA_PORT:-5434}"
HOST=127.0.0.1

DEFAULT_PG_URL="postgres://strata@$HOST:$PG_PORT/strata"
DEFAULT_REDIS_URL="redis://$HOST:$REDIS_PORT"
DEFAULT_TEMPORAL_ADDRESS="$HOST:$TEMPORAL_PORT"

SEARCH_ATTRIBUTES=(StrataProject=Keyword StrataFeatureView=Keyword StrataStage=Keyword StrataIngestionId=Keyword StrataRows=Int)

# As root, PostgreSQL runs as the `postgres` user, which must reach its folder. When the state folder is somewhere it
# cannot enter (a checkout under /root, say), the cluster lives in /var/lib/strata/<hash of the state path> instead.
PG_ROOT="${STRATA_PG_DIR:-$STATE_DIR/pg}"
if [[ -z "${STRATA_PG_DIR:-}" && $EUID -eq 0 ]] && id postgres >/dev/null 2>&1; then
  _probe="$STATE_DIR"
  while [[ ! -e "$_probe" ]]; do _probe="$(dirname "$_probe")"; done
  if ! runuser -u postgres -- test -x "$_probe" 2>/dev/null; then
    PG_ROOT="/var/lib/strata/$(printf '%s' "$STATE_DIR" | cksum | cut -d' ' -f1)/pg"
  fi
  unset _probe
fi
PG_DATA="$PG_ROOT/data"
PG_RUN="$PG_ROOT/run"
PG_LOG="$PG_ROOT/postgres.log"
PG_REPLICA_DATA="$PG_ROOT/replica"
PG_REPLICA_RUN="$PG_ROOT/replica-run"
PG_REPLICA_LOG="$PG_ROOT/replica.log"
DEFAULT_PG_REPLICA_URL="postgres://strata@$HOST:$PG_REPLICA_PORT/strata"
REDIS_DIR="$STATE_DIR/redis"
REDIS_PID="$REDIS_DIR/redis.pid"
TEMPORAL_DIR="$STATE_DIR/temporal"
TEMPORAL_PID="$TEMPORAL_DIR/temporal.pid"
TEMPORAL_LOG="$TEMPORAL_DIR/temporal.log"
CLUSTER_DIR="$STATE_DIR/redis-cluster"

log() { printf '[stack %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# A service is "ours" unless its env var is set to something other than our default.
pg_external() { [[ -n "${STRATA_POSTGRES_URL:-}" && "$STRATA_POSTGRES_URL" != "$DEFAULT_PG_URL" ]]; }
redis_external() { [[ -n "${STRATA_REDIS_URL:-}" && "$STRATA_REDIS_URL" != "$DEFAULT_REDIS_URL" ]]; }
temporal_external() { [[ -n "${TEMPORAL_ADDRESS:-}" && "$TEMPORAL_ADDRESS" != "$DEFAULT_TEMPORAL_ADDRESS" ]]; }

pg_url() { if pg_external; then echo "$STRATA_POSTGRES_URL"; else echo "$DEFAULT_PG_URL"; fi; }
redis_url() { if redis_external; then echo "$STRATA_REDIS_URL"; else echo "$DEFAULT_REDIS_URL"; fi; }
temporal_address() { if temporal_external; then echo "$TEMPORAL_ADDRESS"; else echo "$DEFAULT_TEMPORAL_ADDRESS"; fi; }

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }

# ---------------------------------------------------------------------------------------------------------------------
# apt: update at most once per run, and only when something must be installed.
APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  [[ $EUID -eq 0 ]] || return 1
  mkdir -p "$STATE_DIR"
  local apt_log="$STATE_DIR/apt.log"
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update (log: $apt_log)"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$apt_log" 2>&1 || { log "apt-get update failed, see $apt_log"; return 1; }
    APT_UPDATED=1
  fi
  log "apt-get install $* (log: $apt_log)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>"$apt_log" 2>&1 \
    || { log "apt-get install $* failed, see $apt_log"; return 1; }
}

# ---------------------------------------------------------------------------------------------------------------------
# PostgreSQL
PG_BIN=""
find_pg_bin() {
  local d
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    PG_BIN="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
    return 0
  fi
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n "$d" && -x "$d/pg_ctl" && -x "$d/initdb" ]]; then PG_BIN="$d"; return 0; fi
  return 1
}

ensure_pg_bin() {
  find_pg_bin && return 0
  apt_install postgresql postgresql-client || true
  find_pg_bin || die "PostgreSQL server binaries (initdb, pg_ctl) not found and 'apt-get install postgresql' failed: install PostgreSQL 15+ or set STRATA_POSTGRES_URL to an existing database"
}

# Postgres refuses to run as root: as root we run it as the `postgres` system user.
as_pg() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_ctl_() { as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" "$@"; }

pg_running() { [[ -n "$PG_BIN" && -f "$PG_DATA/PG_VERSION" ]] && pg_ctl_ status >/dev/null 2>&1; }

psql_admin() { as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PG_PORT" -U postgres -d postgres "$@"; }

pg_up() {
  if pg_external; then
    pg_isready_url "$STRATA_POSTGRES_URL" || die "PostgreSQL not reachable at STRATA_POSTGRES_URL=$STRATA_POSTGRES_URL: start it, or unset STRATA_POSTGRES_URL to let this script run its own on port $PG_PORT"
    log "postgres: using external $STRATA_POSTGRES_URL"
    return 0
  fi
  ensure_pg_bin
  if [[ $EUID -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "PostgreSQL refuses to run as root and there is no 'postgres' user: install the postgresql package or set STRATA_POSTGRES_URL"
  fi
  mkdir -p "$PG_ROOT" "$PG_RUN"
  [[ $EUID -eq 0 ]] && chown postgres: "$PG_ROOT" "$PG_RUN"
  as_pg test -w "$PG_ROOT" || die "user postgres cannot write $PG_ROOT (a parent folder is not accessible to it): set STRATA_PG_DIR or STRATA_STATE_DIR to a folder it can reach, or set STRATA_POSTGRES_URL"

  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    log "postgres: initdb in $PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$PG_ROOT/initdb.log" 2>&1 \
      || as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$PG_ROOT/initdb.log" 2>&1 \
      || die "initdb failed, see $PG_ROOT/initdb.log"
    # Local development tuning. synchronous_commit=off may lose the last few commits on a crash but never corrupts;
    # fsync stays on.
    as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null <<EOF

# --- strata local stack (infra/stack.sh) ---
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 200
shared_buffers = 128MB
synchronous_commit = off
full_page_writes = on
log_min_messages = warning
EOF
    as_pg tee "$PG_DATA/pg_hba.conf" >/dev/null <<EOF
# strata local stack: loopback only, trust
local all all               trust
host  all all 127.0.0.1/32  trust
host  replication all 127.0.0.1/32  trust
EOF
  fi

  if pg_running; then
    log "postgres: already running on $HOST:$PG_PORT"
  elif port_busy "$PG_PORT" && pg_query_ok "$DEFAULT_PG_URL"; then
    log "postgres: a server not started from $PG_DATA already serves $DEFAULT_PG_URL; using it"
    return 0
  else
    port_busy "$PG_PORT" && die "port $PG_PORT is taken by another process (not our PostgreSQL in $PG_DATA): free it or set STRATA_POSTGRES_URL"
    log "postgres: starting on $HOST:$PG_PORT"
    pg_ctl_ -l "$PG_LOG" -w -t 60 start >/dev/null 9>&- || die "PostgreSQL failed to start, see $PG_LOG"
  fi

  if ! psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname='strata'" | grep -q 1; then
    psql_admin -c "CREATE ROLE strata LOGIN SUPERUSER"
  fi
  if ! psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname='strata'" | grep -q 1; then
    psql_admin -c "CREATE DATABASE strata OWNER strata"
  fi
  # The role user SQL (entity queries) runs as: it can read every table and write nothing (docs/offline-store.md).
  if ! psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname='strata_reader'" | grep -q 1; then
    psql_admin -c "CREATE ROLE strata_reader NOLOGIN" -c "GRANT pg_read_all_data TO strata_reader" \
      -c "GRANT strata_reader TO strata"
  fi
}

pg_down() {
  if pg_external; then log "postgres: external ($STRATA_POSTGRES_URL), left alone"; return 0; fi
  find_pg_bin || return 0
  if pg_running; then
    log "postgres: stopping"
    pg_ctl_ -m fast -w -t 60 stop >/dev/null
  else
    log "postgres: not running"
  fi
}

pg_query_ok() {
  local psql_bin
  psql_bin="$(command -v psql || echo "$PG_BIN/psql")"
  "$psql_bin" -X -q -tAc 'SELECT 1' "$1" >/dev/null 2>&1
}

pg_isready_url() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -t 5 -d "$1"
  else
    find_pg_bin && "$PG_BIN/pg_isready" -q -t 5 -d "$1"
  fi
}

# A streaming replica (hot standby) of the stack's own Postgres, for offline.readUrl; not part of `up`.
pg_replica_ctl() { as_pg "$PG_BIN/pg_ctl" -D "$PG_REPLICA_DATA" "$@"; }
pg_replica_running() { [[ -n "$PG_BIN" && -f "$PG_REPLICA_DATA/PG_VERSION" ]] && pg_replica_ctl status >/dev/null 2>&1; }
psql_at() { as_pg "$PG_BIN/psql" -X -q -tA -h "$HOST" -p "$1" -U postgres -d postgres -c "$2" 2>/dev/null || true; }

pg_replica_up() {
  pg_external && die "the replica is a standby of the stack's own Postgres; STRATA_POSTGRES_URL names an external one (point offline.readUrl at its replica instead)"
  ensure_pg_bin
  pg_running || die "the stack's Postgres is not running: run 'infra/stack.sh up' first"
  if pg_replica_running; then log "postgres replica: already running on $HOST:$PG_REPLICA_PORT"; return 0; fi
  # Clusters made before the replica existed lack the replication line in pg_hba.conf: add it and reload.
  if ! as_pg grep -q '^host  *replication' "$PG_DATA/pg_hba.conf"; then
    echo "host  replication all 127.0.0.1/32  trust" | as_pg tee -a "$PG_DATA/pg_hba.conf" >/dev/null
    pg_ctl_ reload >/dev/null
  fi
  port_busy "$PG_REPLICA_PORT" && die "port $PG_REPLICA_PORT is taken by another process: free it or set STRATA_PG_REPLICA_PORT"
  if [[ ! -f "$PG_REPLICA_DATA/standby.signal" ]]; then
    # A half-made copy from an interrupted run is not a replica: start over.
    as_pg rm -rf "$PG_REPLICA_DATA"
    mkdir -p "$PG_REPLICA_RUN"
    [[ $EUID -eq 0 ]] && chown postgres: "$PG_REPLICA_RUN"
    log "postgres replica: pg_basebackup from $HOST:$PG_PORT into $PG_REPLICA_DATA"
    # -R writes standby.signal and primary_conninfo; -X stream copies the WAL written during the copy too.
    as_pg "$PG_BIN/pg_basebackup" -h "$HOST" -p "$PG_PORT" -U postgres -D "$PG_REPLICA_DATA" -R -X stream -c fast \
      >"$PG_ROOT/basebackup.log" 2>&1 || die "pg_basebackup failed, see $PG_ROOT/basebackup.log"
    # hot_standby_feedback: the primary's vacuum keeps rows a long training-set read on the replica still needs,
    # and max_standby_streaming_delay lets such a read finish before replay cancels it.
    as_pg tee -a "$PG_REPLICA_DATA/postgresql.conf" >/dev/null <<EOF

# --- strata local stack: hot standby of $HOST:$PG_PORT (infra/stack.sh replica-up) ---
port = $PG_REPLICA_PORT
unix_socket_directories = '$PG_REPLICA_RUN'
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 300s
EOF
  fi
  log "postgres replica: starting on $HOST:$PG_REPLICA_PORT"
  pg_replica_ctl -l "$PG_REPLICA_LOG" -w -t 60 start >/dev/null 9>&- || die "the replica failed to start, see $PG_REPLICA_LOG"
  local i
  for i in $(seq 1 100); do
    if [[ "$(psql_at "$PG_REPLICA_PORT" 'SELECT pg_is_in_recovery()')" == t ]]; then
      log "postgres replica: up, $DEFAULT_PG_REPLICA_URL"
      return 0
    fi
    sleep 0.2
  done
  die "the replica did not accept read-only connections within 20s, see $PG_REPLICA_LOG"
}

pg_replica_down() {
  find_pg_bin || return 0
  if pg_replica_running; then
    log "postgres replica: stopping"
    pg_replica_ctl -m fast -w -t 60 stop >/dev/null
  else
    log "postgres replica: not running"
  fi
}

# ---------------------------------------------------------------------------------------------------------------------
# Redis
ensure_redis_bin() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
  apt_install redis-server redis-tools || true
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 \
    || die "redis-server not found and 'apt-get install redis-server' failed: install Redis 6+ or set STRATA_REDIS_URL to an existing Redis"
}

redis_ping_url() { redis-cli -u "$1" ping 2>/dev/null | grep -q PONG; }
redis_running() { pid_alive "$REDIS_PID" && redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

redis_start() {
  ensure_redis_bin
  mkdir -p "$REDIS_DIR"
  cat >"$REDIS_DIR/redis.conf" <<EOF
# strata local stack (generated by infra/stack.sh)
bind $HOST
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile $REDIS_PID
logfile $REDIS_DIR/redis.log
dir $REDIS_DIR
save ""
# Persistence: the append-only file, fsynced every second (a restart keeps the online store; at most ~1 s is lost).
appendonly yes
appendfsync everysec
EOF
  if redis_running; then log "redis: already running on $HOST:$REDIS_PORT"; return 0; fi
  if ! pid_alive "$REDIS_PID" && redis_ping_url "$DEFAULT_REDIS_URL"; then
    log "redis: a server not started by this script already answers on $DEFAULT_REDIS_URL; using it"
    return 0
  fi
  port_busy "$REDIS_PORT" && die "port $REDIS_PORT is taken by another process (not our Redis): free it or set STRATA_REDIS_URL"
  log "redis: starting on $HOST:$REDIS_PORT"
  redis-server "$REDIS_DIR/redis.conf" 9>&- || die "redis-server failed to start, see $REDIS_DIR/redis.log"
  local i
  for i in $(seq 1 50); do
    redis_running && return 0
    sleep 0.1
  done
  die "Redis did not answer PING on $HOST:$REDIS_PORT within 5s, see $REDIS_DIR/redis.log"
}

redis_stop() {
  if pid_alive "$REDIS_PID"; then
    log "redis: stopping"
    local pid i
    pid="$(cat "$REDIS_PID")"
    redis-cli -h "$HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    rm -f "$REDIS_PID"
  else
    log "redis: not running"
  fi
}

redis_up() {
  if redis_external; then
    command -v redis-cli >/dev/null 2>&1 || ensure_redis_bin
    redis_ping_url "$STRATA_REDIS_URL" || die "Redis not reachable at STRATA_REDIS_URL=$STRATA_REDIS_URL: start it, or unset STRATA_REDIS_URL to let this script run its own on port $REDIS_PORT"
    log "redis: using external $STRATA_REDIS_URL"
    return 0
  fi
  redis_start
}

redis_down() {
  if redis_external; then log "redis: external ($STRATA_REDIS_URL), left alone"; return 0; fi
  redis_stop
}

restart_redis() {
  redis_external && die "Redis is external ($STRATA_REDIS_URL): restart-redis only restarts the stack's own Redis"
  redis_stop
  redis_start
}

# ---------------------------------------------------------------------------------------------------------------------
# Temporal
TEMPORAL_BIN=""
find_temporal() {
  if [[ -n "${STRATA_TEMPORAL_BIN:-}" ]]; then
    [[ -x "$STRATA_TEMPORAL_BIN" ]] || die "STRATA_TEMPORAL_BIN=$STRATA_TEMPORAL_BIN is not an executable file"
    TEMPORAL_BIN="$STRATA_TEMPORAL_BIN"; return 0
  fi
  if command -v temporal >/dev/null 2>&1; then TEMPORAL_BIN="$(command -v temporal)"; return 0; fi
  if [[ -x "$CACHE_DIR/bin/temporal" ]]; then
    # A build made by this script leaves a stamp; a stale one (other version) is rebuilt. No stamp: trust the binary.
    if [[ -f "$CACHE_DIR/bin/temporal.version" && "$(cat "$CACHE_DIR/bin/temporal.version")" != "$TEMPORAL_VERSION" ]]; then
      return 1
    fi
    TEMPORAL_BIN="$CACHE_DIR/bin/temporal"; return 0
  fi
  return 1
}

ensure_temporal() {
  find_temporal && return 0
  local go_bin=""
  if command -v go >/dev/null 2>&1; then go_bin="$(command -v go)"
  elif [[ -x /usr/local/go/bin/go ]]; then go_bin=/usr/local/go/bin/go
  fi
  if [[ -z "$go_bin" ]]; then
    apt_install golang-go || true
    command -v go >/dev/null 2>&1 && go_bin="$(command -v go)"
  fi
  [[ -n "$go_bin" ]] || die "no 'temporal' CLI found (PATH, STRATA_TEMPORAL_BIN, $CACHE_DIR/bin) and no Go toolchain to build it: install Go 1.22+ (or put the Temporal CLI on PATH / set STRATA_TEMPORAL_BIN, or set TEMPORAL_ADDRESS to an existing server)"
  mkdir -p "$CACHE_DIR/bin"
  log "temporal: building Temporal CLI $TEMPORAL_VERSION with $go_bin (takes several minutes, cached in $CACHE_DIR/bin)"
  local t0=$SECONDS
  GOBIN="$CACHE_DIR/bin" GOFLAGS="${GOFLAGS:-} -trimpath" "$go_bin" install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_VERSION" \
    >"$CACHE_DIR/temporal-build.log" 2>&1 \
    || die "building the Temporal CLI failed (see $CACHE_DIR/temporal-build.log): put a 'temporal' binary on PATH, set STRATA_TEMPORAL_BIN, or set TEMPORAL_ADDRESS to an existing server"
  echo "$TEMPORAL_VERSION" >"$CACHE_DIR/bin/temporal.version"
  log "temporal: built in $((SECONDS - t0))s"
  TEMPORAL_BIN="$CACHE_DIR/bin/temporal"
}

temporal_healthy() { "$TEMPORAL_BIN" operator cluster health --address "$1" >/dev/null 2>&1; }

temporal_register_search_attributes() {
  local addr="$1" existing sa name type
  existing="$("$TEMPORAL_BIN" operator search-attribute list --address "$addr" --namespace "${TEMPORAL_NAMESPACE:-default}" 2>/dev/null || true)"
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do
    name="${sa%%=*}"; type="${sa#*=}"
    if ! grep -qw "$name" <<<"$existing"; then
      log "temporal: registering search attribute $name ($type)"
      "$TEMPORAL_BIN" operator search-attribute create --address "$addr" --namespace "${TEMPORAL_NAMESPACE:-default}" \
        --name "$name" --type "$type" >/dev/null
    fi
  done
}

temporal_up() {
  if temporal_external; then
    ensure_temporal
    temporal_healthy "$TEMPORAL_ADDRESS" || die "Temporal not reachable at TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS: start it, or unset TEMPORAL_ADDRESS to let this script run a dev server on $DEFAULT_TEMPORAL_ADDRESS"
    log "temporal: using external $TEMPORAL_ADDRESS"
    temporal_register_search_attributes "$TEMPORAL_ADDRESS"
    return 0
  fi
  ensure_temporal
  mkdir -p "$TEMPORAL_DIR"
  if pid_alive "$TEMPORAL_PID" && temporal_healthy "$DEFAULT_TEMPORAL_ADDRESS"; then
    log "temporal: already running on $DEFAULT_TEMPORAL_ADDRESS"
  elif ! pid_alive "$TEMPORAL_PID" && temporal_healthy "$DEFAULT_TEMPORAL_ADDRESS"; then
    log "temporal: a server not started by this script already answers on $DEFAULT_TEMPORAL_ADDRESS; using it"
  else
    if ! pid_alive "$TEMPORAL_PID"; then
      port_busy "$TEMPORAL_PORT" && die "port $TEMPORAL_PORT is taken by a process that is not a healthy Temporal server: free it or set TEMPORAL_ADDRESS"
      log "temporal: starting dev server on $DEFAULT_TEMPORAL_ADDRESS (UI http://$HOST:$TEMPORAL_UI_PORT)"
      local args=(server start-dev --db-filename "$TEMPORAL_DIR/temporal.db" --port "$TEMPORAL_PORT"
        --ui-port "$TEMPORAL_UI_PORT" --ip "$HOST" --namespace default --log-level warn)
      local sa
      for sa in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$sa"); done
      # setsid: the server outlives this script and the caller's terminal / process group.
      setsid nohup "$TEMPORAL_BIN" "${args[@]}" >>"$TEMPORAL_LOG" 2>&1 </dev/null 9>&- &
      echo $! >"$TEMPORAL_PID"
    fi
    local i
    for i in $(seq 1 120); do
      temporal_healthy "$DEFAULT_TEMPORAL_ADDRESS" && break
      pid_alive "$TEMPORAL_PID" || die "Temporal dev server exited during start-up, see $TEMPORAL_LOG"
      sleep 0.5
    done
    temporal_healthy "$DEFAULT_TEMPORAL_ADDRESS" || die "Temporal dev server not healthy after 60s, see $TEMPORAL_LOG"
  fi
  # Health can answer before the namespace is served: wait for it.
  local j
  for j in $(seq 1 60); do
    "$TEMPORAL_BIN" operator namespace describe default --address "$DEFAULT_TEMPORAL_ADDRESS" >/dev/null 2>&1 && break
    sleep 0.5
  done
  temporal_register_search_attributes "$DEFAULT_TEMPORAL_ADDRESS"
}

temporal_down() {
  if temporal_external; then log "temporal: external ($TEMPORAL_ADDRESS), left alone"; return 0; fi
  if pid_alive "$TEMPORAL_PID"; then
    log "temporal: stopping"
    local pid i
    pid="$(cat "$TEMPORAL_PID")"
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    rm -f "$TEMPORAL_PID"
  else
    log "temporal: not running (or not started by this script)"
  fi
}

# ---------------------------------------------------------------------------------------------------------------------
port_busy() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
  fi
}

status() {
  local rc=0 addr
  # postgres
  if pg_external; then
    if pg_isready_url "$STRATA_POSTGRES_URL"; then echo "postgres  up    $STRATA_POSTGRES_URL (external)"; else echo "postgres  down  $STRATA_POSTGRES_URL (external)"; rc=1; fi
  elif find_pg_bin && pg_running; then echo "postgres  up    $DEFAULT_PG_URL (data $PG_DATA)"
  else echo "postgres  down  $DEFAULT_PG_URL"; rc=1
  fi
  if ! pg_external && [[ -n "$PG_BIN" ]] && pg_replica_running; then echo "replica   up    $DEFAULT_PG_REPLICA_URL (hot standby)"; fi
  # redis
  addr="$(redis_url)"
  if command -v redis-cli >/dev/null 2>&1 && redis_ping_url "$addr"; then
    if redis_external; then echo "redis     up    $addr (external)"; else echo "redis     up    $addr (pid $(cat "$REDIS_PID" 2>/dev/null || echo '?'))"; fi
  else echo "redis     down  $addr"; rc=1
  fi
  # temporal
  addr="$(temporal_address)"
  if find_temporal && temporal_healthy "$addr"; then
    if temporal_external; then echo "temporal  up    $addr (external)"
    else echo "temporal  up    $addr, UI http://$HOST:$TEMPORAL_UI_PORT (pid $(cat "$TEMPORAL_PID" 2>/dev/null || echo 'not ours'))"
    fi
  else echo "temporal  down  $addr"; rc=1
  fi
  return $rc
}

print_env() {
  echo "export STRATA_POSTGRES_URL=$(pg_url)"
  echo "export STRATA_REDIS_URL=$(redis_url)"
  echo "export TEMPORAL_ADDRESS=$(temporal_address)"
  if cluster_running; then echo "export STRATA_REDIS_CLUSTER_URL=$(cluster_url)"; fi
  if ! pg_external && find_pg_bin && pg_replica_running; then echo "export STRATA_PG_REPLICA_URL=$DEFAULT_PG_REPLICA_URL"; fi
  echo "export TEMPORAL_NAMESPACE=${TEMPORAL_NAMESPACE:-default}"
  # Only for the stack's own Temporal: an external server's UI address is not known here.
  temporal_external || echo "export STRATA_TEMPORAL_UI_URL=http://$HOST:$TEMPORAL_UI_PORT"
  bash "$REPO_DIR/infra/kafka.sh" env
}

with_lock() {
  # Several shells (tests, engineers) may call `up` at once: serialise on a lock file in the state folder.
  mkdir -p "$STATE_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$STATE_DIR/stack.lock"
    # (fd 9 is closed for every daemon we spawn, so they never hold this lock.)
    flock -w 300 9 || die "timed out waiting for $STATE_DIR/stack.lock"
  fi
  "$@"
}

# ---------------------------------------------------------------------------------------------------------------------
# Redis Cluster (for tests of the cluster binding; not part of `up`)
cluster_ports() { local i; for i in 0 1 2 3 4 5; do echo $((CLUSTER_PORT + i)); done; }
cluster_node_alive() { pid_alive "$CLUSTER_DIR/$1/redis.pid" && redis-cli -h "$HOST" -p "$1" ping 2>/dev/null | grep -q PONG; }
cluster_ok() { redis-cli -h "$HOST" -p "$1" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; }
cluster_url() { local p out=""; for p in $(cluster_ports); do out+="${out:+,}$HOST:$p"; done; echo "redis://$out"; }
cluster_running() { local p; for p in $(cluster_ports); do cluster_node_alive "$p" || return 1; done; }

cluster_up() {
  ensure_redis_bin
  local p i started=0
  for p in $(cluster_ports); do
    mkdir -p "$CLUSTER_DIR/$p"
    if cluster_node_alive "$p"; then continue; fi
    port_busy "$p" && die "port $p is taken by another process (not our cluster node): free it or set STRATA_REDIS_CLUSTER_PORT"
    port_busy $((p + 10000)) && die "cluster bus port $((p + 10000)) is taken: free it or set STRATA_REDIS_CLUSTER_PORT"
    # A short node timeout keeps failovers (and the tests that cause them) quick; loopback only, no persistence.
    printf '%s\n' "# strata local stack, Redis Cluster node (generated by infra/stack.sh)" \
      "bind $HOST" "port $p" "daemonize yes" "pidfile $CLUSTER_DIR/$p/redis.pid" "logfile $CLUSTER_DIR/$p/redis.log" \
      "dir $CLUSTER_DIR/$p" "cluster-enabled yes" "cluster-config-file nodes.conf" "cluster-node-timeout 2000" \
      'save ""' "appendonly no" >"$CLUSTER_DIR/$p/redis.conf"
    redis-server "$CLUSTER_DIR/$p/redis.conf" 9>&- || die "redis-server failed to start on $p, see $CLUSTER_DIR/$p/redis.log"
    started=1
  done
  for p in $(cluster_ports); do
    for i in $(seq 1 50); do cluster_node_alive "$p" && break; sleep 0.1; done
    cluster_node_alive "$p" || die "cluster node $p did not answer PING, see $CLUSTER_DIR/$p/redis.log"
  done
  if ! redis-cli -h "$HOST" -p "$CLUSTER_PORT" cluster info 2>/dev/null | grep -q 'cluster_known_nodes:6'; then
    log "redis cluster: creating 3 masters + 3 replicas on $HOST:$CLUSTER_PORT..$((CLUSTER_PORT + 5))"
    local nodes=()
    for p in $(cluster_ports); do nodes+=("$HOST:$p"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$CLUSTER_DIR/create.log" 2>&1 \
      || die "redis-cli --cluster create failed, see $CLUSTER_DIR/create.log"
  elif [[ $started -eq 1 ]]; then
    log "redis cluster: restarted node(s) rejoin the cluster"
  fi
  local all
  for i in $(seq 1 150); do
    all=1
    for p in $(cluster_ports); do cluster_ok "$p" || { all=0; break; }; done
    if [[ $all -eq 1 ]]; then log "redis cluster: up, $(cluster_url)"; return 0; fi
    sleep 0.2
  done
  die "the Redis Cluster did not reach cluster_state:ok within 30s, see $CLUSTER_DIR/*/redis.log"
}

cluster_down() {
  local p pid i any=0
  for p in $(cluster_ports); do
    [[ -f "$CLUSTER_DIR/$p/redis.pid" ]] || continue
    pid="$(cat "$CLUSTER_DIR/$p/redis.pid" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      any=1
      redis-cli -h "$HOST" -p "$p" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
      for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  # The next cluster-up creates a fresh cluster.
  [[ -n "$CLUSTER_DIR" ]] && rm -rf "$CLUSTER_DIR"
  if [[ $any -eq 1 ]]; then log "redis cluster: stopped"; else log "redis cluster: not running"; fi
}

check_external() {
  # Check the services the user pointed us at before starting anything, so a bad URL fails fast.
  if pg_external; then pg_up; fi
  if redis_external; then redis_up; fi
  if temporal_external; then temporal_up; fi
}

up() {
  local t0=$SECONDS
  check_external
  pg_up
  redis_up
  temporal_up
  log "stack up in $((SECONDS - t0))s"
  status >&2
}

down() {
  bash "$REPO_DIR/infra/kafka.sh" down
  cluster_down
  temporal_down
  redis_down
  pg_replica_down
  pg_down
}

usage() {
  cat >&2 <<EOF
usage: infra/stack.sh up | down | status | env | restart-redis
  up             start Temporal dev server, PostgreSQL and Redis (idempotent)
  down           stop the services this script started
  status         show each service up/down with its address (exit 1 if any is down)
  env            print export lines for eval: eval "\$(infra/stack.sh env)"
  restart-redis  stop and start the stack's own Redis
  kafka-up       start one local Kafka broker (KRaft) from Maven Central's jars (infra/kafka.sh up)
  kafka-down     stop it
  cluster-up     start a local Redis Cluster (3 masters + 3 replicas on ports STRATA_REDIS_CLUSTER_PORT..+5, default
                 7001..7006, cluster buses +10000); `env` then prints STRATA_REDIS_CLUSTER_URL
  cluster-down   stop it and remove its state (`down` does this too)
  replica-up     start a hot-standby replica of the stack's Postgres (pg_basebackup -R) on STRATA_PG_REPLICA_PORT
                 (default 5434); `env` then prints STRATA_PG_REPLICA_URL (for offline.readUrl)
  replica-down   stop it (its data stays for the next replica-up; `down` stops it too)
state: $STATE_DIR
EOF
}

case "${1:-}" in
  up) with_lock up ;;
  down) with_lock down ;;
  status) status ;;
  env) print_env ;;
  restart-redis) with_lock restart_redis ;;
  kafka-up) with_lock bash "$REPO_DIR/infra/kafka.sh" up ;;
  kafka-down) with_lock bash "$REPO_DIR/infra/kafka.sh" down ;;
  cluster-up) with_lock cluster_up ;;
  cluster-down) with_lock cluster_down ;;
  replica-up) with_lock pg_replica_up ;;
  replica-down) with_lock pg_replica_down ;;
  -h|--help|help) usage ;;
  *) usage; exit 2 ;;
esac
