#!/usr/bin/env python3
"""A faithful test Kubernetes API server for kube-bgp's tests (Python 3 stdlib + openssl CLI).

Use:
    python3 tests/apiserver/fake_apiserver.py serve --state-dir DIR [--listen 127.0.0.1]
        [--port 0] [--bookmark-interval 5] [--watch-timeout 1800] [--history 200000]
    python3 tests/apiserver/fake_apiserver.py call --state-dir DIR [--method GET]
        [--data JSON|-] PATH        # admin-cert HTTPS request; prints "HTTP <code>" + body

From Rust integration tests use tests/common/apiserver.rs (`FakeApiServer::start(ip,
netns)`), which runs this script, waits for DIR/port, offers kubectl and hook helpers and
kills the server on drop. Self-tests: `python3 -m unittest discover -s tests/apiserver -v`.

`serve` creates DIR, generates a CA and certificates there with openssl, listens with
HTTPS (HTTP/1.1 only, no h2 in ALPN) on the given address (port 0 = any), writes DIR/port
and prints one line `LISTENING <host>:<port>` when ready. SIGTERM stops it cleanly.

Files in DIR: ca.crt/ca.key, server.crt/.key, admin.crt/.key (CN=admin,
O=system:masters), expired.crt/.key (signed by the CA, already expired), other-ca.crt
and other.crt/.key (signed by another CA), tokens.csv (the accepted bearer tokens,
format `token,user,uid[,"group1,group2"]`, re-read whenever it changes), token (the
default token "kube-bgp-token", for tokenFile), kubeconfig-token, kubeconfig-tokenfile,
kubeconfig-cert, kubeconfig-cert-data (all with certificate-authority; -data variants
embed base64 PEM), kubeconfig-expired, kubeconfig-other-ca, kubeconfig-bad-token,
requests.jsonl (one line per request: method, path, user, auth kind, status, logged when a
watch stream opens or a reply is sent; never the
token), port, pid.

Authentication: bearer token from tokens.csv, or a client certificate signed by ca.crt
(CN = user, O = groups). A missing/unknown token, an expired certificate or one from
other-ca gives 401 with a Status body (like kube-apiserver, which verifies client certs
after the handshake). Without credentials only /version, /healthz, /livez, /readyz are
served (as anonymous). Authorization is off by default (`--authorization rbac` turns it
on); the test hooks always need user "admin" (admin.crt, or a token mapped to admin).

API: discovery (/version v1.32.4, /api, /apis, /api/v1, /apis/{discovery.k8s.io,apps,
rbac.authorization.k8s.io}[/v1], legacy form), /openapi/v3 root + one small document per
group version (enough for kubectl's server-side field validation check, so `kubectl
create/apply -f` work without --validate=false); /openapi/v2 is 404 (kubectl falls back
to its built-in schemas). Resources: nodes, namespaces, clusterroles,
clusterrolebindings (cluster-scoped), services, serviceaccounts, pods, endpointslices,
daemonsets, roles, rolebindings (all namespaces and per namespace), with GET, LIST,
WATCH, POST, PUT, PATCH (merge, strategic-merge, json-patch, apply-patch+yaml given
JSON), DELETE (and DELETE of a collection), plus /status subresources. Writes take
dryRun=All (everything but the write) and fieldValidation=Strict|Warn|Ignore (unknown
fields: 400, a Warning header, or nothing; dropped in every case). ServiceAccounts,
RBAC objects, DaemonSets and Pods are decoded, defaulted and validated as kube-apiserver
does for the fields that matter (apivalidate.py: 400 for wrong types, 422 Invalid with
causes) and need an existing namespace; a DaemonSet controller keeps one Running pod per
eligible node (apicontrollers.py). `--authorization rbac` enforces the stored RBAC
objects for users outside system:masters (apiauthz.py); without it any authenticated
user may do anything. One global resourceVersion; LIST supports limit/continue (token =
RV snapshot + last key; 410 Expired once compacted), resourceVersion (0 = any, X with
limit = exact snapshot), labelSelector, fieldSelector (metadata.name/namespace...).
WATCH (watch=true|1): chunked application/json events, one per line; RV unset or 0 =
synthetic ADDED first; RV=X replays history after X; compacted X = HTTP 200 + one ERROR
410 Expired event; timeoutSeconds ends the stream normally; allowWatchBookmarks=true
gives BOOKMARKs every bookmark-interval seconds; sendInitialEvents=true (WatchList) is
implemented (ADDED... then a BOOKMARK annotated k8s.io/initial-events-end=true).
Known simplifications: validation only for the kinds above (Nodes, Services,
EndpointSlices and Namespaces take any content, and any namespace), no finalizers or
graceful deletion, no managedFields/SSA conflicts, apply-patch = merge (creating if
absent), no Table output (kubectl prints NAME/AGE), no protobuf, no gzip.

Test hooks (GET or POST, admin only, JSON replies):
    /__test/state                       {"resourceVersion","compactedRV","watches","history"}
    /__test/compact[?rv=N]              forget history: older RVs/continue tokens -> 410
    /__test/next-410[?verb=list|watch|any&count=1&resource=nodes]  next request(s) get HTTP 410
    /__test/split[?count=1&size=1&delay_ms=2]  next `count` watch events go out in chunks
                                        of `size` bytes, `delay_ms` apart
    /__test/malformed?target=list|watch&resource=nodes[&mode=schema|json]
                                        list: next LIST gets a malformed item (schema) or a
                                        truncated body (json); watch: open watches get one
                                        malformed event now
    /__test/bookmark-interval?seconds=S  (0 = no periodic bookmarks; applies to open watches)
    /__test/drop-watches[?mode=abrupt|clean]  abrupt: sockets shut without the final chunk
    /__test/restart[?down_ms=500]       close the listener and every connection, stay down
                                        for down_ms, listen again on the same port, same state
    /__test/load?resource=nodes&count=N[&prefix=load-node-]   create N generated nodes; or
                                        POST {"resource":"services","namespace":"default",
                                        "objects":[...]} to create given objects
    /__test/tokens?set=tok:user,tok2:user2  or POST tokens.csv text: replace accepted tokens
Benchmark hooks (apibench.py):
    /__test/commit-log?enable=1|0       DIR/commits.jsonl: one line per committed change
                                        with its CLOCK_REALTIME time in ns, rv, type, key
    /__test/load POST {"resource":"nodes","generate":{"count":N,"start":0,"prefix":"node-",
                   "first_ip":"10.255.0.1","pod_base":"10.200.0.0","pod_len":24,
                   "annotations":{..},"labels":{..}}}   kubelet-shaped Nodes (about 3 KB)
    /__test/load POST {"resource":"services","namespace":"ns","generate":{"count":N,
                   "endpoints":3,"prefix":"svc-","seed":1}}  Services + one EndpointSlice each
    /__test/churn[?node_updates=10&slice_updates=5&seed=1]   background writes per second:
                                        Node status heartbeats, EndpointSlice pod moves
                                        (both 0: stop); without rates: counters
"""

