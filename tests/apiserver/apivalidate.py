"""Validation and defaulting of the fake Kubernetes API server for the kinds the project's
manifests use (ServiceAccount, ClusterRole/Role, ClusterRoleBinding/RoleBinding,
DaemonSet, Pod), so a broken manifest fails here as it fails on a real kube-apiserver.

Three layers, as in kube-apiserver:
  1. decoding: a field of the wrong JSON type is a 400 BadRequest ("cannot be handled
     as a DaemonSet: json: cannot unmarshal ..."); a field the type does not have is an
     unknown field: 400 under fieldValidation=Strict (what kubectl sends by default),
     a warning under Warn (the API default), nothing under Ignore, and dropped from the
     stored object in every case;
  2. defaulting: the defaults a real server fills in (a subset: what `kubectl get -o
     yaml` users see most);
  3. validation: required fields and value rules, 422 Invalid with one cause per field.

The field tables list every field of each Kubernetes v1.32 type that is modelled; types
not modelled (pod security context, projected volumes, ...) are accepted as they come.
Nodes, Services, EndpointSlices and Namespaces are not validated here (the kube-bgp tests
feed them deliberately odd objects). Pure functions; no I/O, no store access.
"""

import re

from apistore import ApiError

# ---------------------------------------------------------------------------------------
# Field tables: field -> type. A type is "str", "int", "bool", "intstr", "any" (not
# checked), "strmap" (map of strings), ("list", T), or the name of a table below.

OBJECT_META = {
    "name": "str", "generateName": "str", "namespace": "str", "selfLink": "str", "uid": "str",
    "resourceVersion": "str", "generation": "int", "creationTimestamp": "any",
    "deletionTimestamp": "any", "deletionGracePeriodSeconds": "int", "labels": "strmap",
    "annotations": "strmap", "ownerReferences": ("list", "any"), "finalizers": ("list", "str"),
    "managedFields": ("list", "any"),
}
TYPE_META = {"apiVersion": "str", "kind": "str", "metadata": "ObjectMeta"}

