# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: fleet_refresh_outcome
author: apigw.router contributors
version_added: 0.3.0
short_description: The summary, printed lines and reports of a run of the role fleet_refresh
description:
  - Turns the results of every batch of the role C(apigw.router.fleet_refresh) into the fact
    C(fleet_refresh_summary), the lines of its printed summary and the texts of C(fleet_refresh.json) and
    C(fleet_refresh.junit.xml).
  - The instances of the fleet after the last result are reported as not started (skipped).
  - Used by the role; it has no use of its own outside the role.
options:
  _input:
    description:
      - The results of each batch, in order, as the module M(apigw.router.apigw_router_refresh) returned them
        in C(results); each batch either as that list or as its JSON text.
    type: list
    elements: raw
    required: true
  fleet:
    description: Every instance of the run (dicts with C(instance_id)), in input order.
    type: list
    elements: dict
    required: true
  mode:
    description: The module's mode, V(api) or V(etcd).
    type: str
    required: true
  check_mode:
    description: Whether the run was in check mode.
    type: bool
    required: true
  resources:
    description: The resources refreshed in V(api) mode.
    type: list
    elements: str
    required: true
  batch_size:
    description: Instances per batch, as recorded in the JSON report.
    type: int
    required: true
  max_fail_percentage:
    description: The failure threshold, as recorded in the reports.
    type: raw
    required: true
  report_dir:
    description: The report directory, named in the printed summary when not empty.
    type: str
    required: true
  listed_failures:
    description: At most this many failed instances are listed in the printed summary.
    type: int
    required: true
'''

EXAMPLES = r'''
- name: Summarise the batches
  ansible.builtin.set_fact:
    outcome: >-
      {{ batches | apigw.router.fleet_refresh_outcome(fleet, 'api', ansible_check_mode, ['apis'], 100, 0, '', 20) }}
'''

RETURN = r'''
_value:
  description: The outcome of the run.
  type: dict
  contains:
    summary:
      description: The fact C(fleet_refresh_summary) (C(total), C(changed), C(unchanged), C(failed),
        C(failed_instances), C(skipped), C(skipped_instances)).
      type: dict
    lines:
      description: The printed summary, a headline then the failed instances.
      type: list
      elements: str
    json_report:
      description: The text of C(fleet_refresh.json).
      type: str
    junit_report:
      description: The text of C(fleet_refresh.junit.xml).
      type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.apigw.router.plugins.plugin_utils._fleet_refresh import outcome


def fleet_refresh_outcome(batches, fleet, mode, check_mode, resources, batch_size, max_fail_percentage, report_dir,
                          listed_failures):
    if not isinstance(batches, (list, tuple)) or not isinstance(fleet, (list, tuple)):
        raise AnsibleFilterError('fleet_refresh_outcome: the batches and the fleet must be lists')
    return outcome(batches, fleet, mode, check_mode, resources, batch_size, max_fail_percentage, report_dir,
                   listed_failures)


class FilterModule(object):
    def filters(self):
        return {'fleet_refresh_outcome': fleet_refresh_outcome}
