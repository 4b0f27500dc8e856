"""In-memory object store of the fake Kubernetes API server (see fake_apiserver.py).

It owns the objects, the single global resourceVersion counter (like etcd's revision),
the bounded event history used to replay watches and to serve consistent paged lists,
and continue tokens. It does no I/O, no HTTP and no threading beyond the one Condition
that guards it. Selectors are in apiselect.py, patch formats in apipatch.py.
"""

import base64
import copy
import datetime
import json
import random
import string
import threading
import uuid


class ApiError(Exception):
    """An error the server turns into a Status object with this HTTP code."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details


def status_object(code, reason, message, details=None):
    """A metav1.Status failure body."""
    st = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        st["details"] = details
    return st


def expired(message):
    return ApiError(410, "Expired", message)


import apivalidate  # noqa: E402  (after ApiError, which it imports)
import apicontrollers  # noqa: E402


class Resource:
    """Static description of one served resource type."""

    def __init__(self, group, version, plural, kind, namespaced, short=(), singular=None):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short = list(short)
        self.singular = singular or kind.lower()

    @property
    def api_version(self):
        return self.version if not self.group else "%s/%s" % (self.group, self.version)

    @property
    def qualified(self):
        """The name used in error messages: `nodes` or `endpointslices.discovery.k8s.io`."""
        return self.plural if not self.group else "%s.%s" % (self.plural, self.group)


RBAC = "rbac.authorization.k8s.io"
RESOURCES = [
    Resource("", "v1", "nodes", "Node", False, ["no"]),
    Resource("", "v1", "namespaces", "Namespace", False, ["ns"]),
    Resource("", "v1", "services", "Service", True, ["svc"]),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
    Resource("", "v1", "pods", "Pod", True, ["po"]),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    Resource("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"]),
    Resource(RBAC, "v1", "clusterroles", "ClusterRole", False),
    Resource(RBAC, "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    Resource(RBAC, "v1", "roles", "Role", True),
    Resource(RBAC, "v1", "rolebindings", "RoleBinding", True),
]
BY_PLURAL = {(r.group, r.plural): r for r in RESOURCES}
GROUPS = sorted({r.group for r in RESOURCES if r.group})
# Kinds whose namespace must exist on create (as NamespaceLifecycle admission does). The
# kinds kube-bgp watches keep accepting any namespace: tests create them freely.
NAMESPACE_CHECKED = ("ServiceAccount", "Pod", "DaemonSet", "Role", "RoleBinding")
# Kinds whose main resource keeps the stored status on update (status has its own endpoint).
STATUS_KEPT = ("Node", "Service", "Namespace", "DaemonSet", "Pod")



def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------
# Continue tokens


def encode_continue(rv, start_key):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start_key})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token):
    try:
        pad = "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(token + pad))
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "BadRequest", "continue key is not valid: %s" % token[:40])


# ---------------------------------------------------------------------------------------
# The store


class Event:
    __slots__ = ("rv", "type", "res", "key", "obj", "prev")

    def __init__(self, rv, typ, res, key, obj, prev):
        self.rv, self.type, self.res, self.key, self.obj, self.prev = rv, typ, res, key, obj, prev


def obj_key(obj):
    md = obj.get("metadata", {})
    return "%s/%s" % (md.get("namespace", ""), md.get("name", ""))


class Store:
    """Objects per resource, a global RV and an event history. All methods that read or
    write take `self.cond`; watchers wait on it for new events."""

    def __init__(self, first_rv=1000, history_limit=200000):
        self.cond = threading.Condition()
        self.rv = first_rv
        self.compacted_rv = first_rv  # watches/lists at an RV < this are Expired
        self.history = []  # Event, ascending rv
        self.history_limit = history_limit
        self.objects = {r.plural: {} for r in RESOURCES}  # plural -> key -> obj
        self._ip_next = 1
        self.after_write = []  # fn(store, res) called (lock held) after a stored change
        self.on_record = []  # fn(Event) called (lock held) as each change is committed
        for ns in ("default", "kube-system"):
            self.create(BY_PLURAL[("", "namespaces")], None, {"metadata": {"name": ns}})
        self.after_write.append(apicontrollers.reconcile)

    # -- history ------------------------------------------------------------------------
    def _record(self, typ, res, key, obj, prev):
        ev = Event(self.rv, typ, res, key, obj, prev)
        for fn in self.on_record:
            fn(ev)
        self.history.append(ev)
        if len(self.history) > self.history_limit:
            drop = len(self.history) - self.history_limit
            self.compacted_rv = self.history[drop - 1].rv
            del self.history[:drop]
        self.cond.notify_all()
        for fn in self.after_write:
            fn(self, res)

    def compact(self, rv=None):
        """Forgets history up to `rv` (default: now): older RVs become Expired."""
        with self.cond:
            target = self.rv if rv is None else min(int(rv), self.rv)
            target = max(target, self.compacted_rv)
            self.history = [e for e in self.history if e.rv > target]
            self.compacted_rv = target
            self.cond.notify_all()
            return target

    def events_after(self, rv):
        """Events with rv > `rv` (caller holds the lock and checked compaction)."""
        lo, hi = 0, len(self.history)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.history[mid].rv <= rv:
                lo = mid + 1
            else:
                hi = mid
        return self.history[lo:]

    def snapshot(self, res, at_rv):
        """The objects of `res` as they were at `at_rv` (caller holds the lock)."""
        if at_rv < self.compacted_rv:
            raise expired("too old resource version: %d (%d)" % (at_rv, self.compacted_rv))
        state = dict(self.objects[res.plural])
        for ev in reversed(self.events_after(at_rv)):
            if ev.res != res.plural:
                continue
            if ev.type == "ADDED":
                state.pop(ev.key, None)
            else:
                state[ev.key] = ev.prev
        return state

    # -- writes ---------------------------------------------------------------------------
    def _bump(self, obj):
        self.rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)

    def _defaults(self, res, obj):
        spec = obj.setdefault("spec", {}) if res.kind in ("Service", "Namespace") else None
        if spec is not None and not isinstance(spec, dict):
            raise ApiError(400, "BadRequest", "spec must be an object")
        if res.kind == "Namespace":
            obj.setdefault("status", {})["phase"] = "Active"
            spec.setdefault("finalizers", ["kubernetes"])
        if res.kind == "Service":
            obj["status"] = {"loadBalancer": {}}  # create drops client-set status
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
                n = self._ip_next
                self._ip_next += 1
                spec["clusterIP"] = "10.96.%d.%d" % (n // 250, n % 250 + 1)
            if spec.get("clusterIP") and not spec.get("clusterIPs"):
                spec["clusterIPs"] = [spec["clusterIP"]]
            if spec["type"] in ("NodePort", "LoadBalancer"):
                spec.setdefault("externalTrafficPolicy", "Cluster")
                for port in spec.get("ports") or []:
                    if isinstance(port, dict) and not port.get("nodePort"):
                        port["nodePort"] = 30000 + self._ip_next % 2768
                        self._ip_next += 1
            for port in spec.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
                    port.setdefault("targetPort", port.get("port"))
            if spec["type"] != "ExternalName":
                spec.setdefault("ipFamilies", ["IPv6" if ":" in spec.get("clusterIP", "") else "IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
                spec.setdefault("internalTrafficPolicy", "Cluster")

    def create(self, res, ns, body, dry_run=False, field_validation="Warn", warnings=None):
        """Stores a new object (unless `dry_run`: then everything but the write). Kinds
        known to apivalidate are decoded per `field_validation` (Strict/Warn/Ignore;
        Warn-mode messages go to `warnings`), defaulted and validated."""
        with self.cond:
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the body must be a JSON object")
            obj = copy.deepcopy(body)
            md = obj.setdefault("metadata", {})
            if not isinstance(md, dict):
                raise ApiError(400, "BadRequest", "metadata must be an object")
            if res.namespaced:
                if md.get("namespace") and ns and md["namespace"] != ns:
                    raise ApiError(400, "BadRequest",
                                   "the namespace of the provided object does not match the namespace sent on the request")
                md["namespace"] = ns or md.get("namespace") or "default"
            else:
                md.pop("namespace", None)
            if res.kind in NAMESPACE_CHECKED and "/" + md["namespace"] not in self.objects["namespaces"]:
                raise not_found(BY_PLURAL[("", "namespaces")], md["namespace"])
            apivalidate.decode(res.kind, obj, field_validation, warnings if warnings is not None else [])
            if not md.get("name") and md.get("generateName"):
                md["name"] = md["generateName"] + "".join(
                    random.choice(string.ascii_lowercase + string.digits) for _ in range(5))
            name = md.get("name")
            if not isinstance(name, str) or not name:
                raise ApiError(422, "Invalid", "%s %s is invalid: metadata.name: Required value" % (res.kind, '""'),
                               {"kind": res.plural, "group": res.group})
            key = obj_key(obj)
            if key in self.objects[res.plural]:
                raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (res.qualified, name),
                               {"name": name, "group": res.group, "kind": res.plural})
            obj["kind"], obj["apiVersion"] = res.kind, res.api_version
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now_rfc3339()
            md.pop("deletionTimestamp", None)
            self._defaults(res, obj)
            apivalidate.default(res.kind, obj)
            apivalidate.validate(res.kind, res.group, obj)
            if res.kind == "DaemonSet":
                md["generation"] = 1
                obj["status"] = {"currentNumberScheduled": 0, "desiredNumberScheduled": 0,
                                 "numberMisscheduled": 0, "numberReady": 0}
            if dry_run:
                return copy.deepcopy(obj)
            self._bump(obj)
            self.objects[res.plural][key] = obj
            self._record("ADDED", res.plural, key, obj, None)
            return copy.deepcopy(obj)

    def get(self, res, ns, name):
        with self.cond:
            obj = self.objects[res.plural].get("%s/%s" % (ns or "", name))
            if obj is None:
                raise not_found(res, name)
            return copy.deepcopy(obj)

    def update(self, res, ns, name, fn, subresource=None, dry_run=False, field_validation="Warn", warnings=None):
        """Replaces the object with fn(current copy). Keeps identity fields, checks a
        resourceVersion precondition and, like the real strategies, keeps status on the
        main resource of nodes/services/... and keeps everything but status on /status.
        Decoding, defaulting and validation as in `create`; `dry_run` stores nothing."""
        with self.cond:
            key = "%s/%s" % (ns or "", name)
            cur = self.objects[res.plural].get(key)
            if cur is None:
                raise not_found(res, name)
            new = fn(copy.deepcopy(cur))
            if not isinstance(new, dict) or not isinstance(new.get("metadata", {}), dict):
                raise ApiError(400, "BadRequest", "the result must be an object with object metadata")
            md = new.setdefault("metadata", {})
            if md.get("name", name) != name:
                raise ApiError(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)"
                               % (md.get("name"), name))
            want_rv = md.get("resourceVersion")
            if want_rv not in (None, "") and str(want_rv) != cur["metadata"]["resourceVersion"]:
                raise ApiError(409, "Conflict",
                               'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                               "please apply your changes to the latest version and try again" % (res.qualified, name),
                               {"name": name, "group": res.group, "kind": res.plural})
            for f in ("uid", "creationTimestamp", "name", "namespace"):
                if f in cur["metadata"]:
                    md[f] = cur["metadata"][f]
            new["kind"], new["apiVersion"] = res.kind, res.api_version
            if subresource == "status":
                merged = copy.deepcopy(cur)
                if "status" in new:
                    merged["status"] = new["status"]
                else:
                    merged.pop("status", None)
                new = merged
            elif res.kind in STATUS_KEPT:
                if "status" in cur:
                    new["status"] = copy.deepcopy(cur["status"])
                else:
                    new.pop("status", None)
            if subresource != "status":
                apivalidate.decode(res.kind, new, field_validation, warnings if warnings is not None else [])
                apivalidate.default(res.kind, new)
                apivalidate.validate(res.kind, res.group, new, cur)
            if res.kind == "DaemonSet":
                gen = cur["metadata"].get("generation", 1)
                md["generation"] = gen + 1 if new.get("spec") != cur.get("spec") else gen
            cmp_new = copy.deepcopy(new)
            cmp_new["metadata"].pop("resourceVersion", None)
            cmp_cur = copy.deepcopy(cur)
            cmp_cur["metadata"].pop("resourceVersion", None)
            if cmp_new == cmp_cur:  # no-op writes do not bump the RV (as etcd3 store)
                return copy.deepcopy(cur)
            if dry_run:
                new["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
                return copy.deepcopy(new)
            self._bump(new)
            self.objects[res.plural][key] = new
            self._record("MODIFIED", res.plural, key, new, cur)
            return copy.deepcopy(new)

    def delete(self, res, ns, name, preconditions=None, dry_run=False):
        with self.cond:
            key = "%s/%s" % (ns or "", name)
            cur = self.objects[res.plural].get(key)
            if cur is None:
                raise not_found(res, name)
            pre = preconditions or {}
            if (pre.get("uid") and pre["uid"] != cur["metadata"].get("uid")) or (
                    pre.get("resourceVersion") and pre["resourceVersion"] != cur["metadata"].get("resourceVersion")):
                raise ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": precondition failed'
                               % (res.qualified, name), {"name": name, "group": res.group, "kind": res.plural})
            if dry_run:
                return copy.deepcopy(cur)
            del self.objects[res.plural][key]
            gone = copy.deepcopy(cur)
            self._bump(gone)
            self._record("DELETED", res.plural, key, gone, cur)
            return copy.deepcopy(gone)

    # -- reads ----------------------------------------------------------------------------
    def list(self, res, ns, label_sel, field_sel, limit, cont, rv_param):
        """Returns (list_rv, items, continue_token, remaining)."""
        with self.cond:
            if cont:
                snap_rv, start = decode_continue(cont)
                if snap_rv < self.compacted_rv:
                    raise expired("The provided continue parameter is too old to display a consistent list result. "
                                  "You can start a new list without the continue parameter, or use the continue value "
                                  "from this response to retrieve the remainder of the results. Continuing with the "
                                  "provided token results in an inconsistent list - objects that were created, "
                                  "modified, or deleted between the time the first chunk was returned and now may "
                                  "show up in the list.")
            else:
                start = ""
                snap_rv = self.rv
                if rv_param not in (None, "", "0") and limit:
                    try:
                        want = int(rv_param)
                    except ValueError:
                        raise ApiError(400, "BadRequest", "invalid resourceVersion %r" % rv_param)
                    snap_rv = min(want, self.rv)  # Exact: may be Expired
            state = self.snapshot(res, snap_rv) if snap_rv != self.rv else self.objects[res.plural]
            keys = sorted(k for k in state if k > start)
            items = []
            idx = 0
            for idx, k in enumerate(keys):
                o = state[k]
                if ns and o["metadata"].get("namespace") != ns:
                    continue
                if not label_sel(o["metadata"].get("labels")) or not field_sel(o):
                    continue
                if limit and len(items) >= limit:
                    remaining = sum(1 for k2 in keys[idx:]
                                    if (not ns or state[k2]["metadata"].get("namespace") == ns)
                                    and label_sel(state[k2]["metadata"].get("labels")) and field_sel(state[k2]))
                    return (snap_rv, [copy.deepcopy(i) for i in items],
                            encode_continue(snap_rv, items_last_key(items)), remaining)
                items.append(o)
            return snap_rv, [copy.deepcopy(i) for i in items], None, None


def items_last_key(items):
    return obj_key(items[-1]) if items else ""


def not_found(res, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (res.qualified, name),
                    {"name": name, "group": res.group, "kind": res.plural})