import argparse
import base64
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apihttp  # noqa: E402
import apistore  # noqa: E402
from apistore import GROUPS, RESOURCES  # noqa: E402

SERVER_VERSION = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.4", "gitCommit": "fake",
    "gitTreeState": "clean", "buildDate": "2025-04-22T00:00:00Z", "goVersion": "go1.23.6",
    "compiler": "gc", "platform": "linux/amd64",
}
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
CA_CN = "kube-bgp-fake-ca"
OTHER_CA_CN = "kube-bgp-other-ca"
DEFAULT_TOKEN = "kube-bgp-token"
ADMIN_TOKEN = "kube-bgp-admin-token"


# ---------------------------------------------------------------------------------------
# Certificates and kubeconfigs


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _new_key_csr(d, name, subj):
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", os.path.join(d, name + ".key"), "-out", os.path.join(d, name + ".csr"), "-subj", subj)


def _sign(d, name, ca, days, ext_lines):
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("\n".join(ext_lines) + "\n")
    _openssl("x509", "-req", "-in", os.path.join(d, name + ".csr"), "-CA", os.path.join(d, ca + ".crt"),
             "-CAkey", os.path.join(d, ca + ".key"), "-CAcreateserial", "-out", os.path.join(d, name + ".crt"),
             "-days", str(days), "-sha256", "-extfile", ext)
    os.unlink(ext)
    os.unlink(os.path.join(d, name + ".csr"))


