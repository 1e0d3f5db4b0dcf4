# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Per-instance targets in the ``instances`` form: each item with its own etcd cluster.

Dedicated APIG instances usually each have their own etcd. Six instances over three real
etcd clusters (plain, plain, TLS with a range-limited user) are synced in one task and read
back with the info module; every cluster is then dumped with etcdctl, as root, to check that
it holds exactly its own instances' routes and nothing of the others'.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from apigw_support.etcd import ROOT_PASSWORD, USER, USER_PASSWORD, etcd_single
from test_etcd_mode import APIS, INFO, REFRESH, ROUTED, assert_clean_failure, expected_state, ignoring

PREFIX = '/apig/router'  # the only range the TLS cluster's user may write
OTHER_PREFIX = '/b-router'
SECRETS = (USER_PASSWORD, ROOT_PASSWORD)


@pytest.fixture(scope='module')
def clusters(tmp_path_factory):
    with etcd_single(tmp_path_factory.mktemp('etcd-a')) as a, \
            etcd_single(tmp_path_factory.mktemp('etcd-b')) as b, \
            etcd_single(tmp_path_factory.mktemp('etcd-c'), tls=True, auth=True) as c:
        yield a, b, c


def fleet(a, b, c):
    """Six items: two on the module's cluster (a), two on b (one under another prefix), two on c."""
    on_c = dict(etcd_endpoints=c.endpoints, etcd_ca_cert=c.certs['ca'], etcd_client_cert=c.certs['client_cert'],
                etcd_client_key=c.certs['client_key'], etcd_user=USER, etcd_password='{{ etcd_c_password }}')
    return [
        dict(instance_id='inst-a1'),
        dict(instance_id='inst-b1', etcd_endpoints=b.endpoints),
        dict(instance_id='inst-c1', **on_c),
        dict(instance_id='inst-a2'),
        dict(instance_id='inst-b2', etcd_endpoints=b.endpoints, key_prefix=OTHER_PREFIX),
        dict(instance_id='inst-c2', **on_c),
    ]


def everything(cluster):
    """Every key of the cluster, read with etcdctl as root."""
    return cluster.dump('/')


def test_six_instances_over_three_clusters(ansible, clusters):
    a, b, c = clusters
    ansible.extra_vars.update(etcd_c_password=USER_PASSWORD)
    items = fleet(a, b, c)
    module_options = dict(instances=items, key_prefix=PREFIX, etcd_endpoints=a.endpoints, concurrency=4)
    tasks = [{'name': 'sync', REFRESH: dict(mode='etcd', apis=APIS, **module_options)},
             {'name': 'read', INFO: dict(compare=True, apis=APIS, **module_options)}]

    run = ansible.run_tasks(tasks, verbosity=3, name='sync').assert_success()
    sync = run.task('sync')
    assert sync.changed is True and sync['summary'] == dict(total=6, changed=6, unchanged=0, failed=0)
    assert [r['instance_id'] for r in sync['results']] == [i['instance_id'] for i in items]
    assert all(r['created'] == ROUTED for r in sync['results'])
    read = run.task('read')
    assert [(r['count'], r['in_sync']) for r in read['results']] == [(3, True)] * 6
    assert read['msg'] == '6 instance(s) read: 18 route(s), 6 in sync, 0 drifting, 0 failed'

    # Out of band: each cluster holds its own instances, and only those.
    assert everything(a) == dict(expected_state(PREFIX, 'inst-a1'), **expected_state(PREFIX, 'inst-a2'))
    assert everything(b) == dict(expected_state(PREFIX, 'inst-b1'), **expected_state(OTHER_PREFIX, 'inst-b2'))
    assert everything(c) == dict(expected_state(PREFIX, 'inst-c1'), **expected_state(PREFIX, 'inst-c2'))
    output = run.stdout + run.stderr
    for secret in SECRETS:
        assert secret not in output

    # A second run changes nothing anywhere.
    revisions = [cluster.revision() for cluster in clusters]
    run = ansible.run_tasks(tasks[:1], name='rerun').assert_success()
    assert run.task('sync')['summary']['unchanged'] == 6
    assert [cluster.revision() for cluster in clusters] == revisions


@pytest.mark.parametrize('index, override, fragments', [
    (5, dict(etcd_client_key=None), ['instances[5]', 'etcd_client_cert and etcd_client_key']),
    (4, dict(key_prefix='no-slash'), ['instances[4].key_prefix', "must start with '/'"]),
    (1, dict(etcd_endpoints=[]), ['instances[1].etcd_endpoints must list at least one endpoint']),
    (2, dict(etcd_ca_cert='/nonexistent/ca.pem'), ['instances[2]', '/nonexistent/ca.pem']),
])
def test_a_bad_item_is_refused_before_any_write(ansible, clusters, index, override, fragments):
    a, b, c = clusters
    ansible.extra_vars.update(etcd_c_password=USER_PASSWORD)
    items = fleet(a, b, c)
    items[index] = dict(items[index], **override)
    prefix = '/refused'  # nothing else in these tests writes here
    for item in items:
        if 'key_prefix' not in item:
            item['key_prefix'] = prefix if item['instance_id'] not in ('inst-c1', 'inst-c2') else PREFIX + '-x'
    revisions = [cluster.revision() for cluster in clusters]
    run = ansible.run_tasks([ignoring({'name': 'sync', REFRESH: dict(
        mode='etcd', apis=APIS, instances=items, etcd_endpoints=a.endpoints)})], name='refused')
    assert_clean_failure(run, 'sync', *fragments)
    assert [cluster.revision() for cluster in clusters] == revisions


def test_etcd_options_of_an_item_are_refused_in_api_mode(ansible, clusters):
    a, b, _c = clusters
    run = ansible.run_tasks([ignoring({'name': 'refresh', REFRESH: dict(
        instances=[dict(instance_id='inst-a1'), dict(instance_id='inst-b1', etcd_endpoints=b.endpoints)],
        project_id='p1', endpoint='http://127.0.0.1:9', auth_token='unused-token-7f3a')})], name='api')
    assert_clean_failure(run, 'refresh', 'instances[1].etcd_endpoints is an etcd connection option')
