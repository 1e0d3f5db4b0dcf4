# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Keys that are not what a sync expects, through real ansible-playbook against a real etcd.

- A key under an instance's ``apis/`` that is not UTF-8 is a stray key like any other: info
  reads it, check mode and the diff show it escaped, the sync deletes it. Keys that are not
  UTF-8 outside that prefix are never touched.
- Two fleet items on one etcd cluster whose key spaces nest are refused before any write.

Keys are put and read back with etcdctl as raw bytes (``-w json`` gives them in base64).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json

import pytest

from apigw_support.etcd import etcd_single
from test_etcd_mode import (
    APIS, ROUTED, assert_clean_failure, conn, expected_state, ignoring, info, refresh)


@pytest.fixture(scope='module')
def etcd(tmp_path_factory):
    with etcd_single(tmp_path_factory.mktemp('etcd-keys')) as cluster:
        yield cluster


def raw_kvs(cluster, prefix):
    """``{key bytes: (value bytes, mod_revision)}`` under ``prefix`` (bytes), read by etcdctl."""
    out = json.loads(cluster.etcdctl(['get', prefix, '--prefix', '-w', 'json']))
    return dict((base64.b64decode(kv['key']), (base64.b64decode(kv.get('value', '')), int(kv['mod_revision'])))
                for kv in out.get('kvs', []))


def raw_put(cluster, key, value):
    """etcdctl put of a bytes key (a command-line argument may hold any byte but NUL)."""
    cluster.etcdctl(['put', key, value])


def as_bytes(state):
    return dict((k.encode('utf-8'), v) for k, v in state.items())


def test_a_key_under_apis_that_is_not_utf8_is_pruned_and_shown_escaped(ansible, etcd):
    prefix, instance = '/t/keys', 'inst-k'
    task = refresh('sync', instance_id=instance, apis=APIS, key_prefix=prefix, **conn(etcd))
    ansible.run_tasks([task], name='setup').assert_success()

    stray = b'/t/keys/inst-k/apis/\xff\xfe-stray'
    shown = '/t/keys/inst-k/apis/\\xff\\xfe-stray'  # Python's backslashreplace
    raw_put(etcd, stray, 'stray value')
    # Not UTF-8 either, but outside the instance's apis/: never touched.
    outside = [b'/t/keys/inst-k/\xff', b'/t/keys/inst-k/apisX/\xff', b'/t/keys/inst-k/apis\xff',
               b'/t/keys/inst-k2/apis/\xff', b'/t/keys/inst-\xff/apis/api-min', b'/t/keys\xff/inst-k/apis/x']
    for key in outside:
        raw_put(etcd, key, 'foreign')
    foreign = dict((k, v) for k, v in raw_kvs(etcd, b'/t/keys').items() if k in outside)
    assert len(foreign) == len(outside)

    # info: the stray key is read, counted and reported escaped
    run = ansible.run_tasks([info('read', instance_id=instance, key_prefix=prefix, records=True, compare=True,
                                  apis=APIS, **conn(etcd))], name='info').assert_success()
    read = run.task('read')
    assert read['count'] == 4 and read['in_sync'] is False
    assert read['drift'] == {'create': [], 'update': [], 'delete': [shown]}
    assert {'key': shown, 'invalid': True, 'value': 'stray value'} in read['routes']

    # check mode: it would delete the key, shown escaped in the result and the diff; nothing written
    revision = etcd.revision()
    run = ansible.run_tasks([task], check=True, diff=True, name='check').assert_success()
    checked = run.task('sync')
    assert checked.changed is True and checked['deleted'] == [shown] and checked['created'] == []
    assert checked['diff']['before'][shown] == 'stray value'
    assert etcd.revision() == revision

    # apply: the key is gone; the instance holds exactly its routes; everything else as it was
    run = ansible.run_tasks([task], diff=True, name='apply').assert_success()
    applied = run.task('sync')
    assert applied.changed is True and applied['deleted'] == [shown] and applied['unchanged'] == len(ROUTED)
    assert shown in applied['diff']['before']
    after = raw_kvs(etcd, b'/t/keys')
    assert dict((k, v[0]) for k, v in after.items() if k.startswith(b'/t/keys/inst-k/apis/')) == dict(
        (k, v) for k, v in as_bytes(expected_state(prefix, instance)).items() if b'/apis/' in k)
    assert dict((k, v) for k, v in after.items() if k in outside) == foreign
    assert set(after) == set(as_bytes(expected_state(prefix, instance))) | set(outside)

    # re-run: nothing to do
    revision = etcd.revision()
    run = ansible.run_tasks([task], name='rerun').assert_success()
    assert run.task('sync').changed is False and etcd.revision() == revision


def test_fleet_items_whose_key_spaces_nest_are_refused_before_any_write(ansible, etcd):
    # Y's key space lies inside X's apis/: a sync of X would prune Y's routes and lock.
    inner = dict(instance_id='inst-y', key_prefix='/t/nest/inst-x/apis')
    ansible.run_tasks([refresh('y alone', apis=APIS, **dict(inner, **conn(etcd)))], name='y').assert_success()
    y_state = raw_kvs(etcd, b'/t/nest/inst-x/apis/inst-y/')
    assert set(y_state) == set(as_bytes(expected_state('/t/nest/inst-x/apis', 'inst-y')))

    items = [dict(instance_id='inst-x', key_prefix='/t/nest'), inner]
    revision = etcd.revision()
    run = ansible.run_tasks([
        ignoring(refresh('sync', apis=APIS, instances=items, **conn(etcd))),
        ignoring(info('read', instances=items, **conn(etcd))),
    ], name='nested')
    for name in ('sync', 'read'):
        assert_clean_failure(run, name, 'instances[0] (instance inst-x) and instances[1] (instance inst-y) have '
                                        'nested etcd key spaces', '/t/nest/inst-x/ holds /t/nest/inst-x/apis/inst-y/',
                             'the same key_prefix for both')
    # out of band: nothing written, Y intact
    assert etcd.revision() == revision
    assert raw_kvs(etcd, b'/t/nest/') == y_state

    # the way out the message names: one key_prefix for both
    items = [dict(instance_id='inst-x', key_prefix='/t/flat'), dict(inner, key_prefix='/t/flat')]
    run = ansible.run_tasks([refresh('sync', apis=APIS, instances=items, **conn(etcd))], name='flat')
    assert run.assert_success().task('sync')['summary']['changed'] == 2
    assert dict((k, v[0]) for k, v in raw_kvs(etcd, b'/t/flat/').items()) == as_bytes(
        dict(expected_state('/t/flat', 'inst-x'), **expected_state('/t/flat', 'inst-y')))
    assert raw_kvs(etcd, b'/t/nest/') == y_state