def make_certs(d, listen_ip):
    """CA, server cert (SANs: listen IP, 127.0.0.1, ::1, localhost), admin client cert,
    an expired client cert and a client cert from another CA."""
    for ca, cn in (("ca", CA_CN), ("other-ca", OTHER_CA_CN)):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", os.path.join(d, ca + ".key"), "-out", os.path.join(d, ca + ".crt"),
                 "-subj", "/CN=" + cn, "-days", "3650",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    sans = ["DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default.svc", "IP:127.0.0.1", "IP:::1"]
    if listen_ip not in ("127.0.0.1", "::1", "0.0.0.0", "::"):
        sans.append("IP:" + listen_ip)
    _new_key_csr(d, "server", "/CN=kube-apiserver")
    _sign(d, "server", "ca", 3650, ["subjectAltName=" + ",".join(sans), "extendedKeyUsage=serverAuth",
                                     "keyUsage=critical,digitalSignature,keyEncipherment"])
    client_ext = ["extendedKeyUsage=clientAuth", "keyUsage=critical,digitalSignature,keyEncipherment"]
    _new_key_csr(d, "admin", "/O=system:masters/CN=admin")
    _sign(d, "admin", "ca", 3650, client_ext)
    _new_key_csr(d, "expired", "/O=system:masters/CN=admin")
    _sign(d, "expired", "ca", -1, client_ext)
    _new_key_csr(d, "other", "/O=system:masters/CN=admin")
    _sign(d, "other", "other-ca", 3650, client_ext)


