"""RBAC authorization of the fake Kubernetes API server (on with `serve --authorization
rbac`): decides a resource request from the stored ClusterRoles, Roles and their
bindings the way kube-apiserver's RBAC authorizer does (verbs, API groups, resources and
subresources, resource names, wildcards; subjects by user, group or service account).

Not modelled: aggregated ClusterRoles, non-resource URL rules (every authenticated user
may read discovery, OpenAPI and /version, as the default system:discovery role allows),
impersonation, and escalation checks on writing roles. Pure function over the store's
objects; the caller holds no lock (it takes it).
"""

from apistore import ApiError


def _rule_allows(rule, verb, group, resource, name):
    def has(values, want):
        return "*" in (values or []) or want in (values or [])
    if not has(rule.get("verbs"), verb) or not has(rule.get("apiGroups"), group):
        return False
    if not has(rule.get("resources"), resource):
        base, _, sub = resource.partition("/")
        if not (sub and "*/" + sub in (rule.get("resources") or [])):
            return False
    names = rule.get("resourceNames") or []
    return not names or (name is not None and name in names)


def _subject_matches(s, user, groups):
    kind = s.get("kind")
    if kind == "User":
        return s.get("name") == user
    if kind == "Group":
        return s.get("name") in groups
    if kind == "ServiceAccount":
        return user == "system:serviceaccount:%s:%s" % (s.get("namespace", ""), s.get("name", ""))
    return False


def allowed(store, user, groups, verb, group, resource, namespace, name):
    """True when some binding of `user`/`groups` grants `verb` on the resource."""
    with store.cond:
        roles = []
        for b in store.objects["clusterrolebindings"].values():
            if any(_subject_matches(s, user, groups) for s in b.get("subjects") or []):
                roles.append(store.objects["clusterroles"].get("/" + b["roleRef"]["name"]))
        if namespace:
            for b in store.objects["rolebindings"].values():
                if b["metadata"].get("namespace") != namespace:
                    continue
                if any(_subject_matches(s, user, groups) for s in b.get("subjects") or []):
                    ref = b["roleRef"]
                    if ref.get("kind") == "Role":
                        roles.append(store.objects["roles"].get("%s/%s" % (namespace, ref["name"])))
                    else:
                        roles.append(store.objects["clusterroles"].get("/" + ref["name"]))
        return any(_rule_allows(r, verb, group, resource, name)
                   for role in roles if role for r in role.get("rules") or [])


def check(store, user, groups, verb, res, sub, namespace, name):
    """Raises the Forbidden error kube-apiserver gives when RBAC denies the request."""
    if "system:masters" in groups:
        return
    resource = res.plural + ("/" + sub if sub else "")
    if allowed(store, user, groups, verb, res.group, resource, namespace, name):
        return
    where = 'in the namespace "%s"' % namespace if namespace else "at the cluster scope"
    what = '%s "%s"' % (res.qualified, name) if name else res.qualified
    raise ApiError(403, "Forbidden", '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s'
                   % (what, user, verb, resource, res.group, where),
                   {"name": name or "", "group": res.group, "kind": res.plural})
