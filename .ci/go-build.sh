# Sourced by .ci/consul.sh and .ci/gomicro.sh: both build a Go binary into the cache, either at
# once or in the background while CI installs everything else.

# background_build <what> <script> <log> <pidfile>: runs <script> again, detached, logging to
# <log>, unless a build is already running; then exits the calling script.
background_build() {
  local what="$1" script="$2" log="$3" pidfile="$4"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
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
