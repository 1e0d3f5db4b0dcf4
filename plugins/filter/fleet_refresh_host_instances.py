# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: fleet_refresh_host_instances
author: apigw.router contributors
version_added: 0.3.0
short_description: The instances that inventory hosts describe, for the role fleet_refresh
description:
  - Makes the list of instances of the role C(apigw.router.fleet_refresh) from the variables of inventory hosts,
    reading each host's variables once.
  - A host variable that is unset, null or empty is left out of the host's instance.
  - Used by the role for C(fleet_refresh_hosts); it has no use of its own outside the role.
options:
  _input:
    description: Inventory host names, in the order of the instances.
    type: list
    elements: str
    required: true
  hostvars:
    description: The variables of every host, the magic variable C(hostvars).
    type: raw
    required: true
  mapping:
    description: "The instance's key for each host variable, for example C({'apigw_instance_id': 'instance_id'})."
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: The instances of the group apig_instances
  ansible.builtin.debug:
    msg: >-
      {{ groups['apig_instances'] | apigw.router.fleet_refresh_host_instances(hostvars,
         {'apigw_instance_id': 'instance_id', 'apigw_region': 'region'}) }}
'''

RETURN = r'''
_value:
  description: The instances and what is wrong with the hosts; use the instances only when both lists are empty.
  type: dict
  contains:
    instances:
      description: One dict per host found in the inventory, in input order.
      type: list
      elements: dict
    unknown_hosts:
      description: The host names that are not in the inventory.
      type: list
      elements: str
    hosts_without_id:
      description: The hosts without an C(instance_id) (no C(apigw_instance_id)).
      type: list
      elements: str
    problems:
      description: The role's message about these hosts, empty when there is nothing wrong.
      type: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.apigw.router.plugins.plugin_utils._fleet_refresh import host_instances, host_problems


def fleet_refresh_host_instances(hosts, hostvars, mapping):
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError('fleet_refresh_host_instances: the input must be a list of host names')
    found = host_instances(hosts, hostvars, mapping)
    found['problems'] = host_problems(found['unknown_hosts'], found['hosts_without_id'])
    return found


class FilterModule(object):
    def filters(self):
        return {'fleet_refresh_host_instances': fleet_refresh_host_instances}