TYPES = {
    "ObjectMeta": OBJECT_META,
    "ServiceAccount": dict(TYPE_META, secrets=("list", "any"), imagePullSecrets=("list", "any"),
                           automountServiceAccountToken="bool"),
    "PolicyRule": {"verbs": ("list", "str"), "apiGroups": ("list", "str"), "resources": ("list", "str"),
                   "resourceNames": ("list", "str"), "nonResourceURLs": ("list", "str")},
    "ClusterRole": dict(TYPE_META, rules=("list", "PolicyRule"), aggregationRule="any"),
    "Role": dict(TYPE_META, rules=("list", "PolicyRule")),
    "RoleRef": {"apiGroup": "str", "kind": "str", "name": "str"},
    "Subject": {"kind": "str", "apiGroup": "str", "name": "str", "namespace": "str"},
    "ClusterRoleBinding": dict(TYPE_META, subjects=("list", "Subject"), roleRef="RoleRef"),
    "RoleBinding": dict(TYPE_META, subjects=("list", "Subject"), roleRef="RoleRef"),
    "DaemonSet": dict(TYPE_META, spec="DaemonSetSpec", status="any"),
    "DaemonSetSpec": {"selector": "LabelSelector", "template": "PodTemplateSpec",
                      "updateStrategy": "DaemonSetUpdateStrategy", "minReadySeconds": "int",
                      "revisionHistoryLimit": "int"},
    "DaemonSetUpdateStrategy": {"type": "str", "rollingUpdate": "RollingUpdateDaemonSet"},
    "RollingUpdateDaemonSet": {"maxUnavailable": "intstr", "maxSurge": "intstr"},
    "LabelSelector": {"matchLabels": "strmap", "matchExpressions": ("list", "LabelSelectorRequirement")},
    "LabelSelectorRequirement": {"key": "str", "operator": "str", "values": ("list", "str")},
    "PodTemplateSpec": {"metadata": "ObjectMeta", "spec": "PodSpec"},
    "Pod": dict(TYPE_META, spec="PodSpec", status="any"),
    "PodSpec": {
        "volumes": ("list", "Volume"), "initContainers": ("list", "Container"),
        "containers": ("list", "Container"), "ephemeralContainers": ("list", "any"),
        "restartPolicy": "str", "terminationGracePeriodSeconds": "int", "activeDeadlineSeconds": "int",
        "dnsPolicy": "str", "nodeSelector": "strmap", "serviceAccountName": "str", "serviceAccount": "str",
        "automountServiceAccountToken": "bool", "nodeName": "str", "hostNetwork": "bool", "hostPID": "bool",
        "hostIPC": "bool", "shareProcessNamespace": "bool", "securityContext": "any",
        "imagePullSecrets": ("list", "any"), "hostname": "str", "subdomain": "str", "affinity": "Affinity",
        "schedulerName": "str", "tolerations": ("list", "Toleration"), "hostAliases": ("list", "any"),
        "priorityClassName": "str", "priority": "int", "dnsConfig": "any", "readinessGates": ("list", "any"),
        "runtimeClassName": "str", "enableServiceLinks": "bool", "preemptionPolicy": "str", "overhead": "any",
        "topologySpreadConstraints": ("list", "any"), "setHostnameAsFQDN": "bool", "os": "any",
        "hostUsers": "bool", "schedulingGates": ("list", "any"), "resourceClaims": ("list", "any"),
        "resources": "any",
    },
    "Container": {
        "name": "str", "image": "str", "command": ("list", "str"), "args": ("list", "str"), "workingDir": "str",
        "ports": ("list", "ContainerPort"), "envFrom": ("list", "any"), "env": ("list", "EnvVar"),
        "resources": "ResourceRequirements", "resizePolicy": ("list", "any"), "restartPolicy": "str",
        "volumeMounts": ("list", "VolumeMount"), "volumeDevices": ("list", "any"), "livenessProbe": "Probe",
        "readinessProbe": "Probe", "startupProbe": "Probe", "lifecycle": "any", "terminationMessagePath": "str",
        "terminationMessagePolicy": "str", "imagePullPolicy": "str", "securityContext": "SecurityContext",
        "stdin": "bool", "stdinOnce": "bool", "tty": "bool",
    },
    "ContainerPort": {"name": "str", "hostPort": "int", "containerPort": "int", "protocol": "str", "hostIP": "str"},
    "EnvVar": {"name": "str", "value": "str", "valueFrom": "EnvVarSource"},
    "EnvVarSource": {"fieldRef": "ObjectFieldSelector", "resourceFieldRef": "any", "configMapKeyRef": "any",
                     "secretKeyRef": "any"},
    "ObjectFieldSelector": {"apiVersion": "str", "fieldPath": "str"},
    "ResourceRequirements": {"limits": "any", "requests": "any", "claims": ("list", "any")},
    "VolumeMount": {"name": "str", "readOnly": "bool", "recursiveReadOnly": "str", "mountPath": "str",
                    "subPath": "str", "mountPropagation": "str", "subPathExpr": "str"},
    "Probe": {"exec": "ExecAction", "httpGet": "HTTPGetAction", "tcpSocket": "TCPSocketAction", "grpc": "any",
              "initialDelaySeconds": "int", "timeoutSeconds": "int", "periodSeconds": "int",
              "successThreshold": "int", "failureThreshold": "int", "terminationGracePeriodSeconds": "int"},
    "ExecAction": {"command": ("list", "str")},
    "HTTPGetAction": {"path": "str", "port": "intstr", "host": "str", "scheme": "str", "httpHeaders": ("list", "any")},
    "TCPSocketAction": {"port": "intstr", "host": "str"},
    "SecurityContext": {"capabilities": "Capabilities", "privileged": "bool", "seLinuxOptions": "any",
                        "windowsOptions": "any", "runAsUser": "int", "runAsGroup": "int", "runAsNonRoot": "bool",
                        "readOnlyRootFilesystem": "bool", "allowPrivilegeEscalation": "bool", "procMount": "str",
                        "seccompProfile": "SeccompProfile", "appArmorProfile": "any"},
    "Capabilities": {"add": ("list", "str"), "drop": ("list", "str")},
    "SeccompProfile": {"type": "str", "localhostProfile": "str"},
    "Volume": dict({"name": "str", "hostPath": "HostPathVolumeSource", "configMap": "ConfigMapVolumeSource",
                    "secret": "SecretVolumeSource"},
                   **{src: "any" for src in (
                       "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "downwardAPI",
                       "emptyDir", "ephemeral", "fc", "flexVolume", "flocker", "gcePersistentDisk", "gitRepo",
                       "glusterfs", "image", "iscsi", "nfs", "persistentVolumeClaim", "photonPersistentDisk",
                       "portworxVolume", "projected", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume")}),
    "HostPathVolumeSource": {"path": "str", "type": "str"},
    "ConfigMapVolumeSource": {"name": "str", "items": ("list", "any"), "defaultMode": "int", "optional": "bool"},
    "SecretVolumeSource": {"secretName": "str", "items": ("list", "any"), "defaultMode": "int", "optional": "bool"},
    "Toleration": {"key": "str", "operator": "str", "value": "str", "effect": "str", "tolerationSeconds": "int"},
    "Affinity": {"nodeAffinity": "NodeAffinity", "podAffinity": "any", "podAntiAffinity": "any"},
    "NodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": "NodeSelector",
                     "preferredDuringSchedulingIgnoredDuringExecution": ("list", "any")},
    "NodeSelector": {"nodeSelectorTerms": ("list", "NodeSelectorTerm")},
    "NodeSelectorTerm": {"matchExpressions": ("list", "NodeSelectorRequirement"),
                         "matchFields": ("list", "NodeSelectorRequirement")},
    "NodeSelectorRequirement": {"key": "str", "operator": "str", "values": ("list", "str")},
}

VALIDATED_KINDS = ("ServiceAccount", "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding", "DaemonSet", "Pod")
GO_TYPE = {"str": "string", "int": "int64", "bool": "bool", "intstr": "IntOrString", "strmap": "map[string]string"}
JSON_KIND = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object",
             type(None): "null"}


def _decode(value, typ, path, unknown, wrong):
    """Walks `value` as `typ`: records unknown fields (and removes them) and type errors."""
    if value is None or typ == "any":
        return
    if isinstance(typ, tuple):
        if not isinstance(value, list):
            wrong.append((path, value, "[]" + (typ[1] if typ[1] in TYPES else GO_TYPE.get(typ[1], typ[1]))))
            return
        for i, item in enumerate(value):
            _decode(item, typ[1], "%s[%d]" % (path, i), unknown, wrong)
        return
    if typ in TYPES:
        if not isinstance(value, dict):
            wrong.append((path, value, typ))
            return
        fields = TYPES[typ]
        for k in list(value):
            sub = "%s.%s" % (path, k) if path else k
            if k not in fields:
                unknown.append(sub)
                del value[k]
            else:
                _decode(value[k], fields[k], sub, unknown, wrong)
        return
    ok = {
        "str": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "intstr": lambda v: isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)),
        "strmap": lambda v: isinstance(v, dict) and all(isinstance(x, str) or x is None for x in v.values()),
    }[typ](value)
    if not ok:
        wrong.append((path, value, GO_TYPE[typ]))


