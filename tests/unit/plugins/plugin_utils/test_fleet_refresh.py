# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The role fleet_refresh's Python side: host instances, the checks, summary, printed lines, reports.

Expected values are written out by hand from the role's documented behaviour (README, argument spec).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import xml.etree.ElementTree as ET

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.apigw.router.plugins.filter.fleet_refresh import (
    FilterModule, fleet_refresh_host_instances, fleet_refresh_outcome, fleet_refresh_problems)
from ansible_collections.apigw.router.plugins.plugin_utils import _fleet_refresh as fr

RULE = ('must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ (a letter or digit, then up to 63 letters, digits, _ or -)')
MAPPING = {'apigw_instance_id': 'instance_id', 'apigw_project_id': 'project_id', 'apigw_etcd_password': 'etcd_password'}


class CountingHostVars(dict):
    """hostvars as a filter sees it: host name -> that host's variables; counts the look-ups."""

    def __init__(self, *args, **kwargs):
        super(CountingHostVars, self).__init__(*args, **kwargs)
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return dict.__getitem__(self, key)


# -- fleet_refresh_host_instances ------------------------------------------------------------------

def test_host_instances_take_only_set_variables_in_host_order():
    hostvars = CountingHostVars({
        'gw-2': {'apigw_instance_id': 'i-2', 'apigw_project_id': '', 'ansible_connection': 'local'},
        'gw-1': {'apigw_instance_id': 'i-1', 'apigw_project_id': 'p-1', 'apigw_etcd_password': None},
    })
    found = fleet_refresh_host_instances(['gw-2', 'gw-1'], hostvars, MAPPING)
    assert found == {'instances': [{'instance_id': 'i-2'}, {'instance_id': 'i-1', 'project_id': 'p-1'}],
                     'unknown_hosts': [], 'hosts_without_id': [], 'problems': ''}
    assert hostvars.reads == 2  # each host's variables once


def test_host_instances_name_unknown_hosts_and_hosts_without_id():
    hostvars = {'gw-%02d' % i: {} for i in range(12)}
    hostvars['gw-00'] = {'apigw_instance_id': 'i-0'}
    hosts = ['gw-%02d' % i for i in range(12)] + ['nowhere-1', 'nowhere-2']
    found = fleet_refresh_host_instances(hosts, hostvars, MAPPING)
    assert found['unknown_hosts'] == ['nowhere-1', 'nowhere-2']
    assert found['hosts_without_id'] == ['gw-%02d' % i for i in range(1, 12)]
    assert found['problems'] == (
        'fleet_refresh_hosts names hosts that are not in the inventory: nowhere-1, nowhere-2; '
        'these hosts of fleet_refresh_hosts have no apigw_instance_id (the apig_instances inventory plugin sets it; '
        'for other hosts set it in host_vars): gw-01, gw-02, gw-03, gw-04, gw-05, gw-06, gw-07, gw-08, gw-09, gw-10 '
        'and 1 more')


def test_host_instances_refuse_a_mapping_as_hosts():
    with pytest.raises(AnsibleFilterError, match='list of host names'):
        fleet_refresh_host_instances({'a': 1}, {}, MAPPING)


# -- fleet_refresh_problems ------------------------------------------------------------------------

def ids(*names):
    return [{'instance_id': name} for name in names]


@pytest.mark.parametrize('fleet, settings, expected', [
    (ids('a', 'b-1', 'C_2'), (100, 16, 0), []),
    ([], (100, 16, 0), ['fleet_refresh_instances is empty: list at least one instance']),
    (ids('ok', '../x', 'a/b', '', '-a', 'b c', 'x' * 65), (100, 16, 0),
     ['every instance_id %s; these do not: "../x", "a/b", "", "-a", "b c" and 1 more' % RULE]),
    ([{'instance_id': 'a'}, {'region': 'r'}], (100, 16, 0), ['every instance_id %s; these do not: ""' % RULE]),
    ([{'instance_id': 'a', 'project_id': 'p/1'}, {'instance_id': 'b', 'project_id': None}], (100, 16, 0),
     ['every project_id %s; these do not: "p/1"' % RULE]),
    (ids('f-1', 'f-2', 'f-1', 'f-2', 'f-1', 'f-0'), (100, 16, 0),
     ['list each instance once; listed more than once: f-1, f-2']),
    (ids(*['d-%02d' % i for i in range(12)] * 2), (100, 16, 0),
     ['list each instance once; listed more than once: %s and 2 more' % ', '.join('d-%02d' % i for i in range(10))]),
    (ids('a'), (0, 300, 101), ['fleet_refresh_batch_size must be at least 1, not 0',
                               'fleet_refresh_concurrency must be between 1 and 256, not 300',
                               'fleet_refresh_max_fail_percentage must be between 0 and 100, not 101']),
    (ids('a'), (1, 256, 100.0), []),
    (ids('a'), (1, 0, -0.5), ['fleet_refresh_concurrency must be between 1 and 256, not 0',
                              'fleet_refresh_max_fail_percentage must be between 0 and 100, not -0.5']),
])
def test_problems(fleet, settings, expected):
    assert fleet_refresh_problems(fleet, 'fleet_refresh_instances', *settings) == expected


def test_problems_name_the_source_of_an_empty_list():
    assert fleet_refresh_problems([], 'fleet_refresh_hosts', 100, 16, 0) == [
        'fleet_refresh_hosts is empty: list at least one instance']


# -- fleet_refresh_outcome -------------------------------------------------------------------------

