"""Patch formats of the fake Kubernetes API server: JSON merge patch (RFC 7386), the
Kubernetes strategic merge patch for the fields it knows, and JSON patch (RFC 6902).
Pure functions on decoded JSON; no I/O.
"""

import copy
import json

from apistore import ApiError

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
# Pod specs, on their own (Pod) and in workload templates (DaemonSet).
for _pod in ("spec", "spec.template.spec"):
    for _list, _key in (("volumes", "name"), ("imagePullSecrets", "name"), ("containers", "name"),
                        ("initContainers", "name")):
        SMP_MERGE_KEYS["%s.%s" % (_pod, _list)] = _key
    for _c in ("containers", "initContainers"):
        for _list, _key in (("volumeMounts", "mountPath"), ("env", "name"), ("ports", "containerPort")):
            SMP_MERGE_KEYS["%s.%s.%s" % (_pod, _c, _list)] = _key


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


