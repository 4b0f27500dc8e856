"""Tests of the fake API server's workload side (run: python3 -m unittest discover -s
tests/apiserver -v): the apps/v1 and rbac.authorization.k8s.io/v1 groups, ServiceAccounts
and Pods, dryRun=All, field validation, defaulting and validation of those kinds, the
DaemonSet controller and RBAC authorization. Each test starts its own server.
"""

import http.client
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_fake_apiserver import Server  # noqa: E402
import apicontrollers  # noqa: E402

DS_PATH = "/apis/apps/v1/namespaces/kube-system/daemonsets"


def daemonset(name="ds1", **spec_extra):
    pod = {"containers": [{"name": "c", "image": "img:1", "ports": [{"containerPort": 20244}],
                           "livenessProbe": {"httpGet": {"path": "/healthz", "port": 20244}}}],
           "hostNetwork": True}
    pod.update(spec_extra)
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": pod}}}


def raw(srv, method, path, body=None, auth="admin"):
    """(status, headers as a list of pairs, decoded body)."""
    ctx = srv.ctx("admin" if auth == "admin" else None)
    conn = http.client.HTTPSConnection(srv.host, srv.port, context=ctx, timeout=30)
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if auth != "admin":
        headers["Authorization"] = "Bearer " + auth
    conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, resp.getheaders(), json.loads(data) if data else None


