# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for plugin_utils/_in_process: when the role's refresh may run in the controller's
process, and that it then checks, fails and masks as the module does."""

from __future__ import absolute_import, division, print_function

import sys

import pytest

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError
from ansible_collections.apigw.router.plugins.module_utils.runs import _api_mode
from ansible_collections.apigw.router.plugins.plugin_utils import _in_process as ip

TOKEN = "MIIin-process-secret-7f3e"
ARGS = {"instances": [{"instance_id": "i-1"}, {"instance_id": "i-2", "region": "cn-north-4"}],
        "endpoint": "https://apig.example", "project_id": "p" * 32, "auth_token": TOKEN}


def why(args=None, transport="local", become=False, async_val=0, interpreter=sys.executable, environment=None,
        has_requests=True):
    return ip.why_not(dict(ARGS if args is None else args), transport, become, async_val, interpreter, environment,
                      controller_python=sys.executable, has_requests=has_requests)


def test_a_local_api_refresh_with_the_controllers_python_runs_here():
    assert why() is None
    assert why(environment={"HTTPS_PROXY": "http://proxy:3128"}) is None


@pytest.mark.parametrize("kwargs, reason", [
    (dict(args=dict(ARGS, mode="etcd")), "mode etcd runs as a module"),
    (dict(transport="ssh"), "the connection is ssh, not local"),
    (dict(become=True), "become is set"),
    (dict(async_val=30), "async is set"),
    (dict(interpreter="/nonexistent/python3"), "the host's ansible_python_interpreter is /nonexistent/python3"),
    (dict(has_requests=False), "the controller's Python has no requests"),
    # unset or auto: the module's Python is the configured or discovered one
    (dict(interpreter=None), "the host's ansible_python_interpreter is not set"),
    (dict(interpreter="auto_silent"), "the host's ansible_python_interpreter is auto_silent"),
    (dict(environment={"PYTHONPATH": "/x"}), "the task environment sets PYTHONPATH"),
])
def test_anything_that_could_make_the_run_differ_keeps_the_module_process(kwargs, reason):
    assert why(**kwargs).startswith(reason)


def test_arguments_are_checked_as_the_module_checks_them():
    params, secrets = ip.validated(ARGS)
    assert params["mode"] == "api" and params["concurrency"] == 16  # the module's defaults
    assert params["instances"][1]["region"] == "cn-north-4" and params["instances"][0]["region"] is None
    assert TOKEN in secrets  # auth_token is no_log


@pytest.mark.parametrize("args", [
    dict(ARGS, no_such_option=1),                       # refused by the module
    dict(ARGS, instance_id="i-9"),                      # mutually exclusive with instances
    dict(ARGS, concurrency="many"),                     # wrong type
    {k: v for k, v in ARGS.items() if k != "instances"},  # no target
])
def test_arguments_the_module_would_refuse_are_left_to_the_module(args):
    assert ip.validated(args) is None


def test_the_result_is_the_modules_with_secrets_masked(monkeypatch):
    def run(params, check_mode, diff, warn):
        warn("a warning from the run")
        assert (check_mode, diff) == (True, False)
        return {"changed": True, "results": [{"instance_id": "i-1", "msg": "token %s echoed" % TOKEN,
                                              "ids": ("a", "b")}],
                "summary": {"total": 1}}
    monkeypatch.setattr(_api_mode, "run_api_refresh", run)
    params, secrets = ip.validated(ARGS)
    result = ip.refresh(params, secrets, True, False)
    assert result["changed"] is True and "failed" not in result
    assert result["results"][0]["msg"] == "token ******** echoed"
    assert result["results"][0]["ids"] == ["a", "b"]  # JSON types, as parsed from a module's output
    assert result["warnings"] == ["a warning from the run"]
    # the fleet invocation lists what each item sets, the token masked
    assert result["invocation"]["module_args"]["instances"] == [{"instance_id": "i-1"},
                                                                {"instance_id": "i-2", "region": "cn-north-4"}]
    assert result["invocation"]["module_args"]["auth_token"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"  # as AnsibleModule
    assert TOKEN not in repr(result)


def test_true_false_and_null_are_never_masked(monkeypatch):
    monkeypatch.setattr(_api_mode, "run_api_refresh", lambda params, check_mode, diff, warn: {
        "changed": True, "failed": False, "state": None, "msg": "Tr-ue"})
    params, secrets = ip.validated(dict(ARGS, auth_token="ue"))  # a secret inside "True" and "False"
    result = ip.refresh(params, secrets, False, False)
    assert (result["changed"], result["failed"], result["state"]) == (True, False, None)
    assert result["msg"] == "Tr-********"


def test_a_failure_is_the_modules_failure(monkeypatch):
    def run(params, check_mode, diff, warn):
        raise ApiError("the management API refused %s" % TOKEN, status=401)
    monkeypatch.setattr(_api_mode, "run_api_refresh", run)
    params, secrets = ip.validated(ARGS)
    result = ip.refresh(params, secrets, False, False)
    assert result["failed"] is True and result["status"] == 401
    assert result["msg"] == "the management API refused ********"


def test_a_bug_fails_with_its_traceback_but_not_its_text(monkeypatch):
    def run(params, check_mode, diff, warn):
        raise KeyError("Authorization: %s" % TOKEN)
    monkeypatch.setattr(_api_mode, "run_api_refresh", run)
    params, secrets = ip.validated(ARGS)
    result = ip.refresh(params, secrets, False, False)
    assert result["failed"] is True and "KeyError" in result["msg"]
    assert TOKEN not in repr(result)
