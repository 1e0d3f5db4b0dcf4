# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # Every module of the collection is in the action group apigw.router.apigw.
    DOCUMENTATION = r'''
attributes:
  action_group:
    description: Use C(group/apigw.router.apigw) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - apigw.router.apigw
'''

    CHECK_MODE_FULL = r'''
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
    support: full
'''

    READ_ONLY = r'''
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
    support: full
    details: The module changes nothing in etcd or the management API; it may write its small O(src) cache file
      (see O(source_cache)), in check mode too.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
    support: none
'''
