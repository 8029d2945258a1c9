# Sourced by demo.sh and test.sh: makes sure a Redis answers and exports its URL as BPM_LOCAL_REDIS.
# Uses the machine's Redis on 127.0.0.1:6379 when it answers; otherwise starts a private one
# (no persistence, loopback only) that lives in .run/ and is reused by later runs.
redis_ping() { redis-cli -p "$1" ping 2>/dev/null | grep -q PONG; }

if redis_ping 6379; then
  BPM_LOCAL_REDIS_PORT=6379
else
  BPM_LOCAL_REDIS_PORT=${BPM_PRIVATE_REDIS_PORT:-6390}
  if ! redis_ping "$BPM_LOCAL_REDIS_PORT"; then
    mkdir -p .run
    echo "No Redis on 127.0.0.1:6379: starting a private one on port $BPM_LOCAL_REDIS_PORT"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$BPM_LOCAL_REDIS_PORT" --save "" --appendonly no \
      --maxmemory-policy noeviction --dir "$PWD/.run" --logfile "$PWD/.run/redis.log" \
      --pidfile "$PWD/.run/redis.pid"
    for _ in $(seq 50); do redis_ping "$BPM_LOCAL_REDIS_PORT" && break; sleep 0.1; done
  fi
fi
export BPM_LOCAL_REDIS="redis://127.0.0.1:$BPM_LOCAL_REDIS_PORT"
