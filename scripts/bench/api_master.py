#!/usr/bin/env python3
"""Master-side figures of scripts/bench/api, against a running `shoal master`:
list latency at the server over N pods (Table, as kubectl asks), watch event delivery with W
watchers, and the master's resident memory holding the pods.

Usage: api_master.py KUBECONFIG MASTER_PID [pods] [watchers]
Talks only to the master on 127.0.0.1 (the kubeconfig's server)."""
import http.client, json, os, re, selectors, socket, ssl, statistics, sys, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kubeconfig as kubeconfig_file
SENT = re.compile(rb'"bench/sent":"([0-9.]+)"')

kubeconfig, pid = sys.argv[1], int(sys.argv[2])
npods = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
nwatch = int(sys.argv[4]) if len(sys.argv) > 4 else 100

host, port, token, ctx = kubeconfig_file.read(kubeconfig)
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

def connect():
    return http.client.HTTPSConnection(host, port, context=ctx, timeout=60)

def call(conn, method, path, body=None, extra=None):
    h = dict(headers); h.update(extra or {})
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = conn.getresponse(); data = r.read()
    return r.status, data

def rss_kb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1])

def pod(i):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"bench-{i:04d}", "labels": {"app": "bench", "shard": str(i % 10)}},
            "spec": {"nodeName": "bench-node-absent",
                     "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"],
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}

rss_before = rss_kb()
# Create the pods over a few connections in parallel (kept-alive HTTP/1.1).
def creator(k):
    c = connect()
    for i in range(k, npods, 4):
        s, _ = call(c, "POST", "/api/v1/namespaces/default/pods", pod(i))
        if s != 201: raise SystemExit(f"create failed: {s}")
threads = [threading.Thread(target=creator, args=(k,)) for k in range(4)]
t0 = time.time(); [t.start() for t in threads]; [t.join() for t in threads]
create_s = time.time() - t0

table = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
c = connect()
samples = []
for _ in range(21):
    t = time.perf_counter(); s, body = call(c, "GET", "/api/v1/namespaces/default/pods?limit=500", extra=table)
    # kubectl pages by 500: the whole listing is both pages.
    cont = json.loads(body)["metadata"].get("continue")
    while cont:
        s, body = call(c, "GET", f"/api/v1/namespaces/default/pods?limit=500&continue={cont}", extra=table)
        cont = json.loads(body)["metadata"].get("continue")
    samples.append((time.perf_counter() - t) * 1000)
list_ms = statistics.median(samples)
rss_after = rss_kb()

# Watch delivery: W watchers on one pod, which is patched with the send time. One thread reads
# every watch connection through a selector, time-stamping each as it turns readable: with a
# thread per watcher, Python's GIL would hand out the reads late and measure itself.
_, body = call(c, "GET", "/api/v1/namespaces/default/pods?limit=1")
rv = json.loads(body)["metadata"]["resourceVersion"]
rounds = 20
watch_path = f"/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}&fieldSelector=metadata.name%3Dbench-0000"
sel = selectors.DefaultSelector()
for _ in range(nwatch):
    raw = socket.create_connection((host, int(port)))
    sock = ctx.wrap_socket(raw, server_hostname=host)
    sock.sendall(f"GET {watch_path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    sock.setblocking(False)
    sel.register(sock, selectors.EVENT_READ, {"buf": b"", "seen": 0})
time.sleep(0.5)
latencies = []
def drain(deadline):
    """Reads what arrived until the deadline; returns when every watcher saw every round."""
    while time.time() < deadline:
        for key, _ in sel.select(timeout=max(0, deadline - time.time())):
            got, state = time.time(), key.data
            try:
                while True:
                    chunk = key.fileobj.recv(65536)
                    if not chunk: sel.unregister(key.fileobj); break
                    state["buf"] += chunk
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
            # A regex, not json.loads: only the send time matters, and parsing would delay the
            # reads of the other watchers.
            for m in SENT.finditer(state["buf"]):
                latencies.append((got - float(m.group(1))) * 1000)
                state["seen"] += 1
            state["buf"] = state["buf"][state["buf"].rfind(b"\n") + 1:]
        if all(k.data["seen"] >= sent_rounds for k in sel.get_map().values()): return
for i in range(rounds):
    patch = {"metadata": {"annotations": {"bench/sent": repr(time.time())}}}
    call(c, "PATCH", "/api/v1/namespaces/default/pods/bench-0000", patch, {"Content-Type": "application/merge-patch+json"})
    sent_rounds = i + 1
    drain(time.time() + 5)
    time.sleep(0.1)
watch_ms = statistics.median(latencies) if latencies else float("nan")

print(f"pods created: {npods} in {create_s:.2f} s ({npods / create_s:.0f}/s over 4 connections)")
print(f"list {npods} pods as Table (kubectl's request, 2 pages of 500): median {list_ms:.1f} ms (n=21, min {min(samples):.1f}, max {max(samples):.1f}); goal < 50 ms")
print(f"watch delivery, {nwatch} watchers x {rounds} events: median {watch_ms:.2f} ms, p99 {sorted(latencies)[int(len(latencies) * 0.99) - 1]:.2f} ms ({len(latencies)} deliveries); goal < 10 ms")
print(f"master RSS: {rss_before / 1024:.1f} MB empty, {rss_after / 1024:.1f} MB holding {npods} pods; goal < 100 MB")
