"""Benchmark side of the fake Kubernetes API server: a commit log with wall-clock
timestamps, generated cluster-sized objects and a background churn of writes.

It owns three things, all reached through /__test/ hooks (apiwatch.HookMixin):

* CommitLog: while enabled, one JSON line per stored change in DIR/commits.jsonl,
  written by Store._record with the lock held, i.e. at commit time:
  {"t_ns": <CLOCK_REALTIME ns>, "rv": N, "type": "ADDED|MODIFIED|DELETED",
   "resource": "nodes", "key": "<namespace>/<name>"}.
  CLOCK_REALTIME is shared by every network namespace of the host, so a benchmark can
  subtract it from the time a kernel route or a log line appeared elsewhere.
* gen_nodes / gen_services: Node objects shaped like a kubelet's (addresses, pod CIDR,
  labels, annotations, conditions, capacity, nodeInfo, a few images; about 3 KB each)
  and Services with one EndpointSlice each, endpoints on existing Nodes.
* Churn: a thread that keeps writing at given rates: Node status heartbeats (only
  `lastHeartbeatTime` of the conditions changes, nothing kube-bgp reads) and
  EndpointSlice changes (one endpoint's pod replaced: new address and pod name), spread
  evenly over each second, from a seeded RNG.

No HTTP here; no I/O except the commit log file.
"""

import ipaddress
import json
import random
import threading
import time

import apistore
from apistore import ApiError, BY_PLURAL

NODES = BY_PLURAL[("", "nodes")]
SERVICES = BY_PLURAL[("", "services")]
SLICES = BY_PLURAL[("discovery.k8s.io", "endpointslices")]


# ---------------------------------------------------------------------------------------
# Commit log


