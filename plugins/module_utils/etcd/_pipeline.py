# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Send a sync's transactions with a few in flight, in the order the sync relies on.

etcd commits requests that arrive together in one raft round and one fsync, so a sync that
keeps several transactions in flight waits for the disk (and, with a remote cluster, the
network) several times less than one that sends them one by one. The order still matters:
every route is written before any is deleted (a router that reads in between sees an extra
route, never a missing one), and the manifests come last, once all of that committed. So only
consecutive transactions of one *phase* overlap; a transaction without a phase goes alone.

No I/O here: ``send`` does it. Pure enough to test without etcd.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from collections import deque
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ConflictError


def send_in_order(batches, send, phase_of, on_commit, in_flight):
    """``send(batch)`` for each of ``batches``, at most ``in_flight`` at once while they share a phase.

    ``phase_of(batch)``: a value that batches which may overlap share, or None for a batch that
    must wait for every earlier one and be waited for by every later one. ``on_commit(batch,
    result)`` is called in the main thread, in batch order, for every batch whose ``send``
    returned. At the first failure no further batch is sent; the ones already in flight are
    waited for (and reported if they committed); then the failure is raised: one that is not a
    ConflictError first (a lost lock or an etcd error must not lead to a re-plan), else the
    earliest conflict.
    """
    if in_flight < 2 or len(batches) < 2:
        for batch in batches:
            on_commit(batch, send(batch))
        return
    failures = []
    flying = deque()  # (batch, future), oldest first, all of phase ``flying_phase``
    flying_phase = None

    def land(batch, future):
        try:
            result = future.result()
        except Exception as exc:  # pylint: disable=broad-except
            failures.append(exc)
            return
        on_commit(batch, result)

    # Every batch submitted is running (at most in_flight, as many as the pool's threads): leaving
    # the block waits for them, each bounded by the client's own timeout.
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        for batch in batches:
            phase = phase_of(batch)
            if flying and (phase is None or phase != flying_phase):
                while flying:
                    land(*flying.popleft())
            elif len(flying) >= in_flight:
                land(*flying.popleft())
            if failures:
                break
            flying.append((batch, pool.submit(send, batch)))
            flying_phase = phase
        while flying:
            land(*flying.popleft())
    if failures:
        raise _first(failures)


def _first(failures):
    for exc in failures:
        if not isinstance(exc, ConflictError):
            return exc
    return failures[0]
