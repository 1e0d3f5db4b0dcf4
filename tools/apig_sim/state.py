# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run-time state: the request log, the counters, the refreshes and the router state.

Tests verify out of band with these (through the /_sim/ endpoints), so each is
guarded by a lock: the server handles requests on many threads.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json
import threading
import time

# Resource names in the state's "finished" list. The documented example shows
# "PROJECT"; the rest follow the same style (the simulator's guess).
RESOURCE_KINDS = {
    "apis": "API", "acls": "ACL", "vpcs": "VPC", "throttles": "THROTTLE",
    "tenants": "TENANT", "signatures": "SIGNATURE", "certs": "CERT",
}


def utc_now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RequestLog:
    """Every APIG/IAM request as one JSON object, in memory and as a line in ``path``.

    Entries are built by the server from fields that never hold a secret (no header
    values, no bodies): see server.Handler._log_entry.
    """

    def __init__(self, path=None):
        self._lock = threading.Lock()
        self._entries = []
        self._seq = 0
        self._file = open(path, "a", encoding="utf-8") if path else None

    def add(self, entry):
        with self._lock:
            self._seq += 1
            entry = dict(entry, seq=self._seq)
            self._entries.append(entry)
            if self._file is not None:
                self._file.write(json.dumps(entry, sort_keys=True) + "\n")
                self._file.flush()
            return entry

    def since(self, seq=0):
        """Entries with a sequence number above ``seq``, and the last number given."""
        with self._lock:
            return [e for e in self._entries if e["seq"] > seq], self._seq

    def clear(self):
        # Sequence numbers keep growing, so a ``since`` taken before a reset stays valid.
        with self._lock:
            self._entries = []

    def close(self):
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class Stats:
    """Counts per path and status, and the peak of concurrent requests in flight,
    overall and per instance (what a concurrency bound is checked against)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.clear()

    def clear(self):
        with self._lock:
            # getattr: the first call comes from __init__, before any counter exists.
            current = getattr(self, "_in_flight", 0)
            per_instance = getattr(self, "_instances", {})
            self._total = 0
            self._in_flight = current
            self._peak = current        # requests still running stay counted
            self._by_status = {}
            self._by_code = {}
            self._by_path = {}
            self._faults = 0
            self._instances = {}
            for iid, item in per_instance.items():
                if item["in_flight"]:
                    self._instances[iid] = self._blank(item["in_flight"])

    @staticmethod
    def _blank(in_flight=0):
        return {"requests": 0, "in_flight": in_flight, "peak_in_flight": in_flight,
                "by_status": {}}

    def begin(self, instance_id):
        with self._lock:
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            if instance_id is not None:
                item = self._instances.setdefault(instance_id, self._blank())
                item["in_flight"] += 1
                item["peak_in_flight"] = max(item["peak_in_flight"], item["in_flight"])

    def end(self, instance_id, method, path, status, error_code, fault):
        status = str(status)
        with self._lock:
            self._in_flight -= 1
            self._total += 1
            self._by_status[status] = self._by_status.get(status, 0) + 1
            if error_code:
                self._by_code[error_code] = self._by_code.get(error_code, 0) + 1
            per_path = self._by_path.setdefault("%s %s" % (method, path), {})
            per_path[status] = per_path.get(status, 0) + 1
            if fault:
                self._faults += 1
            if instance_id is not None:
                item = self._instances.setdefault(instance_id, self._blank())
                item["in_flight"] = max(0, item["in_flight"] - 1)
                item["requests"] += 1
                item["by_status"][status] = item["by_status"].get(status, 0) + 1

    def snapshot(self):
        with self._lock:
            return json.loads(json.dumps({
                "requests": self._total, "in_flight": self._in_flight,
                "peak_in_flight": self._peak, "by_status": self._by_status,
                "by_error_code": self._by_code, "by_path": self._by_path,
                "faults_injected": self._faults, "instances": self._instances}))


class RouterState:
    """What GET .../op-operations/router/state answers for one instance.

    Idle (nothing refreshed yet): status "finished", empty request_id and list.
    A refresh PUT makes it "working" (processing "Starting", finished ["PROJECT"], as in
    the documented example) for at least ``working_polls`` polls and ``working_seconds``
    seconds; then ``final_status`` with every refreshed resource in ``finished``.
    """

    def __init__(self, policy, clock=time.time):
        self.policy = policy
        self.clock = clock
        self.request_id = ""
        self.status = "finished"
        self.done = []
        self.pending = []
        self.polls_left = 0
        self.until = 0.0

    def start(self, resource, request_id):
        if self.status != "working":
            self.done = ["PROJECT"]
            self.pending = []
        kind = RESOURCE_KINDS.get(resource, resource.upper())
        if kind not in self.pending:
            self.pending.append(kind)
        self.request_id = request_id
        self.polls_left = self.policy.working_polls
        self.until = self.clock() + self.policy.working_seconds
        self.status = "working"

    def poll(self):
        if self.status == "working":
            if self.polls_left > 0 or self.clock() < self.until:
                self.polls_left = max(0, self.polls_left - 1)
                return {"request_id": self.request_id, "processing": "Starting",
                        "status": "working", "finished": list(self.done)}
            self.done.extend(k for k in self.pending if k not in self.done)
            self.pending = []
            self.status = self.policy.final_status
        return {"request_id": self.request_id,
                "processing": "Finished" if self.request_id else "",
                "status": self.status,
                "finished": list(self.done) if self.request_id else []}


class Refreshes:
    """The refresh PUTs that succeeded, in order, and each instance's router state."""

    def __init__(self, clock=time.time):
        self._lock = threading.Lock()
        self._clock = clock
        self._records = []
        self._states = {}

    def record(self, instance, resource, request_id, identity_label, details):
        with self._lock:
            state = self._states.setdefault(instance.id, RouterState(instance.refresh, self._clock))
            state.start(resource, request_id)
            entry = dict(details or {}, seq=len(self._records) + 1, time=utc_now_iso(),
                         project_id=instance.project_id, instance_id=instance.id,
                         resource=resource, request_id=request_id, principal=identity_label)
            self._records.append(entry)
            return entry

    def poll(self, instance):
        with self._lock:
            state = self._states.setdefault(instance.id, RouterState(instance.refresh, self._clock))
            return state.poll()

    def records(self):
        with self._lock:
            return list(self._records)

    def clear(self):
        with self._lock:
            self._records = []
            self._states = {}
