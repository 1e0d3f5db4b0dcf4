# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The etcd fixture's check that etcd's own members agree after a fault.

Real members cannot be made to diverge on purpose, so the divergent "cluster" here is two
single-member clusters with different data at the same revision, seen as one: exactly what
``endpoint hashkv`` shows when a member came back from a kill with other data.
"""

from __future__ import annotations

import json

import pytest

from apigw_support.etcd import (EtcdMembersDiverged, etcd_cluster, etcd_single, has_known_inconsistency,
                                server_version)


def test_server_version_and_the_known_bad_releases():
    assert server_version()[0].isdigit(), server_version()
    assert [v for v in ('3.4.23', '3.5.0', '3.5.1', '3.5.2', '3.5.3', '3.5.17', '3.6.0', '3.10.0')
            if has_known_inconsistency(v)] == ['3.5.0', '3.5.1', '3.5.2']


def test_members_agree_after_a_member_is_killed_while_writes_go_on(tmp_path):
    with etcd_cluster(tmp_path, size=3) as cluster:
        for i in range(20):
            cluster.put('/k/%d' % i, 'v%d' % i)
        dead = cluster.kill_leader()
        cluster.wait_healthy()
        cluster.put('/k/while-down', 'x')
        assert cluster.assert_members_agree() == cluster.revision()  # the two live members
        dead.start()
        cluster.wait_healthy(members=cluster.members)
        cluster.put('/k/after', 'y')
        revision = cluster.assert_members_agree()
        assert revision == cluster.revision()
        out = json.loads(cluster.etcdctl(['endpoint', 'status', '-w', 'json'], endpoints=[dead.endpoint]))
        assert out[0]['Status']['header']['revision'] == revision  # the restarted member was compared


def _dir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def _glued(base, values):
    """Single-member clusters holding ``values[i]`` under the same keys, one write per key."""
    clusters = [etcd_single(_dir(base / ('c%d' % i))) for i in range(len(values))]
    started = [c.__enter__() for c in clusters]
    for i, cluster in enumerate(started):
        cluster.members[0].name = 'm%d' % i  # names are unique within a real cluster
    for cluster, value in zip(started, values):
        for i in range(3):
            cluster.put('/k/%d' % i, value)
    return clusters, started


def test_different_data_is_reported_as_etcds_divergence(tmp_path):
    clusters, (a, b) = _glued(tmp_path, ['same', 'other'])
    try:
        a.members.append(b.members[0])
        with pytest.raises(EtcdMembersDiverged) as err:
            a.assert_members_agree(timeout=5)
        msg = str(err.value)
        assert msg.startswith("etcd's own members diverged after a fault (etcd %s, " % server_version()), msg
        assert '`etcdctl endpoint hashkv --rev=4` differs: m0=' in msg and 'keys per member: m0=3, m1=3' in msg
        assert 'etcd-io/etcd#13766' in msg and 'not of the code under test' in msg
        a.members.pop()
    finally:
        for c in clusters:
            c.__exit__(None, None, None)


def test_a_member_that_does_not_catch_up_is_reported(tmp_path):
    clusters, (a, b) = _glued(tmp_path, ['same', 'same'])
    try:
        b.put('/k/more', 'only here')  # b is one revision ahead and a never follows
        a.members.append(b.members[0])
        with pytest.raises(EtcdMembersDiverged) as err:
            a.assert_members_agree(timeout=1)
        assert 'stayed below revision 5' in str(err.value), str(err.value)
        a.members.pop()
    finally:
        for c in clusters:
            c.__exit__(None, None, None)


def test_a_faulted_cluster_is_checked_when_its_block_ends(tmp_path):
    other = etcd_single(_dir(tmp_path / 'other'))
    b = other.__enter__()
    b.members[0].name = 'm1'  # names are unique within a real cluster
    try:
        for i in range(3):
            b.put('/k/%d' % i, 'other')
        with pytest.raises(EtcdMembersDiverged):
            with etcd_cluster(_dir(tmp_path / 'main'), size=1) as cluster:
                for i in range(3):
                    cluster.put('/k/%d' % i, 'same')
                cluster.members.append(b.members[0])
                b.members[0].killed = True  # as if the test had killed and restarted it
        # The block's own failure is chained to the divergence, which is reported first.
        b.members[0].start()  # the block's end killed it with the rest of that cluster
        b.wait_healthy(members=b.members)
        assert b.members[0].killed
        with pytest.raises(EtcdMembersDiverged) as err:
            with etcd_cluster(_dir(tmp_path / 'again'), size=1) as cluster:
                for i in range(3):
                    cluster.put('/k/%d' % i, 'same')
                cluster.members.append(b.members[0])
                raise AssertionError('our own assertion')
        assert str(err.value.__cause__) == 'our own assertion'
    finally:
        other.__exit__(None, None, None)
