"""In-memory object store of the fake Kubernetes API server (see fake_apiserver.py).

It owns the objects, the single global resourceVersion counter (like etcd's revision),
the bounded event history used to replay watches and to serve consistent paged lists,
and the pure helpers for selectors and the three patch formats. It does no I/O, no
HTTP and no threading beyond the one Condition that guards it.
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


RESOURCES = [
    Resource("", "v1", "nodes", "Node", False, ["no"]),
    Resource("", "v1", "namespaces", "Namespace", False, ["ns"]),
    Resource("", "v1", "services", "Service", True, ["svc"]),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
]
BY_PLURAL = {(r.group, r.plural): r for r in RESOURCES}

# Strategic-merge-patch merge keys by field path (list indices dropped). A list with a
# key merges element-wise; a path mapped to None is a primitive list merged as a set;
# any other list is replaced atomically (as the real types' patchStrategy says).
SMP_MERGE_KEYS = {
    "status.addresses": "type",
    "status.conditions": "type",
    "spec.taints": "key",
    "spec.ports": "port",
    "metadata.ownerReferences": "uid",
    "spec.podCIDRs": None,
    "metadata.finalizers": None,
}


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------
# Selectors


def _split_top(s, sep=","):
    """Splits on `sep` outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == sep and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [p.strip() for p in out if p.strip()]


def parse_label_selector(text):
    """Returns a predicate over a labels dict; ApiError 400 on bad syntax."""
    reqs = []
    for part in _split_top(text or ""):
        low = part
        if " notin " in low or " in " in low:
            neg = " notin " in low
            key, _, vals = part.partition(" notin " if neg else " in ")
            vals = vals.strip()
            if not (vals.startswith("(") and vals.endswith(")")):
                raise ApiError(400, "BadRequest", "unable to parse requirement: %s" % part)
            values = {v.strip() for v in vals[1:-1].split(",") if v.strip()}
            key = key.strip()
            if neg:
                reqs.append(lambda l, k=key, vs=values: l.get(k) not in vs)
            else:
                reqs.append(lambda l, k=key, vs=values: k in l and l[k] in vs)
        elif "!=" in part:
            k, _, v = part.partition("!=")
            reqs.append(lambda l, k=k.strip(), v=v.strip(): l.get(k) != v)
        elif "==" in part or "=" in part:
            k, _, v = part.partition("==") if "==" in part else part.partition("=")
            reqs.append(lambda l, k=k.strip(), v=v.strip(): l.get(k) == v)
        elif part.startswith("!"):
            reqs.append(lambda l, k=part[1:].strip(): k not in l)
        else:
            if any(c in part for c in " ()"):
                raise ApiError(400, "BadRequest", "unable to parse requirement: %s" % part)
            reqs.append(lambda l, k=part: k in l)
    return lambda labels: all(r(labels or {}) for r in reqs)


FIELD_GETTERS = {
    "metadata.name": lambda o: o.get("metadata", {}).get("name", ""),
    "metadata.namespace": lambda o: o.get("metadata", {}).get("namespace", ""),
    "spec.unschedulable": lambda o: str(bool(o.get("spec", {}).get("unschedulable"))).lower(),
    "spec.clusterIP": lambda o: o.get("spec", {}).get("clusterIP", ""),
    "spec.type": lambda o: o.get("spec", {}).get("type", ""),
    "addressType": lambda o: o.get("addressType", ""),
}


def parse_field_selector(text):
    """Supports `f=v`, `f==v`, `f!=v` over FIELD_GETTERS; ApiError 400 otherwise."""
    reqs = []
    for part in _split_top(text or ""):
        if "!=" in part:
            f, _, v = part.partition("!=")
            neg = True
        elif "==" in part:
            f, _, v = part.partition("==")
            neg = False
        elif "=" in part:
            f, _, v = part.partition("=")
            neg = False
        else:
            raise ApiError(400, "BadRequest", "invalid selector: '%s'; can't understand '%s'" % (text, part))
        f = f.strip()
        getter = FIELD_GETTERS.get(f)
        if getter is None:
            raise ApiError(400, "BadRequest", 'field label not supported: %s' % f)
        if neg:
            reqs.append(lambda o, g=getter, v=v.strip(): g(o) != v)
        else:
            reqs.append(lambda o, g=getter, v=v.strip(): g(o) == v)
    return lambda obj: all(r(obj) for r in reqs)


# ---------------------------------------------------------------------------------------
# Patches


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