def decode(kind, obj, field_validation, warnings):
    """Decoding checks of one object of `kind` (modified in place: unknown fields are
    dropped). Raises ApiError 400; appends Warn-mode warnings to `warnings`."""
    if kind not in VALIDATED_KINDS:
        return
    unknown, wrong = [], []
    _decode(obj, kind, "", unknown, wrong)
    prefix = "%s in version \"v1\" cannot be handled as a %s: " % (kind, kind)
    if wrong:
        path, value, want = wrong[0]
        raise ApiError(400, "BadRequest", prefix + "json: cannot unmarshal %s into Go struct field %s.%s of type %s"
                       % (JSON_KIND.get(type(value), "value"), kind, path, want))
    if unknown and field_validation == "Strict":
        raise ApiError(400, "BadRequest", prefix + "strict decoding error: " +
                       ", ".join('unknown field "%s"' % u for u in unknown))
    if field_validation == "Warn":
        warnings.extend('unknown field "%s"' % u for u in unknown)


# ---------------------------------------------------------------------------------------
# Defaulting


def _image_pull_policy(image):
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.rpartition(":")[2] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _default_probe(p):
    if not isinstance(p, dict):
        return
    for k, v in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)):
        p.setdefault(k, v)
    if isinstance(p.get("httpGet"), dict):
        p["httpGet"].setdefault("scheme", "HTTP")


