"""Label and field selectors of the fake Kubernetes API server: parse the query string
forms into predicates. Pure functions; no I/O.
"""

from apistore import ApiError


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
    "spec.nodeName": lambda o: o.get("spec", {}).get("nodeName", ""),
    "status.phase": lambda o: (o.get("status") or {}).get("phase", ""),
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


