# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# Test-only: loaded by tests/support/apigw_support/ansible.py, never shipped.

"""Write every task result and the final stats as JSON lines for the integration tests."""

from __future__ import annotations

DOCUMENTATION = r"""
name: apigw_test_results
type: aggregate
short_description: task results as JSON lines, for the apigw.router integration tests
description:
  - Appends one JSON object per task result (and one for the final stats) to the file
    named by the E(APIGW_TEST_RESULTS_FILE) environment variable. Does nothing without it.
  - Results are the ones every callback sees, so C(no_log) results arrive censored.
requirements:
  - enabled through C(callbacks_enabled)
"""

import json
import os

from ansible.playbook.handler import Handler
from ansible.plugins.callback import CallbackBase

try:
    from ansible.vars.clean import module_response_deepcopy, strip_internal_keys
except ImportError:  # pragma: no cover - every supported ansible-core has them
    module_response_deepcopy = strip_internal_keys = None

ENV_FILE = 'APIGW_TEST_RESULTS_FILE'


def _json_default(value):
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    return str(value)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'apigw_test_results'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get(ENV_FILE)
        self._play = None

    def _write(self, record):
        if not self._path:
            return
        line = json.dumps(record, default=_json_default, ensure_ascii=False, sort_keys=True)
        # One open/append per record: what was written survives a crash or a kill.
        with open(self._path, 'a', encoding='utf-8') as f:
            f.write(line + '\n')

    def _record(self, result, status, ignore_errors=False):
        # ansible-core 2.19 exposes task/host/result; older versions only the private names.
        task = getattr(result, 'task', None) or result._task
        host = getattr(result, 'host', None) or result._host
        data = getattr(result, 'result', None)
        if data is None:
            data = result._result
        data = dict(data)
        if strip_internal_keys is not None:
            data = strip_internal_keys(module_response_deepcopy(data))
        self._write({
            'event': 'task',
            'status': status,
            'ignore_errors': bool(ignore_errors),
            'play': self._play,
            'task': task.get_name(),
            'action': task.action,
            'resolved_action': getattr(task, 'resolved_action', None) or task.action,
            'handler': isinstance(task, Handler),
            'host': host.get_name(),
            'changed': bool(data.get('changed', False)),
            'result': data,
        })

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed', ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        self._write({'event': 'stats', 'hosts': {h: stats.summarize(h) for h in hosts}})