class CommitLog:
    """Appends one line per stored change; `record` is called with the store's lock held."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "a", buffering=1)

    def record(self, ev):
        try:
            self.f.write(json.dumps({"t_ns": time.time_ns(), "rv": ev.rv, "type": ev.type,
                                     "resource": ev.res, "key": ev.key}) + "\n")
        except (OSError, ValueError):
            pass

    def close(self):
        try:
            self.f.close()
        except OSError:
            pass


def set_commit_log(ctl, enable):
    """Turns the commit log on (DIR/commits.jsonl, appended) or off; returns the path."""
    store = ctl.store
    path = ctl.state_dir + "/commits.jsonl"
    with store.cond:
        old = ctl.commit_log
        if old is not None:
            store.on_record.remove(old.record)
            old.close()
            ctl.commit_log = None
        if enable:
            ctl.commit_log = CommitLog(path)
            store.on_record.append(ctl.commit_log.record)
    return {"enabled": bool(enable), "path": path}


# ---------------------------------------------------------------------------------------
# Generated objects


def _ip(base, i):
    return str(ipaddress.ip_address(base) + i)


def _field(spec, key, default, conv):
    try:
        return conv(spec.get(key, default))
    except (TypeError, ValueError):
        raise ApiError(400, "BadRequest", "generate: bad %s" % key)


def node_object(name, ip, pod_cidr, annotations=None, labels=None):
    """A Node as a kubelet and the node IPAM controller leave it."""
    now = apistore.now_rfc3339()
    lab = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
           "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64",
           "node.kubernetes.io/instance-type": "bare-metal", "topology.kubernetes.io/zone": "zone-a"}
    lab.update(labels or {})
    ann = {"node.alpha.kubernetes.io/ttl": "0",
           "volumes.kubernetes.io/controller-managed-attach-detach": "true",
           "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock"}
    ann.update(annotations or {})
    conds = [{"type": t, "status": s, "lastHeartbeatTime": now, "lastTransitionTime": now,
              "reason": r, "message": m} for t, s, r, m in (
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"))]
    images = [{"names": ["registry.example/app-%d@sha256:%064x" % (k, k * 7919 + 1),
                         "registry.example/app-%d:v1.%d" % (k, k)], "sizeBytes": 10000000 + k * 12345}
              for k in range(8)]
    return {"metadata": {"name": name, "labels": lab, "annotations": ann},
            "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                       "conditions": conds,
                       "capacity": {"cpu": "32", "memory": "131901388Ki", "pods": "110",
                                    "ephemeral-storage": "479596204Ki"},
                       "allocatable": {"cpu": "31", "memory": "129701388Ki", "pods": "110",
                                       "ephemeral-storage": "441993122629"},
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                       "nodeInfo": {"architecture": "amd64", "bootID": "boot-%s" % name,
                                    "containerRuntimeVersion": "containerd://1.7.24",
                                    "kernelVersion": "6.1.0-28-amd64", "kubeProxyVersion": "v1.32.4",
                                    "kubeletVersion": "v1.32.4", "machineID": "machine-%s" % name,
                                    "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12 (bookworm)",
                                    "systemUUID": "uuid-%s" % name},
                       "images": images}}


def gen_nodes(spec):
    """Nodes `prefix + i` for i in [start, start + count): InternalIP first_ip + i - start,
    pod CIDR number i - start counted from pod_base in /pod_len steps, the given
    annotations and labels on every one."""
    count = _field(spec, "count", 100, int)
    start = _field(spec, "start", 0, int)
    prefix = _field(spec, "prefix", "load-node-", str)
    first_ip = _field(spec, "first_ip", "172.16.0.1", str)
    pod_base = _field(spec, "pod_base", "10.100.0.0", str)
    pod_len = _field(spec, "pod_len", 24, int)
    ann = spec.get("annotations") or {}
    labels = spec.get("labels") or {}
    if not isinstance(ann, dict) or not isinstance(labels, dict) or count < 0 or not 8 <= pod_len <= 32:
        raise ApiError(400, "BadRequest", "generate: bad annotations, labels, count or pod_len")
    try:
        base = int(ipaddress.IPv4Address(pod_base))
        ipaddress.ip_address(first_ip)
    except ValueError:
        raise ApiError(400, "BadRequest", "generate: bad first_ip or pod_base")
    step = 1 << (32 - pod_len)
    out = []
    for k in range(count):
        cidr = "%s/%d" % (ipaddress.IPv4Address(base + k * step), pod_len)
        out.append(node_object("%s%d" % (prefix, start + k), _ip(first_ip, k), cidr, ann, labels))
    return out


def _pod_ip(node, rng):
    cidr = ((node.get("spec") or {}).get("podCIDR")) or "10.0.0.0/24"
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        net = ipaddress.ip_network("10.0.0.0/24")
    return str(net.network_address + rng.randrange(2, max(3, min(net.num_addresses - 1, 250))))


def _endpoint(node, rng):
    name = node["metadata"]["name"]
    pod = "app-%08x" % rng.getrandbits(32)
    return {"addresses": [_pod_ip(node, rng)], "nodeName": name,
            "conditions": {"ready": True, "serving": True, "terminating": False},
            "targetRef": {"kind": "Pod", "namespace": "default", "name": pod, "uid": "uid-" + pod}}


def gen_services(store, ns, spec):
    """`count` ClusterIP Services `prefix + i` (cluster IP allocated by the store), each
    with one EndpointSlice of `endpoints` endpoints on random existing Nodes. Returns
    (services, slices) to create, slices after their Service."""
    count = _field(spec, "count", 100, int)
    prefix = _field(spec, "prefix", "svc-", str)
    per = _field(spec, "endpoints", 3, int)
    rng = random.Random(_field(spec, "seed", 1, int))
    with store.cond:
        nodes = [store.objects["nodes"][k] for k in sorted(store.objects["nodes"])]
    if not nodes and per > 0:
        raise ApiError(400, "BadRequest", "generate services: no Nodes to put endpoints on")
    svcs, slices = [], []
    for i in range(count):
        name = "%s%d" % (prefix, i)
        svcs.append({"metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
                     "spec": {"selector": {"app": name},
                              "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
        slices.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                       "metadata": {"name": name + "-abcde", "namespace": ns,
                                    "labels": {"kubernetes.io/service-name": name,
                                               "endpointslice.kubernetes.io/managed-by":
                                                   "endpointslice-controller.k8s.io"}},
                       "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                       "endpoints": [_endpoint(rng.choice(nodes), rng) for _ in range(per)]})
    return svcs, slices


# ---------------------------------------------------------------------------------------
# Churn


class Churn:
    """Writes `node_rate` Node heartbeats and `slice_rate` EndpointSlice changes per
    second until stopped. Each kind runs on its own schedule (k / rate seconds after the
    start); a write that falls behind is done at once, and `max_lag_ms` says by how much."""

    def __init__(self, store, node_rate, slice_rate, seed):
        self.store = store
        self.rates = {"node": float(node_rate), "slice": float(slice_rate)}
        self.rng = random.Random(seed)
        self.done = {"node": 0, "slice": 0}
        self.errors = 0
        self.max_lag = 0.0
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def stats(self):
        return {"running": self.thread.is_alive() and not self.stop_ev.is_set(),
                "node_rate": self.rates["node"], "slice_rate": self.rates["slice"],
                "node_updates": self.done["node"], "slice_updates": self.done["slice"],
                "errors": self.errors, "max_lag_ms": round(self.max_lag * 1000, 3)}

    def stop(self):
        self.stop_ev.set()
        self.thread.join(5)

    def run(self):
        t0 = time.monotonic()
        due = {k: (t0 + 1.0 / r if r > 0 else None) for k, r in self.rates.items()}
        tries = {k: 0 for k in self.rates}
        while not self.stop_ev.is_set():
            pending = [(t, k) for k, t in due.items() if t is not None]
            if not pending:
                return
            t, kind = min(pending)
            wait = t - time.monotonic()
            if wait > 0 and self.stop_ev.wait(wait):
                return
            self.max_lag = max(self.max_lag, time.monotonic() - t)
            try:
                (self.heartbeat if kind == "node" else self.slice_change)()
                self.done[kind] += 1
            except ApiError:  # e.g. the object was deleted in between: counted, not fatal
                self.errors += 1
            tries[kind] += 1
            due[kind] = t0 + (tries[kind] + 1) / self.rates[kind]

    def _pick(self, plural):
        with self.store.cond:
            keys = list(self.store.objects[plural])
        return self.rng.choice(keys) if keys else None

    def heartbeat(self):
        key = self._pick("nodes")
        if key is None:
            raise ApiError(404, "NotFound", "no nodes")
        now = apistore.now_rfc3339()
        stamp = "%s.%06d" % (now[:-1], self.done["node"] % 1000000)

        def beat(cur):
            st = cur.setdefault("status", {})
            conds = st.get("conditions") or [{"type": "Ready", "status": "True"}]
            for c in conds:
                if isinstance(c, dict):
                    c["lastHeartbeatTime"] = stamp
            st["conditions"] = conds
            return cur

        self.store.update(NODES, None, key.split("/", 1)[1], beat, subresource="status")

    def slice_change(self):
        key = self._pick("endpointslices")
        if key is None:
            raise ApiError(404, "NotFound", "no endpointslices")
        ns, name = key.split("/", 1)
        rng = self.rng

        def move(cur):
            eps = cur.get("endpoints") or []
            if eps and isinstance(eps[0], dict):
                j = rng.randrange(len(eps))
                pod = "app-%08x" % rng.getrandbits(32)
                ep = eps[j]
                addrs = ep.get("addresses") or ["10.0.0.2"]
                try:
                    net = ipaddress.ip_network(addrs[0] + "/24", strict=False)
                    addrs = [str(net.network_address + rng.randrange(2, 250))]
                except ValueError:
                    pass
                ep["addresses"] = addrs
                ep["targetRef"] = {"kind": "Pod", "namespace": ns, "name": pod, "uid": "uid-" + pod}
            cur["endpoints"] = eps
            return cur

        self.store.update(SLICES, ns, name, move)


def set_churn(ctl, q):
    """GET churn: status. With node_updates/slice_updates (per second): (re)start the
    churn at those rates (both 0: stop). Returns the status."""
    store = ctl.store
    rates = {}
    for key in ("node_updates", "slice_updates"):
        if key in q:
            try:
                rates[key] = float(q[key])
            except ValueError:
                raise ApiError(400, "BadRequest", "bad %s" % key)
            if not 0 <= rates[key] <= 10000:
                raise ApiError(400, "BadRequest", "%s must be 0..10000 per second" % key)
    if rates:
        old = ctl.churn
        if old is not None:
            old.stop()
        node, slc = rates.get("node_updates", 0.0), rates.get("slice_updates", 0.0)
        try:
            seed = int(q.get("seed", "1"))
        except ValueError:
            raise ApiError(400, "BadRequest", "bad seed")
        ctl.churn = Churn(store, node, slc, seed) if (node > 0 or slc > 0) else None
        if ctl.churn is None and old is not None:
            return dict(old.stats(), running=False)
    if ctl.churn is None:
        return {"running": False, "node_updates": 0, "slice_updates": 0}
    return ctl.churn.stats()
