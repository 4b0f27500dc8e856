"""Tests of the fake Kubernetes API server (run: python3 -m unittest discover -s tests/apiserver -v).

Each test starts its own server on 127.0.0.1 (port 0) in a temporary state directory and
stops it (SIGTERM, then SIGKILL) afterwards. Watches are read through a raw TLS socket so
the chunk framing itself can be checked.
"""

import http.client
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "fake_apiserver.py")
sys.path.insert(0, HERE)


class Server:
    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="kb-fakeapi-")
        self.proc = subprocess.Popen([sys.executable, SCRIPT, "serve", "--state-dir", self.dir, *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("LISTENING "):
            self.stop()
            raise RuntimeError("server did not start: %r %s" % (line, self.proc.stderr.read()))
        self.host, _, port = line.split()[1].rpartition(":")
        self.port = int(port)

    def path(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def ctx(self, cert=None):
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        if cert:
            ctx.load_cert_chain(self.path(cert + ".crt"), self.path(cert + ".key"))
        return ctx

    def request(self, method, path, body=None, ctype="application/json", auth="token"):
        """auth: "token", "admin" (cert), "expired", "other" (certs), None, or "Bearer x"."""
        cert = {"admin": "admin", "expired": "expired", "other": "other"}.get(auth)
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx(cert), timeout=30)
        headers = {"Accept": "application/json"}
        if auth == "token":
            headers["Authorization"] = "Bearer kube-bgp-token"
        elif auth and auth.startswith("Bearer "):
            headers["Authorization"] = auth
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = ctype
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw

    def hook(self, what, body=None):
        code, out = self.request("POST" if body is not None else "GET", "/__test/" + what, body, auth="admin")
        assert code == 200, (what, code, out)
        return out

    def node(self, name, **extra):
        obj = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
        obj.update(extra)
        code, out = self.request("POST", "/api/v1/nodes", obj)
        assert code == 201, out
        return out

    def watch(self, path, timeout=10):
        return Watch(self, path, timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Watch:
    """A raw HTTP/1.1 chunked reader that keeps chunk boundaries."""

    def __init__(self, srv, path, timeout):
        raw = socket.create_connection((srv.host, srv.port), timeout=timeout)
        self.sock = srv.ctx().wrap_socket(raw, server_hostname=srv.host)
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer kube-bgp-token\r\n"
                           "Accept: application/json\r\n\r\n" % path).encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
        self.chunks = []
        self.ended = False
        self.pending = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def _until(self, sep):
        while sep not in self.buf:
            self._fill()
        out, _, self.buf = self.buf.partition(sep)
        return out

    def body(self):
        """Whole non-chunked body (for error responses)."""
        n = int(self.headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        return json.loads(self.buf[:n])

    def chunk(self):
        """Next chunk's bytes; None at the terminating zero chunk; EOFError if cut."""
        size = int(self._until(b"\r\n"), 16)
        if size == 0:
            self._until(b"\r\n")
            self.ended = True
            return None
        while len(self.buf) < size + 2:
            self._fill()
        data, self.buf = self.buf[:size], self.buf[size + 2:]
        self.chunks.append(data)
        return data

    def event(self):
        """Next event decoded from one or more chunks (one JSON object per line)."""
        while b"\n" not in self.pending:
            data = self.chunk()
            if data is None:
                return None
            self.pending += data
        line, _, self.pending = self.pending.partition(b"\n")
        return json.loads(line)

    def close(self):
        self.sock.close()


class FakeApiServerTest(unittest.TestCase):
    extra_args = ()

    def setUp(self):
        self.srv = Server(*self.extra_args)

    def tearDown(self):
        self.srv.stop()

    # -- authentication -------------------------------------------------------------------
    def test_authentication(self):
        s = self.srv
        self.assertEqual(s.request("GET", "/api/v1/nodes")[0], 200)
        self.assertEqual(s.request("GET", "/api/v1/nodes", auth="admin")[0], 200)
        for bad in (None, "Bearer wrong", "expired", "other"):
            code, body = s.request("GET", "/api/v1/nodes", auth=bad)
            self.assertEqual(code, 401, bad)
            self.assertEqual((body["kind"], body["reason"], body["code"]), ("Status", "Unauthorized", 401))
        self.assertEqual(s.request("GET", "/version", auth=None)[1]["gitVersion"], "v1.32.4")
        self.assertEqual(s.request("GET", "/version", auth="Bearer wrong")[0], 401)
        code, body = s.request("GET", "/__test/state")
        self.assertEqual((code, body["reason"]), (403, "Forbidden"))
        self.assertEqual(s.request("GET", "/__test/state", auth="Bearer kube-bgp-admin-token")[0], 200)
        log = s.read("requests.jsonl")
        self.assertNotIn("kube-bgp-token", log)
        self.assertIn('"auth": "cert"', log)

    def test_token_rotation(self):
        s = self.srv
        with open(s.path("tokens.csv"), "w") as f:
            f.write("fresh-token,kube-bgp,uid-9\n")
        self.assertEqual(s.request("GET", "/api/v1/nodes")[0], 401)
        self.assertEqual(s.request("GET", "/api/v1/nodes", auth="Bearer fresh-token")[0], 200)
        s.hook("tokens?set=t2:kube-bgp")
        self.assertEqual(s.request("GET", "/api/v1/nodes", auth="Bearer fresh-token")[0], 401)
        self.assertEqual(s.request("GET", "/api/v1/nodes", auth="Bearer t2")[0], 200)

    def test_kubeconfigs(self):
        text = self.srv.read("kubeconfig-cert-data")
        self.assertIn("certificate-authority-data: ", text)
        self.assertIn("client-key-data: ", text)
        self.assertIn("server: https://127.0.0.1:%d" % self.srv.port, text)
        self.assertIn("tokenFile: " + self.srv.path("token"), self.srv.read("kubeconfig-tokenfile"))

    # -- list -------------------------------------------------------------------------------
    def test_list_paging_is_a_consistent_snapshot(self):
        s = self.srv
        s.hook("load?resource=nodes&count=25&prefix=p-")
        code, page = s.request("GET", "/api/v1/nodes?limit=10")
        self.assertEqual(code, 200)
        self.assertEqual((page["kind"], len(page["items"]), page["metadata"]["remainingItemCount"]), ("NodeList", 10, 15))
        self.assertNotIn("kind", page["items"][0])
        list_rv = page["metadata"]["resourceVersion"]
        names = [i["metadata"]["name"] for i in page["items"]]
        s.node("p-0a")  # sorts inside the remaining range, after the snapshot: must not appear
        s.request("DELETE", "/api/v1/nodes/p-9")  # deleted after the snapshot: must still appear
        cont = page["metadata"]["continue"]
        while cont:
            code, page = s.request("GET", "/api/v1/nodes?limit=10&continue=" + cont)
            self.assertEqual(code, 200)
            self.assertEqual(page["metadata"]["resourceVersion"], list_rv)
            names += [i["metadata"]["name"] for i in page["items"]]
            cont = page["metadata"].get("continue")
        self.assertEqual(sorted(names), sorted("p-%d" % i for i in range(25)))
        code, body = s.request("GET", "/api/v1/nodes?limit=10&resourceVersion=5&continue=x")
        self.assertEqual(code, 400)

    def test_continue_after_compaction_is_expired(self):
        s = self.srv
        s.hook("load?resource=nodes&count=5")
        _, page = s.request("GET", "/api/v1/nodes?limit=2")
        s.node("later")
        s.hook("compact")
        code, body = s.request("GET", "/api/v1/nodes?limit=2&continue=" + page["metadata"]["continue"])
        self.assertEqual((code, body["reason"], body["code"]), (410, "Expired", 410))
        self.assertIn("continue parameter is too old", body["message"])

    def test_list_exact_resource_version(self):
        s = self.srv
        rv = s.node("a", metadata={"name": "a", "labels": {"x": "1"}})["metadata"]["resourceVersion"]
        s.request("PATCH", "/api/v1/nodes/a", {"metadata": {"labels": {"x": "2"}}}, "application/merge-patch+json")
        _, old = s.request("GET", "/api/v1/nodes?limit=10&resourceVersion=" + rv)
        self.assertEqual(old["items"][0]["metadata"]["labels"], {"x": "1"})
        self.assertEqual(old["metadata"]["resourceVersion"], rv)
        _, cur = s.request("GET", "/api/v1/nodes?resourceVersion=0")
        self.assertEqual(cur["items"][0]["metadata"]["labels"], {"x": "2"})
        s.hook("compact")
        code, body = s.request("GET", "/api/v1/nodes?limit=10&resourceVersion=" + rv)
        self.assertEqual((code, body["reason"]), (410, "Expired"))

    def test_selectors_and_namespaces(self):
        s = self.srv
        for ns, name, app in (("default", "a", "web"), ("default", "b", "db"), ("other", "c", "web")):
            code, _ = s.request("POST", "/api/v1/namespaces/%s/services" % ns,
                                {"metadata": {"name": name, "labels": {"app": app}}, "spec": {}})
            self.assertEqual(code, 201)
        names = lambda p: sorted(i["metadata"]["name"] for i in s.request("GET", p)[1]["items"])  # noqa: E731
        self.assertEqual(names("/api/v1/services"), ["a", "b", "c"])
        self.assertEqual(names("/api/v1/namespaces/default/services"), ["a", "b"])
        self.assertEqual(names("/api/v1/services?labelSelector=app%3Dweb"), ["a", "c"])
        self.assertEqual(names("/api/v1/services?labelSelector=app+in+(db,x)"), ["b"])
        self.assertEqual(names("/api/v1/services?labelSelector=app!%3Dweb"), ["b"])
        self.assertEqual(names("/api/v1/services?fieldSelector=metadata.name%3Dc"), ["c"])
        self.assertEqual(names("/api/v1/services?fieldSelector=metadata.namespace!%3Ddefault"), ["c"])
        self.assertEqual(s.request("GET", "/api/v1/services?fieldSelector=spec.bogus%3D1")[0], 400)
        _, svc = s.request("GET", "/api/v1/namespaces/default/services/a")
        self.assertEqual((svc["kind"], svc["spec"]["type"]), ("Service", "ClusterIP"))
        self.assertTrue(svc["spec"]["clusterIP"].startswith("10.96."))
        code, body = s.request("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/nope")
        self.assertEqual((code, body["reason"], body["details"]["kind"]), (404, "NotFound", "endpointslices"))
        self.assertEqual(body["message"], 'endpointslices.discovery.k8s.io "nope" not found')

    # -- watch ------------------------------------------------------------------------------
    def test_watch_initial_then_live_events(self):
        s = self.srv
        s.node("n1")
        w = s.watch("/api/v1/nodes?watch=true&timeoutSeconds=20")
        self.assertEqual(w.status, 200)
        self.assertEqual(w.headers["content-type"], "application/json")
        self.assertEqual(w.headers["transfer-encoding"], "chunked")
        ev = w.event()
        self.assertEqual((ev["type"], ev["object"]["metadata"]["name"], ev["object"]["kind"]), ("ADDED", "n1", "Node"))
        logged = [json.loads(l) for l in s.read("requests.jsonl").splitlines()]
        self.assertTrue(any(r["watch"] and r["code"] == 200 for r in logged), logged)  # logged while open
        s.node("n2")
        s.request("PATCH", "/api/v1/nodes/n1", {"metadata": {"annotations": {"a": "b"}}}, "application/merge-patch+json")
        s.request("DELETE", "/api/v1/nodes/n2", {"propagationPolicy": "Background"})
        got = [w.event() for _ in range(3)]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in got],
                         [("ADDED", "n2"), ("MODIFIED", "n1"), ("DELETED", "n2")])
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in got]
        self.assertEqual(rvs, sorted(rvs))
        self.assertEqual(got[1]["object"]["metadata"]["annotations"], {"a": "b"})
        w.close()

    def test_watch_resumes_from_resource_version(self):
        s = self.srv
        rv = s.node("n1")["metadata"]["resourceVersion"]
        for v in ("1", "2"):
            s.request("PATCH", "/api/v1/nodes/n1", {"metadata": {"labels": {"v": v}}}, "application/merge-patch+json")
        s.node("n2")
        w = s.watch("/api/v1/nodes?watch=1&resourceVersion=%s&timeoutSeconds=20" % rv)
        got = [w.event() for _ in range(3)]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in got],
                         [("MODIFIED", "n1"), ("MODIFIED", "n1"), ("ADDED", "n2")])
        self.assertEqual(got[1]["object"]["metadata"]["labels"], {"v": "2"})
        w.close()

    def test_watch_too_old_gives_error_event(self):
        s = self.srv
        rv = s.node("n1")["metadata"]["resourceVersion"]
        s.node("n2")
        s.hook("compact")
        w = s.watch("/api/v1/nodes?watch=true&resourceVersion=%s&allowWatchBookmarks=true" % rv)
        self.assertEqual(w.status, 200)
        ev = w.event()
        self.assertEqual(ev["type"], "ERROR")
        self.assertEqual((ev["object"]["kind"], ev["object"]["code"], ev["object"]["reason"]), ("Status", 410, "Expired"))
        self.assertIsNone(w.event())  # the stream ends
        self.assertTrue(w.ended)
        w.close()

    def test_next_410_hook_gives_http_410(self):
        s = self.srv
        s.hook("next-410?verb=watch")
        w = s.watch("/api/v1/nodes?watch=true&resourceVersion=0")
        self.assertEqual(w.status, 410)
        self.assertEqual(w.body()["reason"], "Expired")
        w.close()
        w = s.watch("/api/v1/nodes?watch=true&timeoutSeconds=1")
        self.assertEqual(w.status, 200)
        w.close()
        self.assertEqual(s.request("GET", "/api/v1/nodes")[0], 200)  # verb=watch only
        s.hook("next-410?verb=list&resource=nodes")
        self.assertEqual(s.request("GET", "/api/v1/services")[0], 200)
        self.assertEqual(s.request("GET", "/api/v1/nodes")[0], 410)
        self.assertEqual(s.request("GET", "/api/v1/nodes")[0], 200)

    def test_bookmarks(self):
        s = self.srv
        s.hook("bookmark-interval?seconds=0.2")
        rv = s.node("n1")["metadata"]["resourceVersion"]
        w = s.watch("/api/v1/nodes?watch=true&resourceVersion=%s&allowWatchBookmarks=true&timeoutSeconds=20" % rv)
        ev = w.event()
        self.assertEqual(ev, {"type": "BOOKMARK", "object": {"kind": "Node", "apiVersion": "v1",
                                                             "metadata": {"resourceVersion": rv}}})
        s.node("n2")
        ev = w.event()
        self.assertEqual(ev["type"], "ADDED")
        ev = w.event()
        self.assertEqual(ev["type"], "BOOKMARK")
        self.assertGreater(int(ev["object"]["metadata"]["resourceVersion"]), int(rv))
        w.close()
        # Not asked for: none within the stream's lifetime.
        w = s.watch("/api/v1/nodes?watch=true&resourceVersion=%s&timeoutSeconds=1" % rv)
        events = []
        while True:
            ev = w.event()
            if ev is None:
                break
            events.append(ev["type"])
        self.assertEqual(events, ["ADDED"])
        w.close()

    def test_timeout_seconds_ends_stream_normally(self):
        s = self.srv
        start = time.monotonic()
        w = s.watch("/api/v1/nodes?watch=true&resourceVersion=%s&timeoutSeconds=1" % s.hook("state")["resourceVersion"])
        self.assertIsNone(w.event())
        self.assertTrue(w.ended)
        self.assertGreaterEqual(time.monotonic() - start, 0.9)
        w.close()

    def test_split_chunks(self):
        s = self.srv
        w = s.watch("/api/v1/nodes?watch=true&timeoutSeconds=20&resourceVersion=" + s.hook("state")["resourceVersion"])
        s.hook("split?count=1&size=1&delay_ms=0")
        s.node("n1")
        ev = w.event()
        self.assertEqual(ev["object"]["metadata"]["name"], "n1")
        self.assertGreater(len(w.chunks), 50)
        self.assertTrue(all(len(c) == 1 for c in w.chunks))
        s.node("n2")
        n = len(w.chunks)
        self.assertEqual(w.event()["object"]["metadata"]["name"], "n2")
        self.assertEqual(len(w.chunks), n + 1)  # back to one chunk per event
        w.close()

    def test_malformed_injection(self):
        s = self.srv
        s.node("n1")
        s.hook("malformed?target=list&resource=nodes")
        _, body = s.request("GET", "/api/v1/nodes")
        self.assertEqual(body["items"][0]["metadata"]["name"], 12345)
        _, body = s.request("GET", "/api/v1/nodes")
        self.assertEqual(len(body["items"]), 1)
        s.hook("malformed?target=list&resource=nodes&mode=json")
        code, raw = s.request("GET", "/api/v1/nodes")
        self.assertEqual(code, 200)
        self.assertIsInstance(raw, bytes)  # not parseable JSON
        w = s.watch("/api/v1/nodes?watch=true&timeoutSeconds=20&resourceVersion=" + s.hook("state")["resourceVersion"])
        deadline = time.monotonic() + 5
        while s.hook("state")["watches"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(s.hook("malformed?target=watch&resource=nodes")["injected"], 1)
        ev = w.event()
        self.assertEqual(ev["object"]["metadata"]["name"], 12345)
        w.close()

    def test_drop_watches_cuts_the_stream(self):
        s = self.srv
        w = s.watch("/api/v1/nodes?watch=true&timeoutSeconds=20")
        deadline = time.monotonic() + 5
        while s.hook("state")["watches"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(s.hook("drop-watches")["dropped"], 1)
        with self.assertRaises((EOFError, ConnectionError, ssl.SSLError)):
            w.event()
        self.assertFalse(w.ended)
        w.close()

    def test_restart_keeps_state_and_port(self):
        s = self.srv
        rv = s.node("n1")["metadata"]["resourceVersion"]
        w = s.watch("/api/v1/nodes?watch=true&timeoutSeconds=20&resourceVersion=" + rv)
        s.hook("restart?down_ms=300")
        with self.assertRaises((EOFError, ConnectionError, ssl.SSLError, OSError)):
            w.event()
        w.close()
        deadline = time.monotonic() + 10
        refused = False
        while time.monotonic() < deadline:
            try:
                code, _ = s.request("GET", "/api/v1/nodes/n1")
                if code == 200:
                    break
            except OSError:
                refused = True
            time.sleep(0.05)
        self.assertTrue(refused, "listener never went down")
        self.assertEqual(s.request("GET", "/api/v1/nodes/n1")[1]["metadata"]["resourceVersion"], rv)
        s.request("PATCH", "/api/v1/nodes/n1", {"metadata": {"labels": {"a": "b"}}}, "application/merge-patch+json")
        w = s.watch("/api/v1/nodes?watch=true&timeoutSeconds=20&resourceVersion=" + rv)
        self.assertEqual(w.event()["type"], "MODIFIED")
        w.close()

    def test_watch_label_selector_transitions(self):
        s = self.srv
        s.node("n1", metadata={"name": "n1", "labels": {"role": "bgp"}})
        w = s.watch("/api/v1/nodes?watch=true&timeoutSeconds=20&labelSelector=role%3Dbgp")
        self.assertEqual(w.event()["type"], "ADDED")
        s.node("n2")
        s.request("PATCH", "/api/v1/nodes/n1", {"metadata": {"labels": {"role": None}}}, "application/merge-patch+json")
        s.request("PATCH", "/api/v1/nodes/n2", {"metadata": {"labels": {"role": "bgp"}}}, "application/merge-patch+json")
        got = [(e["type"], e["object"]["metadata"]["name"]) for e in (w.event(), w.event())]
        self.assertEqual(got, [("DELETED", "n1"), ("ADDED", "n2")])
        w.close()

    def test_watch_list_initial_events(self):
        s = self.srv
        s.node("n1")
        w = s.watch("/api/v1/nodes?watch=true&sendInitialEvents=true&allowWatchBookmarks=true"
                    "&resourceVersionMatch=NotOlderThan&timeoutSeconds=20")
        self.assertEqual(w.event()["type"], "ADDED")
        ev = w.event()
        self.assertEqual(ev["type"], "BOOKMARK")
        self.assertEqual(ev["object"]["metadata"]["annotations"], {"k8s.io/initial-events-end": "true"})
        w.close()
        w = s.watch("/api/v1/nodes?watch=true&sendInitialEvents=true")
        self.assertEqual((w.status, w.body()["reason"]), (422, "Invalid"))
        w.close()

    # -- writes -----------------------------------------------------------------------------
    def test_create_update_conflicts(self):
        s = self.srv
        n = s.node("n1")
        code, body = s.request("POST", "/api/v1/nodes", {"metadata": {"name": "n1"}})
        self.assertEqual((code, body["reason"], body["message"]), (409, "AlreadyExists", 'nodes "n1" already exists'))
        stale = dict(n)
        n["spec"] = {"podCIDR": "10.0.0.0/24"}
        code, n2 = s.request("PUT", "/api/v1/nodes/n1", n)
        self.assertEqual(code, 200)
        self.assertGreater(int(n2["metadata"]["resourceVersion"]), int(n["metadata"]["resourceVersion"]))
        stale["spec"] = {"podCIDR": "10.9.0.0/24"}
        code, body = s.request("PUT", "/api/v1/nodes/n1", stale)
        self.assertEqual((code, body["reason"]), (409, "Conflict"))
        code, body = s.request("PATCH", "/api/v1/nodes/n1", {"spec": {}}, "text/plain")
        self.assertEqual(code, 415)
        self.assertEqual(s.request("DELETE", "/api/v1/nodes/n1")[0], 200)
        self.assertEqual(s.request("DELETE", "/api/v1/nodes/n1")[0], 404)

    def test_patch_types(self):
        s = self.srv
        s.node("n1", metadata={"name": "n1", "annotations": {"keep": "1", "drop": "2"}},
               status={"addresses": [{"type": "InternalIP", "address": "192.168.0.1"},
                                     {"type": "Hostname", "address": "n1"}]})
        merge = "application/merge-patch+json"
        code, n = s.request("PATCH", "/api/v1/nodes/n1?fieldManager=kubectl-annotate",
                            {"metadata": {"annotations": {"kube-router.io/node.asn": "64512", "drop": None}}}, merge)
        self.assertEqual(code, 200)
        self.assertEqual(n["metadata"]["annotations"], {"keep": "1", "kube-router.io/node.asn": "64512"})
        # Strategic merge on /status merges status.addresses by type; the main resource
        # keeps status as the real node strategy does.
        smp = "application/strategic-merge-patch+json"
        code, n = s.request("PATCH", "/api/v1/nodes/n1/status",
                            {"status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.2"}]}}, smp)
        self.assertEqual(code, 200)
        self.assertEqual(n["status"]["addresses"], [{"type": "InternalIP", "address": "192.168.0.2"},
                                                    {"type": "Hostname", "address": "n1"}])
        code, n = s.request("PATCH", "/api/v1/nodes/n1", {"status": {"addresses": []},
                                                           "spec": {"podCIDRs": ["10.1.0.0/24"]}}, smp)
        self.assertEqual(len(n["status"]["addresses"]), 2)
        code, n = s.request("PATCH", "/api/v1/nodes/n1", {"spec": {"podCIDRs": ["fd00::/64"]}}, smp)
        self.assertEqual(n["spec"]["podCIDRs"], ["10.1.0.0/24", "fd00::/64"])  # merge strategy for primitives
        code, n = s.request("PATCH", "/api/v1/nodes/n1",
                            [{"op": "add", "path": "/metadata/labels", "value": {"a/b": "c"}},
                             {"op": "replace", "path": "/metadata/annotations/keep", "value": "2"},
                             {"op": "test", "path": "/metadata/labels/a~1b", "value": "c"}],
                            "application/json-patch+json")
        self.assertEqual(code, 200, n)
        self.assertEqual((n["metadata"]["labels"], n["metadata"]["annotations"]["keep"]), ({"a/b": "c"}, "2"))
        code, body = s.request("PATCH", "/api/v1/nodes/n1", [{"op": "test", "path": "/metadata/name", "value": "x"}],
                               "application/json-patch+json")
        self.assertEqual(code, 422)
        apply = "application/apply-patch+yaml"
        code, n = s.request("PATCH", "/api/v1/nodes/n9?fieldManager=kubectl&force=false",
                            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n9"}}, apply)
        self.assertEqual((code, n["metadata"]["name"]), (201, "n9"))
        rv = n["metadata"]["resourceVersion"]
        code, n = s.request("PATCH", "/api/v1/nodes/n9", {"metadata": {"name": "n9"}}, merge)
        self.assertEqual(n["metadata"]["resourceVersion"], rv)  # no-op: no new RV

    # -- scale and shutdown ---------------------------------------------------------------
    def test_load_5000_nodes_and_page(self):
        s = self.srv
        t0 = time.monotonic()
        self.assertEqual(s.hook("load?resource=nodes&count=5000")["created"], 5000)
        t1 = time.monotonic()
        pages, total, cont = 0, 0, ""
        while True:
            _, page = s.request("GET", "/api/v1/nodes?limit=500" + ("&continue=" + cont if cont else ""))
            pages += 1
            total += len(page["items"])
            cont = page["metadata"].get("continue")
            if not cont:
                break
        t2 = time.monotonic()
        self.assertEqual((pages, total), (10, 5000))
        sys.stderr.write("\n  load 5000 nodes: %.2fs, list in 10 pages: %.2fs\n" % (t1 - t0, t2 - t1))

    def test_sigterm_with_open_watch(self):
        s = self.srv
        w = s.watch("/api/v1/nodes?watch=true&timeoutSeconds=30")
        s.proc.send_signal(signal.SIGTERM)
        self.assertEqual(s.proc.wait(5), 0)
        with self.assertRaises((EOFError, ConnectionError, ssl.SSLError, OSError)):
            while True:
                if w.event() is None:
                    break
        w.close()


class PatchAndSelectorUnitTest(unittest.TestCase):
    """The pure helpers, without a server."""

    def test_strategic_merge_directives(self):
        import apipatch
        cur = {"status": {"addresses": [{"type": "InternalIP", "address": "a"}, {"type": "Hostname", "address": "h"}]},
               "spec": {"podCIDRs": ["x", "y"], "other": [1, 2]}}
        out = apipatch.strategic_merge_patch(cur, {
            "status": {"addresses": [{"type": "Hostname", "$patch": "delete"}, {"type": "ExternalIP", "address": "e"}],
                       "$setElementOrder/addresses": [{"type": "ExternalIP"}, {"type": "InternalIP"}]},
            "spec": {"$deleteFromPrimitiveList/podCIDRs": ["x"], "other": [3]}})
        self.assertEqual(out["status"]["addresses"], [{"type": "ExternalIP", "address": "e"},
                                                      {"type": "InternalIP", "address": "a"}])
        self.assertEqual(out["spec"], {"podCIDRs": ["y"], "other": [3]})
        out = apipatch.strategic_merge_patch({"spec": {"a": 1, "b": 2}}, {"spec": {"$retainKeys": ["b", "c"], "c": 3}})
        self.assertEqual(out, {"spec": {"b": 2, "c": 3}})
        out = apipatch.strategic_merge_patch({"spec": {"a": 1}}, {"spec": {"$patch": "replace", "b": 2}})
        self.assertEqual(out, {"spec": {"b": 2}})
        self.assertEqual(cur["spec"]["podCIDRs"], ["x", "y"])  # input untouched

    def test_merge_and_json_patch(self):
        import apipatch
        import apistore
        self.assertEqual(apipatch.merge_patch({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"b": None}, "l": [2]}),
                         {"a": {"c": 2}, "l": [2]})
        doc = apipatch.json_patch({"l": [1, 3]}, [{"op": "add", "path": "/l/1", "value": 2},
                                                   {"op": "add", "path": "/l/-", "value": 4},
                                                   {"op": "move", "from": "/l/0", "path": "/first"},
                                                   {"op": "copy", "from": "/first", "path": "/again"}])
        self.assertEqual(doc, {"l": [2, 3, 4], "first": 1, "again": 1})
        with self.assertRaises(apistore.ApiError):
            apipatch.json_patch({}, [{"op": "remove", "path": "/missing"}])
        with self.assertRaises(apistore.ApiError):
            apipatch.json_patch({}, {"op": "add"})

    def test_selectors(self):
        import apiselect
        import apistore
        sel = apiselect.parse_label_selector("a=1,b notin (x,y),!c,d")
        self.assertTrue(sel({"a": "1", "b": "z", "d": ""}))
        self.assertFalse(sel({"a": "1", "b": "x", "d": ""}))
        self.assertFalse(sel({"a": "1", "c": "", "d": ""}))
        self.assertFalse(sel({"a": "1"}))
        self.assertTrue(apiselect.parse_label_selector("")({}))
        with self.assertRaises(apistore.ApiError):
            apiselect.parse_label_selector("a in x")
        f = apiselect.parse_field_selector("metadata.name=n1,metadata.namespace!=kube-system")
        self.assertTrue(f({"metadata": {"name": "n1", "namespace": "default"}}))
        self.assertFalse(f({"metadata": {"name": "n1", "namespace": "kube-system"}}))


class DiscoveryTest(unittest.TestCase):
    def test_discovery_documents(self):
        s = Server("--bookmark-interval", "0")
        try:
            _, res = s.request("GET", "/api/v1")
            nodes = next(r for r in res["resources"] if r["name"] == "nodes")
            self.assertEqual((nodes["kind"], nodes["namespaced"], nodes["shortNames"]), ("Node", False, ["no"]))
            self.assertIn("watch", nodes["verbs"])
            _, res = s.request("GET", "/apis/discovery.k8s.io/v1")
            self.assertEqual(res["resources"][0]["name"], "endpointslices")
            _, root = s.request("GET", "/openapi/v3")
            url = root["paths"]["api/v1"]["serverRelativeURL"]
            _, doc = s.request("GET", url)
            patch = doc["paths"]["/api/v1/nodes/{name}"]["patch"]
            self.assertEqual(patch["x-kubernetes-group-version-kind"]["kind"], "Node")
            self.assertIn("fieldValidation", [p["name"] for p in patch["parameters"]])
            self.assertEqual(s.request("GET", "/openapi/v2")[0], 404)
        finally:
            s.stop()


if __name__ == "__main__":
    unittest.main()
