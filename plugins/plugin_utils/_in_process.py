# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The refresh of a ``fleet_refresh`` batch, run in the controller's own process.

Every task that runs a module costs a module process: Ansible builds the AnsiballZ payload,
starts a Python, which unpacks it and compiles ``ansible.module_utils.basic`` from source (a
zip holds no bytecode), about 0.4 s of CPU before the module does anything. The role runs
one refresh per batch, so ten batches of 100 cost twice the whole refresh of the 1,000
instances. When the module would run on the controller anyway, the refresh action runs the
module's own code (``runs/_api_mode.py``, through ``common/_module.py``) in the worker that
Ansible already forked for the task: the same argument checks, results, failures and
masking of secrets, without that process.

Only where the two cannot differ: the role asks for it (the task variable IN_PROCESS_VAR,
from ``fleet_refresh_in_process``), API mode (etcd mode reads a ``src`` and holds gRPC
channels, which are the module's), a local connection without ``become`` or ``async``, the
host's Python the controller's own (``ansible_python_interpreter`` naming the same file, as
the implicit localhost's does), ``requests`` importable there, and arguments that the module
would accept without a warning. Otherwise the module runs as usual; ``-vvv`` says why.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import sys

from importlib.util import find_spec

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.text.converters import jsonify

from ansible_collections.apigw.router.plugins.module_utils.common import _argspec as spec
from ansible_collections.apigw.router.plugins.module_utils.common._module import run_to_result
from ansible_collections.apigw.router.plugins.module_utils.common._secrets import hidden_values

# Set by the role's batch task to fleet_refresh_in_process; nothing else sets it.
IN_PROCESS_VAR = '_apigw_router_in_process'


def why_not(args, transport, become, async_val, interpreter, environment=None, controller_python=sys.executable,
            has_requests=None):
    """Why the refresh with ``args`` must run as a module process, or None when it may run here.
    ``interpreter``: the host's ``ansible_python_interpreter``, templated (None when unset: then
    the module's Python is the configured or discovered one, not necessarily the controller's);
    ``environment``: the task's ``environment``."""
    if args.get('mode', 'api') != 'api':
        return 'mode %s runs as a module' % args.get('mode')
    if transport != 'local':
        return 'the connection is %s, not local' % transport
    if become:
        return 'become is set'
    if async_val:
        return 'async is set'
    # The same file by name, not by resolving links: a virtualenv's python links to its base
    # interpreter, which has other packages.
    if interpreter is None or _normal(interpreter) != _normal(controller_python):
        return "the host's ansible_python_interpreter is %s, not the controller's %s" % (
            interpreter or 'not set', controller_python)
    started = sorted(k for k in (environment or {}) if k.startswith(('PYTHON', 'LD_')))
    if started:
        return 'the task environment sets %s, which only a new process takes' % ', '.join(started)
    if not (find_spec('requests') is not None if has_requests is None else has_requests):
        return "the controller's Python has no requests"
    return None


def _normal(path):
    return os.path.normpath(os.path.abspath(os.path.expanduser(str(path))))


def validated(args):
    """``(params, no_log_values)`` as the module would check ``args``, or None when the module
    would refuse them or warn about them (it then says so in its own words)."""
    options = spec.merged(*spec.REFRESH_OPTIONS)
    result = ArgumentSpecValidator(options, **spec.REFRESH_CONSTRAINTS).validate(dict(args))
    # The private attributes are AnsibleModule's own way to these (stable since ansible-core 2.11).
    if result.error_messages or result._warnings or result._deprecations:  # pylint: disable=protected-access
        return None
    params = result.validated_parameters
    return params, set(result._no_log_values) | set(hidden_values(params))  # pylint: disable=protected-access


def refresh(params, no_log_values, check_mode, diff):
    """The result the module would return for ``params``: failures as ``failed``, warnings as
    ``warnings``, secrets masked, and JSON types only (as parsed from a module's output)."""
    # Imported here: only a run in this process pays for requests and the HTTP client.
    from ansible_collections.apigw.router.plugins.module_utils.runs._api_mode import run_api_refresh

    warnings = []
    result = run_to_result(run_api_refresh, params, check_mode, diff, warnings.append)
    result.setdefault('invocation', {'module_args': params})
    if warnings:
        result['warnings'] = warnings
    # As AnsibleModule: top-level true, false and null are kept from masking (changed, failed).
    preserved = dict((k, v) for k, v in result.items() if v is None or isinstance(v, bool))
    result = remove_values(result, no_log_values)
    result.update(preserved)
    return json.loads(jsonify(result))
