# Network-namespace cleanup shared by the benchmarks that run daemons in
# namespaces of their own (sourced; the caller sets $me for messages).
# A namespace with processes left in it cannot be deleted, so every
# process in it is asked to stop, then killed.

kill_netns_procs() {   # every process left in namespace $1: ours, all of them
  local ns=$1 pids i
  for i in 1 2 3 4 5 6 7 8 9 10; do
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ') || pids=
    [[ -z ${pids// } ]] && return 0
    # shellcheck disable=SC2086
    if ((i < 8)); then kill -TERM $pids 2>/dev/null || true; else kill -KILL $pids 2>/dev/null || true; fi
    sleep 0.3
  done
  echo "$me: processes still in namespace $ns: $pids" >&2
}

drop_netns() {
  local ns=$1
  ip netns list 2>/dev/null | grep -qw -- "$ns" || return 0
  kill_netns_procs "$ns"
  ip netns del "$ns" 2>/dev/null || echo "$me: could not delete namespace $ns" >&2
}
