# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The modules' shell: what reaches AnsibleModule (a stand-in here) for each way a run ends."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.apigw.router.plugins.module_utils.common import _module
from ansible_collections.apigw.router.plugins.module_utils.common._errors import (
    ApiError, MissingLibraryError, ValidationError)


class StandIn(object):
    """AnsibleModule as the shell uses it; records how it was made and how the module ended."""
    given = dict(mode="api", endpoint="http://127.0.0.1:9")  # the task's options

    def __init__(self, argument_spec, **kwargs):
        self.argument_spec = argument_spec
        self.kwargs = kwargs
        self.params = dict(self.given)
        self.check_mode, self._diff = True, False
        self.no_log_values = set()
        self.warnings = []

    def warn(self, warning):
        self.warnings.append(warning)

    def exit_json(self, **result):
        raise SystemExit(("exit", result))

    def fail_json(self, **result):
        raise SystemExit(("fail", result))


@pytest.fixture
def made(monkeypatch):
    modules = []

    def make(argument_spec, **kwargs):
        modules.append(StandIn(argument_spec, **kwargs))
        return modules[-1]
    monkeypatch.setattr(_module, "AnsibleModule", make)
    return modules


def ending(run, *groups, **kwargs):
    with pytest.raises(SystemExit) as exc:
        _module.ApigwRouterModule(*groups, **kwargs).execute(run)
    return exc.value.args[0]


def test_option_groups_are_merged_later_ones_winning_and_check_mode_is_supported(made):
    ending(lambda params, check_mode, diff, warn: dict(changed=False),
           dict(a=dict(type="str"), b=dict(type="int")), dict(b=dict(type="bool")), required_one_of=[("a", "b")])
    assert made[0].argument_spec == dict(a=dict(type="str"), b=dict(type="bool"))
    assert made[0].kwargs == dict(supports_check_mode=True, required_one_of=[("a", "b")])


def test_the_run_gets_params_check_mode_diff_and_the_one_warn(made):
    seen = []

    def run(params, check_mode, diff, warn):
        seen.append((params["mode"], check_mode, diff))
        warn("careful")
        return dict(changed=True, msg="done")

    assert ending(run) == ("exit", dict(changed=True, msg="done"))
    assert seen == [("api", True, False)] and made[0].warnings == ["careful"]


@pytest.mark.parametrize("error, failure", [
    (ValidationError("bad input"), dict(failed=True, msg="bad input")),
    (ApiError("refused", status=403, error_code="APIG.0301", request_id="r1", attempts=1),
     dict(failed=True, msg="refused", status=403, error_code="APIG.0301", error_msg=None, request_id="r1",
          attempts=1)),
])
def test_the_collections_errors_fail_with_their_details(made, error, failure):
    def run(params, check_mode, diff, warn):
        raise error
    assert ending(run) == ("fail", failure)


def test_a_missing_library_fails_as_ansible_words_it(made):
    def run(params, check_mode, diff, warn):
        raise MissingLibraryError("PyYAML", "Traceback: ...", reason="to read a YAML src")
    how, failure = ending(run)
    assert how == "fail" and failure["exception"] == "Traceback: ..."
    assert failure["msg"].startswith("Failed to import the required Python library (PyYAML)")
    assert "to read a YAML src" in failure["msg"]


def test_a_result_that_failed_fails_the_module(made):
    result = dict(changed=True, failed=True, msg="1 instance(s): 0 changed, 0 unchanged, 1 failed")
    assert ending(lambda params, check_mode, diff, warn: dict(result)) == ("fail", result)


def test_secrets_that_are_not_options_are_masked_and_plain_http_warned_about(made, monkeypatch):
    password = "-".join(("pw", "SECRET", "7"))
    monkeypatch.setattr(StandIn, "given", dict(mode="etcd", etcd_user="root:%s" % password, etcd_password=None,
                                               etcd_endpoints=["http://10.0.0.9:2379"]))
    ending(lambda params, check_mode, diff, warn: dict(changed=False))
    assert password in made[0].no_log_values
    assert len(made[0].warnings) == 1 and "etcd_user" in made[0].warnings[0] and password not in made[0].warnings[0]


def test_a_fleet_returns_its_instances_in_the_invocation_with_only_the_suboptions_they_set(made, monkeypatch):
    items = [dict(instance_id="i-1", project_id=None, etcd_endpoints=None, scope=None),
             dict(instance_id="i-2", project_id="p-2", etcd_endpoints=["http://10.0.0.9:2379"], scope=None)]
    monkeypatch.setattr(StandIn, "given", dict(mode="api", concurrency=16, wait=False, src=None, instances=items))
    for run, how in [(lambda params, check_mode, diff, warn: dict(changed=True, results=[]), "exit"),
                     (lambda params, check_mode, diff, warn: dict(failed=True, msg="1 failed"), "fail")]:
        ended, result = ending(run)
        assert ended == how
        assert result["invocation"] == {"module_args": dict(
            mode="api", concurrency=16, wait=False, src=None,
            instances=[dict(instance_id="i-1"),
                       dict(instance_id="i-2", project_id="p-2", etcd_endpoints=["http://10.0.0.9:2379"])])}
    # the options the run was given are untouched
    assert made[-1].params["instances"][0] == items[0]


def test_a_fleet_that_raised_fails_with_the_same_invocation(made, monkeypatch):
    monkeypatch.setattr(StandIn, "given", dict(mode="api", instances=[dict(instance_id="i-1", region=None)]))

    def run(params, check_mode, diff, warn):
        raise ValidationError("bad input")
    assert ending(run) == ("fail", dict(failed=True, msg="bad input",
                                        invocation={"module_args": dict(mode="api",
                                                                        instances=[dict(instance_id="i-1")])}))
