#!/usr/bin/env python3
"""N pods of one Deployment, from its creation until a watch on the master has seen every pod
Running; for scripts/bench/lab. Prints "SECONDS node=count ...", then deletes the Deployment.

Usage: lab_spread.py KUBECONFIG [pods]
Talks only to the master on 127.0.0.1 (the kubeconfig's server)."""
import collections, http.client, json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kubeconfig as kubeconfig_file

kubeconfig = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 30
host, port, token, ctx = kubeconfig_file.read(kubeconfig)
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

call = kubeconfig_file.caller(kubeconfig)

deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "spread"},
              "spec": {"replicas": n, "selector": {"matchLabels": {"app": "spread"}},
                       "template": {"metadata": {"labels": {"app": "spread"}},
                                    "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                                        "name": "c", "image": "busybox",
                                        "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]}]}}}}

_, body = call("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dspread")
rv = json.loads(body)["metadata"]["resourceVersion"]
watch = http.client.HTTPSConnection(host, port, context=ctx, timeout=120)
watch.request("GET", f"/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dspread&resourceVersion={rv}", headers=headers)
stream = watch.getresponse()
t0 = time.perf_counter()
status, body = call("POST", "/apis/apps/v1/namespaces/default/deployments", deployment)
if status != 201: raise SystemExit(f"create deployment: {status} {body[:200]}")
running = {}
while len(running) < n:
    line = stream.readline()
    if not line: raise SystemExit("watch ended early")
    ev = json.loads(line)
    pod = ev["object"]
    name = pod["metadata"]["name"]
    if ev["type"] != "DELETED" and pod.get("status", {}).get("phase") == "Running":
        running[name] = pod["spec"].get("nodeName", "?")
    else:
        running.pop(name, None)
elapsed = time.perf_counter() - t0
spread = collections.Counter(running.values())
print(f"{elapsed:.3f} " + " ".join(f"{k}={v}" for k, v in sorted(spread.items())))
call("DELETE", "/apis/apps/v1/namespaces/default/deployments/spread")
