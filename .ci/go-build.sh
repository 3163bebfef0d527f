# Sourced by .ci/consul.sh and .ci/gomicro.sh: both build a Go binary into the cache
# ($TSMICRO_CACHE), either at once or in the background while CI installs everything else, and
# `--wait` for that background build before the tests start. Go's own caches are GOMODCACHE and
# GOCACHE, as go reads them.

# background_build <what> <script> <log> <pidfile>: runs <script> again, detached, logging to
# <log>, unless a build is already running; then exits the calling script.
background_build() {
  local what="$1" script="$2" log="$3" pidfile="$4"
  if build_running "$pidfile" "$script"; then
    echo "$what build already running (pid $(cat "$pidfile")), log: $log"
    exit 0
  fi
  nohup bash "$script" >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  echo "$what building in the background (pid $!), log: $log"
  exit 0
}

# require_go <what>: puts this machine kind's Go toolchain on PATH, or fails saying what needed it.
require_go() {
  command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
  if ! command -v go >/dev/null 2>&1; then
    echo "no Go toolchain: cannot build $1" >&2
    exit 1
  fi
}

# build_running <pidfile> <script>: whether the build <pidfile> names still runs. The pid must
# still be <script>'s: a pid file left from an earlier boot may name an unrelated process now.
build_running() {
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ -r "/proc/$pid/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$(basename "$2")"
}

# wait_for_build <what> <script> <pidfile> <log>: returns once no build of <what> runs any more
# (one still running is reported every minute); the caller then looks for the binary.
wait_for_build() {
  local what="$1" script="$2" pidfile="$3" log="$4" waited=0
  while build_running "$pidfile" "$script"; do
    if [ $((waited % 60)) -eq 0 ]; then
      echo "waiting for the $what build (pid $(cat "$pidfile"), ${waited} s so far): $(tail -n 1 "$log" 2>/dev/null)"
    fi
    sleep 5
    waited=$((waited + 5))
  done
}

# build_failed <what> <log>: the end of a background build's log, then exit 1.
build_failed() {
  echo "the $1 build left no binary; the end of its log ($2):" >&2
  tail -n 40 "$2" >&2 || true
  exit 1
}

# cached_build_modes <what> <bin> <script> <log> <pidfile> [mode]: what every cached build script
# does before building: `--path` prints <bin>; an existing <bin> is printed and the script exits;
# `--background` detaches the build; `--wait` waits for a background one and exits with its
# verdict. Returns (to build now) otherwise.
cached_build_modes() {
  local what="$1" bin="$2" script="$3" log="$4" pidfile="$5" mode="${6:-}"
  if [ "$mode" = "--path" ]; then echo "$bin"; exit 0; fi
  if [ -x "$bin" ]; then
    echo "$what: $bin"
    exit 0
  fi
  if [ "$mode" = "--background" ]; then background_build "the $what" "$script" "$log" "$pidfile"; fi
  if [ "$mode" = "--wait" ]; then
    wait_for_build "$what" "$script" "$pidfile" "$log"
    if [ -x "$bin" ]; then echo "$what: $bin"; exit 0; fi
    build_failed "$what" "$log"
  fi
}
