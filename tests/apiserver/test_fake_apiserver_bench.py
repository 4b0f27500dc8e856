"""Tests of the fake API server's benchmark hooks (apibench.py): the commit log, generated
Nodes and Services with EndpointSlices, and the background churn.

Run: python3 -m unittest discover -s tests/apiserver -v
"""

import ipaddress
import json
import time
import unittest

from test_fake_apiserver import Server


def wait_until(fn, timeout=20.0):
    """Polls fn() every 50 ms until it returns a true value (returned) or timeout (None)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return None


class BenchHooksTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server()

    def tearDown(self):
        self.srv.stop()

    def commits(self):
        try:
            return [json.loads(line) for line in self.srv.read("commits.jsonl").splitlines()]
        except FileNotFoundError:
            return []

    def test_commit_log_records_each_write_with_its_time(self):
        s = self.srv
        s.node("before")  # not logged: the log is off
        self.assertEqual(s.hook("commit-log?enable=1")["enabled"], True)
        t0 = time.time_ns()
        created = s.node("n1")
        code, patched = s.request("PATCH", "/api/v1/nodes/n1", {"metadata": {"annotations": {"a": "b"}}},
                                  "application/merge-patch+json")
        self.assertEqual(code, 200)
        code, _ = s.request("DELETE", "/api/v1/nodes/n1")
        self.assertEqual(code, 200)
        t1 = time.time_ns()
        s.hook("commit-log?enable=0")
        s.node("after")  # not logged
        lines = self.commits()
        self.assertEqual([(c["type"], c["resource"], c["key"]) for c in lines],
                         [("ADDED", "nodes", "/n1"), ("MODIFIED", "nodes", "/n1"), ("DELETED", "nodes", "/n1")])
        self.assertEqual(str(lines[0]["rv"]), created["metadata"]["resourceVersion"])
        self.assertEqual(str(lines[1]["rv"]), patched["metadata"]["resourceVersion"])
        ts = [c["t_ns"] for c in lines]
        self.assertEqual(ts, sorted(ts))
        self.assertTrue(t0 <= ts[0] and ts[-1] <= t1, (t0, ts, t1))

    def test_generated_nodes(self):
        s = self.srv
        out = s.hook("load", {"resource": "nodes", "generate": {
            "count": 40, "start": 3, "prefix": "node-", "first_ip": "10.255.0.3", "pod_base": "10.200.3.0",
            "annotations": {"kube-router.io/rr.client": "1"}}})
        self.assertEqual(out["created"], 40)
        _, nodes = s.request("GET", "/api/v1/nodes")
        by = {n["metadata"]["name"]: n for n in nodes["items"]}
        self.assertEqual(len(by), 40)
        n = by["node-42"]
        self.assertEqual(n["spec"]["podCIDRs"], ["10.200.42.0/24"])
        self.assertIn({"type": "InternalIP", "address": "10.255.0.42"}, n["status"]["addresses"])
        self.assertEqual(n["metadata"]["annotations"]["kube-router.io/rr.client"], "1")
        self.assertEqual([c["type"] for c in n["status"]["conditions"]][-1], "Ready")
        self.assertGreater(len(json.dumps(n)), 2000)  # kubelet-sized, not a stub
        code, _ = s.request("POST", "/__test/load", {"resource": "nodes", "generate": {"pod_base": "x"}}, auth="admin")
        self.assertEqual(code, 400)

    def test_generated_services_with_endpoint_slices_on_existing_nodes(self):
        s = self.srv
        s.hook("load", {"resource": "nodes", "generate": {"count": 5, "prefix": "w-", "pod_base": "10.200.0.0"}})
        out = s.hook("load", {"resource": "services", "namespace": "bench",
                              "generate": {"count": 30, "endpoints": 2}})
        self.assertEqual((out["services"], out["endpointslices"]), (30, 30))
        _, svcs = s.request("GET", "/api/v1/namespaces/bench/services")
        _, slices = s.request("GET", "/apis/discovery.k8s.io/v1/namespaces/bench/endpointslices")
        ips = {x["spec"]["clusterIP"] for x in svcs["items"]}
        self.assertEqual(len(ips), 30)
        _, nodes = s.request("GET", "/api/v1/nodes")
        cidr = {n["metadata"]["name"]: ipaddress.ip_network(n["spec"]["podCIDR"]) for n in nodes["items"]}
        names = {x["metadata"]["name"] for x in svcs["items"]}
        for sl in slices["items"]:
            self.assertIn(sl["metadata"]["labels"]["kubernetes.io/service-name"], names)
            self.assertEqual(len(sl["endpoints"]), 2)
            for ep in sl["endpoints"]:
                self.assertIn(ipaddress.ip_address(ep["addresses"][0]), cidr[ep["nodeName"]])

    def test_churn_changes_only_heartbeats_and_endpoints_and_stops(self):
        s = self.srv
        s.hook("load", {"resource": "nodes", "generate": {"count": 20, "prefix": "c-"}})
        s.hook("load", {"resource": "services", "generate": {"count": 10, "endpoints": 3}})
        _, nodes0 = s.request("GET", "/api/v1/nodes")
        _, slices0 = s.request("GET", "/apis/discovery.k8s.io/v1/endpointslices")
        before = {n["metadata"]["name"]: n for n in nodes0["items"]}
        sl_before = {x["metadata"]["name"]: x for x in slices0["items"]}
        w = s.watch("/api/v1/nodes?watch=true&resourceVersion=%s" % nodes0["metadata"]["resourceVersion"])
        st = s.hook("churn?node_updates=40&slice_updates=20&seed=7")
        self.assertTrue(st["running"])
        self.assertTrue(wait_until(lambda: s.hook("churn")["node_updates"] >= 20 and
                                   s.hook("churn")["slice_updates"] >= 10), s.hook("churn"))
        for _ in range(5):
            ev = w.event()
            self.assertEqual(ev["type"], "MODIFIED")
            new, old = ev["object"], before[ev["object"]["metadata"]["name"]]
            self.assertEqual(new["spec"], old["spec"])
            self.assertEqual(new["metadata"]["annotations"], old["metadata"]["annotations"])
            self.assertEqual(new["status"]["addresses"], old["status"]["addresses"])
            self.assertNotEqual(new["status"]["conditions"], old["status"]["conditions"])
            strip = [{k: v for k, v in c.items() if k != "lastHeartbeatTime"} for c in new["status"]["conditions"]]
            self.assertEqual(strip, [{k: v for k, v in c.items() if k != "lastHeartbeatTime"}
                                     for c in old["status"]["conditions"]])
        w.close()
        _, slices1 = s.request("GET", "/apis/discovery.k8s.io/v1/endpointslices")
        moved = [x for x in slices1["items"] if x["endpoints"] != sl_before[x["metadata"]["name"]]["endpoints"]]
        self.assertTrue(moved)
        for x in moved:
            self.assertEqual(len(x["endpoints"]), 3)
            self.assertEqual(x["metadata"]["labels"], sl_before[x["metadata"]["name"]]["metadata"]["labels"])
        stopped = s.hook("churn?node_updates=0&slice_updates=0")
        self.assertFalse(stopped["running"])
        rv = s.hook("state")["resourceVersion"]
        time.sleep(0.3)
        self.assertEqual(s.hook("state")["resourceVersion"], rv)
        code, _ = s.request("GET", "/__test/churn?node_updates=-1", auth="admin")
        self.assertEqual(code, 400)


if __name__ == "__main__":
    unittest.main()
