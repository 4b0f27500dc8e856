"""HTTP side of the fake Kubernetes API server (see fake_apiserver.py for the overview).

It owns request parsing, authentication, routing, Status error bodies, the watch stream
writer and the /__test/ hooks. Objects and resourceVersions live in apistore.Store;
sockets, TLS contexts and the listener's life cycle live in fake_apiserver.py.
"""

import json
import socket
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

import apiauthz
import apipatch
import apiselect
import apistore
from apistore import ApiError, BY_PLURAL, GROUPS, status_object
from apiwatch import HookMixin, WatchMixin


class Control:
    """Shared mutable test knobs; every field is guarded by store.cond."""

    def __init__(self, store, tokens, state_dir, bookmark_interval, watch_timeout, docs):
        self.store = store
        self.tokens = tokens
        self.state_dir = state_dir
        self.bookmark_interval = bookmark_interval
        self.watch_timeout = watch_timeout
        self.docs = docs  # callables: resource_list, api_group, openapi_root, openapi_gv, version
        self.watchers = set()
        self.next_410 = []  # [verb, resource or None, count]
        self.split = {"count": 0, "size": 1, "delay": 0.002}
        self.malformed_list = {}  # plural -> mode
        self.stopping = False
        self.log_lock = threading.Lock()
        self.restart_cb = None  # set by the server: fn(down_seconds)
        self.authorization = "none"  # or "rbac" (apiauthz)
        self.commit_log = None  # apibench.CommitLog while /__test/commit-log is on
        self.churn = None  # apibench.Churn while /__test/churn runs

    def take_410(self, verb, res):
        with self.store.cond:
            for entry in self.next_410:
                if entry[0] in (verb, "any") and entry[1] in (None, res.plural) and entry[2] > 0:
                    entry[2] -= 1
                    self.next_410 = [e for e in self.next_410 if e[2] > 0]
                    return True
        return False

    def log(self, rec):
        with self.log_lock:
            try:
                with open(self.state_dir + "/requests.jsonl", "a") as f:
                    f.write(json.dumps(rec) + "\n")
            except OSError:
                pass


def _qbool(v):
    return v in ("true", "1", "True")


