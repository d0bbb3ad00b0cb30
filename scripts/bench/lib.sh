# Helpers for scripts/bench/* (sourced, not run): clocks, statistics, memory readings,
# the podman settings this kind of machine needs, and podman's settle wait.
# The podman settings and the settle wait follow the project's peer measurements of podman
# (runtime runc, cgroupfs, file events, ulimits within the hard limits).

now_ns() { date +%s%N; }
# ms_since T0_NS: milliseconds since T0 (two decimals).
ms_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f\n", (b - a) / 1e6 }'; }

# stats FILE: "n min median max" of the numbers in FILE (one per line); "0 - - -" if empty.
stats() {
  sort -g "$1" | awk '
    { v[NR] = $1 }
    END {
      if (NR == 0) { print "0 - - -"; exit }
      med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%d %.2f %.2f %.2f\n", NR, v[1], med, v[NR]
    }'
}
# median FILE
median() { stats "$1" | awk '{ print $3 }'; }
# sum FILE
sum() { awk '{ s += $1 } END { printf "%.0f\n", s }' "$1"; }

# Memory of one process, KiB: RSS and PSS from smaps_rollup (VmRSS if smaps_rollup is unreadable).
rss_kb() { awk '/^Rss:/ { print $2; f = 1 } END { if (!f) exit 1 }' "/proc/$1/smaps_rollup" 2>/dev/null ||
           awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }

# ratio A B: A / B with three decimals, "-" when either is missing or B is 0.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.3f\n", a / b }'; }
# meets VALUE OP LIMIT: "yes" or "NO" (OP is <= or <).
meets() { awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { if (v == "-" || v == "") { print "-"; exit }
  ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 < l + 0); print ok ? "yes" : "NO" }'; }

# write_containers_conf FILE: the podman settings this machine needs.
# - nofile/nproc: root here lacks CAP_SYS_RESOURCE (hard nofile 20000); podman's default of
#   1048576 makes the runtime fail with EPERM at setrlimit; conmon and the runtime run with
#   RLIMIT_NPROC 32768, so nproc must not exceed that either.
# - runtime runc: crun 1.8 refuses hybrid cgroups when /sys/fs/cgroup/unified has a
#   controller (hugetlb here).
# - cgroupfs + file events: no systemd.
write_containers_conf() {
  local nofile nproc
  nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=1048576
  nproc=$(ulimit -Hu); { [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768
  cat > "$1" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
}

# podman_settle: wait (untimed, at most 15 s) until no podman process is left (conmon's
# `podman container cleanup` exit commands), so that a run does not queue behind the
# previous one's locks.
podman_settle() {
  local i
  for i in $(seq 300); do pgrep -x podman >/dev/null || return 0; sleep 0.05; done
  echo "warning: podman processes still running after 15 s" >&2
}

# podman_running POD: how many containers of POD (infra included) are running.
podman_running() {
  podman pod inspect "$1" --format '{{range .Containers}}{{.State}} {{end}}' 2>/dev/null | tr ' ' '\n' | grep -c '^running$' || true
}

# netavark_chains: names of netavark's iptables chains (filter and nat), one per line.
netavark_chains() {
  local t
  for t in filter nat; do
    iptables -t "$t" -S 2>/dev/null | awk -v t="$t" '$1 == "-N" && $2 ~ /NETAVARK/ { print t, $2 }'
  done
}

# remove_netavark_chains: unhook netavark's chains from the built-in chains, flush, delete
# (as the peer measurements' cleanup does; only call when no podman container runs).
remove_netavark_chains() {
  local t rule c
  for t in filter nat; do
    iptables -t "$t" -S 2>/dev/null | grep -E '^-A (FORWARD|INPUT|OUTPUT|PREROUTING|POSTROUTING) .*NETAVARK' |
      sed 's/^-A/-D/' | while read -r rule; do eval iptables -t "$t" "$rule"; done
    for c in $(iptables -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /NETAVARK/ { print $2 }'); do iptables -t "$t" -F "$c"; done
    for c in $(iptables -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /NETAVARK/ { print $2 }'); do iptables -t "$t" -X "$c"; done
  done
}
