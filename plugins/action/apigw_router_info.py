# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# Finds O(src) on the controller the way ansible.builtin.copy does (see plugin_utils/_source_action.py).

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.apigw.router.plugins.plugin_utils._source_action import SourceFileAction


class ActionModule(SourceFileAction):

    def uses_src(self, args):
        # The source is read only for a drift check.
        return boolean(args.get('compare', False), strict=False)
