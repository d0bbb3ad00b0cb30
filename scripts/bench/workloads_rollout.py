#!/usr/bin/env python3
"""A Deployment of N replicas from its creation until it reports all N Available, then a
rolling update of all N (a template change) until the rollout is complete, both timed by a
watch on the Deployment; for scripts/bench/workloads. Prints "CREATE_S UPDATE_S".

Usage: workloads_rollout.py KUBECONFIG [replicas]
Talks only to the master on 127.0.0.1 (the kubeconfig's server)."""
import http.client, json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kubeconfig as kubeconfig_file

kubeconfig = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 50
host, port, token, ctx = kubeconfig_file.read(kubeconfig)
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
path = "/apis/apps/v1/namespaces/default/deployments"

call = kubeconfig_file.caller(kubeconfig)

def template(version):
    return {"metadata": {"labels": {"app": "bench"}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "c", "image": "busybox", "env": [{"name": "VERSION", "value": version}],
                "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]}]}}

def done(d, generation):
    s = d.get("status", {})
    return (s.get("observedGeneration", 0) >= generation and s.get("updatedReplicas") == n
            and s.get("availableReplicas") == n and s.get("replicas") == n)

def timed(action):
    _, body = call("GET", path + "?fieldSelector=metadata.name%3Dbench")
    rv = json.loads(body)["metadata"]["resourceVersion"]
    w = http.client.HTTPSConnection(host, port, context=ctx, timeout=300)
    w.request("GET", path + f"?watch=true&fieldSelector=metadata.name%3Dbench&resourceVersion={rv}", headers=headers)
    stream = w.getresponse()
    t0 = time.perf_counter()
    generation = action()
    while True:
        line = stream.readline()
        if not line: raise SystemExit("watch ended early")
        d = json.loads(line)["object"]
        if done(d, generation): return time.perf_counter() - t0

def create():
    s, body = call("POST", path, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench"},
                                  "spec": {"replicas": n, "selector": {"matchLabels": {"app": "bench"}},
                                           "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                                           "template": template("1")}})
    if s != 201: raise SystemExit(f"create: {s} {body[:200]}")
    return json.loads(body)["metadata"]["generation"]

def update():
    s, body = call("PATCH", path + "/bench", {"spec": {"template": template("2")}}, "application/merge-patch+json")
    if s != 200: raise SystemExit(f"update: {s} {body[:200]}")
    return json.loads(body)["metadata"]["generation"]

print(f"{timed(create):.2f} {timed(update):.2f}")
call("DELETE", path + "/bench")
