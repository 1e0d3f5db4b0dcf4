# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Run one piece of work per instance with bounded concurrency, isolating failures."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApigwRouterError

MAX_CONCURRENCY = 256
NAMED_FAILURES = 5  # a fleet message names this many failed instances, then counts the rest


def run_all(targets, work, concurrency):
    """``work(target)`` for every target, at most ``concurrency`` at once.

    Returns one result dict per target, in input order. One target's failure (an
    exception included) never stops the others; it becomes that target's failed result.
    """
    def guarded(target):
        try:
            result = work(target)
        except ApigwRouterError as exc:
            result = dict(exc.details, failed=True, msg=exc.msg)  # changed: what committed before it
        except Exception as exc:  # pylint: disable=broad-except
            # Isolation is the point of the fleet form: report, do not crash the batch. Only
            # the type: a library's exception text may quote a request header, i.e. a credential.
            result = dict(changed=False, failed=True,
                          msg="unexpected %s while processing this instance (a bug in apigw.router or a library "
                              "it uses; please report it)" % type(exc).__name__)
        result = dict(result)
        result.setdefault("failed", False)
        result.setdefault("changed", False)
        return dict(instance_id=target["instance_id"], **result)

    if len(targets) <= 1 or concurrency <= 1:
        return [guarded(t) for t in targets]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(targets))) as pool:
        return list(pool.map(guarded, targets))


def summarize(results):
    failed = [r for r in results if r.get("failed")]
    changed = [r for r in results if r.get("changed") and not r.get("failed")]
    return dict(total=len(results), changed=len(changed), failed=len(failed),
                unchanged=len(results) - len(changed) - len(failed))


def fleet_message(results, summary, verb):
    text = "%d instance(s): %d %s, %d unchanged, %d failed" % (
        summary["total"], summary["changed"], verb, summary["unchanged"], summary["failed"])
    failed = [r for r in results if r.get("failed")]
    if failed:
        named = ["%s (%s)" % (r["instance_id"], r.get("msg", "failed")) for r in failed[:NAMED_FAILURES]]
        text += "; failed: " + "; ".join(named)
        if len(failed) > NAMED_FAILURES:
            text += "; and %d more" % (len(failed) - NAMED_FAILURES)
    return text
