# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# The filters of the role fleet_refresh; each is documented in the .yml file of its name beside this one.
# The work is done in plugin_utils/_fleet_refresh.py.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.apigw.router.plugins.plugin_utils._fleet_refresh import (
    fleet_problems, host_instances, host_problems, outcome)


def fleet_refresh_host_instances(hosts, hostvars, mapping):
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError('fleet_refresh_host_instances: the input must be a list of host names')
    found = host_instances(hosts, hostvars, mapping)
    found['problems'] = host_problems(found['unknown_hosts'], found['hosts_without_id'])
    return found


def fleet_refresh_problems(fleet, source, batch_size, concurrency, max_fail_percentage):
    if not isinstance(fleet, (list, tuple)):
        raise AnsibleFilterError('fleet_refresh_problems: the input must be a list of instances')
    return fleet_problems(fleet, source, batch_size, concurrency, max_fail_percentage)


def fleet_refresh_outcome(batches, fleet, mode, check_mode, resources, batch_size, max_fail_percentage, report_dir,
                          listed_failures):
    if not isinstance(batches, (list, tuple)) or not isinstance(fleet, (list, tuple)):
        raise AnsibleFilterError('fleet_refresh_outcome: the batches and the fleet must be lists')
    return outcome(batches, fleet, mode, check_mode, resources, batch_size, max_fail_percentage, report_dir,
                   listed_failures)


class FilterModule(object):
    def filters(self):
        return {
            'fleet_refresh_host_instances': fleet_refresh_host_instances,
            'fleet_refresh_problems': fleet_refresh_problems,
            'fleet_refresh_outcome': fleet_refresh_outcome,
        }
