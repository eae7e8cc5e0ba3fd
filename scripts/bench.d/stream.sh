# shellcheck shell=bash
# shellcheck disable=SC2154 # root, tmp, bench_d, server_url, server_pid: set by scripts/bench
# Section 3 of scripts/bench: the live stream (GET /api/stream, Server-Sent
# Events). Sourced by scripts/bench after its other sections (or alone with
# `scripts/bench --only stream`); it uses the script's helpers and variables
# (say, show, run, run_bg, start_server, cpu_snap, cpu_report, ticks_of,
# pg_ticks, PGDB, tmp, QUICK, DUR, bg_pids).
#
#   3a. server RSS, threads, descriptors and PostgreSQL connections with 0 and
#       with 1,000 idle stream clients; CPU of server and PostgreSQL over 30 s
#       with 1,000 idle clients (and over 10 s with none, for reference)
#   3b. latency: one writer (adw-emit --rate 2000) for DUR seconds while 100,
#       then 1,000 clients read every event; then 100 readers + 900 clients
#       whose filter (topics=chat) matches none of the events
#   3c. sustained ingest: 1 and 32 adw-emit writers (batch 64, 200-byte
#       content) through adw_events_append(); COPY of the same rows from 32
#       psql into events, into a trigger-less copy of the table and into an
#       unlogged trigger-less copy; NOTIFYs and statements counted by
#       PostgreSQL (track_functions = all, throwaway database only)
#
# ADW_BENCH_STREAM=idle,latency,ingest (the default) picks the parts, for reruns.

STREAM_PARTS=${ADW_BENCH_STREAM:-idle,latency,ingest}
part() { case ",$STREAM_PARTS," in *",$1,"*) return 0 ;; esac; return 1; }
STREAM_RATE=2000
STREAM_SECS=$DUR
STREAM_COUNT=$((STREAM_RATE * STREAM_SECS))
STREAM_SIZE=0 # content "<tag>:<i>": frames of about 330 bytes
STREAM_CLIENTS=1000
IDLE_SECS=$((QUICK ? 3 : 30))
BASE_SECS=$((QUICK ? 2 : 10))
INGEST_WRITERS=32
INGEST_COUNT=$((QUICK ? 1000 : 20000))
INGEST_BATCH=64
INGEST_SIZE=200
EMIT=$root/build-release/tests/adw-emit
SSE=$tmp/sse-clients
HZ=$(getconf CLK_TCK)
stream_results=$tmp/stream-results.txt
: >"$stream_results"

section "3. Live stream: GET /api/stream (Server-Sent Events)"
run cc -O2 -o "$SSE" "$bench_d/sse-clients.c"
# One descriptor per client socket (the server raises its own limit to the hard one).
fd_need=$((STREAM_CLIENTS + 200))
fd_soft=$(ulimit -Sn)
if [ "$fd_soft" != unlimited ] && [ "$fd_soft" -lt "$fd_need" ]; then
  fd_hard=$(ulimit -Hn)
  if [ "$fd_hard" = unlimited ] || [ "$fd_hard" -ge "$fd_need" ]; then
    ulimit -Sn "$([ "$fd_hard" = unlimited ] && echo "$fd_need" || echo "$fd_hard")"
  else
    ulimit -Sn "$fd_hard"
  fi
fi
say "ulimit -n:   $(ulimit -Sn) (the clients need about $fd_need)"
# The client stands for browsers on other machines: it should read as soon as data
# arrives. At nice 0 its one thread got a smaller share of the 2 saturated cores than
# the server's 5 threads, and hundreds of MB piled up unread in its sockets.
SSE_NICE=()
if nice -n -10 true 2>/dev/null; then SSE_NICE=(nice -n -10); fi
say "client:      ${SSE_NICE[*]:-nice 0 (no permission for nice -10)}"
if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$fd_need" ]; then
  STREAM_CLIENTS=$(($(ulimit -Sn) - 200))
  say "             too few descriptors: $STREAM_CLIENTS clients instead of 1,000"
fi