def strategic_merge_patch(target, patch, path=""):
    """Kubernetes strategic merge patch for the fields this server knows (SMP_MERGE_KEYS)
    plus the `$patch`, `$retainKeys`, `$setElementOrder/` and `$deleteFromPrimitiveList/`
    directives. Unknown lists are replaced, as for types without a patch strategy."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    if isinstance(patch.get("$retainKeys"), list):
        keep = set(patch["$retainKeys"])
        result = {k: v for k, v in result.items() if k in keep}
    orders = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(result.get(field), list) and isinstance(v, list):
                result[field] = [x for x in result[field] if x not in v]
            continue
        sub = "%s.%s" % (path, k) if path else k
        if v is None:
            result.pop(k, None)
        elif isinstance(v, list) and sub in SMP_MERGE_KEYS:
            result[k] = _smp_list(result.get(k), v, SMP_MERGE_KEYS[sub], sub)
        elif isinstance(v, dict):
            merged = strategic_merge_patch(result.get(k), v, sub)
            if merged is None:
                result.pop(k, None)
            else:
                result[k] = merged
        else:
            result[k] = copy.deepcopy(v)
    for field, order in orders.items():
        key = SMP_MERGE_KEYS.get("%s.%s" % (path, field) if path else field)
        cur = result.get(field)
        if not isinstance(cur, list) or not isinstance(order, list):
            continue

        def ident(x, key=key):
            return x.get(key) if (key and isinstance(x, dict)) else x

        rank = {json.dumps(ident(o), sort_keys=True): i for i, o in enumerate(order)}
        cur.sort(key=lambda x: rank.get(json.dumps(ident(x), sort_keys=True), len(rank)))
    return result


def _smp_list(current, patch_list, key, path):
    current = copy.deepcopy(current) if isinstance(current, list) else []
    if key is None:  # primitive list with strategy merge: union, keeping order
        for v in patch_list:
            if v not in current:
                current.append(copy.deepcopy(v))
        return current
    for item in patch_list:
        if not isinstance(item, dict):
            continue
        if item.get("$patch") == "replace":
            return [copy.deepcopy({k: v for k, v in i.items() if k != "$patch"})
                    for i in patch_list if isinstance(i, dict)]
        idx = next((i for i, c in enumerate(current)
                    if isinstance(c, dict) and c.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del current[idx]
            continue
        if idx is None:
            current.append(strategic_merge_patch({}, item, path))
        else:
            current[idx] = strategic_merge_patch(current[idx], item, path)
    return current


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, "Invalid", "invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _resolve(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise ApiError(422, "Invalid", "json patch: path not found: /%s" % "/".join(parts))
    return cur


def json_patch(doc, ops):
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    if not isinstance(ops, list):
        raise ApiError(400, "BadRequest", "json patch must be a list of operations")
    doc = copy.deepcopy(doc)

    def put(parts, value, replace):
        nonlocal doc
        if not parts:
            doc = value
            return
        parent = _resolve(doc, parts[:-1])
        last = parts[-1]
        if isinstance(parent, dict):
            if replace and last not in parent:
                raise ApiError(422, "Invalid", "json patch: replace of missing key %s" % last)
            parent[last] = value
        elif isinstance(parent, list):
            if last == "-":
                parent.append(value)
            elif last.isdigit() and int(last) <= len(parent) - (1 if replace else 0):
                if replace:
                    parent[int(last)] = value
                else:
                    parent.insert(int(last), value)
            else:
                raise ApiError(422, "Invalid", "json patch: bad index %s" % last)
        else:
            raise ApiError(422, "Invalid", "json patch: cannot add to a scalar")

    def remove(parts):
        parent = _resolve(doc, parts[:-1]) if parts else None
        last = parts[-1] if parts else None
        if isinstance(parent, dict) and last in parent:
            return parent.pop(last)
        if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
            return parent.pop(int(last))
        raise ApiError(422, "Invalid", "json patch: cannot remove /%s" % "/".join(parts))

    for op in ops:
        if not isinstance(op, dict):
            raise ApiError(400, "BadRequest", "json patch operation must be an object")
        kind, parts = op.get("op"), _pointer(op.get("path", ""))
        if kind == "add":
            put(parts, copy.deepcopy(op.get("value")), False)
        elif kind == "replace":
            put(parts, copy.deepcopy(op.get("value")), True)
        elif kind == "remove":
            remove(parts)
        elif kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            value = remove(src) if kind == "move" else copy.deepcopy(_resolve(doc, src))
            put(parts, value, False)
        elif kind == "test":
            if _resolve(doc, parts) != op.get("value"):
                raise ApiError(422, "Invalid", "json patch: test failed at %s" % op.get("path"))
        else:
            raise ApiError(400, "BadRequest", "json patch: unknown op %r" % kind)
    return doc


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
        for ns in ("default", "kube-system"):
            self.create(BY_PLURAL[("", "namespaces")], None, {"metadata": {"name": ns}})

    # -- history ------------------------------------------------------------------------
    def _record(self, typ, res, key, obj, prev):
        self.history.append(Event(self.rv, typ, res, key, obj, prev))
        if len(self.history) > self.history_limit:
            drop = len(self.history) - self.history_limit
            self.compacted_rv = self.history[drop - 1].rv
            del self.history[:drop]
        self.cond.notify_all()

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
            if spec["type"] != "ExternalName":
                spec.setdefault("ipFamilies", ["IPv6" if ":" in spec.get("clusterIP", "") else "IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
                spec.setdefault("internalTrafficPolicy", "Cluster")

    def create(self, res, ns, body):
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

    def update(self, res, ns, name, fn, subresource=None):
        """Replaces the object with fn(current copy). Keeps identity fields, checks a
        resourceVersion precondition and, like the real strategies, keeps status on the
        main resource of nodes/services and keeps everything but status on /status."""
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
            elif res.kind in ("Node", "Service", "Namespace"):
                if "status" in cur:
                    new["status"] = copy.deepcopy(cur["status"])
                else:
                    new.pop("status", None)
            cmp_new = copy.deepcopy(new)
            cmp_new["metadata"].pop("resourceVersion", None)
            cmp_cur = copy.deepcopy(cur)
            cmp_cur["metadata"].pop("resourceVersion", None)
            if cmp_new == cmp_cur:  # no-op writes do not bump the RV (as etcd3 store)
                return copy.deepcopy(cur)
            self._bump(new)
            self.objects[res.plural][key] = new
            self._record("MODIFIED", res.plural, key, new, cur)
            return copy.deepcopy(new)

    def delete(self, res, ns, name, preconditions=None):
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
