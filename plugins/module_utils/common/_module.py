# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The modules' shell: AnsibleModule with this collection's argspec, secrets, warnings and failures.

A module file is its docs, its option groups and ``ApigwRouterModule(...).execute(run)``,
where ``run(params, check_mode, diff, warn)`` returns the result dict and raises the
collection's exceptions. This is the only file below the modules that knows AnsibleModule.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.apigw.router.plugins.module_utils.common._argspec import merged
from ansible_collections.apigw.router.plugins.module_utils.common._errors import MissingLibraryError, failure
from ansible_collections.apigw.router.plugins.module_utils.common._secrets import (
    hidden_values, plaintext_password_warnings)


class ApigwRouterModule(object):
    """An AnsibleModule whose argument_spec is the merge of ``option_groups`` (later ones win).

    Check mode is supported by every module of the collection unless told otherwise; the
    other keyword arguments are AnsibleModule's.
    """

    def __init__(self, *option_groups, **kwargs):
        kwargs.setdefault("supports_check_mode", True)
        self._module = AnsibleModule(argument_spec=merged(*option_groups), **kwargs)
        self.params = self._module.params
        # Ansible masks no_log options only: also the password of etcd_user's user:password form and
        # of a URL's userinfo (refused, but quoted in the invocation), wherever they would show.
        self._module.no_log_values.update(hidden_values(self.params))

    def warn(self, warning):
        """The one way a module or a run warns."""
        self._module.warn(warning)

    def execute(self, run):
        """Run ``run(params, check_mode, diff, warn)`` and exit the module: the entry point, where
        an exception from outside the per-instance work becomes the module's failure."""
        module = self._module
        result = run_to_result(run, self.params, module.check_mode, module._diff, self.warn)
        if result.get("failed"):
            module.fail_json(**result)
        module.exit_json(**result)


def run_to_result(run, params, check_mode, diff, warn):
    """The module's result of ``run(params, check_mode, diff, warn)`` on validated ``params``,
    with ``failed`` set when it failed: an exception from outside the per-instance work
    becomes the failure. Without AnsibleModule, so that the refresh action can also run it in
    the controller's process (plugin_utils/_in_process.py); masking secrets is the caller's."""
    for warning in plaintext_password_warnings(params, etcd=params.get("mode") in (None, "etcd")):
        warn(warning)
    ending = fleet_invocation(params)
    try:
        result = run(params, check_mode, diff, warn)
    except MissingLibraryError as exc:
        return dict(failed=True, msg=missing_required_lib(exc.library, reason=exc.reason),
                    exception=exc.exception_text, **ending)
    except Exception:  # pylint: disable=broad-except
        return dict(failure(), **ending)
    result.update(ending)
    return result


def fleet_invocation(params):
    """With ``instances``: Ansible's ``invocation`` (the module's arguments, returned with every
    result), but each item with only the suboptions it sets.

    The argspec fills each unset suboption of every item with null, so that for a fleet most of
    what the module returns would be those nulls, and the controller parses, copies and scans the
    whole result once per task. Secrets are still masked by AnsibleModule, as in its own.
    """
    if not params.get("instances"):
        return {}
    module_args = dict(params)
    module_args["instances"] = [dict((name, value) for name, value in item.items() if value is not None)
                                for item in params["instances"]]
    return {"invocation": {"module_args": module_args}}
