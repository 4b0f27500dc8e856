"""Watch streams and /__test/ hooks of the fake Kubernetes API server.

WatchMixin writes one chunked `application/json` watch stream per request (ADDED /
MODIFIED / DELETED / BOOKMARK / ERROR events, one JSON object per line) from the store's
history; HookMixin implements the admin-only test hooks. Both are mixed into
apihttp.Handler and use its `ctl` (apihttp.Control) and `_send`.
"""

import copy
import json
import random
import socket
import time

import apibench
import apistore
from apistore import ApiError, BY_PLURAL, status_object


class Dropped(Exception):
    """The watch was dropped by a hook or the server is stopping."""


class WatchMixin:
    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _event(self, typ, obj):
        line = json.dumps({"type": typ, "object": obj}).encode() + b"\n"
        ctl = self.ctl
        with ctl.store.cond:
            split = ctl.split["count"] > 0
            if split:
                ctl.split["count"] -= 1
                size, delay = max(1, ctl.split["size"]), ctl.split["delay"]
        if not split:
            self._chunk(line)
            return
        for i in range(0, len(line), size):
            self._chunk(line[i:i + size])
            if delay:
                time.sleep(delay)

    def _end(self):
        self.wfile.write(b"0\r\n\r\n")

    def _watch(self, res, ns, q, label_sel, field_sel):
        ctl, store = self.ctl, self.ctl.store
        if ctl.take_410("watch", res):
            raise apistore.expired("too old resource version: (test hook next-410)")
        rv_param = q.get("resourceVersion") or ""
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        initial_events = q.get("sendInitialEvents") in ("true", "1")
        if initial_events and (not bookmarks or q.get("resourceVersionMatch") != "NotOlderThan"):
            raise ApiError(422, "Invalid", "sendInitialEvents requires allowWatchBookmarks=true and "
                           "resourceVersionMatch=NotOlderThan")
        if q.get("sendInitialEvents") not in (None, "", "true", "1", "false", "0"):
            raise ApiError(400, "BadRequest", "invalid sendInitialEvents")
        try:
            timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else ctl.watch_timeout * (1 + random.random())
        except ValueError:
            raise ApiError(400, "BadRequest", "invalid timeoutSeconds")

        def match(o):
            if o is None:
                return False
            md = o.get("metadata", {})
            return (not ns or md.get("namespace") == ns) and label_sel(md.get("labels")) and field_sel(o)

        expired = None
        initial = []
        with store.cond:
            if rv_param in ("", "0") or initial_events:
                start = store.rv
                initial = [copy.deepcopy(o) for _k, o in sorted(store.objects[res.plural].items()) if match(o)]
            else:
                try:
                    start = int(rv_param)
                except ValueError:
                    raise ApiError(400, "BadRequest", "invalid resourceVersion %r" % rv_param)
                if start < store.compacted_rv:
                    expired = "too old resource version: %d (%d)" % (start, store.compacted_rv)
            w = ctl_watcher(ctl, res)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            self.wfile.flush()
            self.code = 200
            self.log_request_line(self.auth_how, time.time(), True)
            if expired:
                self._event("ERROR", status_object(410, "Expired", expired))
                self._end()
                return
            for o in initial:
                self._event("ADDED", o)
            if initial_events:
                self._event("BOOKMARK", self._bookmark(res, start, {"k8s.io/initial-events-end": "true"}))
            self._watch_loop(w, res, match, start, time.monotonic() + timeout, bookmarks)
        except Dropped:
            self.close_connection = True
            try:
                self.request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except OSError:  # the client went away
            self.close_connection = True
        finally:
            with store.cond:
                ctl.watchers.discard(w)

    @staticmethod
    def _bookmark(res, rv, annotations=None):
        md = {"resourceVersion": str(rv)}
        if annotations:
            md["annotations"] = annotations
        return {"kind": res.kind, "apiVersion": res.api_version, "metadata": md}

    def _watch_loop(self, w, res, match, last, deadline, bookmarks):
        ctl, store = self.ctl, self.ctl.store
        last_bookmark = time.monotonic()
        while True:
            out, injected, expired, bookmark_due, done = [], [], None, False, False
            with store.cond:
                while True:
                    if w.dropped == "clean":
                        done = True
                        break
                    if w.dropped or ctl.stopping:
                        raise Dropped()
                    if last < store.compacted_rv:
                        expired = "too old resource version: %d (%d)" % (last, store.compacted_rv)
                        break
                    evs = [e for e in store.events_after(last) if e.res == res.plural]
                    last = store.rv
                    out = [x for x in (translate(e, match) for e in evs) if x]
                    injected, w.injected = w.injected, []
                    if out or injected:
                        break
                    now = time.monotonic()
                    interval = ctl.bookmark_interval
                    next_bm = last_bookmark + interval if (bookmarks and interval > 0) else deadline
                    if now >= deadline:
                        done = True
                        break
                    if now >= next_bm:
                        bookmark_due = True
                        break
                    store.cond.wait(min(deadline, next_bm) - now)
            if expired:
                self._event("ERROR", status_object(410, "Expired", expired))
                self._end()
                return
            for typ, obj in out:
                self._event(typ, obj)
            for raw in injected:
                self._chunk(raw)
            if bookmark_due:
                last_bookmark = time.monotonic()
                self._event("BOOKMARK", self._bookmark(res, last))
            if done:
                self._end()
                return


