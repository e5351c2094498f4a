#!/usr/bin/env bash
# Strata local Kafka: one broker in KRaft mode (combined broker + controller) on loopback, from Maven Central's
# org.apache.kafka:kafka_2.13 jars and the machine's Java 17+. No Docker, no tarball download.
#
#   infra/kafka.sh up | down | status | env | fetch
#
# The jars are resolved once with Maven (a small generated pom, `dependency:copy-dependencies`, runtime scope) into
# ${STRATA_CACHE:-~/.cache/strata}/kafka/<version>/libs, outside the repo. The broker's log folder and its pid live in
# ${STRATA_STATE_DIR:-<repo>/.strata}/kafka. Ports: STRATA_KAFKA_PORT (broker, default 9192) and
# STRATA_KAFKA_CONTROLLER_PORT (controller, default 9193). See docs/stack.md.
#
# When STRATA_KAFKA_BROKERS points somewhere else than this script's default, that cluster is external: it is
# checked for reachability, never started or stopped.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${STRATA_STATE_DIR:-$REPO_DIR/.strata}"
CACHE_DIR="${STRATA_CACHE:-${HOME:-/tmp}/.cache/strata}"
KAFKA_VERSION="${STRATA_KAFKA_VERSION:-4.1.1}"
HOST=127.0.0.1
KAFKA_PORT="${STRATA_KAFKA_PORT:-9192}"
CONTROLLER_PORT="${STRATA_KAFKA_CONTROLLER_PORT:-9193}"
DEFAULT_BROKERS="$HOST:$KAFKA_PORT"

LIBS="$CACHE_DIR/kafka/$KAFKA_VERSION/libs"
KDIR="$STATE_DIR/kafka"
KPID="$KDIR/kafka.pid"
KLOG="$KDIR/kafka.log"
KDATA="$KDIR/data"

log() { printf '[kafka %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[kafka] ERROR: %s\n' "$*" >&2; exit 1; }

external() { [[ -n "${STRATA_KAFKA_BROKERS:-}" && "$STRATA_KAFKA_BROKERS" != "$DEFAULT_BROKERS" ]]; }
brokers() { if external; then echo "$STRATA_KAFKA_BROKERS"; else echo "$DEFAULT_BROKERS"; fi; }
pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1" 2>/dev/null)" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# ---------------------------------------------------------------------------------------------------------------------
APT_UPDATED=0
apt_install() {
  # A fresh machine without Java or Maven: Debian's packages, as root (what infra/stack.sh does for its services).
  command -v apt-get >/dev/null 2>&1 && [[ $EUID -eq 0 ]] || return 1
  mkdir -p "$STATE_DIR"
  if [[ $APT_UPDATED -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$STATE_DIR/apt.log" 2>&1 || return 1
    APT_UPDATED=1
  fi
  log "apt-get install $* (log: $STATE_DIR/apt.log)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>"$STATE_DIR/apt.log" 2>&1
}

ensure_java() {
  command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless || true
  command -v java >/dev/null 2>&1 || die "java not found: Kafka $KAFKA_VERSION needs Java 17+ (e.g. 'apt-get install openjdk-17-jre-headless'), or set STRATA_KAFKA_BROKERS to an existing cluster"
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')"
  [[ "${major%%.*}" -ge 17 ]] || die "java $major is too old: Kafka $KAFKA_VERSION needs Java 17+"
}

fetch() {
  if [[ -f "$LIBS/.complete" ]]; then return 0; fi
  ensure_java
  command -v mvn >/dev/null 2>&1 || apt_install maven || true
  command -v mvn >/dev/null 2>&1 || die "mvn not found: the broker's jars are resolved from Maven Central with Maven ('apt-get install maven')"
  local work
  work="$(mktemp -d)"
  cat >"$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.strata.local</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
EOF
  log "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime dependencies with Maven into $LIBS"
  rm -rf "$LIBS.tmp"
  mkdir -p "$LIBS.tmp"
  if ! mvn -B -q -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$LIBS.tmp" >"$work/mvn.log" 2>&1; then
    tail -n 30 "$work/mvn.log" >&2
    rm -rf "$work"
    die "Maven could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (log above)"
  fi
  rm -rf "$work"
  touch "$LIBS.tmp/.complete"
  rm -rf "$LIBS"
  mv "$LIBS.tmp" "$LIBS"
  log "$(find "$LIBS" -name '*.jar' | wc -l) jars cached"
}

java_opts() {
  # Small and quick to start: this is a single-node development broker.
  echo "-Xms256m -Xmx768m -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true -Dlog4j2.configurationFile=$KDIR/log4j2.properties"
}

write_config() {
  mkdir -p "$KDIR"
  cat >"$KDIR/server.properties" <<EOF
# strata local Kafka (generated by infra/kafka.sh)
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KDATA
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=24
log.segment.bytes=67108864
EOF
  cat >"$KDIR/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $KLOG
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka.server.KafkaRaftServer
logger.kafka.level = INFO
EOF
}

random_cluster_id() {
  # A Kafka cluster id is 16 random bytes, base64url without padding (what StorageTool random-uuid prints).
  # Like Kafka's Uuid.randomUuid, draw again when it starts with '-': the format tool's argument parser would read
  # such an id as an option and fail with "--cluster-id: expected one argument" (1 draw in 64).
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ $id == -* ]] || break
  done
  printf '%s' "$id"
}