# ---- helpers
status_kb() { awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status" 2>/dev/null || echo 0; }
# key=value from the line of FILE whose first word is WORD
kv() { awk -v w="$2" -v k="$3" '$1 == w { for (i = 2; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) { print substr($i, n + 1); exit } } }' "$1"; }
pg_conns() {
  psql -X -At "$PGDB" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
}
# the connections by their last statement (streamer: the events SELECT; supervisor: its claim or LISTEN)
pg_conns_detail() {
  psql -X -At "$PGDB" -c "SELECT string_agg(format('%s x %s', n, q), '; ' ORDER BY q) FROM (
    SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 44) AS q, count(*) AS n FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1) x"
}
now_ns() { date +%s%N; }
# Where the backlog is: bytes queued in the sockets, sampled 3 times during a run.
# Client sockets' Recv-Q = sent but not read yet by the client (the client is slow);
# server sockets' Send-Q = written by the server, not yet acknowledged (in flight on
# loopback, or the client's receive window is full). Both small while latency grows:
# the backlog is inside the server (events not yet written to the sockets).
queue_sampler() { # OUT SECONDS
  for _ in 1 2 3; do
    sleep "$(awk -v s="$2" 'BEGIN { print s / 4 }')"
    ss -tnH state established "( sport = :$stream_port or dport = :$stream_port )" 2>/dev/null |
      awk -v p=":$stream_port" '{ if ($3 ~ p "$") { srv += $2; ns++ } else if ($4 ~ p "$") { cli += $1; nc++ } }
        END { printf "%.1f/%.1f ", cli / 1048576, srv / 1048576 }'
  done >"$1"
}
# sse_start OUT CLIENTS PATH TAG EXPECT TIMEOUT_S: starts the client, waits for "ready"; sets sse_pid
sse_pid=
sse_start() {
  local out=$1
  show "${SSE_NICE[*]}${SSE_NICE[*]:+ }$SSE --port $stream_port --clients $2 --path '$3' --tag '$4' --expect $5 --timeout $6 >$out &"
  "${SSE_NICE[@]}" "$SSE" --port "$stream_port" --clients "$2" --path "$3" --tag "$4" --expect "$5" --timeout "$6" >"$out" 2>"$out.err" &
  sse_pid=$!
  bg_pids="$bg_pids $sse_pid"
  for _ in $(seq 600); do
    grep -q '^ready' "$out" 2>/dev/null && return 0
    kill -0 "$sse_pid" 2>/dev/null || break
    sleep 0.1
  done
  say "(sse-clients did not get ready: $(head -c 300 "$out.err"))"
  return 1
}
sse_wait() { # PID: waits for a client and forgets it
  local rc=0
  wait "$1" 2>/dev/null || rc=$?
  bg_pids=${bg_pids// $1/}
  return "$rc"
}
# Wakes the server after clients went away, so that it frees their connections.
stream_flush() {
  env DATABASE_URL="$PGDB" "$EMIT" --count 1 --tag flush >/dev/null 2>&1 || true
  sleep 1
}

stop_server
start_server "$MAXRUN"
stream_port=${server_url##*:}
sleep 1.5
# The streamer's backend: its last statement is the events SELECT (every second at least).
streamer_backend=$(psql -X -At "$PGDB" -c "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT e.id,%' LIMIT 1")

# ---------------------------------------------------------------- 3a. idle clients
if part idle; then
say ""
say "3a. Idle clients: memory, PostgreSQL connections, CPU"
say "RSS from /proc/PID/status (VmRSS; VmHWM = peak). PostgreSQL connections: pg_stat_activity"
say "rows of database adw_bench, this psql excluded. No DB-backed HTTP route is called"
say "before, so the HTTP pool threads have not opened their per-thread connections yet."
rss0=$(status_kb "$server_pid" VmRSS)
thr0=$(status_kb "$server_pid" Threads)
fds0=$(find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
conns0=$(pg_conns)
say "0 clients:     RSS $((rss0 / 1024)).$(((rss0 % 1024) * 10 / 1024)) MB, $thr0 threads, $fds0 fds; PG connections $conns0 ($(pg_conns_detail))"
b0=$(ticks_of "$server_pid"); p0=$(pg_ticks); sleep "$BASE_SECS"; b1=$(ticks_of "$server_pid"); p1=$(pg_ticks)
base_srv_ms=$(((b1 - b0) * 1000 / HZ)); base_pg_ms=$(((p1 - p0) * 1000 / HZ))
say "0 clients, ${BASE_SECS} s: server CPU ${base_srv_ms} ms, PostgreSQL CPU ${base_pg_ms} ms"

idle_out=$tmp/idle.txt
if sse_start "$idle_out" "$STREAM_CLIENTS" /api/stream "" 0 $((IDLE_SECS + 300)); then
  idle_pid=$sse_pid
  sleep 2
  rss1=$(status_kb "$server_pid" VmRSS); hwm1=$(status_kb "$server_pid" VmHWM)
  thr1=$(status_kb "$server_pid" Threads)
  fds1=$(find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  conns1=$(pg_conns)
  say "$STREAM_CLIENTS clients: RSS $((rss1 / 1024)).$(((rss1 % 1024) * 10 / 1024)) MB (peak $((hwm1 / 1024)) MB), $thr1 threads, $fds1 fds; PG connections $conns1 ($(pg_conns_detail)); connected in $(kv "$idle_out" ready connect_ms) ms"
  c0=$(ticks_of "$idle_pid"); s0=$(cpu_snap); sleep "$IDLE_SECS"; s1=$(cpu_snap); c1=$(ticks_of "$idle_pid")
  rss2=$(status_kb "$server_pid" VmRSS)
  kill -TERM "$idle_pid" 2>/dev/null || true
  sse_wait "$idle_pid" || true
  idle_srv_ms=$(echo "$s0 $s1" | awk -v hz="$HZ" '{ print int(($10 - $4) * 1000 / hz) }')
  idle_pg_ms=$(echo "$s0 $s1" | awk -v hz="$HZ" '{ print int(($11 - $5) * 1000 / hz) }')
  idle_cl_ms=$(((c1 - c0) * 1000 / HZ))
  say "$STREAM_CLIENTS clients, ${IDLE_SECS} s idle: server CPU ${idle_srv_ms} ms ($(awk -v a="$idle_srv_ms" -v s="$IDLE_SECS" 'BEGIN { printf "%.2f", a / (s * 10) }') % of one core), PostgreSQL ${idle_pg_ms} ms, client ${idle_cl_ms} ms; pings received $(kv "$idle_out" result pings) ($(kv "$idle_out" result failed) failed, $(kv "$idle_out" result closed) closed by the server); RSS at the end $((rss2 / 1024)) MB"
  say "  CPU share over the window: $(cpu_report "$s0" "$s1")"
  # Each HTTP pool thread opens its own connection on its first DB-backed request.
  show "node: 64 concurrent GET /healthz (SELECT 1 on the HTTP pool threads' connections)"
  node -e 'const http = require("http"); const a = new http.Agent({ keepAlive: false, maxSockets: Infinity }); let n = 0;
    for (let i = 0; i < 64; i++) http.get(process.argv[1], { agent: a }, (r) => { r.resume(); r.on("end", () => ++n === 64 && process.exit(0)); }).on("error", () => process.exit(1));
    setTimeout(() => process.exit(1), 10000);' "$server_url/healthz" || say "(GET /healthz failed)"
  conns2=$(pg_conns)
  say "after 64 concurrent GET /healthz (clients still connected): PG connections $conns2 ($(pg_conns_detail))"
  {
    printf 'idle  %s clients: RSS %s MB (0 clients: %s MB), %s fds, PG connections %s (0 clients: %s; %s after DB-backed requests); server CPU %s ms in %s s (%s ms in %s s with 0 clients)\n' \
      "$STREAM_CLIENTS" "$((rss1 / 1024))" "$((rss0 / 1024))" "$fds1" "$conns1" "$conns0" "$conns2" "$idle_srv_ms" "$IDLE_SECS" "$base_srv_ms" "$BASE_SECS"
  } >>"$stream_results"
  stream_flush
fi
fi # part idle

# ---------------------------------------------------------------- 3b. latency
if part latency; then
say ""
say "3b. Commit -> client latency at $STREAM_RATE events/s for ${STREAM_SECS} s ($STREAM_COUNT events, content $STREAM_SIZE bytes)"
say "writer: adw-emit --rate $STREAM_RATE (one connection; it flushes a batch whenever it is ahead"
say "        of the schedule, so at this rate each event is its own statement and commit, with"
say "        its own NOTIFY). t_us = the writer's wall clock when it adds the event to the batch,"
say "        just before the write: t_us latency includes the writer's batching and the commit."
say "        created_at = clock_timestamp() at the insert, inside the transaction: a little"
say "        before COMMIT, so created_at latency is close to commit -> client."
say "client: sse-clients (C, epoll, one thread), every client a separate HTTP/1.1 connection"
say "        reading every event; recv = CLOCK_REALTIME after the read() that completed the"
say "        frame. Same host clock for all three. A client that falls more than the ring"
say "        (8,192 events) behind gets 'event: resync' and is closed; it is not reconnected."
say ""
lat_hdr=$(printf '%-30s %8s %9s %12s %7s | %7s %7s %8s | %7s %7s | %s' "run" "clients" "ev/s" "delivered" "resync" "p50 ms" "p99 ms" "max ms" "c.p50" "c.p99" "CPU share of ${NCPU} cores")
say "latency columns: t_us -> client (p50, p99, max); c.* = created_at -> client"
say "$lat_hdr"
echo "$lat_hdr" >>"$stream_results"

# lat_run LABEL CLIENTS [FILTERED_CLIENTS [RATE]]
lat_run() {
  local label=$1 n=$2 extra=${3:-0} erate=${4:-$STREAM_RATE} ecount rss_before tag out xout xpid='' s0 s1 e0 e1 w0 w1 hwm rate cl_ms delivered
  ecount=$((erate * STREAM_SECS))
  tag=lat$n.$extra.$RANDOM
  out=$tmp/lat.$tag.txt
  xout=$tmp/latx.$tag.txt
  if [ "$extra" -gt 0 ]; then
    sse_start "$xout" "$extra" "/api/stream?topics=chat" "" 0 $((STREAM_SECS + 300)) || return 0
    xpid=$sse_pid
  fi
  if ! sse_start "$out" "$n" /api/stream "$tag" "$ecount" $((STREAM_SECS + 90)); then
    [ -z "$xpid" ] || { kill -TERM "$xpid" 2>/dev/null; sse_wait "$xpid" || true; }
    return 0
  fi
  rss_before=$(status_kb "$server_pid" VmRSS)
  echo 5 >"/proc/$server_pid/clear_refs" 2>/dev/null || true # resets VmHWM
  queue_sampler "$out.q" "$STREAM_SECS" &
  local qpid=$! sb0 sb1
  sb0=$(ticks_of "${streamer_backend:-0}")
  s0=$(cpu_snap); w0=$(now_ns)
  show "env DATABASE_URL='$PGDB' $EMIT --count $ecount --rate $erate --batch 64 --size $STREAM_SIZE --tag $tag"
  e0=$(now_ns)
  run_bg env DATABASE_URL="$PGDB" "$EMIT" --count "$ecount" --rate "$erate" --batch 64 \
    --size "$STREAM_SIZE" --tag "$tag" || say "(adw-emit failed: exit $?)"
  e1=$(now_ns)
  sse_wait "$sse_pid" || true
  s1=$(cpu_snap); w1=$(now_ns)
  sb1=$(ticks_of "${streamer_backend:-0}")
  hwm=$(status_kb "$server_pid" VmHWM)
  wait "$qpid" 2>/dev/null || true
  if [ -n "$xpid" ]; then
    kill -TERM "$xpid" 2>/dev/null || true
    sse_wait "$xpid" || true
  fi
  rate=$(awk -v n="$ecount" -v a="$e0" -v b="$e1" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }')
  local cu cs
  cu=$(kv "$out" result cpu_user_ms); cs=$(kv "$out" result cpu_sys_ms)
  cl_ms=$((${cu:-0} + ${cs:-0}))
  delivered="$(kv "$out" result events)/$(kv "$out" result expected)"
  printf '%-30s %8s %9s %12s %7s | %7s %7s %8s | %7s %7s | %s\n' "$label" "$n$([ "$extra" -gt 0 ] && echo "+$extra")" "$rate" \
    "$delivered" "$(kv "$out" result resyncs)" \
    "$(kv "$out" latency_t_us_ms p50)" "$(kv "$out" latency_t_us_ms p99)" "$(kv "$out" latency_t_us_ms max)" \
    "$(kv "$out" latency_created_at_ms p50)" "$(kv "$out" latency_created_at_ms p99)" \
    "$(cpu_report "$s0" "$s1")" | tee -a "$stream_results"
  printf '%-30s client %.0f%% of one core (%s ms CPU over %.1f s; loadgen above = client + writer); the streamer'"'"'s PG backend %.0f%% of one core; %s frames of %s bytes on average, %s bytes per read; server RSS %s MB with the clients connected, peak %s MB during the run; gaps %s; last delivery %.1f s after the first; socket queues client Recv-Q/server Send-Q at 1/4, 1/2, 3/4 of the run: %s MB\n' \
    "" "$(awk -v c="$cl_ms" -v a="$w0" -v b="$w1" 'BEGIN { print c / ((b - a) / 1e6) * 100 }')" "$cl_ms" \
    "$(awk -v a="$w0" -v b="$w1" 'BEGIN { print (b - a) / 1e9 }')" \
    "$(awk -v t="$((sb1 - sb0))" -v hz="$HZ" -v a="$w0" -v b="$w1" 'BEGIN { print t / hz / ((b - a) / 1e9) * 100 }')" "$(kv "$out" result frames)" \
    "$(awk -v b="$(kv "$out" result bytes)" -v f="$(kv "$out" result frames)" 'BEGIN { printf "%.0f", f ? b / f : 0 }')" \
    "$(kv "$out" result bytes_per_read)" "$((rss_before / 1024))" "$((hwm / 1024))" "$(kv "$out" result gaps)" \
    "$(awk -v m="$(kv "$out" result first_to_last_ms)" 'BEGIN { print m / 1000 }')" "$(cat "$out.q" 2>/dev/null)" | tee -a "$stream_results"
  if [ "$(kv "$out" result failed)" != 0 ] || [ -s "$out.err" ]; then head -3 "$out.err"; fi
  stream_flush
  printf '%-30s server RSS after these clients left: %s MB\n' "" "$(($(status_kb "$server_pid" VmRSS) / 1024))" | tee -a "$stream_results"
}

lat_run "all events, 100 clients" 100
lat_run "all events, $STREAM_CLIENTS clients" "$STREAM_CLIENTS"
lat_run "100 read + $((STREAM_CLIENTS - 100)) filtered out" 100 $((STREAM_CLIENTS - 100))
# the same frames per second as 100 clients at 2,000 events/s
lat_run "all events, $STREAM_CLIENTS clients, 1/10 rate" "$STREAM_CLIENTS" 0 $((STREAM_RATE / 10))
fi # part latency

# ---------------------------------------------------------------- 3c. ingest
if part ingest; then
say ""
say "3c. Sustained ingest into events (adw-server running, no stream clients: its streamer reads every event)"
say "adw path: adw-emit = adw_event_batch_add/_flush, i.e. SELECT adw_events_append(\$1::json, \$2::uuid), one"
say "          statement per batch of $INGEST_BATCH, autocommit; each statement fires events_lock"
say "          (pg_advisory_xact_lock, held to COMMIT: writers are serialised) and events_notify"
say "          (one pg_notify per statement). $INGEST_COUNT events per writer, content $INGEST_SIZE bytes."
say "COPY:     the rows of adw-emit writer 1 exported as CSV; every psql sends all of them with"
say "          COPY ... FROM STDIN (csv). Into events the statement triggers and the FK checks still"
say "          fire (once per COPY: one lock, one NOTIFY per $INGEST_COUNT rows). events_copy = CREATE"
say "          TABLE (LIKE events INCLUDING ALL): same columns, defaults, identity, CHECKs and"
say "          indexes; no triggers, no foreign keys; then the same, UNLOGGED (no WAL): the ceiling."
say "Counted by PostgreSQL: ALTER DATABASE adw_bench SET track_functions = 'all' (throwaway DB),"
say "pg_stat_user_functions calls of adw_events_append (= batches) and adw_events_notify (= NOTIFYs)."
say "lock/run = mean number of writer backends waiting on the advisory lock / running (not waiting),"
say "sampled every 0.25 s from pg_stat_activity."
say ""
run psql -X -q -v ON_ERROR_STOP=1 "$PGDB" -c "ALTER DATABASE adw_bench SET track_functions = 'all'"
ing_hdr=$(printf '%-36s %7s %9s %8s %10s %8s %8s %9s %9s | %s' "what" "writers" "rows" "seconds" "events/s" "stmts" "NOTIFYs" "lock/run" "NOTIFY/st" "CPU share of ${NCPU} cores")
say "$ing_hdr"
echo "$ing_hdr" >>"$stream_results"
fn_calls() {
  psql -X -At "$PGDB" -c "SELECT COALESCE(sum(calls) FILTER (WHERE funcname = 'adw_events_append'), 0) || ' ' ||
    COALESCE(sum(calls) FILTER (WHERE funcname = 'adw_events_notify'), 0) FROM pg_stat_user_functions"
}
# ingest_run LABEL TABLE WRITERS emit|copy
ingest_run() {
  local label=$1 table=$2 w=$3 kind=$4 r0 r1 f0 f1 s0 s1 t0 t1 pids='' p fails=0 stop=$tmp/sampler.stop samples=$tmp/samples.$RANDOM
  psql -X -q "$PGDB" -c CHECKPOINT >/dev/null
  r0=$(psql -X -At "$PGDB" -c "SELECT count(*) FROM $table")
  f0=$(fn_calls)
  rm -f "$stop"
  (while [ ! -e "$stop" ]; do
    echo "SELECT count(*) FILTER (WHERE wait_event = 'advisory') || ' ' || count(*) FILTER (WHERE state = 'active' AND wait_event IS NULL) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND query NOT LIKE 'SELECT e.id,%';"
    sleep 0.25
  done | psql -X -At "$PGDB" >"$samples" 2>/dev/null) &
  local sampler=$!
  if [ "$kind" = emit ]; then
    show "for k in 1..$w: env DATABASE_URL='$PGDB' $EMIT --count $INGEST_COUNT --batch $INGEST_BATCH --size $INGEST_SIZE --tag ing$w-\$k &"
  else
    show "for k in 1..$w: psql -X -q '$PGDB' -c 'COPY $table (adw_id, agent_id, step, category, type, content, summary, payload) FROM STDIN WITH (FORMAT csv)' <$ingest_csv &"
  fi
  s0=$(cpu_snap); t0=$(now_ns)
  for k in $(seq "$w"); do
    if [ "$kind" = emit ]; then
      env DATABASE_URL="$PGDB" "$EMIT" --count "$INGEST_COUNT" --batch "$INGEST_BATCH" --size "$INGEST_SIZE" --tag "ing$w-$k" &
    else
      psql -X -q -v ON_ERROR_STOP=1 "$PGDB" -c "COPY $table (adw_id, agent_id, step, category, type, content, summary, payload) FROM STDIN WITH (FORMAT csv)" <"$ingest_csv" &
    fi
    pids="$pids $!"
  done
  bg_pids="$bg_pids $pids"
  for p in $pids; do wait "$p" || fails=$((fails + 1)); done
  bg_pids=${bg_pids//$pids/}
  t1=$(now_ns); s1=$(cpu_snap)
  touch "$stop"; wait "$sampler" 2>/dev/null || true
  sleep 0.5 # backends report function statistics when they exit
  r1=$(psql -X -At "$PGDB" -c "SELECT count(*) FROM $table")
  f1=$(fn_calls)
  # shellcheck disable=SC2086 # word splitting wanted
  set -- $f0 $f1
  local stmts=$(($3 - $1)) notifies=$(($4 - $2))
  [ "$kind" = copy ] && stmts=$w
  printf '%-36s %7s %9s %8.2f %10.0f %8s %8s %9s %9s | %s%s\n' "$label" "$w" "$((r1 - r0))" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')" \
    "$(awk -v n="$((r1 - r0))" -v a="$t0" -v b="$t1" 'BEGIN { print n / ((b - a) / 1e9) }')" \
    "$stmts" "$notifies" "$(awk '{ l += $1; r += $2; n++ } END { if (n) printf "%.1f/%.1f", l / n, r / n; else print "-" }' "$samples")" \
    "$(awk -v s="$stmts" -v n="$notifies" 'BEGIN { if (s) printf "%.2f", n / s; else print "-" }')" \
    "$(cpu_report "$s0" "$s1")" "$([ "$fails" = 0 ] || echo "  [$fails writers failed]")" | tee -a "$stream_results"
}
ingest_csv=$tmp/ingest.csv
ingest_run "adw-emit -> adw_events_append" events 1 emit
ingest_run "adw-emit -> adw_events_append" events "$INGEST_WRITERS" emit
show "psql: \\copy (SELECT adw_id, agent_id, step, category, type, content, summary, payload FROM events WHERE payload->>'tag' = 'ing$INGEST_WRITERS-1' ORDER BY id) TO $ingest_csv (csv)"
psql -X -q -v ON_ERROR_STOP=1 "$PGDB" -c "\\copy (SELECT adw_id, agent_id, step, category, type, content, summary, payload FROM events WHERE payload->>'tag' = 'ing$INGEST_WRITERS-1' ORDER BY id) TO '$ingest_csv' WITH (FORMAT csv)"
say "CSV: $(wc -l <"$ingest_csv") rows, $(wc -c <"$ingest_csv") bytes"
ingest_run "COPY -> events (triggers fire)" events "$INGEST_WRITERS" copy
run psql -X -q -v ON_ERROR_STOP=1 "$PGDB" -c "CREATE TABLE events_copy (LIKE events INCLUDING ALL)"
ingest_run "COPY -> events_copy (no trig/FK)" events_copy "$INGEST_WRITERS" copy
run psql -X -q -v ON_ERROR_STOP=1 "$PGDB" -c "DROP TABLE events_copy" -c "CREATE UNLOGGED TABLE events_copy (LIKE events INCLUDING ALL)"
ingest_run "COPY -> unlogged events_copy" events_copy "$INGEST_WRITERS" copy
run psql -X -q -v ON_ERROR_STOP=1 "$PGDB" -c "DROP TABLE events_copy"
if [ "$DIAGNOSE" = 1 ]; then
  say "diagnose (throwaway database only): adw_events_append() parsing the JSON before its INSERT,"
  say "so outside the advisory lock ($bench_d/events-append-preparse.sql)"
  run psql -X -q -v ON_ERROR_STOP=1 "$PGDB" -f "$bench_d/events-append-preparse.sql"
  ingest_run "adw-emit -> append, parse first" events 1 emit
  ingest_run "adw-emit -> append, parse first" events "$INGEST_WRITERS" emit
fi
run psql -X -q -v ON_ERROR_STOP=1 "$PGDB" -c "ALTER DATABASE adw_bench RESET track_functions"
say "dead tuples in events after the runs: $(psql -X -At "$PGDB" -c "SELECT n_dead_tup || ' (live ' || n_live_tup || ')' FROM pg_stat_user_tables WHERE relname = 'events'")"
fi # part ingest

section "Summary of section 3"
cat "$stream_results"
