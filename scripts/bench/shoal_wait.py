#!/usr/bin/env python3
"""Timing client for scripts/bench/pod-start: puts manifests in place for a running
`shoal agent` and polls its node API (HTTP over DATA/agent.sock) until the pods run or are
gone, so that the timed interval starts at the manifest's rename and ends at the first API
answer that shows the wanted state. One process does the whole interval: no process start
(curl, python) is inside it.

  up   SOCK NS NAME NCONT SRC DST          rename SRC to DST, wait until NAME shows NCONT
                                           containerStatuses, all state.running; prints "ms polls"
  down SOCK NS NAME FILE AGENT_PID         unlink FILE, wait until GET /pods/NS/NAME is 404;
                                           then checks that no mount and no cgroup of the pod is
                                           left; prints "ms polls leftovers"
  seq  SOCK NS STAGE DST N                 for i in 1..N: rename STAGE/pod-i.yaml into DST and wait
                                           until pod-i (NAME = its metadata.name, "sb-scale-i")
                                           runs; prints one "i ms" line per pod, then "total ms"
  restart SOCK NS NAME CONTAINER N         N times: SIGKILL CONTAINER's process (found through the
                                           pod's cgroups) and wait until every container of the pod
                                           runs again with its restartCount one higher; prints one
                                           "i ms" line per crash (back-off must be off: --max-backoff 0s)
  wait-all SOCK N                          wait until GET /pods lists N pods, all containers running
  wait-empty SOCK                          wait until GET /pods lists no pod; prints "ms"

The poll interval is $POLL_MS milliseconds (default 1) between the end of one answer and the
next request; each request is a fresh connection, as `curl --unix-socket` would make.
"""

import glob
import http.client
import json
import os
import socket
import sys
import time

POLL = float(os.environ.get("POLL_MS", "1")) / 1000.0
TIMEOUT = float(os.environ.get("WAIT_TIMEOUT", "60"))


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("shoal")
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.unix_path)
        self.sock = s


def get(sock, path):
    c = UnixHTTPConnection(sock)
    try:
        c.request("GET", path, headers={"Connection": "close"})
        r = c.getresponse()
        body = r.read()
        return r.status, body
    finally:
        c.close()


def all_running(pod, ncont=None):
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    if ncont is not None and len(statuses) != ncont:
        return False
    return bool(statuses) and all(((s.get("state") or {}).get("running")) is not None for s in statuses)


def deadline_check(t0, what):
    if time.monotonic() - t0 > TIMEOUT:
        sys.exit(f"shoal_wait: timed out after {TIMEOUT:.0f} s waiting for {what}")


def wait_running(sock, ns, name, ncont, t0):
    polls = 0
    while True:
        polls += 1
        status, body = get(sock, f"/pods/{ns}/{name}")
        if status == 200 and all_running(json.loads(body), ncont):
            return time.monotonic(), polls
        deadline_check(t0, f"{ns}/{name} running")
        time.sleep(POLL)


def cmd_up(sock, ns, name, ncont, src, dst):
    t0 = time.monotonic()
    os.rename(src, dst)
    t1, polls = wait_running(sock, ns, name, int(ncont), t0)
    print(f"{(t1 - t0) * 1000:.2f} {polls}")