ready() {
  # The broker answers on its port and has registered: the log says so once it is serving.
  port_open "$HOST" "$KAFKA_PORT" && grep -q "Kafka Server started\|\[KafkaRaftServer nodeId=1\] Kafka Server started" "$KLOG" 2>/dev/null
}

up() {
  if external; then
    local h="${STRATA_KAFKA_BROKERS%%,*}"
    port_open "${h%:*}" "${h##*:}" || die "Kafka not reachable at STRATA_KAFKA_BROKERS=$STRATA_KAFKA_BROKERS: start it, or unset it to let this script run its own broker on $DEFAULT_BROKERS"
    log "using external $STRATA_KAFKA_BROKERS"
    return 0
  fi
  local t0=$SECONDS
  if pid_alive "$KPID" && port_open "$HOST" "$KAFKA_PORT"; then log "already running on $DEFAULT_BROKERS"; return 0; fi
  port_open "$HOST" "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by another process (not our broker): free it, or set STRATA_KAFKA_PORT / STRATA_KAFKA_BROKERS"
  port_open "$HOST" "$CONTROLLER_PORT" && die "port $CONTROLLER_PORT is taken by another process: free it or set STRATA_KAFKA_CONTROLLER_PORT"
  fetch
  ensure_java
  write_config
  local cp="$LIBS/*"
  if [[ ! -f "$KDATA/meta.properties" ]]; then
    log "formatting the KRaft log folder $KDATA"
    # shellcheck disable=SC2046
    # (a short-lived JVM: the client compiler only starts faster)
    java $(java_opts) -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$cp" kafka.tools.StorageTool format -t "$(random_cluster_id)" -c "$KDIR/server.properties" \
      >"$KDIR/format.log" 2>&1 || { cat "$KDIR/format.log" >&2; die "kafka-storage format failed"; }
  fi
  : >"$KLOG"
  log "starting broker+controller on $DEFAULT_BROKERS (controller $HOST:$CONTROLLER_PORT)"
  # shellcheck disable=SC2046
  setsid nohup java $(java_opts) -cp "$cp" kafka.Kafka "$KDIR/server.properties" >>"$KDIR/stdout.log" 2>&1 </dev/null 9>&- &
  echo $! >"$KPID"
  local i
  for i in $(seq 1 300); do
    ready && { log "ready in $((SECONDS - t0))s"; return 0; }
    pid_alive "$KPID" || { tail -n 30 "$KDIR/stdout.log" "$KLOG" >&2; die "the broker exited during start-up (logs above)"; }
    sleep 0.1
  done
  die "the broker was not ready within 30s, see $KLOG and $KDIR/stdout.log"
}

down() {
  if external; then log "external ($STRATA_KAFKA_BROKERS), left alone"; return 0; fi
  if pid_alive "$KPID"; then
    log "stopping"
    local pid i
    pid="$(cat "$KPID")"
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    rm -f "$KPID"
  else
    log "not running"
  fi
}

status() {
  if port_open "$(brokers | cut -d, -f1 | cut -d: -f1)" "$(brokers | cut -d, -f1 | cut -d: -f2)"; then
    echo "kafka     up    $(brokers)$(external && echo ' (external)' || echo " (pid $(cat "$KPID" 2>/dev/null || echo '?'))")"
  else
    echo "kafka     down  $(brokers)"; return 1
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  env) echo "export STRATA_KAFKA_BROKERS=$(brokers)" ;;
  fetch) fetch ;;
  *) echo "usage: infra/kafka.sh up | down | status | env | fetch" >&2; exit 2 ;;
esac
