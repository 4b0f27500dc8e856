"""The DaemonSet controller of the fake Kubernetes API server, reduced to what tells a
manifest's scheduling apart: on every change of a Node or a DaemonSet it makes each
DaemonSet own exactly one Pod on every Node its template may run on (nodeSelector,
required node affinity, taints and tolerations, including the tolerations the real
controller adds to every DaemonSet pod), deletes the others, replaces pods of an older
template generation and keeps the DaemonSet's status counts.

Simplifications: pods are Running at once (no kubelet, no images), replaced all at once
(no rolling-update pacing), and deleted without a grace period. Pure store logic: called
by apistore.Store with its lock held; no I/O.
"""

import copy
import hashlib

import apistore

# What the real DaemonSet controller adds to every DaemonSet pod (util.AddOrUpdateDaemonPodTolerations).
AUTO_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]
HOST_NETWORK_TOLERATION = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                           "effect": "NoSchedule"}


def _tolerates(tol, taint):
    if tol.get("effect") and tol["effect"] != taint.get("effect"):
        return False
    op = tol.get("operator") or "Equal"
    if not tol.get("key"):
        return op == "Exists"
    if tol["key"] != taint.get("key"):
        return False
    return op == "Exists" or (tol.get("value") or "") == (taint.get("value") or "")


def _requirement(req, labels, name):
    key, op, vals = req.get("key"), req.get("operator"), req.get("values") or []
    have = name if labels is None else labels.get(key)
    present = have is not None
    if op == "In":
        return present and have in vals
    if op == "NotIn":
        return not present or have not in vals
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and vals:
        try:
            a, b = int(have), int(vals[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def node_fits(pod_spec, node):
    """True when a pod with `pod_spec` may run on `node` (as the DaemonSet controller
    decides it: nodeSelector, required node affinity, NoSchedule/NoExecute taints)."""
    labels = node.get("metadata", {}).get("labels") or {}
    name = node.get("metadata", {}).get("name")
    for k, v in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    req = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution")
    if req:
        def term_ok(t):
            exprs = t.get("matchExpressions") or []
            fields = [f for f in t.get("matchFields") or [] if f.get("key") == "metadata.name"]
            if not exprs and not fields:
                return False
            return all(_requirement(r, labels, name) for r in exprs) and \
                all(_requirement(r, None, name) for r in fields)
        if not any(term_ok(t) for t in req.get("nodeSelectorTerms") or []):
            return False
    tolerations = list(pod_spec.get("tolerations") or []) + AUTO_TOLERATIONS
    if pod_spec.get("hostNetwork"):
        tolerations.append(HOST_NETWORK_TOLERATION)
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not any(_tolerates(t, taint) for t in tolerations):
            return False
    return True


def _pod_name(ds_name, node_name, gen):
    return "%s-%s" % (ds_name, hashlib.sha256(("%s/%s" % (node_name, gen)).encode()).hexdigest()[:5])


def _node_ip(node):
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return a.get("address")
    return None


def reconcile(store, res_plural):
    """Store.after_write hook: brings pods in line with DaemonSets after a Node or
    DaemonSet change (lock held; its own writes do not re-enter)."""
    if res_plural not in ("nodes", "daemonsets") or getattr(store, "_ds_busy", False):
        return
    store._ds_busy = True
    try:
        _reconcile(store)
    finally:
        store._ds_busy = False


def _reconcile(store):
    pods_res = apistore.BY_PLURAL[("", "pods")]
    ds_res = apistore.BY_PLURAL[("apps", "daemonsets")]
    nodes = list(store.objects["nodes"].values())
    daemonsets = {ds["metadata"]["uid"]: ds for ds in store.objects["daemonsets"].values()}
    owned = {}  # ds uid -> node -> pod
    for pod in list(store.objects["pods"].values()):
        refs = [r for r in pod["metadata"].get("ownerReferences") or [] if r.get("kind") == "DaemonSet"]
        if not refs:
            continue
        md = pod["metadata"]
        if refs[0].get("uid") not in daemonsets:  # garbage collection of orphans
            store.delete(pods_res, md["namespace"], md["name"])
            continue
        owned.setdefault(refs[0]["uid"], {})[pod["spec"].get("nodeName")] = pod
    for uid, ds in daemonsets.items():
        md = ds["metadata"]
        tmpl = ds["spec"]["template"]
        gen = str(md.get("generation", 1))
        mine = owned.get(uid, {})
        want = {n["metadata"]["name"]: n for n in nodes if node_fits(tmpl.get("spec") or {}, n)}
        for node_name, pod in list(mine.items()):
            stale = pod["metadata"].get("labels", {}).get("pod-template-generation") != gen
            if node_name not in want or stale:
                store.delete(pods_res, md["namespace"], pod["metadata"]["name"])
                del mine[node_name]
        for node_name, node in want.items():
            if node_name in mine:
                continue
            labels = dict((tmpl.get("metadata") or {}).get("labels") or {})
            labels["pod-template-generation"] = gen
            spec = copy.deepcopy(tmpl.get("spec") or {})
            spec["nodeName"] = node_name
            pod = {"metadata": {"name": _pod_name(md["name"], node_name, gen), "namespace": md["namespace"],
                                "labels": labels,
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet",
                                                     "name": md["name"], "uid": uid, "controller": True,
                                                     "blockOwnerDeletion": True}]},
                   "spec": spec}
            ip = _node_ip(node) if spec.get("hostNetwork") else None
            pod["status"] = {"phase": "Running", "conditions": [
                {"type": t, "status": "True"} for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
                **({"podIP": ip, "hostIP": ip} if ip else {})}
            mine[node_name] = store.create(pods_res, md["namespace"], pod)
        status = {"currentNumberScheduled": len(mine), "desiredNumberScheduled": len(want),
                  "numberMisscheduled": 0, "numberReady": len(mine), "numberAvailable": len(mine),
                  "updatedNumberScheduled": len(mine), "observedGeneration": md.get("generation", 1)}
        if ds.get("status") != status:
            store.update(ds_res, md["namespace"], md["name"], lambda cur, st=status: dict(cur, status=st), "status")
