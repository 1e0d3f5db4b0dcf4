# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for etcd/_pipeline: a few transactions in flight, phases kept apart, failures."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading
import time

import pytest

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ConflictError, EtcdError
from ansible_collections.apigw.router.plugins.module_utils.etcd._pipeline import send_in_order


class Recorder:
    """A ``send`` that logs when each batch starts and ends; ``fail`` maps a batch to its exception."""

    def __init__(self, fail=None, pause=0.02, meet=()):
        self.events, self.committed = [], []
        self.fail = fail or {}
        self.pause = pause
        self._lock = threading.Lock()
        self.running = self.most_running = 0
        # The batches in ``meet`` wait for each other: only batches in flight together get past.
        self._meet = set(meet)
        self._barrier = threading.Barrier(len(meet), timeout=5) if meet else None

    def send(self, batch):
        with self._lock:
            self.events.append(('start', batch[0]))
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            if batch[0] in self._meet:
                self._barrier.wait()
            time.sleep(self.pause)
            if batch[0] in self.fail:
                raise self.fail[batch[0]]
            return 100 + batch[0]
        finally:
            with self._lock:
                self.running -= 1
                self.events.append(('end', batch[0]))

    def on_commit(self, batch, revision):
        self.committed.append((batch[0], revision))

    def started(self):
        return [i for kind, i in self.events if kind == 'start']

    def position(self, kind, index):
        return self.events.index((kind, index))


def phases(*names):
    """Batches (index, phase) and the phase_of reading them."""
    return list(enumerate(names)), lambda batch: batch[1]


def test_batches_of_one_phase_overlap_up_to_the_limit_and_commit_in_order():
    batches, phase_of = phases(*['write'] * 9)
    rec = Recorder(meet=(0, 1, 2))  # the first three can only pass together
    send_in_order(batches, rec.send, phase_of, rec.on_commit, 3)
    assert rec.committed == [(i, 100 + i) for i in range(9)]
    assert rec.most_running == 3
    assert sorted(rec.started()) == list(range(9))


def test_a_batch_without_a_phase_goes_alone():
    batches, phase_of = phases('write', 'write', 'write', None, 'delete', 'delete')
    rec = Recorder()
    send_in_order(batches, rec.send, phase_of, rec.on_commit, 4)
    # The manifest's batch (3) starts after every earlier one ended, and ends before any later one starts.
    assert all(rec.position('end', i) < rec.position('start', 3) for i in (0, 1, 2))
    assert all(rec.position('end', 3) < rec.position('start', i) for i in (4, 5))
    assert [i for i, _rev in rec.committed] == list(range(6))


def test_deletes_wait_for_every_write():
    batches, phase_of = phases('write', 'write', 'write', 'delete', 'delete', None)
    rec = Recorder(meet=(3, 4))  # the deletes overlap each other, not the writes
    send_in_order(batches, rec.send, phase_of, rec.on_commit, 4)
    first_delete = min(rec.position('start', 3), rec.position('start', 4))
    assert all(rec.position('end', i) < first_delete for i in (0, 1, 2))
    assert rec.most_running >= 2


def test_a_failure_stops_sending_and_reports_what_was_in_flight():
    batches, phase_of = phases(*['write'] * 8)
    conflict = ConflictError('keys changed', [b'/k/2'])
    rec = Recorder(fail={1: conflict}, meet=(0, 1, 2, 3))
    with pytest.raises(ConflictError) as err:
        send_in_order(batches, rec.send, phase_of, rec.on_commit, 4)
    assert err.value is conflict
    # Waiting for 0 freed a place for 4 before 1 had answered; 1's failure, seen next, stopped 5 to 7.
    # 2, 3 and 4 were in flight with 1 and committed: they are reported.
    assert rec.committed == [(0, 100), (2, 102), (3, 103), (4, 104)]
    assert sorted(rec.started()) == [0, 1, 2, 3, 4]


def test_an_etcd_error_wins_over_a_conflict():
    batches, phase_of = phases(*['delete'] * 4)
    lost = EtcdError('lost the etcd lock')
    rec = Recorder(fail={1: ConflictError('keys changed', [b'/k/1']), 2: lost}, meet=(0, 1, 2, 3))
    with pytest.raises(EtcdError) as err:
        send_in_order(batches, rec.send, phase_of, rec.on_commit, 4)
    assert err.value is lost  # a conflict would lead to a re-plan: not under a lost lock
    assert rec.committed == [(0, 100), (3, 103)]


def test_one_in_flight_sends_in_the_callers_thread_and_stops_at_the_failure():
    batches, phase_of = phases(*['write'] * 4)
    threads = []
    rec = Recorder(fail={2: EtcdError('refused')}, pause=0)

    def send(batch):
        threads.append(threading.current_thread())
        return rec.send(batch)
    with pytest.raises(EtcdError):
        send_in_order(batches, send, phase_of, rec.on_commit, 1)
    assert set(threads) == {threading.current_thread()}
    assert rec.started() == [0, 1, 2] and rec.committed == [(0, 100), (1, 101)]
