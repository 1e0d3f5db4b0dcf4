# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Run one piece of work per instance with bounded concurrency, isolating failures."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.apigw.router.plugins.module_utils.common._errors import failure

MAX_CONCURRENCY = 256
NAMED_FAILURES = 5  # a fleet message names this many failed instances, then counts the rest


def run_all(targets, work, concurrency):
    """``work(target)`` for every target, at most ``concurrency`` at once.

    Returns one result dict per target, in input order. One target's failure (an
    exception included) never stops the others; it becomes that target's failed result.
    """
    def isolated(target):
        try:
            result = dict(work(target))
        except Exception:  # pylint: disable=broad-except
            # Isolation is the point of the fleet form: report, do not crash the batch.
            result = failure()  # changed: what committed before it, when the error says so
        result.setdefault("failed", False)
        result.setdefault("changed", False)
        return dict(instance_id=target["instance_id"], **result)

    if len(targets) <= 1 or concurrency <= 1:
        return [isolated(t) for t in targets]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(targets))) as pool:
        return list(pool.map(isolated, targets))


def shaped(fleet, results, message):
    """The single form's result, or the fleet's: ``results``, ``summary`` and
    ``message(results, summary)``."""
    if not fleet:
        return results[0]
    summary = summarize(results)
    result = dict(changed=any(r.get("changed") for r in results), failed=summary["failed"] > 0,
                  msg=message(results, summary), results=results, summary=summary)
    diffs = [r["diff"] for r in results if r.get("diff")]
    if diffs:
        result["diff"] = diffs
    return result


def counted(verb):
    """The fleet message of a run that changes things: what it ``verb``, what it left, what failed."""
    def message(results, summary):
        return fleet_message(results, summary, verb)
    return message


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