class Handler(WatchMixin, HookMixin, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"
    sys_version = ""
    timeout = 300  # idle keep-alive connections

    # -- plumbing -------------------------------------------------------------------------
    def setup(self):
        sock = self.request
        sock.settimeout(10)
        if isinstance(sock, ssl.SSLSocket):
            sock.do_handshake()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(sock, True)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.track(self.request, False)

    def log_message(self, fmt, *args):  # requests go to requests.jsonl instead
        pass

    @property
    def ctl(self):
        return self.server.ctl

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, code, body, ctype="application/json", extra=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (extra.items() if isinstance(extra, dict) else extra or []):
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.code = code

    def _error(self, err):
        self._send(err.code, status_object(err.code, err.reason, err.message, err.details))

    # -- authentication -----------------------------------------------------------------
    def _authenticate(self):
        """Returns (user, groups, how) or raises ApiError(401)."""
        auth = self.headers.get("Authorization")
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                hit = self.ctl.tokens.lookup(token.strip())
                if hit:
                    return hit[0], hit[1], "token"
            raise ApiError(401, "Unauthorized", "Unauthorized")
        peer = self.request.getpeercert() if isinstance(self.request, ssl.SSLSocket) else None
        if peer:
            subject = dict(x[0] for x in peer.get("subject", ()))
            issuer = dict(x[0] for x in peer.get("issuer", ()))
            now = time.time()
            try:
                valid = ssl.cert_time_to_seconds(peer["notBefore"]) <= now <= ssl.cert_time_to_seconds(peer["notAfter"])
            except (KeyError, ValueError):
                valid = False
            if valid and issuer.get("commonName") == self.server.ca_cn and subject.get("commonName"):
                groups = [v for k, v in (x[0] for x in peer.get("subject", ())) if k == "organizationName"]
                return subject["commonName"], groups, "cert"
            raise ApiError(401, "Unauthorized", "Unauthorized")
        if self.path.split("?")[0] in ("/version", "/healthz", "/livez", "/readyz"):
            return "system:anonymous", ["system:unauthenticated"], "none"
        raise ApiError(401, "Unauthorized", "Unauthorized")

    # -- entry ------------------------------------------------------------------------------
    def _handle(self):
        self.code = 0
        self.user, how = "-", "none"
        self.logged = False
        started = time.time()
        streamed = False
        try:
            body = self._read_body()
            try:
                self.user, self.groups, how = self._authenticate()
                self.auth_how = how
                streamed = self._route(body)
            except ApiError as e:
                self._error(e)
            except (ValueError, TypeError, KeyError, AttributeError) as e:  # malformed input we did not foresee
                if self.code == 0:
                    self._error(ApiError(500, "InternalError", "fake apiserver: %r" % e))
        finally:
            if not self.logged:
                self.log_request_line(how, started, streamed)

    def log_request_line(self, how, started, streamed):
        """One requests.jsonl line; watch streams log when their headers go out."""
        self.logged = True
        self.ctl.log({"t": round(started, 3), "method": self.command, "path": self.path, "user": self.user,
                      "auth": how, "code": self.code, "ua": self.headers.get("User-Agent", ""),
                      "contentType": self.headers.get("Content-Type", ""), "watch": streamed})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    # -- routing ----------------------------------------------------------------------------
    def _route(self, body):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/") if p]
        docs = self.ctl.docs
        p = "/" + "/".join(parts)
        if p in ("/healthz", "/livez", "/readyz"):
            self._send(200, b"ok", "text/plain; charset=utf-8")
            return False
        if self.command == "GET":
            static = {
                "/version": docs["version"],
                "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server.public_addr}]},
                "/apis": {"kind": "APIGroupList", "apiVersion": "v1",
                          "groups": [docs["api_group"](g) for g in GROUPS]},
                "/api/v1": docs["resource_list"]("", "v1"),
                "/openapi/v3": docs["openapi_root"](),
                "/openapi/v3/api/v1": docs["openapi_gv"]("", "v1"),
            }
            for g in GROUPS:
                static["/apis/" + g] = docs["api_group"](g)
                static["/apis/%s/v1" % g] = docs["resource_list"](g, "v1")
                static["/openapi/v3/apis/%s/v1" % g] = docs["openapi_gv"](g, "v1")
            if p in static:
                self._send(200, static[p])
                return False
        if parts[:1] == ["__test"]:
            if self.user != "admin":
                raise ApiError(403, "Forbidden", 'User "%s" cannot use the test hooks' % self.user)
            self._send(200, self._hook(parts[1:], q, body))
            return False
        if parts[:2] == ["api", "v1"]:
            group, rest = "", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis" and parts[2] == "v1":
            group, rest = parts[1], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if rest[:1] == ["watch"]:
            q["watch"] = "true"
            rest = rest[1:]
        ns, plural, name, sub = None, None, None, None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            ns, rest = rest[1], rest[2:]
        if rest:
            plural, name = rest[0], (rest[1] if len(rest) > 1 else None)
            sub = rest[2] if len(rest) > 2 else None
        res = BY_PLURAL.get((group, plural))
        if res is None or (ns is not None and not res.namespaced) or len(rest) > 3 or sub not in (None, "status"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if self.ctl.authorization == "rbac":
            verb = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                    "DELETE": "delete"}.get(self.command, self.command.lower())
            if name is None:
                verb = {"get": "list", "delete": "deletecollection"}.get(verb, verb)
            if _qbool(q.get("watch")) and verb in ("get", "list"):
                verb = "watch"
            apiauthz.check(self.ctl.store, self.user, self.groups, verb, res, sub, ns, name)
        if name is None:
            return self._collection(res, ns, q, body)
        if res.namespaced and ns is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        self._item(res, ns, name, sub, q, body)
        return False

    def _write_opts(self, q):
        """(dry_run, field_validation) from the query of a write; ApiError 400 if bad."""
        dry = q.get("dryRun")
        if dry not in (None, "All"):
            raise ApiError(400, "BadRequest", 'dryRun: Unsupported value: "%s": supported values: "All"' % dry)
        fv = q.get("fieldValidation") or "Warn"
        if fv not in ("Ignore", "Warn", "Strict"):
            raise ApiError(400, "BadRequest", 'fieldValidation: Unsupported value: "%s": supported values: '
                           '"Ignore", "Strict", "Warn"' % fv)
        return dry == "All", fv

    def _warn_headers(self, warnings):
        # One RFC 7234 warning per value, as kube-apiserver sends them (299 = misc persistent).
        return [("Warning", '299 - "%s"' % w.replace('"', '\\"')) for w in warnings]

    def _json_body(self, body):
        try:
            return json.loads(body or b"null")
        except ValueError as e:
            raise ApiError(400, "BadRequest", "the request body is not valid JSON: %s" % e)

    def _collection(self, res, ns, q, body):
        store = self.ctl.store
        if self.command == "POST":
            obj = self._json_body(body)
            dry, fv = self._write_opts(q)
            warnings = []
            out = store.create(res, ns, obj, dry_run=dry, field_validation=fv, warnings=warnings)
            self._send(201, out, extra=self._warn_headers(warnings))
            return False
        label_sel = apiselect.parse_label_selector(q.get("labelSelector"))
        field_sel = apiselect.parse_field_selector(q.get("fieldSelector"))
        if self.command == "DELETE":
            dry, _fv = self._write_opts(q)
            _rv, items, _c, _r = store.list(res, ns, label_sel, field_sel, 0, None, None)
            gone = []
            for o in items:
                try:
                    gone.append(store.delete(res, o["metadata"].get("namespace"), o["metadata"]["name"],
                                             dry_run=dry))
                except ApiError:
                    pass
            self._send(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                             "metadata": {"resourceVersion": str(store.rv)}, "items": gone})
            return False
        if self.command not in ("GET", "HEAD"):
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if _qbool(q.get("watch")):
            self._watch(res, ns, q, label_sel, field_sel)
            return True
        if self.ctl.take_410("list", res):
            raise apistore.expired("The resourceVersion for the provided list is too old. (test hook next-410)")
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise ApiError(400, "BadRequest", "invalid limit")
        cont = q.get("continue") or None
        if cont and q.get("resourceVersion") not in (None, ""):
            raise ApiError(400, "BadRequest", "specifying resource version is not allowed when using continue")
        rv, items, token, remaining = store.list(res, ns, label_sel, field_sel, max(limit, 0), cont,
                                                 q.get("resourceVersion"))
        meta = {"resourceVersion": str(rv)}
        if token:
            meta["continue"] = token
            meta["remainingItemCount"] = remaining
        for it in items:
            it.pop("kind", None)
            it.pop("apiVersion", None)
        with store.cond:
            mode = self.ctl.malformed_list.pop(res.plural, None)
        doc = {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": meta, "items": items}
        if mode == "json":
            data = json.dumps(doc).encode()
            self._send(200, data[: max(1, len(data) // 2)])
            return False
        if mode:
            items.insert(0, {"metadata": {"name": 12345, "labels": "not-a-map"}, "spec": "oops"})
        self._send(200, doc)
        return False

    def _item(self, res, ns, name, sub, q, body):
        store = self.ctl.store
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if self.command in ("GET", "HEAD"):
            self._send(200, store.get(res, ns, name))
            return
        dry, fv = self._write_opts(q)
        warnings = []
        opts = {"dry_run": dry, "field_validation": fv, "warnings": warnings}
        if self.command == "DELETE":
            opts = self._json_body(body) if body else {}
            pre = opts.get("preconditions") if isinstance(opts, dict) else None
            self._send(200, store.delete(res, ns, name, pre if isinstance(pre, dict) else None, dry_run=dry))
        elif self.command == "PUT":
            new = self._json_body(body)
            out = store.update(res, ns, name, lambda cur: new, sub, **opts)
            self._send(200, out, extra=self._warn_headers(warnings))
        elif self.command == "PATCH":
            patch = self._json_body(body)
            if ctype == "application/merge-patch+json":
                fn = lambda cur: apipatch.merge_patch(cur, patch)  # noqa: E731
            elif ctype == "application/strategic-merge-patch+json":
                fn = lambda cur: apipatch.strategic_merge_patch(cur, patch)  # noqa: E731
            elif ctype == "application/json-patch+json":
                fn = lambda cur: apipatch.json_patch(cur, patch)  # noqa: E731
            elif ctype == "application/apply-patch+yaml":
                try:
                    store.get(res, ns, name)
                except ApiError as e:
                    if e.code != 404 or sub:
                        raise
                    obj = dict(patch) if isinstance(patch, dict) else patch
                    if isinstance(obj, dict):
                        obj.setdefault("metadata", {}).setdefault("name", name)
                    self._send(201, store.create(res, ns, obj, **opts), extra=self._warn_headers(warnings))
                    return
                fn = lambda cur: apipatch.merge_patch(cur, patch)  # noqa: E731
            else:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                               "accepted media types include: application/json-patch+json, "
                               "application/merge-patch+json, application/apply-patch+yaml")
            self._send(200, store.update(res, ns, name, fn, sub, **opts), extra=self._warn_headers(warnings))
        else:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