class Watcher:
    """One open watch, registered with the Control so hooks can reach it."""

    def __init__(self, res):
        self.res = res
        self.injected = []  # raw byte lines queued by the malformed hook
        self.dropped = None  # None, "abrupt" or "clean"


def ctl_watcher(ctl, res):
    """Registers a new watcher (caller holds store.cond)."""
    w = Watcher(res)
    ctl.watchers.add(w)
    return w


def translate(ev, match):
    """History event -> (type, object) as seen through a selector, or None."""
    new_ok = ev.type != "DELETED" and match(ev.obj)
    old_ok = match(ev.prev)
    if ev.type == "ADDED":
        return ("ADDED", copy.deepcopy(ev.obj)) if new_ok else None
    if ev.type == "DELETED":
        return ("DELETED", copy.deepcopy(ev.obj)) if old_ok else None
    if new_ok and old_ok:
        return ("MODIFIED", copy.deepcopy(ev.obj))
    if new_ok:
        return ("ADDED", copy.deepcopy(ev.obj))
    if old_ok:
        return ("DELETED", copy.deepcopy(ev.obj))
    return None


class HookMixin:
    def _hook(self, parts, q, body):
        ctl, store = self.ctl, self.ctl.store
        name = parts[0] if parts else ""

        def num(key, default, conv=int):
            try:
                return conv(q.get(key, default))
            except (TypeError, ValueError):
                raise ApiError(400, "BadRequest", "bad %s" % key)

        if name == "state":
            with store.cond:
                return {"resourceVersion": str(store.rv), "compactedRV": str(store.compacted_rv),
                        "watches": len(ctl.watchers), "history": len(store.history)}
        if name == "compact":
            return {"compactedRV": str(store.compact(q.get("rv")))}
        if name == "next-410":
            verb = q.get("verb", "any")
            if verb not in ("list", "watch", "any"):
                raise ApiError(400, "BadRequest", "verb must be list, watch or any")
            with store.cond:
                ctl.next_410.append([verb, q.get("resource") or None, num("count", 1)])
            return {"armed": verb}
        if name == "split":
            with store.cond:
                ctl.split = {"count": num("count", 1), "size": num("size", 1),
                             "delay": num("delay_ms", 2, float) / 1000.0}
            return dict(ctl.split)
        if name == "bookmark-interval":
            with store.cond:
                ctl.bookmark_interval = num("seconds", 5, float)
                store.cond.notify_all()
            return {"seconds": ctl.bookmark_interval}
        if name == "malformed":
            res = self._hook_res(q)
            mode = q.get("mode", "schema")
            if mode not in ("schema", "json"):
                raise ApiError(400, "BadRequest", "mode must be schema or json")
            with store.cond:
                if q.get("target", "watch") == "list":
                    ctl.malformed_list[res.plural] = mode
                    return {"armed": "list"}
                if mode == "json":
                    raw = b'{"type":"MODIFIED","object":{"kind":"' + res.kind.encode() + b'","metadata":{"na\n'
                else:
                    raw = json.dumps({"type": "MODIFIED", "object": {
                        "kind": res.kind, "apiVersion": res.api_version,
                        "metadata": {"name": 12345, "resourceVersion": "not-a-number", "labels": "x"},
                        "spec": "oops"}}).encode() + b"\n"
                n = 0
                for w in ctl.watchers:
                    if w.res.plural == res.plural:
                        w.injected.append(raw)
                        n += 1
                store.cond.notify_all()
            return {"injected": n}
        if name == "drop-watches":
            mode = q.get("mode", "abrupt")
            with store.cond:
                n = len(ctl.watchers)
                for w in ctl.watchers:
                    w.dropped = "clean" if mode == "clean" else "abrupt"
                store.cond.notify_all()
            return {"dropped": n}
        if name == "restart":
            down = num("down_ms", 500, float) / 1000.0
            ctl.restart_cb(down)
            return {"restarting": True, "downSeconds": down}
        if name == "load":
            return self._hook_load(q, body, num)
        if name == "commit-log":
            return apibench.set_commit_log(ctl, q.get("enable", "1") in ("1", "true"))
        if name == "churn":
            return apibench.set_churn(ctl, q)
        if name == "tokens":
            if q.get("set") is not None:
                lines = []
                for i, pair in enumerate(p for p in q["set"].split(",") if p):
                    tok, _, user = pair.partition(":")
                    lines.append("%s,%s,uid-%d" % (tok, user or "kube-bgp", i))
                text = "\n".join(lines) + "\n"
            else:
                text = body.decode("utf-8", "replace")
            ctl.tokens.replace(text)
            return {"tokens": len([x for x in text.splitlines() if x.strip()])}
        raise ApiError(404, "NotFound", "unknown test hook %r" % name)

    def _hook_res(self, q):
        for r in BY_PLURAL.values():
            if r.plural == q.get("resource", "nodes"):
                return r
        raise ApiError(400, "BadRequest", "unknown resource %r" % q.get("resource"))

    def _hook_load(self, q, body, num):
        store = self.ctl.store
        if body:
            try:
                spec = json.loads(body)
                q = dict(q, resource=spec.get("resource", "nodes"))
                gen, ns = spec.get("generate"), spec.get("namespace")
                objs = spec["objects"] if gen is None else None
                if gen is not None and not isinstance(gen, dict):
                    raise ValueError("generate")
            except (ValueError, KeyError, AttributeError):
                raise ApiError(400, "BadRequest", 'load body must be {"resource":..,"objects":[..]} '
                               'or {"resource":..,"generate":{..}}')
            res = self._hook_res(q)
            if gen is not None and res.kind == "Node":
                objs = apibench.gen_nodes(gen)
            elif gen is not None and res.kind == "Service":
                svcs, slices = apibench.gen_services(store, ns or "default", gen)
                for o in svcs:
                    store.create(res, ns or "default", o)
                for o in slices:
                    store.create(apibench.SLICES, ns or "default", o)
                return {"created": len(svcs) + len(slices), "services": len(svcs), "endpointslices": len(slices),
                        "resourceVersion": str(store.rv)}
            elif gen is not None:
                raise ApiError(400, "BadRequest", "generate: nodes or services (with their EndpointSlices)")
        else:
            res = self._hook_res(q)
            if res.kind != "Node":
                raise ApiError(400, "BadRequest", "generated load supports nodes only; POST objects instead")
            prefix, count = q.get("prefix", "load-node-"), num("count", 100)
            objs, ns = [], None
            for i in range(count):
                objs.append({"metadata": {"name": "%s%d" % (prefix, i), "labels": {"kubernetes.io/os": "linux"}},
                             "spec": {"podCIDR": "10.%d.%d.0/24" % (100 + i // 256 % 100, i % 256)},
                             "status": {"addresses": [{"type": "InternalIP",
                                                       "address": "172.%d.%d.%d" % (16 + i // 65536 % 16,
                                                                                     i // 256 % 256, i % 256)}]}})
        created = 0
        for o in objs:
            store.create(res, ns or (o.get("metadata", {}).get("namespace") if res.namespaced else None), o)
            created += 1
        return {"created": created, "resourceVersion": str(store.rv)}