OK = {'instance_id': 'a-1', 'changed': True, 'failed': False, 'msg': 'refreshed apis', 'status': 200,
      'error_code': None, 'attempts': 1}
SAME = {'instance_id': 'a-2', 'changed': False, 'failed': False, 'msg': 'nothing to change'}
GONE = {'instance_id': 'a-3', 'changed': False, 'failed': True, 'msg': 'the instance does not exist <&>',
        'status': 404, 'error_code': 'APIG.3030', 'error_msg': 'no such "instance"', 'request_id': 'r-3',
        'attempts': 1}
DOWN = {'instance_id': 'a-4', 'changed': False, 'failed': True, 'msg': 'unreachable', 'status': None,
        'error_code': None}
FLEET = ids('a-1', 'a-2', 'a-3', 'a-4', 'a-5', 'a-6')


def run_outcome(batches, **overrides):
    settings = dict(mode='api', check_mode=False, resources=['apis'], batch_size=2, max_fail_percentage=20,
                    report_dir='out', listed_failures=20)
    settings.update(overrides)
    return fleet_refresh_outcome(batches, FLEET, **settings)


def test_outcome_summary_counts_each_instance_once_and_skips_the_rest():
    # two batches ran (one as JSON text, one as a list), the third was never started
    result = run_outcome([json.dumps([OK, SAME]), [GONE, DOWN]])
    assert result['summary'] == {'total': 6, 'changed': 1, 'unchanged': 1, 'failed': 2,
                                 'failed_instances': ['a-3', 'a-4'], 'skipped': 2,
                                 'skipped_instances': ['a-5', 'a-6']}


def test_outcome_lines():
    result = run_outcome([[OK, SAME], [GONE, DOWN]])
    assert result['lines'] == [
        'fleet refresh (api): 6 instances, 1 changed, 1 unchanged, 2 failed, 2 not started',
        'FAILED a-3: status 404 APIG.3030: the instance does not exist <&>',
        'FAILED a-4: unreachable',
        'reports: out/fleet_refresh.json, out/fleet_refresh.junit.xml']
    lines = run_outcome([[OK, SAME], [GONE, DOWN]], mode='etcd', check_mode=True, report_dir='', listed_failures=1)
    assert lines['lines'] == [
        'fleet refresh (etcd, check mode): 6 instances, 1 changed, 1 unchanged, 2 failed, 2 not started',
        'FAILED a-3: status 404 APIG.3030: the instance does not exist <&>',
        '... and 1 more failed instances']


def test_outcome_json_report():
    text = run_outcome([[OK, SAME], [GONE]])['json_report']
    assert text.endswith('}\n') and text.startswith('{\n    "batch_size": 2,\n')
    report = json.loads(text)
    assert report == {'mode': 'api', 'check_mode': False, 'resources': ['apis'], 'batch_size': 2,
                      'max_fail_percentage': 20.0, 'results': [OK, SAME, GONE],
                      'summary': {'total': 6, 'changed': 1, 'unchanged': 1, 'failed': 1, 'failed_instances': ['a-3'],
                                  'skipped': 3, 'skipped_instances': ['a-4', 'a-5', 'a-6']}}
    assert json.loads(run_outcome([[OK]], mode='etcd')['json_report'])['resources'] == []


def test_outcome_junit_report():
    root = ET.fromstring(run_outcome([[OK, SAME], [GONE, DOWN]], check_mode=True)['junit_report'].encode())
    assert root.tag == 'testsuites' and root.get('name') == 'apigw.router.fleet_refresh'
    suite = root.find('testsuite')
    for element in (root, suite):
        assert (element.get('tests'), element.get('failures'), element.get('errors'), element.get('skipped')) == \
            ('6', '2', '0', '2')
    assert suite.get('name') == 'fleet_refresh.api.check'
    cases = suite.findall('testcase')
    assert [c.get('name') for c in cases] == ['a-1', 'a-2', 'a-3', 'a-4', 'a-5', 'a-6']
    assert all(c.get('classname') == 'fleet_refresh.api.check' for c in cases)
    assert cases[0].find('system-out').text == 'refreshed apis'
    assert cases[1].find('system-out').text == 'nothing to change'
    gone = cases[2].find('failure')
    assert (gone.get('message'), gone.get('type')) == ('the instance does not exist <&>', 'APIG.3030')
    assert gone.text.split('\n') == ['status: 404', 'error_code: APIG.3030', 'error_msg: no such "instance"',
                                     'request_id: r-3', 'attempts: 1']
    down = cases[3].find('failure')
    assert (down.get('message'), down.get('type'), down.text) == ('unreachable', 'failed', None)
    for case in cases[4:]:
        assert case.find('skipped').get('message') == 'not started: more than 20% of the fleet had failed'


def test_outcome_refuses_what_is_not_a_list():
    with pytest.raises(AnsibleFilterError, match='must be lists'):
        fleet_refresh_outcome('[]', FLEET, 'api', False, ['apis'], 1, 0, '', 20)


def test_the_role_finds_each_filter_by_its_name():
    assert sorted(FilterModule().filters()) == [
        'fleet_refresh_host_instances', 'fleet_refresh_outcome', 'fleet_refresh_problems']


@pytest.mark.parametrize('value, as_int, as_float', [
    (3, 3, 3.0), ('4', 4, 4.0), ('2.5', 2, 2.5), ('x', 0, 0.0), (None, 0, 0.0)])
def test_numbers_as_jinja_reads_them(value, as_int, as_float):
    assert (fr.as_int(value), fr.as_float(value)) == (as_int, as_float)
