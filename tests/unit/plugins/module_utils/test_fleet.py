# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import signal
import threading
import time

import pytest

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError
from ansible_collections.apigw.router.plugins.module_utils.common._fleet import fleet_message, run_all, summarize


def targets(n):
    return [dict(instance_id="i%03d" % i) for i in range(n)]


@pytest.mark.parametrize("concurrency", [1, 3, 16])
def test_order_and_bound(concurrency):
    lock = threading.Lock()
    state = dict(now=0, peak=0)

    def work(target):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.01)
        with lock:
            state["now"] -= 1
        return dict(changed=True, n=target["instance_id"])

    results = run_all(targets(20), work, concurrency)
    assert [r["instance_id"] for r in results] == [r["n"] for r in results] == ["i%03d" % i for i in range(20)]
    assert 1 <= state["peak"] <= concurrency


def test_failures_are_isolated():
    def work(target):
        if target["instance_id"] == "i001":
            raise ApiError("boom", status=500, error_code="APIG.3500", attempts=4)
        if target["instance_id"] == "i002":
            raise KeyError("header value 'SECRET'")
        if target["instance_id"] == "i003":
            return dict(changed=False)
        return dict(changed=True)

    results = run_all(targets(5), work, 4)
    assert [r["failed"] for r in results] == [False, True, True, False, False]
    assert results[1]["status"] == 500 and results[1]["error_code"] == "APIG.3500" and results[1]["msg"] == "boom"
    assert "unexpected KeyError" in results[2]["msg"] and "SECRET" not in results[2]["msg"]
    summary = summarize(results)
    assert summary == dict(total=5, changed=2, unchanged=1, failed=2)
    assert "failed: i001 (boom); i002" in fleet_message(results, summary, "refreshed")


def test_message_names_first_failures_then_counts():
    results = [dict(instance_id="i%d" % i, failed=True, changed=False, msg="x") for i in range(8)]
    text = fleet_message(results, summarize(results), "refreshed")
    assert "i4 (x)" in text and "i5" not in text and "and 3 more" in text


class Interrupted(BaseException):
    """What Ansible's task timeout raises in the thread that waits (a signal handler's exception)."""


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_an_interruption_drops_the_instances_not_started():
    started = []
    release = threading.Event()

    def work(target):
        started.append(target["instance_id"])
        release.wait(0.05)  # each instance takes 50 ms: the 200 of them 5 s at concurrency 2
        return dict(changed=True)

    def interrupt(_signum, _frame):
        raise Interrupted()

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    begun = time.monotonic()
    try:
        with pytest.raises(Interrupted):
            run_all(targets(200), work, 2)
        waited = time.monotonic() - begun
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        release.set()
    # Executor.map cancels what has not started when its waiting is interrupted, and the pool's
    # exit waits only for those in flight: the interruption surfaces at once, not after 5 s.
    assert waited < 2.5, waited
    time.sleep(0.2)  # what was in flight has finished; nothing queued starts later
    assert len(started) < 100, len(started)