def cgroup_dirs(agent_pid, uid):
    """The pod's cgroup directories in every hierarchy, wherever the agent put them."""
    found = []
    try:
        lines = open(f"/proc/{agent_pid}/cgroup").read().splitlines()
    except OSError:
        lines = []
    roots = set()
    for line in lines:
        hid, ctrls, path = line.split(":", 2)
        if hid == "0":
            roots.add("/sys/fs/cgroup/unified" + path if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup" + path)
        else:
            for c in ctrls.split(","):
                c = c.replace("name=", "")
                roots.add(f"/sys/fs/cgroup/{c}{path}")
    for r in roots:
        found += glob.glob(f"{r.rstrip('/')}/*/pod-{uid}")
    return found


def cmd_down(sock, ns, name, file, agent_pid):
    status, body = get(sock, f"/pods/{ns}/{name}")
    if status != 200:
        sys.exit(f"shoal_wait: {ns}/{name} is not there before the teardown ({status})")
    uid = json.loads(body)["metadata"]["uid"]
    t0 = time.monotonic()
    os.unlink(file)
    polls = 0
    while True:
        polls += 1
        status, _ = get(sock, f"/pods/{ns}/{name}")
        if status == 404:
            break
        deadline_check(t0, f"{ns}/{name} gone")
        time.sleep(POLL)
    t1 = time.monotonic()
    # Right at the 404: nothing of the pod may be left.
    leftovers = []
    with open("/proc/self/mountinfo") as f:
        leftovers += [l.split()[4] for l in f if uid in l]
    leftovers += cgroup_dirs(agent_pid, uid)
    for p in glob.glob("/proc/[0-9]*/cgroup"):
        try:
            if f"pod-{uid}" in open(p).read():
                leftovers.append(p)
        except OSError:
            pass
    print(f"{(t1 - t0) * 1000:.2f} {polls} {len(leftovers)}")
    for l in leftovers:
        print(f"leftover: {l}", file=sys.stderr)


def cmd_seq(sock, ns, stage, dst, n):
    n = int(n)
    start = time.monotonic()
    for i in range(1, n + 1):
        t0 = time.monotonic()
        os.rename(f"{stage}/pod-{i}.yaml", f"{dst}/pod-{i}.yaml")
        t1, _ = wait_running(sock, ns, f"sb-scale-{i}", 1, t0)
        print(f"{i} {(t1 - t0) * 1000:.2f}", flush=True)
    print(f"total {(time.monotonic() - start) * 1000:.2f}")


def container_pids(uid, container):
    """Host pids of a container's processes: those whose cgroup is the pod's ctr-NAME."""
    want = f"/pod-{uid}/ctr-{container}"
    pids = []
    for p in glob.glob("/proc/[0-9]*/cgroup"):
        try:
            if any(line.endswith(want) for line in open(p).read().splitlines()):
                pids.append(int(p.split("/")[2]))
        except OSError:
            pass
    return pids


def restart_counts(pod):
    return {s["name"]: s.get("restartCount", 0) for s in (pod.get("status") or {}).get("containerStatuses") or []}


def cmd_restart(sock, ns, name, container, n):
    for i in range(1, int(n) + 1):
        status, body = get(sock, f"/pods/{ns}/{name}")
        pod = json.loads(body)
        if status != 200 or not all_running(pod):
            sys.exit(f"shoal_wait: {ns}/{name} is not running before crash {i}")
        before = restart_counts(pod)
        pids = container_pids(pod["metadata"]["uid"], container)
        if not pids:
            sys.exit(f"shoal_wait: no process of {container} found")
        t0 = time.monotonic()
        for pid in pids:
            os.kill(pid, 9)
        while True:
            status, body = get(sock, f"/pods/{ns}/{name}")
            if status == 200:
                pod = json.loads(body)
                counts = restart_counts(pod)
                if all_running(pod) and all(counts.get(c, 0) == k + 1 for c, k in before.items()):
                    break
            deadline_check(t0, f"{ns}/{name} restarted")
            time.sleep(POLL)
        print(f"{i} {(time.monotonic() - t0) * 1000:.2f}", flush=True)
        time.sleep(0.2)


def cmd_wait_all(sock, n):
    n = int(n)
    t0 = time.monotonic()
    while True:
        status, body = get(sock, "/pods")
        if status == 200:
            items = json.loads(body).get("items") or []
            if len(items) == n and all(all_running(p) for p in items):
                break
        deadline_check(t0, f"{n} pods running")
        time.sleep(0.01)
    print(f"{(time.monotonic() - t0) * 1000:.2f}")


def cmd_wait_empty(sock):
    t0 = time.monotonic()
    while True:
        status, body = get(sock, "/pods")
        if status == 200 and not (json.loads(body).get("items") or []):
            break
        deadline_check(t0, "no pods")
        time.sleep(0.01)
    print(f"{(time.monotonic() - t0) * 1000:.2f}")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmds = {"up": (cmd_up, 6), "down": (cmd_down, 5), "seq": (cmd_seq, 5), "wait-all": (cmd_wait_all, 2), "restart": (cmd_restart, 5),
            "wait-empty": (cmd_wait_empty, 1)}
    cmd, nargs = cmds.get(sys.argv[1], (None, 0))
    if cmd is None or len(sys.argv) != nargs + 2:
        sys.exit(__doc__)
    cmd(*sys.argv[2:])


if __name__ == "__main__":
    main()