def _b64file(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def write_kubeconfigs(d, url):
    ca = os.path.join(d, "ca.crt")

    def cfg(name, user_lines, cluster_lines=None):
        cluster_lines = cluster_lines or ["    certificate-authority: " + ca]
        text = "\n".join([
            "apiVersion: v1", "kind: Config", "clusters:", "- name: fake", "  cluster:",
            "    server: " + url, *cluster_lines,
            "users:", "- name: fake-user", "  user:", *user_lines,
            "contexts:", "- name: fake", "  context:", "    cluster: fake", "    user: fake-user",
            "current-context: fake", ""])
        tmp = os.path.join(d, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(d, name))

    def certs(stem):
        return ["    client-certificate: " + os.path.join(d, stem + ".crt"),
                "    client-key: " + os.path.join(d, stem + ".key")]

    cfg("kubeconfig-token", ["    token: " + DEFAULT_TOKEN])
    cfg("kubeconfig-tokenfile", ["    tokenFile: " + os.path.join(d, "token")])
    cfg("kubeconfig-bad-token", ["    token: not-a-valid-token"])
    cfg("kubeconfig-cert", certs("admin"))
    cfg("kubeconfig-cert-data", [
        "    client-certificate-data: " + _b64file(os.path.join(d, "admin.crt")),
        "    client-key-data: " + _b64file(os.path.join(d, "admin.key"))],
        ["    certificate-authority-data: " + _b64file(ca)])
    cfg("kubeconfig-expired", certs("expired"))
    cfg("kubeconfig-other-ca", certs("other"))


# ---------------------------------------------------------------------------------------
# Tokens


class Tokens:
    """tokens.csv, re-read when its mtime or size changes."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.sig = None
        self.table = {}

    def lookup(self, token):
        with self.lock:
            try:
                st = os.stat(self.path)
                sig = (st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:
                sig = None
            if sig != self.sig:
                self.sig = sig
                self.table = {}
                try:
                    with open(self.path) as f:
                        for line in f:
                            parts = [p.strip().strip('"') for p in line.strip().split(",", 3)]
                            if len(parts) >= 2 and parts[0] and not parts[0].startswith("#"):
                                groups = parts[3].split(",") if len(parts) > 3 else []
                                self.table[parts[0]] = (parts[1], groups)
                except OSError:
                    pass
            return self.table.get(token)

    def replace(self, text):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.path)


# ---------------------------------------------------------------------------------------
# Discovery documents


def resource_list(group, version):
    resources = []
    for r in RESOURCES:
        if r.group != group or r.version != version:
            continue
        verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
        entry = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
                 "verbs": verbs, "storageVersionHash": "fake" + r.plural}
        if r.short:
            entry["shortNames"] = r.short
        resources.append(entry)
        resources.append({"name": r.plural + "/status", "singularName": "", "namespaced": r.namespaced,
                          "kind": r.kind, "verbs": ["get", "patch", "update"]})
    gv = version if not group else "%s/%s" % (group, version)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def api_group(group):
    gv = {"groupVersion": group + "/v1", "version": "v1"}
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv], "preferredVersion": gv}


def openapi_root():
    paths = {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=FAKE0001"}}
    for g in GROUPS:
        paths["apis/%s/v1" % g] = {"serverRelativeURL": "/openapi/v3/apis/%s/v1?hash=FAKE0001" % g}
    return {"paths": paths}


def openapi_gv(group, version):
    """Valid OpenAPI 3.0 document: per resource a GET and a PATCH (the PATCH carrying
    x-kubernetes-group-version-kind and the fieldValidation parameter, which is what
    kubectl checks before using server-side field validation), and a permissive schema."""
    paths, schemas = {}, {}
    for r in RESOURCES:
        if r.group != group or r.version != version:
            continue
        gvk = {"group": group, "version": version, "kind": r.kind}
        prefix = "/api/v1" if not group else "/apis/%s/%s" % (group, version)
        item = "%s/%s/{name}" % (prefix, r.plural) if not r.namespaced else \
            "%s/namespaces/{namespace}/%s/{name}" % (prefix, r.plural)
        ref = {"$ref": "#/components/schemas/%s" % r.kind}
        ok = {"200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}
        params = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
        op_params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                     for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
        if r.namespaced:
            params.append({"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}})
        paths[item] = {
            "get": {"operationId": "read" + r.kind, "x-kubernetes-action": "get",
                    "x-kubernetes-group-version-kind": gvk, "responses": ok},
            "patch": {"operationId": "patch" + r.kind, "x-kubernetes-action": "patch",
                      "x-kubernetes-group-version-kind": gvk, "responses": ok,
                      "parameters": op_params,
                      "requestBody": {"content": {"application/merge-patch+json": {"schema": {"type": "object"}}}}},
            "parameters": params,
        }
        schemas[r.kind] = {"type": "object", "x-kubernetes-group-version-kind": [gvk],
                           "x-kubernetes-preserve-unknown-fields": True,
                           "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                          "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.4"},
            "paths": paths, "components": {"schemas": schemas}}


# ---------------------------------------------------------------------------------------
# Listener life cycle


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, family, ctx, ctl, ca_cn, public_addr):
        self.address_family = family
        self.ctx, self.ctl, self.ca_cn, self.public_addr = ctx, ctl, ca_cn, public_addr
        self.conns, self.conns_lock = set(), threading.Lock()
        super().__init__(addr, apihttp.Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def track(self, sock, add):
        with self.conns_lock:
            (self.conns.add if add else self.conns.discard)(sock)

    def close_all(self):
        with self.conns_lock:
            conns = list(self.conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        err = sys.exc_info()[1]
        if isinstance(err, (ssl.SSLError, ConnectionError, socket.timeout, TimeoutError)):
            return  # failed handshakes and vanished clients are normal in tests
        sys.stderr.write("fake-apiserver: error serving %s: %r\n" % (client_address, err))


class Listener:
    """Owns the listening Server; restart() keeps the port and the store."""

    def __init__(self, host, port, family, ctx, ctl):
        self.host, self.port, self.family, self.ctx, self.ctl = host, port, family, ctx, ctl
        self.lock = threading.Lock()
        self.httpd = None
        self._start()

    def _start(self):
        deadline = time.monotonic() + 10
        while True:
            try:
                self.httpd = Server((self.host, self.port), self.family, self.ctx, self.ctl, CA_CN, "")
                break
            except OSError:
                if self.port == 0 or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.port = self.httpd.server_address[1]
        self.httpd.public_addr = "%s:%d" % (self.host, self.port)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        httpd = self.httpd
        if httpd is None:
            return
        self.httpd = None
        store = self.ctl.store
        with store.cond:
            for w in self.ctl.watchers:
                w.dropped = "abrupt"
            store.cond.notify_all()
        httpd.shutdown()
        httpd.server_close()
        httpd.close_all()

    def restart(self, down):
        def run():
            time.sleep(0.1)  # let the hook's reply go out
            with self.lock:
                self.stop()
                time.sleep(down)
                if not self.ctl.stopping:
                    self._start()
        threading.Thread(target=run, daemon=True).start()


def _write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def serve(args):
    d = os.path.abspath(args.state_dir)
    os.makedirs(d, exist_ok=True)
    listen = args.listen
    make_certs(d, listen)
    tokens_path = os.path.join(d, "tokens.csv")
    if not os.path.exists(tokens_path):
        _write_atomic(tokens_path, '%s,kube-bgp,uid-1\n%s,admin,uid-0,"system:masters"\n'
                      % (DEFAULT_TOKEN, ADMIN_TOKEN))
    _write_atomic(os.path.join(d, "token"), DEFAULT_TOKEN + "\n")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
    # Both CAs are trusted for the handshake and the time check is off, so expired and
    # foreign client certs get through TLS and are refused with a 401 by the handler
    # (the real API server also verifies client certificates after the handshake).
    ctx.load_verify_locations(os.path.join(d, "ca.crt"))
    ctx.load_verify_locations(os.path.join(d, "other-ca.crt"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.verify_flags = ctx.verify_flags | 0x200000  # X509_V_FLAG_NO_CHECK_TIME
    ctx.set_alpn_protocols(["http/1.1"])

    store = apistore.Store(history_limit=args.history)
    tokens = Tokens(tokens_path)
    docs = {"version": SERVER_VERSION, "resource_list": resource_list, "api_group": api_group,
            "openapi_root": openapi_root, "openapi_gv": openapi_gv}
    ctl = apihttp.Control(store, tokens, d, args.bookmark_interval, args.watch_timeout, docs)
    ctl.authorization = args.authorization
    family = socket.AF_INET6 if ":" in listen else socket.AF_INET
    listener = Listener(listen, args.port, family, ctx, ctl)
    ctl.restart_cb = listener.restart

    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(listen, listen)
    hostport = ("[%s]:%d" if ":" in host else "%s:%d") % (host, listener.port)
    write_kubeconfigs(d, "https://" + hostport)
    _write_atomic(os.path.join(d, "address"), hostport + "\n")
    _write_atomic(os.path.join(d, "pid"), "%d\n" % os.getpid())
    _write_atomic(os.path.join(d, "port"), "%d\n" % listener.port)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("LISTENING %s" % hostport, flush=True)
    while not stop.wait(0.2):
        pass
    with store.cond:
        ctl.stopping = True
        store.cond.notify_all()
    with listener.lock:
        listener.stop()
    return 0


# ---------------------------------------------------------------------------------------
# Admin client (for hooks from shell or Rust tests)


def call(args):
    import http.client
    d = os.path.abspath(args.state_dir)
    with open(os.path.join(d, "address")) as f:
        hostport = f.read().strip()
    host, _, port = hostport.rpartition(":")
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
    ctx.load_cert_chain(os.path.join(d, "admin.crt"), os.path.join(d, "admin.key"))
    conn = http.client.HTTPSConnection(host.strip("[]"), int(port), context=ctx, timeout=args.timeout)
    data = None
    if args.data is not None:
        data = sys.stdin.buffer.read() if args.data == "-" else args.data.encode()
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = args.content_type
    conn.request(args.method, args.path, body=data, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    sys.stdout.write("HTTP %d\n" % resp.status)
    sys.stdout.write(body.decode("utf-8", "replace") + "\n")
    return 0 if resp.status < 400 else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description="fake Kubernetes API server for tests")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--state-dir", required=True)
    s.add_argument("--listen", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--bookmark-interval", type=float, default=5.0, help="seconds; 0 = none")
    s.add_argument("--watch-timeout", type=float, default=1800.0,
                   help="watches without timeoutSeconds end after this x (1+rand) seconds")
    s.add_argument("--history", type=int, default=200000, help="events kept before auto-compaction")
    s.add_argument("--authorization", choices=("none", "rbac"), default="none",
                   help="rbac: authorize requests of users outside system:masters by the stored RBAC objects")
    c = sub.add_parser("call")
    c.add_argument("--state-dir", required=True)
    c.add_argument("--method", default="GET")
    c.add_argument("--data", default=None, help="request body, '-' = stdin")
    c.add_argument("--content-type", default="application/json")
    c.add_argument("--timeout", type=float, default=30.0)
    c.add_argument("path")
    args = ap.parse_args(argv)
    return serve(args) if args.cmd == "serve" else call(args)


if __name__ == "__main__":
    sys.exit(main())
