# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: fleet_refresh_problems
author: apigw.router contributors
version_added: 0.3.0
short_description: What is wrong with a fleet and the settings of the role fleet_refresh
description:
  - The checks of the role C(apigw.router.fleet_refresh) that its argument spec cannot express, over the whole
    list at once, before the first batch is sent.
  - An empty list; an C(instance_id) or C(project_id) that the modules would refuse (the rule of the test
    C(apigw.router.identifier)); an instance listed twice; a batch size, concurrency or failure percentage out
    of range.
  - Used by the role; it has no use of its own outside the role.
options:
  _input:
    description: The instances, dicts with C(instance_id).
    type: list
    elements: dict
    required: true
  source:
    description: The name of the variable that gave the instances, for the message about an empty list.
    type: str
    required: true
  batch_size:
    description: Instances per batch, at least 1.
    type: raw
    required: true
  concurrency:
    description: Instances processed at once, 1 to 256.
    type: raw
    required: true
  max_fail_percentage:
    description: The failure threshold, 0 to 100.
    type: raw
    required: true
'''

EXAMPLES = r'''
- name: Refuse a bad fleet before the first request
  ansible.builtin.fail:
    msg: "{{ problems | join('; ') }}"
  when: problems | length > 0
  vars:
    problems: "{{ fleet | apigw.router.fleet_refresh_problems('fleet', 100, 16, 0) }}"
'''

RETURN = r'''
_value:
  description: One message per problem found; empty when the fleet and the settings are fine.
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.apigw.router.plugins.plugin_utils._fleet_refresh import fleet_problems


def fleet_refresh_problems(fleet, source, batch_size, concurrency, max_fail_percentage):
    if not isinstance(fleet, (list, tuple)):
        raise AnsibleFilterError('fleet_refresh_problems: the input must be a list of instances')
    return fleet_problems(fleet, source, batch_size, concurrency, max_fail_percentage)


class FilterModule(object):
    def filters(self):
        return {'fleet_refresh_problems': fleet_refresh_problems}
