# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fault injection: per-target queues of scripted answers, a standing fault, latency.

A target is an instance id, a project id (its ListInstancesV2 calls), or ``@iam``
for the IAM endpoints. A request to a target
takes the first entry of its ``sequence`` that matches it (entries are consumed in
order, one per request); when the sequence is used up, ``always`` (if set) applies to
every matching request; then normal behaviour. ``latency_ms`` delays every request to
the target, fault or not.

One entry (every key optional):
  status: 500            answer this status with an APIG error body
  error_code, error_msg  ...with this code/message (defaults follow the status)
  retry_after: 1         send Retry-After (seconds); alone it means status 429
  body: "text" or {...}  send this body instead (text as text/plain, a mapping as JSON)
  content_type: ...      Content-Type of ``body``
  reset: true            write part of the headers, then reset the connection
  delay: 2.5             wait this many seconds first; alone, then answer normally
  count: 3               the entry stands for 3 consecutive requests
  method: PUT | [..]     only requests with this method take the entry
  resource: apis | [..]  only these resources (refresh names, state, list_apis, tokens,
                         projects, list_instances, show_instance)

Listing faults (ListApisV2 only: an entry with one of them takes ``resource: list_apis``
and is answered with a page, not an error):
  truncate: 600          the page as if the listing ended after 600 APIs, ``total`` unchanged
  duplicate: true        the page's first item replaced by the one just before it (the last
                         of the previous page): one id on two pages, ``total`` unchanged
  then_delete: 1         after this page, delete the first 1 API(s) of the instance
  then_add: 1            after this page, add 1 new published API(s) in front of the others
  then_append: 1         after this page, add 1 new published API(s) behind the others; with
                         then_delete, the total stays the same while the later pages shift
  then_regroup: <id>     after this page, move the instance's first API of another group into
                         API group <id> (it takes that group's name), as an operator moving an
                         API between groups does
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import threading

IAM_TARGET = "@iam"
MAX_DELAY = 600.0        # a typo must not hang a test run for hours
MAX_COUNT = 100000
LISTING_KEYS = ("truncate", "duplicate", "then_delete", "then_add", "then_append", "then_regroup")
LISTING_RESOURCE = "list_apis"
_ENTRY_KEYS = frozenset(("status", "error_code", "error_msg", "retry_after", "body",
                         "content_type", "reset", "delay", "count", "method", "resource") + LISTING_KEYS)
_PLAN_KEYS = frozenset(("sequence", "always", "latency_ms"))


class FaultError(ValueError):
    """A fault description that cannot be used; the message names the entry."""


def _names(value, where, upper):
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise FaultError("%s: must be a name or a list of names" % where)
    return [v.upper() if upper else v for v in values]


def normalise_entry(entry, where):
    """A validated copy of one entry, ``count`` not yet expanded."""
    if not isinstance(entry, dict):
        raise FaultError("%s: a fault entry must be a mapping" % where)
    unknown = sorted(set(entry) - _ENTRY_KEYS)
    if unknown:
        raise FaultError("%s: unknown keys %s (known: %s)" % (where, ", ".join(unknown),
                                                              ", ".join(sorted(_ENTRY_KEYS))))
    out = {}
    if entry.get("status") is not None:
        status = entry["status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise FaultError("%s: status must be an HTTP status code" % where)
        out["status"] = status
    if entry.get("retry_after") is not None:
        if isinstance(entry["retry_after"], bool) or not isinstance(entry["retry_after"], (int, float)) \
                or entry["retry_after"] < 0:
            raise FaultError("%s: retry_after must be a number of seconds" % where)
        out["retry_after"] = entry["retry_after"]
        out.setdefault("status", 429)
    for key in ("error_code", "error_msg", "content_type"):
        if entry.get(key) is not None:
            out[key] = str(entry[key])
    if entry.get("body") is not None:
        if not isinstance(entry["body"], (str, dict, list)):
            raise FaultError("%s: body must be text or a mapping" % where)
        out["body"] = entry["body"]
        out.setdefault("status", 500)
    if entry.get("error_code") is not None:
        out.setdefault("status", 500)
    if entry.get("delay") is not None:
        delay = entry["delay"]
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= MAX_DELAY:
            raise FaultError("%s: delay must be 0..%d seconds" % (where, MAX_DELAY))
        out["delay"] = float(delay)
    if entry.get("reset"):
        out["reset"] = True
    count = entry.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise FaultError("%s: count must be 1..%d" % (where, MAX_COUNT))
    out["count"] = count
    methods = _names(entry.get("method"), where + ".method", upper=True)
    if methods:
        out["method"] = methods
    resources = _names(entry.get("resource"), where + ".resource", upper=False)
    if resources:
        out["resource"] = resources
    _listing_keys(entry, out, where)
    if not ({"status", "reset", "delay"} & set(out)) and not set(LISTING_KEYS) & set(out):
        raise FaultError("%s: give at least one of status, error_code, retry_after, body, "
                         "reset, delay, %s" % (where, ", ".join(LISTING_KEYS)))
    return out


def _listing_keys(entry, out, where):
    """The ListApisV2 faults of ``entry`` into ``out``: answered with a page, so never with an error."""
    for key, least in (("truncate", 0), ("then_delete", 1), ("then_add", 1), ("then_append", 1)):
        value = entry.get(key)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= MAX_COUNT:
                raise FaultError("%s: %s must be %d..%d" % (where, key, least, MAX_COUNT))
            out[key] = value
    regroup = entry.get("then_regroup")
    if regroup is not None:
        if not isinstance(regroup, str) or not regroup:
            raise FaultError("%s: then_regroup must be an API group id" % where)
        out["then_regroup"] = regroup
    if entry.get("duplicate") is not None:
        if not isinstance(entry["duplicate"], bool):
            raise FaultError("%s: duplicate must be true or false" % where)
        if entry["duplicate"]:
            out["duplicate"] = True
    if not set(LISTING_KEYS) & set(out):
        return
    if {"status", "reset"} & set(out):
        raise FaultError("%s: %s answer with a page: they cannot be combined with status, error_code, "
                         "retry_after, body or reset" % (where, "/".join(LISTING_KEYS)))
    if out.get("resource", [LISTING_RESOURCE]) != [LISTING_RESOURCE]:
        raise FaultError("%s: %s apply to ListApisV2 only (resource %s)"
                         % (where, "/".join(LISTING_KEYS), LISTING_RESOURCE))
    out["resource"] = [LISTING_RESOURCE]


def normalise_plan(plan, where):
    """``{"sequence": [...], "always": {...} | None, "latency_ms": n}``, validated."""
    plan = plan or {}
    if isinstance(plan, list):          # a bare list is the sequence
        plan = {"sequence": plan}
    if not isinstance(plan, dict):
        raise FaultError("%s: faults must be a mapping or a list" % where)
    unknown = sorted(set(plan) - _PLAN_KEYS)
    if unknown:
        raise FaultError("%s: unknown keys %s" % (where, ", ".join(unknown)))
    sequence = plan.get("sequence") or []
    if not isinstance(sequence, list):
        raise FaultError("%s.sequence: must be a list" % where)
    out = {"sequence": [normalise_entry(e, "%s.sequence[%d]" % (where, i))
                        for i, e in enumerate(sequence)]}
    always = plan.get("always")
    out["always"] = normalise_entry(always, where + ".always") if always else None
    latency = plan.get("latency_ms", 0) or 0
    if isinstance(latency, bool) or not isinstance(latency, (int, float)) or not 0 <= latency <= MAX_DELAY * 1000:
        raise FaultError("%s.latency_ms: must be 0..%d" % (where, MAX_DELAY * 1000))
    out["latency_ms"] = latency
    return out


def _matches(entry, method, resource):
    if "method" in entry and method.upper() not in entry["method"]:
        return False
    if "resource" in entry and resource not in entry["resource"]:
        return False
    return True


class _Queue:
    def __init__(self, plan):
        # Each pending item is [entry, remaining uses]; entries are never shared.
        self.pending = [[copy.deepcopy(e), e["count"]] for e in plan["sequence"]]
        self.always = copy.deepcopy(plan["always"])
        self.latency_ms = plan["latency_ms"]


class FaultBook:
    """Fault queues of every target, safe to use from the handler threads."""

    def __init__(self, plans=None):
        self._lock = threading.Lock()
        self._queues = {}
        self.load(plans or {})

    def load(self, plans):
        """Replace every queue with ``plans`` ({target: normalised plan})."""
        with self._lock:
            self._queues = dict((t, _Queue(p)) for t, p in plans.items())

    def set(self, target, plan, append=False):
        """Replace one target's plan; with ``append``, only add its sequence to the
        pending entries (``always`` and ``latency_ms`` stay as they were).
        Returns how many requests the pending entries now cover."""
        with self._lock:
            queue = self._queues.get(target)
            if append and queue is not None:
                queue.pending.extend(_Queue(plan).pending)
            else:
                queue = self._queues[target] = _Queue(plan)
            return sum(n for _e, n in queue.pending)

    def latency(self, target):
        with self._lock:
            queue = self._queues.get(target)
            return (queue.latency_ms / 1000.0) if queue else 0.0

    def take(self, target, method, resource):
        """The fault for this request (a copy), consuming it; None for normal behaviour."""
        with self._lock:
            queue = self._queues.get(target)
            if queue is None:
                return None
            for item in queue.pending:
                entry, remaining = item
                if _matches(entry, method, resource):
                    if remaining <= 1:
                        queue.pending.remove(item)
                    else:
                        item[1] = remaining - 1
                    return dict(entry)
            if queue.always and _matches(queue.always, method, resource):
                return dict(queue.always)
            return None

    def snapshot(self):
        with self._lock:
            return dict((t, {"pending": [dict(e, count=n) for e, n in q.pending],
                             "always": q.always, "latency_ms": q.latency_ms})
                        for t, q in self._queues.items())
