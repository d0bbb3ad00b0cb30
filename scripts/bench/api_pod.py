#!/usr/bin/env python3
"""Pod start end to end, for scripts/bench/api: against a running `shoal up`, the same
one-container pod N times (a) created with the real kubectl and seen Running by a watch on the
master, and (b) the standalone path of the same agent: the manifest renamed into its
--manifests dir and seen running through the node API. Each pod is deleted (and gone) before
the next starts.

Usage: api_pod.py KUBECONFIG AGENT_SOCK MANIFEST_DIR [runs]
Talks only to the master on 127.0.0.1 and to the agent's unix socket."""
import http.client, json, os, shutil, statistics, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shoal_wait
import kubeconfig as kubeconfig_file

kubeconfig, agent_sock, manifests = sys.argv[1], sys.argv[2], sys.argv[3]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 10
kubectl = os.environ.get("KUBECTL", "kubectl")

host, port, token, ctx = kubeconfig_file.read(kubeconfig)

def manifest(name):
    # Ends at once on SIGTERM, so a deletion does not wait out the grace period.
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                       "spec": {"terminationGracePeriodSeconds": 5, "containers": [{
                           "name": "c", "image": "busybox",
                           "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]}]}})

def open_watch():
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=60)
    conn.request("GET", "/api/v1/namespaces/default/pods?watch=true", headers={"Authorization": "Bearer " + token})
    return conn.getresponse()

def wait_event(watch, name, predicate):
    while True:
        line = watch.readline()
        if not line: raise SystemExit("api_pod: the watch ended")
        event = json.loads(line)
        obj = event.get("object") or {}
        if (obj.get("metadata") or {}).get("name") == name and predicate(event["type"], obj):
            return time.time()

def running(kind, pod):
    return kind != "DELETED" and (pod.get("status") or {}).get("phase") == "Running" and shoal_wait.all_running(pod)

# (a) through the master.
watch = open_watch()
master_ms, kubectl_ms = [], []
work = tempfile.mkdtemp(prefix="shoal-bench-api-pod.")
for i in range(runs):
    name = f"bench-run-{i}"
    path = f"{work}/{name}.json"
    open(path, "w").write(manifest(name))
    t0 = time.time()
    subprocess.run([kubectl, "--kubeconfig", kubeconfig, "create", "-f", path], check=True, stdout=subprocess.DEVNULL)
    kubectl_ms.append((time.time() - t0) * 1000)
    master_ms.append((wait_event(watch, name, running) - t0) * 1000)
    subprocess.run([kubectl, "--kubeconfig", kubeconfig, "delete", "pod", name, "--wait=false"], check=True, stdout=subprocess.DEVNULL)
    wait_event(watch, name, lambda kind, _: kind == "DELETED")

# (b) the same agent's standalone path: a static pod from --manifests.
static_ms = []
for i in range(runs):
    name = f"bench-static-{i}"
    src, dst = f"{work}/{name}.json", f"{manifests}/{name}.json"
    open(src, "w").write(manifest(name))
    t0 = time.monotonic()
    os.rename(src, dst)
    t1, _ = shoal_wait.wait_running(agent_sock, "default", name, 1, t0)
    static_ms.append((t1 - t0) * 1000)
    os.unlink(dst)
    while shoal_wait.get(agent_sock, f"/pods/default/{name}")[0] != 404:
        time.sleep(0.005)

def summary(samples):
    return f"median {statistics.median(samples):7.1f} ms (min {min(samples):.1f}, max {max(samples):.1f}, n={len(samples)})"
print(f"pod start, kubectl create -> Running seen by a watch on the master: {summary(master_ms)}")
print(f"  of which the kubectl process (start, discovery, POST, exit):     {summary(kubectl_ms)}")
print(f"pod start, standalone: manifest renamed in -> running (node API):   {summary(static_ms)}")
shutil.rmtree(work, ignore_errors=True)