def default_pod_spec(spec):
    if not isinstance(spec, dict):
        return
    for k, v in (("restartPolicy", "Always"), ("dnsPolicy", "ClusterFirst"), ("schedulerName", "default-scheduler"),
                 ("terminationGracePeriodSeconds", 30), ("securityContext", {})):
        spec.setdefault(k, v)
    if spec.get("serviceAccountName") and not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if not isinstance(c, dict):
            continue
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        if isinstance(c.get("image"), str):
            c.setdefault("imagePullPolicy", _image_pull_policy(c["image"]))
        for port in c.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if spec.get("hostNetwork") and "containerPort" in port:
                    port.setdefault("hostPort", port["containerPort"])
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            _default_probe(c.get(probe))
    for v in spec.get("volumes") or []:
        if isinstance(v, dict) and isinstance(v.get("hostPath"), dict):
            v["hostPath"].setdefault("type", "")


def default(kind, obj):
    if kind == "DaemonSet":
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            spec.setdefault("updateStrategy", {"type": "RollingUpdate"})
            us = spec["updateStrategy"]
            if isinstance(us, dict) and us.get("type") == "RollingUpdate":
                us.setdefault("rollingUpdate", {})
                if isinstance(us["rollingUpdate"], dict):
                    us["rollingUpdate"].setdefault("maxUnavailable", 1)
                    us["rollingUpdate"].setdefault("maxSurge", 0)
            spec.setdefault("revisionHistoryLimit", 10)
            tmpl = spec.get("template")
            if isinstance(tmpl, dict):
                default_pod_spec(tmpl.get("spec"))
    elif kind == "Pod":
        default_pod_spec(obj.get("spec"))


# ---------------------------------------------------------------------------------------
# Validation

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


class Errors:
    """Collects field errors like k8s.io/apimachinery's field.ErrorList."""

    def __init__(self):
        self.items = []  # (field, reason, message)

    def required(self, field, detail=""):
        self.items.append((field, "FieldValueRequired", "%s: Required value%s" % (field, ": " + detail if detail else "")))

    def invalid(self, field, value, detail):
        self.items.append((field, "FieldValueInvalid", "%s: Invalid value: %s: %s" % (field, _show(value), detail)))

    def unsupported(self, field, value, supported):
        self.items.append((field, "FieldValueNotSupported", "%s: Unsupported value: %s: supported values: %s"
                           % (field, _show(value), ", ".join('"%s"' % s for s in supported))))

    def duplicate(self, field, value):
        self.items.append((field, "FieldValueDuplicate", "%s: Duplicate value: %s" % (field, _show(value))))

    def not_found(self, field, value):
        self.items.append((field, "FieldValueNotFound", "%s: Not found: %s" % (field, _show(value))))

    def forbidden(self, field, detail):
        self.items.append((field, "FieldValueForbidden", "%s: Forbidden: %s" % (field, detail)))


def _show(v):
    return '"%s"' % v if isinstance(v, str) else str(v)


def _is_qualified_name(k):
    if not isinstance(k, str) or not k:
        return False
    prefix, slash, name = k.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        return False
    return len(name) <= 63 and bool(QUALIFIED_NAME.match(name))


