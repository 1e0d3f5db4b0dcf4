# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# Finds O(src) on the controller the way ansible.builtin.copy does (see plugin_utils/_source_action.py),
# and runs the fleet_refresh role's batches in the controller's process (see plugin_utils/_in_process.py).

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.utils.display import Display

from ansible_collections.apigw.router.plugins.plugin_utils import _in_process
from ansible_collections.apigw.router.plugins.plugin_utils._source_action import SourceFileAction

display = Display()

# The strategy reads this plugin's class in the controller's main process, before it forks each
# task's worker: what is imported here, every worker that runs a batch in process has for free
# (about 0.025 s: the management API client). requests is not: importing it here (0.07 to 0.09 s)
# would save each in-process batch its own import, but every playbook that uses this module would
# pay it, an etcd sync or a module process elsewhere included (docs/BENCHMARK.md weighs the two).
# Not importable: no batch runs here.
try:
    from ansible_collections.apigw.router.plugins.module_utils.runs import _api_mode  # noqa: F401 pylint: disable=unused-import
except ImportError:
    pass


class ActionModule(SourceFileAction):

    def uses_src(self, args):
        # Only the etcd mode reads a source; the api mode rejects src with its own message.
        return args.get('mode') == 'etcd'

    def execute(self, args, task_vars, wrap_async):
        if boolean(self._templar.template(task_vars.get(_in_process.IN_PROCESS_VAR, False)), strict=False):
            environment = {}
            self._compute_environment_string(environment)
            environment = dict((str(k), str(v)) for k, v in environment.items())
            checked = self._in_process_params(args, task_vars, environment)
            if checked is not None:
                return _in_process.refresh(checked[0], checked[1], self._task.check_mode, self._task.diff)
        return super(ActionModule, self).execute(args, task_vars, wrap_async)

    def _in_process_params(self, args, task_vars, environment):
        """The checked parameters and secrets when this refresh may run in this process, else None."""
        host_vars = task_vars
        if self._task.delegate_to:  # the delegated host's interpreter, as the module would use
            host_vars = (task_vars.get('ansible_delegated_vars') or {}).get(self._task.delegate_to) or {}
        interpreter = host_vars.get('ansible_python_interpreter')
        if interpreter is not None:
            interpreter = self._templar.template(interpreter)
        why = _in_process.why_not(args, self._connection.transport, self._play_context.become,
                                  self._task.async_val, interpreter, environment)
        checked = None
        if why is None:
            # The task's environment, as a module process has it when its options are checked (their
            # environment variable fallbacks). This worker ends with the task: its environment is its own.
            os.environ.update(environment)
            checked = _in_process.validated(args)
            if checked is None:
                why = 'the module checks these arguments itself'
        display.vvv('apigw_router_refresh: %s' % ('runs in the controller\'s process' if why is None else
                                                  'runs as a module process: %s' % why),
                    host=self._task.delegate_to or task_vars.get('inventory_hostname'))
        return checked
