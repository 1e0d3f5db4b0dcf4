# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: identifier
author: apigw.router contributors
version_added: 0.2.0
short_description: Whether a value is a valid instance or project ID for this collection
description:
  - True when the value is a string that the modules accept as C(instance_id) or C(project_id)
    (letters, digits, C(_) and C(-), 1 to 64 characters, starting with a letter or digit).
  - The same rule as the modules; the role C(apigw.router.fleet_refresh) checks a whole fleet with it
    before the first batch is sent.
options:
  _input:
    description: The value to check.
    type: raw
    required: true
'''

EXAMPLES = r'''
- name: The instance IDs that the modules would refuse
  ansible.builtin.debug:
    msg: "{{ ids | reject('apigw.router.identifier') | list }}"
'''

RETURN = r'''
_value:
  description: Whether the value is a valid identifier.
  type: boolean
'''

from ansible_collections.apigw.router.plugins.module_utils.common._validation import IDENTIFIER_RE


def identifier(value):
    return isinstance(value, str) and IDENTIFIER_RE.match(value) is not None


class TestModule(object):
    def tests(self):
        return {"identifier": identifier}