def _labels(errs, field, labels):
    for k, v in (labels or {}).items():
        if not _is_qualified_name(k):
            errs.invalid(field, k, "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
                         "start and end with an alphanumeric character")
        if v is not None and (len(v) > 63 or not LABEL_VALUE.match(v)):
            errs.invalid("%s" % field, v, "a valid label must be an empty string or consist of alphanumeric "
                         "characters, '-', '_' or '.', and must start and end with an alphanumeric character")


def _name(errs, kind, name, rbac):
    if rbac:
        if name in (".", "..") or "/" in name or "%" in name:
            errs.invalid("metadata.name", name, 'may not contain "/" or "%" and may not be "." or ".."')
    elif len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        errs.invalid("metadata.name", name, "a lowercase RFC 1123 subdomain must consist of lower case "
                     "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")


def _selector_matches(sel, labels):
    labels = labels or {}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for req in sel.get("matchExpressions") or []:
        key, op, vals = req.get("key"), req.get("operator"), req.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and labels.get(key) in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _probe(errs, field, probe, ports):
    if not probe:
        return
    handlers = [h for h in ("exec", "httpGet", "tcpSocket", "grpc") if probe.get(h) is not None]
    if not handlers:
        errs.required(field, "must specify a handler type")
    elif len(handlers) > 1:
        errs.forbidden("%s.%s" % (field, handlers[1]), "may not specify more than 1 handler type")
    for h in ("httpGet", "tcpSocket"):
        action = probe.get(h)
        if isinstance(action, dict):
            port = action.get("port")
            pf = "%s.%s.port" % (field, h)
            if port is None:
                errs.required(pf)
            elif isinstance(port, int) and not 1 <= port <= 65535:
                errs.invalid(pf, port, "must be between 1 and 65535, inclusive")
            elif isinstance(port, str) and port not in ports:
                if not IANA_SVC_NAME.match(port) or len(port) > 15:
                    errs.invalid(pf, port, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
                else:
                    errs.invalid(pf, port, "must be a named port of the container")
    if isinstance(probe.get("httpGet"), dict):
        scheme = probe["httpGet"].get("scheme", "HTTP")
        if scheme not in ("HTTP", "HTTPS"):
            errs.unsupported("%s.httpGet.scheme" % field, scheme, ["HTTP", "HTTPS"])
    for k in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        if isinstance(probe.get(k), int) and probe[k] < 0:
            errs.invalid("%s.%s" % (field, k), probe[k], "must be greater than or equal to 0")


def _container(errs, field, c, volumes, host_network, names):
    name = c.get("name")
    if not name:
        errs.required(field + ".name")
    elif not DNS1123_LABEL.match(name) or len(name) > 63:
        errs.invalid(field + ".name", name, "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                     "characters or '-', and must start and end with an alphanumeric character")
    elif name in names:
        errs.duplicate(field + ".name", name)
    names.add(name)
    if not c.get("image"):
        errs.required(field + ".image")
    ports = set()
    for i, p in enumerate(c.get("ports") or []):
        pf = "%s.ports[%d]" % (field, i)
        cp = p.get("containerPort")
        if cp is None:
            errs.required(pf + ".containerPort")
        elif not 1 <= cp <= 65535:
            errs.invalid(pf + ".containerPort", cp, "must be between 1 and 65535, inclusive")
        if p.get("name"):
            ports.add(p["name"])
        proto = p.get("protocol", "TCP")
        if proto not in ("TCP", "UDP", "SCTP"):
            errs.unsupported(pf + ".protocol", proto, ["SCTP", "TCP", "UDP"])
        if host_network and p.get("hostPort") not in (None, cp):
            errs.invalid(pf + ".hostPort", p.get("hostPort"), "must match `containerPort` when `hostNetwork` is true")
    for i, e in enumerate(c.get("env") or []):
        if not e.get("name"):
            errs.required("%s.env[%d].name" % (field, i))
        vf = e.get("valueFrom")
        if vf and e.get("value"):
            errs.invalid("%s.env[%d].valueFrom" % (field, i), "", "may not be specified when `value` is not empty")
        if isinstance(vf, dict) and isinstance(vf.get("fieldRef"), dict) and not vf["fieldRef"].get("fieldPath"):
            errs.required("%s.env[%d].valueFrom.fieldRef.fieldPath" % (field, i))
    for i, m in enumerate(c.get("volumeMounts") or []):
        mf = "%s.volumeMounts[%d]" % (field, i)
        if not m.get("name"):
            errs.required(mf + ".name")
        elif m["name"] not in volumes:
            errs.not_found(mf + ".name", m["name"])
        if not m.get("mountPath"):
            errs.required(mf + ".mountPath")
        prop = m.get("mountPropagation")
        if prop not in (None, "None", "HostToContainer", "Bidirectional"):
            errs.unsupported(mf + ".mountPropagation", prop, ["Bidirectional", "HostToContainer", "None"])
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(errs, "%s.%s" % (field, probe), c.get(probe), ports)
    policy = c.get("imagePullPolicy")
    if policy is not None and policy not in ("Always", "IfNotPresent", "Never"):
        errs.unsupported(field + ".imagePullPolicy", policy, ["Always", "IfNotPresent", "Never"])
    sc = c.get("securityContext") or {}
    if sc.get("privileged") and sc.get("allowPrivilegeEscalation") is False:
        errs.invalid(field + ".securityContext", "", "cannot set `allowPrivilegeEscalation` to false and "
                     "`privileged` to true")
    caps = sc.get("capabilities") or {}
    if "CAP_SYS_ADMIN" in (caps.get("add") or []) and sc.get("allowPrivilegeEscalation") is False:
        errs.invalid(field + ".securityContext", "", "cannot set `allowPrivilegeEscalation` to false and "
                     "`capabilities.Add` CAP_SYS_ADMIN")


VOLUME_SOURCES = [k for k in TYPES["Volume"] if k != "name"]
HOST_PATH_TYPES = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"]
NODE_SELECTOR_OPS = ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"]


def _node_selector_req(errs, field, req):
    op = req.get("operator")
    if not req.get("key"):
        errs.required(field + ".key")
    if op not in NODE_SELECTOR_OPS:
        errs.unsupported(field + ".operator", op, NODE_SELECTOR_OPS)
    vals = req.get("values") or []
    if op in ("In", "NotIn") and not vals:
        errs.required(field + ".values", "must be specified when `operator` is 'In' or 'NotIn'")
    if op in ("Exists", "DoesNotExist") and vals:
        errs.forbidden(field + ".values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")


def validate_pod_spec(errs, field, spec):
    if not isinstance(spec, dict):
        errs.required(field)
        return
    volumes = set()
    for i, v in enumerate(spec.get("volumes") or []):
        vf = "%s.volumes[%d]" % (field, i)
        name = v.get("name")
        if not name:
            errs.required(vf + ".name")
        elif not DNS1123_LABEL.match(name) or len(name) > 63:
            errs.invalid(vf + ".name", name, "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                         "characters or '-', and must start and end with an alphanumeric character")
        elif name in volumes:
            errs.duplicate(vf + ".name", name)
        volumes.add(name)
        sources = [s for s in VOLUME_SOURCES if v.get(s) is not None]
        if not sources:
            errs.required(vf, "must specify a volume type")
        elif len(sources) > 1:
            errs.forbidden("%s.%s" % (vf, sources[1]), "may not specify more than 1 volume type")
        hp = v.get("hostPath")
        if isinstance(hp, dict):
            if not hp.get("path"):
                errs.required(vf + ".hostPath.path")
            if hp.get("type") not in HOST_PATH_TYPES and hp.get("type") is not None:
                errs.unsupported(vf + ".hostPath.type", hp["type"], HOST_PATH_TYPES)
        cm = v.get("configMap")
        if isinstance(cm, dict) and not cm.get("name"):
            errs.required(vf + ".configMap.name")
        sec = v.get("secret")
        if isinstance(sec, dict) and not sec.get("secretName"):
            errs.required(vf + ".secret.secretName")
    containers = spec.get("containers") or []
    if not containers:
        errs.required(field + ".containers")
    names = set()
    host_network = bool(spec.get("hostNetwork"))
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            _container(errs, "%s.%s[%d]" % (field, key, i), c, volumes, host_network, names)
    rp = spec.get("restartPolicy")
    if rp is not None and rp not in ("Always", "OnFailure", "Never"):
        errs.unsupported(field + ".restartPolicy", rp, ["Always", "OnFailure", "Never"])
    dp = spec.get("dnsPolicy")
    if dp is not None and dp not in ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"):
        errs.unsupported(field + ".dnsPolicy", dp, ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"])
    _labels(errs, field + ".nodeSelector", spec.get("nodeSelector"))
    for k in ("serviceAccountName", "priorityClassName"):
        v = spec.get(k)
        if v and not DNS1123_SUBDOMAIN.match(v):
            errs.invalid("%s.%s" % (field, k), v, "a lowercase RFC 1123 subdomain must consist of lower case "
                         "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")
    for i, t in enumerate(spec.get("tolerations") or []):
        tf = "%s.tolerations[%d]" % (field, i)
        op = t.get("operator") or "Equal"
        if op not in ("Equal", "Exists"):
            errs.unsupported(tf + ".operator", op, ["Equal", "Exists"])
        if not t.get("key") and op != "Exists":
            errs.invalid(tf + ".operator", op, "operator must be Exists when `key` is empty, which means "
                         "\"match all values and all keys\"")
        if op == "Exists" and t.get("value"):
            errs.invalid(tf + ".operator", t["value"], "value must be empty when `operator` is 'Exists'")
        eff = t.get("effect")
        if eff not in (None, "", "NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.unsupported(tf + ".effect", eff, ["NoExecute", "NoSchedule", "PreferNoSchedule"])
        if t.get("tolerationSeconds") is not None and eff != "NoExecute":
            errs.invalid(tf + ".effect", eff, "effect must be 'NoExecute' when `tolerationSeconds` is set")
    na = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if isinstance(na, dict):
        nf = field + ".affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        terms = na.get("nodeSelectorTerms") or []
        if not terms:
            errs.required(nf + ".nodeSelectorTerms", "must have at least one node selector term")
        for i, term in enumerate(terms):
            for key in ("matchExpressions", "matchFields"):
                for j, req in enumerate(term.get(key) or []):
                    _node_selector_req(errs, "%s.nodeSelectorTerms[%d].%s[%d]" % (nf, i, key, j), req)


def _rules(errs, rules, namespaced):
    for i, r in enumerate(rules or []):
        rf = "rules[%d]" % i
        if not r.get("verbs"):
            errs.required(rf + ".verbs", "verbs must contain at least one value")
        if r.get("nonResourceURLs"):
            if namespaced:
                errs.invalid(rf + ".nonResourceURLs", r["nonResourceURLs"], "namespaced rules cannot apply to "
                             "non-resource URLs")
            if r.get("apiGroups") or r.get("resources"):
                errs.invalid(rf + ".nonResourceURLs", r["nonResourceURLs"], "rules cannot apply to both regular "
                             "resources and non-resource URLs")
            continue
        if not r.get("apiGroups"):
            errs.required(rf + ".apiGroups", "resource rules must supply at least one api group")
        if not r.get("resources"):
            errs.required(rf + ".resources", "resource rules must supply at least one resource")


def _binding(errs, obj, cluster):
    ref = obj.get("roleRef")
    if not isinstance(ref, dict) or not ref:
        errs.required("roleRef")
        ref = {}
    kinds = ["ClusterRole"] if cluster else ["ClusterRole", "Role"]
    if ref.get("apiGroup") != "rbac.authorization.k8s.io":
        errs.unsupported("roleRef.apiGroup", ref.get("apiGroup", ""), ["rbac.authorization.k8s.io"])
    if ref.get("kind") not in kinds:
        errs.unsupported("roleRef.kind", ref.get("kind", ""), kinds)
    if not ref.get("name"):
        errs.required("roleRef.name")
    for i, s in enumerate(obj.get("subjects") or []):
        sf = "subjects[%d]" % i
        kind = s.get("kind")
        if not s.get("name"):
            errs.required(sf + ".name")
        if kind == "ServiceAccount":
            if s.get("apiGroup"):
                errs.unsupported(sf + ".apiGroup", s["apiGroup"], [""])
            if cluster and not s.get("namespace"):
                errs.required(sf + ".namespace")
            elif s.get("name") and not DNS1123_SUBDOMAIN.match(s["name"]):
                errs.invalid(sf + ".name", s["name"], "a lowercase RFC 1123 subdomain is required")
        elif kind in ("User", "Group"):
            if s.get("apiGroup") != "rbac.authorization.k8s.io":
                errs.unsupported(sf + ".apiGroup", s.get("apiGroup", ""), ["rbac.authorization.k8s.io"])
        else:
            errs.unsupported(sf + ".kind", kind or "", ["ServiceAccount", "User", "Group"])


def validate(kind, group, obj, old=None):
    """Semantic validation of `obj` (after defaulting); `old` is the stored object on an
    update. Raises ApiError 422 Invalid listing every problem."""
    if kind not in VALIDATED_KINDS:
        return
    errs = Errors()
    md = obj.get("metadata") or {}
    name = md.get("name") or ""
    _name(errs, kind, name, group == "rbac.authorization.k8s.io")
    _labels(errs, "metadata.labels", md.get("labels"))
    if kind in ("ClusterRole", "Role"):
        _rules(errs, obj.get("rules"), kind == "Role")
    elif kind in ("ClusterRoleBinding", "RoleBinding"):
        _binding(errs, obj, kind == "ClusterRoleBinding")
        if old is not None and old.get("roleRef") != obj.get("roleRef"):
            errs.invalid("roleRef", obj.get("roleRef"), "cannot change roleRef")
    elif kind == "DaemonSet":
        spec = obj.get("spec") or {}
        sel = spec.get("selector")
        tmpl = spec.get("template") or {}
        labels = (tmpl.get("metadata") or {}).get("labels")
        if not isinstance(sel, dict) or not (sel.get("matchLabels") or sel.get("matchExpressions")):
            if sel is None:
                errs.required("spec.selector")
            else:
                errs.invalid("spec.selector", "", "empty selector is invalid for daemonset")
        else:
            _labels(errs, "spec.selector.matchLabels", sel.get("matchLabels"))
            if not _selector_matches(sel, labels):
                errs.invalid("spec.template.metadata.labels", labels or {}, "`selector` does not match template "
                             "`labels`")
            if old is not None and old.get("spec", {}).get("selector") != sel:
                errs.invalid("spec.selector", sel, "field is immutable")
        _labels(errs, "spec.template.metadata.labels", labels)
        if not tmpl.get("spec"):
            errs.required("spec.template.spec.containers")
        else:
            validate_pod_spec(errs, "spec.template.spec", tmpl["spec"])
            rp = tmpl["spec"].get("restartPolicy")
            if rp not in (None, "Always"):
                errs.unsupported("spec.template.spec.restartPolicy", rp, ["Always"])
        us = spec.get("updateStrategy") or {}
        if us.get("type") not in (None, "RollingUpdate", "OnDelete"):
            errs.unsupported("spec.updateStrategy.type", us["type"], ["OnDelete", "RollingUpdate"])
    elif kind == "Pod":
        validate_pod_spec(errs, "spec", obj.get("spec"))
    if errs.items:
        group_kind = kind if not group else "%s.%s" % (kind, group)
        causes = [{"reason": r, "message": m[len(f) + 2:], "field": f} for f, r, m in errs.items]
        msgs = [m for _f, _r, m in errs.items]
        text = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
        raise ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (group_kind, name, text),
                       {"name": name, "group": group, "kind": kind, "causes": causes})