class Workloads(unittest.TestCase):
    def setUp(self):
        self.srv = Server()

    def tearDown(self):
        self.srv.stop()

    def pods(self):
        _, out = self.srv.request("GET", "/api/v1/pods")
        return sorted((p["metadata"]["labels"].get("app", "?"), p["spec"]["nodeName"]) for p in out["items"])

    def test_discovery_and_openapi(self):
        s = self.srv
        _, apis = s.request("GET", "/apis")
        self.assertEqual(sorted(g["name"] for g in apis["groups"]),
                         ["apps", "discovery.k8s.io", "rbac.authorization.k8s.io"])
        _, apps = s.request("GET", "/apis/apps/v1")
        ds = [r for r in apps["resources"] if r["name"] == "daemonsets"][0]
        self.assertEqual((ds["kind"], ds["namespaced"], ds["shortNames"]), ("DaemonSet", True, ["ds"]))
        _, core = s.request("GET", "/api/v1")
        self.assertIn("serviceaccounts", [r["name"] for r in core["resources"]])
        _, rbac = s.request("GET", "/apis/rbac.authorization.k8s.io/v1")
        self.assertEqual({r["name"]: r["namespaced"] for r in rbac["resources"] if "/" not in r["name"]},
                         {"clusterroles": False, "clusterrolebindings": False, "roles": True, "rolebindings": True})
        _, root = s.request("GET", "/openapi/v3")
        self.assertIn("apis/apps/v1", root["paths"])
        _, doc = s.request("GET", root["paths"]["apis/apps/v1"]["serverRelativeURL"])
        patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}"]["patch"]
        self.assertEqual(patch["x-kubernetes-group-version-kind"]["kind"], "DaemonSet")
        self.assertIn("fieldValidation", [p["name"] for p in patch["parameters"]])

    def test_dry_run_stores_nothing(self):
        s = self.srv
        rv = s.hook("state")["resourceVersion"]
        code, out = s.request("POST", DS_PATH + "?dryRun=All", daemonset())
        self.assertEqual(code, 201, out)
        # The answer is what would be stored: defaults and generation included.
        self.assertEqual(out["metadata"]["generation"], 1)
        tmpl = out["spec"]["template"]["spec"]
        self.assertEqual((tmpl["restartPolicy"], tmpl["dnsPolicy"]), ("Always", "ClusterFirst"))
        c = tmpl["containers"][0]
        self.assertEqual((c["imagePullPolicy"], c["ports"][0]["hostPort"]), ("IfNotPresent", 20244))
        self.assertEqual(c["livenessProbe"]["periodSeconds"], 10)
        self.assertEqual(out["spec"]["updateStrategy"]["rollingUpdate"], {"maxUnavailable": 1, "maxSurge": 0})
        self.assertEqual(s.request("GET", DS_PATH + "/ds1")[0], 404)
        self.assertEqual(s.hook("state")["resourceVersion"], rv)
        # PATCH and DELETE dry runs leave the stored object alone.
        self.assertEqual(s.request("POST", DS_PATH, daemonset())[0], 201)
        rv = s.hook("state")["resourceVersion"]
        code, out = s.request("PATCH", DS_PATH + "/ds1?dryRun=All", {"metadata": {"labels": {"x": "1"}}},
                              "application/merge-patch+json")
        self.assertEqual((code, out["metadata"]["labels"]), (200, {"x": "1"}))
        self.assertEqual(s.request("DELETE", DS_PATH + "/ds1?dryRun=All")[0], 200)
        code, cur = s.request("GET", DS_PATH + "/ds1")
        self.assertEqual((code, cur["metadata"].get("labels")), (200, None))
        self.assertEqual(s.hook("state")["resourceVersion"], rv)
        code, out = s.request("POST", DS_PATH + "?dryRun=Some", daemonset("ds2"))
        self.assertEqual((code, out["reason"]), (400, "BadRequest"))
        self.assertIn('Unsupported value: "Some"', out["message"])

    def test_field_validation_modes(self):
        s = self.srv
        bad = daemonset()
        bad["spec"]["template"]["spec"]["hostNetwrok"] = True
        code, out = s.request("POST", DS_PATH + "?fieldValidation=Strict", bad)
        self.assertEqual(code, 400)
        self.assertIn('strict decoding error: unknown field "spec.template.spec.hostNetwrok"', out["message"])
        code, headers, out = raw(s, "POST", DS_PATH + "?fieldValidation=Warn", bad)
        self.assertEqual(code, 201)
        self.assertIn(("Warning", '299 - "unknown field \\"spec.template.spec.hostNetwrok\\""'), headers)
        self.assertNotIn("hostNetwrok", out["spec"]["template"]["spec"])  # dropped, as a real server does
        bad["metadata"]["name"] = "ds2"
        code, headers, _ = raw(s, "POST", DS_PATH + "?fieldValidation=Ignore", bad)
        self.assertEqual(code, 201)
        self.assertFalse([h for h in headers if h[0] == "Warning"])
        self.assertEqual(s.request("POST", DS_PATH + "?fieldValidation=Loud", daemonset("ds3"))[0], 400)
        wrong = daemonset("ds4")
        wrong["spec"]["template"]["spec"]["hostNetwork"] = "yes"
        code, out = s.request("POST", DS_PATH, wrong)
        self.assertEqual(code, 400)
        self.assertIn("cannot unmarshal string into Go struct field DaemonSet.spec.template.spec.hostNetwork "
                      "of type bool", out["message"])

    def test_validation(self):
        s = self.srv
        broken = daemonset()
        del broken["spec"]["selector"]
        broken["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": "nope", "mountPath": "/x"}]
        broken["spec"]["template"]["spec"]["volumes"] = [{"name": "v", "hostPath": {"path": "/x", "type": "Dir"}}]
        code, out = s.request("POST", DS_PATH, broken)
        self.assertEqual((code, out["reason"]), (422, "Invalid"))
        fields = sorted(c["field"] for c in out["details"]["causes"])
        self.assertEqual(fields, ["spec.selector", "spec.template.spec.containers[0].volumeMounts[0].name",
                                  "spec.template.spec.volumes[0].hostPath.type"])
        self.assertTrue(out["message"].startswith('DaemonSet.apps "ds1" is invalid: ['), out["message"])
        # Names, namespaces, RBAC objects.
        code, out = s.request("POST", "/api/v1/namespaces/nowhere/serviceaccounts", {"metadata": {"name": "sa"}})
        self.assertEqual((code, out["message"]), (404, 'namespaces "nowhere" not found'))
        code, out = s.request("POST", "/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "Bad_Name"}})
        self.assertEqual(code, 422, out)
        crb = {"metadata": {"name": "b"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                       "name": "r"},
               "subjects": [{"kind": "ServiceAccount", "name": "sa"}]}
        code, out = s.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", crb)
        self.assertEqual([c["field"] for c in out["details"]["causes"]], ["subjects[0].namespace"])
        crb["subjects"][0]["namespace"] = "default"
        self.assertEqual(s.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", crb)[0], 201)
        code, out = s.request("PATCH", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/b",
                              {"roleRef": {"name": "other"}}, "application/merge-patch+json")
        self.assertEqual(code, 422)
        self.assertIn("cannot change roleRef", out["message"])
        code, out = s.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles",
                              {"metadata": {"name": "system:x"}, "rules": [{"apiGroups": [""], "resources": ["nodes"]}]})
        self.assertEqual([c["field"] for c in out["details"]["causes"]], ["rules[0].verbs"])

    def test_strategic_merge_patch_of_containers(self):
        s = self.srv
        ds = daemonset()
        ds["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "side:1"})
        self.assertEqual(s.request("POST", DS_PATH, ds)[0], 201)
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "img:2"}]}}}}
        code, out = s.request("PATCH", DS_PATH + "/ds1", patch, "application/strategic-merge-patch+json")
        self.assertEqual(code, 200, out)
        images = [(c["name"], c["image"]) for c in out["spec"]["template"]["spec"]["containers"]]
        self.assertEqual(images, [("c", "img:2"), ("side", "side:1")])
        self.assertEqual(out["metadata"]["generation"], 2)

    def test_daemonset_controller(self):
        s = self.srv
        s.node("n1", metadata={"name": "n1", "labels": {"role": "worker"}})
        s.node("cp", spec={"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]})
        s.node("gpu", spec={"taints": [{"key": "gpu", "value": "yes", "effect": "NoExecute"}]})
        self.assertEqual(s.request("POST", DS_PATH, daemonset("plain"))[0], 201)
        self.assertEqual(self.pods(), [("plain", "n1")])
        all_nodes = daemonset("everywhere", tolerations=[{"operator": "Exists"}])
        self.assertEqual(s.request("POST", DS_PATH, all_nodes)[0], 201)
        picky = daemonset("picky", nodeSelector={"role": "worker"}, tolerations=[
            {"effect": "NoSchedule", "operator": "Exists"}, {"key": "gpu", "operator": "Equal", "value": "yes"}])
        picky["spec"]["template"]["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnored"
                                                                          "DuringExecution": {"nodeSelectorTerms": [
                                                                              {"matchExpressions": [{
                                                                                  "key": "skip",
                                                                                  "operator": "DoesNotExist"}]}]}}}
        self.assertEqual(s.request("POST", DS_PATH, picky)[0], 201)
        self.assertEqual(self.pods(), [("everywhere", "cp"), ("everywhere", "gpu"), ("everywhere", "n1"),
                                       ("picky", "n1"), ("plain", "n1")])
        _, st = s.request("GET", DS_PATH + "/everywhere")
        self.assertEqual((st["status"]["desiredNumberScheduled"], st["status"]["numberReady"]), (3, 3))
        # A label moves pods; a DaemonSet's deletion takes its pods along.
        code, _ = s.request("PATCH", "/api/v1/nodes/n1", {"metadata": {"labels": {"skip": "1"}}},
                            "application/merge-patch+json")
        self.assertEqual(code, 200)
        self.assertNotIn(("picky", "n1"), self.pods())
        self.assertEqual(s.request("DELETE", DS_PATH + "/everywhere")[0], 200)
        self.assertEqual(self.pods(), [("plain", "n1")])
        # A template change replaces the pod (new name), as a rolling update ends.
        _, before = s.request("GET", "/api/v1/pods")
        s.request("PATCH", DS_PATH + "/plain", {"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "img:3"}]}}}}, "application/strategic-merge-patch+json")
        _, after = s.request("GET", "/api/v1/pods")
        self.assertNotEqual(before["items"][0]["metadata"]["name"], after["items"][0]["metadata"]["name"])
        self.assertEqual(after["items"][0]["spec"]["containers"][0]["image"], "img:3")
        self.assertEqual(after["items"][0]["metadata"]["labels"]["pod-template-generation"], "2")

    def test_node_fits_rules(self):
        node = {"metadata": {"name": "n", "labels": {"a": "1", "n": "5"}},
                "spec": {"taints": [{"key": "t", "value": "v", "effect": "NoSchedule"},
                                    {"key": "soft", "effect": "PreferNoSchedule"}]}}
        fits = apicontrollers.node_fits
        self.assertFalse(fits({}, node))
        self.assertTrue(fits({"tolerations": [{"key": "t", "operator": "Equal", "value": "v"}]}, node))
        self.assertFalse(fits({"tolerations": [{"key": "t", "operator": "Equal", "value": "w"}]}, node))
        self.assertTrue(fits({"tolerations": [{"key": "t", "operator": "Exists", "effect": "NoSchedule"}]}, node))
        tol = [{"operator": "Exists"}]

        def aff(*exprs, fields=()):
            return {"tolerations": tol, "affinity": {"nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                    {"matchExpressions": list(exprs), "matchFields": list(fields)}]}}}}
        self.assertTrue(fits(aff({"key": "n", "operator": "Gt", "values": ["4"]}), node))
        self.assertFalse(fits(aff({"key": "n", "operator": "Lt", "values": ["4"]}), node))
        self.assertTrue(fits(aff({"key": "a", "operator": "In", "values": ["1", "2"]}), node))
        self.assertFalse(fits(aff({"key": "a", "operator": "NotIn", "values": ["1"]}), node))
        self.assertTrue(fits(aff(fields=[{"key": "metadata.name", "operator": "In", "values": ["n"]}]), node))
        self.assertFalse(fits(aff(fields=[{"key": "metadata.name", "operator": "In", "values": ["m"]}]), node))
        # The controller's own tolerations: a not-ready node still gets the pod.
        not_ready = {"metadata": {"name": "x"}, "spec": {"taints": [
            {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]}}
        self.assertTrue(fits({}, not_ready))


class Rbac(unittest.TestCase):
    USER = "system:serviceaccount:kube-system:agent"

    def setUp(self):
        self.srv = Server("--authorization", "rbac")
        self.srv.hook("tokens?set=agent-token:%s,plain-token:someone" % self.USER)

    def tearDown(self):
        self.srv.stop()

    def as_agent(self, method, path, body=None):
        code, _, out = raw(self.srv, method, path, body, auth="agent-token")
        return code, out

    def test_bindings_decide(self):
        s = self.srv
        code, out = self.as_agent("GET", "/api/v1/nodes")
        self.assertEqual((code, out["reason"]), (403, "Forbidden"))
        self.assertEqual(out["message"], 'nodes is forbidden: User "%s" cannot list resource "nodes" in API group "" '
                                         'at the cluster scope' % self.USER)
        self.assertEqual(self.as_agent("GET", "/apis")[0], 200)  # discovery stays open
        role = {"metadata": {"name": "agent"}, "rules": [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]},
            {"apiGroups": [""], "resources": ["services"], "verbs": ["get"], "resourceNames": ["kubernetes"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["*"], "verbs": ["*"]}]}
        binding = {"metadata": {"name": "agent"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "agent"},
                   "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": "kube-system"}]}
        for path, body in (("clusterroles", role), ("clusterrolebindings", binding)):
            code, _, out = raw(s, "POST", "/apis/rbac.authorization.k8s.io/v1/" + path, body)
            self.assertEqual(code, 201, out)
        self.assertEqual(self.as_agent("GET", "/api/v1/nodes")[0], 200)
        code, out = self.as_agent("GET", "/api/v1/nodes?watch=true&timeoutSeconds=1")
        self.assertEqual(code, 403)
        self.assertIn('cannot watch resource "nodes"', out["message"])
        self.assertEqual(self.as_agent("GET", "/api/v1/namespaces/default/services/kubernetes")[0], 404)  # allowed
        code, out = self.as_agent("GET", "/api/v1/namespaces/default/services/other")
        self.assertEqual(code, 403)
        self.assertIn('services "other" is forbidden', out["message"])
        self.assertIn('in the namespace "default"', out["message"])
        self.assertEqual(self.as_agent("GET", "/apis/discovery.k8s.io/v1/endpointslices")[0], 200)
        self.assertEqual(self.as_agent("POST", "/api/v1/nodes", {"metadata": {"name": "x"}})[0], 403)
        # Another user gets nothing from the service account's binding.
        code, _, _ = raw(s, "GET", "/api/v1/nodes", auth="plain-token")
        self.assertEqual(code, 403)
        # A RoleBinding grants in its namespace only.
        rb = {"metadata": {"name": "rb"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                       "name": "r"},
              "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "someone"}]}
        r = {"metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["services"], "verbs": ["list"]}]}
        for path, body in (("roles", r), ("rolebindings", rb)):
            code, _, out = raw(s, "POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/" + path, body)
            self.assertEqual(code, 201, out)
        self.assertEqual(raw(s, "GET", "/api/v1/namespaces/default/services", auth="plain-token")[0], 200)
        self.assertEqual(raw(s, "GET", "/api/v1/namespaces/kube-system/services", auth="plain-token")[0], 403)
        self.assertEqual(raw(s, "GET", "/api/v1/services", auth="plain-token")[0], 403)


if __name__ == "__main__":
    unittest.main()
