#!/usr/bin/env python3
"""Endpoint change to traffic, for scripts/bench/services: against a running `shoal up` whose
node is the network namespace NETNS, a selector-less ClusterIP service whose EndpointSlice the
benchmark writes itself. Each run points the slice at the other of two httpd pods (which answer
with their own name) and times, from the API's answer to that write, until a new connection to
the cluster IP, made from inside the node's namespace, lands on that pod. This is Kubernetes'
"network programming latency" SLI: the proxy's watch, its rule rebuild and the nft transaction.

Usage: services_latency.py KUBECONFIG NETNS [runs]"""
import ctypes, http.client, json, os, socket, statistics, subprocess, sys, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kubeconfig as kubeconfig_file

kubeconfig, netns = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
kubectl = os.environ.get("KUBECTL", "kubectl")

host, port, token, ctx = kubeconfig_file.read(kubeconfig)

def api(method, path, body=None):
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=30)
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300: raise SystemExit(f"services_latency: {method} {path}: {r.status} {data[:300]}")
    return json.loads(data)

def kubectl_run(*args, stdin=None):
    subprocess.run([kubectl, "--kubeconfig", kubeconfig, *args], input=stdin, text=True, check=True, stdout=subprocess.DEVNULL)

def pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "httpd", "image": "busybox",
                "command": ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]}]}}

for name in ("lat-a", "lat-b"):
    kubectl_run("apply", "-f", "-", stdin=json.dumps(pod(name)))
kubectl_run("wait", "--for=condition=Ready", "pod/lat-a", "pod/lat-b", "--timeout=60s")
ips = {n: api("GET", f"/api/v1/namespaces/default/pods/{n}")["status"]["podIP"] for n in ("lat-a", "lat-b")}
svc = api("POST", "/api/v1/namespaces/default/services", {
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "lat"},
    "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
cluster_ip = svc["spec"]["clusterIP"]

def slice_for(name, rv=None):
    meta = {"name": "lat-manual", "labels": {"kubernetes.io/service-name": "lat",
                                             "endpointslice.kubernetes.io/managed-by": "bench"}}
    if rv: meta["resourceVersion"] = rv
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta, "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ips[name]], "conditions": {"ready": True}}]}

slices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"

# The client lives in the node's namespace: a thread that entered it (setns acts per thread),
# so its sockets are the node's. It answers "which pod answers now" queries.
libc = ctypes.CDLL("libc.so.6", use_errno=True)
requests, answers = [], threading.Condition()
state = {"want": None, "t0": 0.0, "result": None}

def ask_once():
    try:
        s = socket.create_connection((cluster_ip, 80), timeout=1)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk: break
            data += chunk
        s.close()
        return data.decode(errors="replace").rsplit("\n", 2)[-2].strip() if data.count(b"\n") >= 2 else None
    except OSError:
        return None

def client():
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise SystemExit(f"setns: errno {ctypes.get_errno()}")
    while True:
        with answers:
            while state["want"] is None: answers.wait()
            want = state["want"]
        while ask_once() != want:
            time.sleep(0.001)
        with answers:
            state["result"] = time.time()
            state["want"] = None
            answers.notify_all()

threading.Thread(target=client, daemon=True).start()

def switch_to(name, rv):
    """Writes the slice; returns (ms until traffic lands on `name`, the new resourceVersion)."""
    body = slice_for(name, rv)
    t0 = time.time()
    written = api("PUT", f"{slices}/lat-manual", body) if rv else api("POST", slices, body)
    t_written = time.time()
    with answers:
        state["want"], state["result"] = name, None
        answers.notify_all()
        while state["result"] is None: answers.wait()
        done = state["result"]
    return (done - t_written) * 1000, (t_written - t0) * 1000, written["metadata"]["resourceVersion"]

_, _, rv = switch_to("lat-a", None)
latencies, writes = [], []
for i in range(runs):
    ms, write_ms, rv = switch_to("lat-b" if i % 2 == 0 else "lat-a", rv)
    latencies.append(ms)
    writes.append(write_ms)

api("DELETE", f"{slices}/lat-manual")
api("DELETE", "/api/v1/namespaces/default/services/lat")
subprocess.run([kubectl, "--kubeconfig", kubeconfig, "delete", "pod", "lat-a", "lat-b", "--wait=true"], check=True, stdout=subprocess.DEVNULL)
q = statistics.quantiles(latencies, n=10) if len(latencies) >= 2 else latencies
print(f"| endpoint change (slice written) to traffic on the new pod | {runs} | {min(latencies):.1f} | "
      f"**{statistics.median(latencies):.1f}** | {q[-1]:.1f} | {max(latencies):.1f} | ms |")
print(f"| (the slice write itself, API round trip) | {runs} | {min(writes):.1f} | {statistics.median(writes):.1f} | - | {max(writes):.1f} | ms |")
print(f"median_ms={statistics.median(latencies):.1f}")
