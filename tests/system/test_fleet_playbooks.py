# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleets of hundreds of instances: the module's ``instances`` form, the role
``apigw.router.fleet_refresh`` and the inventory-host form, through real ansible-playbook runs
against the simulator (and a real etcd for the etcd mode).

Every outcome is checked out of band: what was sent, to which instance, how often and how many
at once comes from the simulator's request log and stats, etcd's content from etcdctl, and the
role's reports are parsed as files. The expected result of each instance is derived here from
how the simulator is configured, never from what the module says.

The fleet: 300 instances, every other one with 30 ms latency; four answer 503 to every request,
three fail once with 500 APIG.3500 then work, and two listed instances do not exist (404).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import json
import os
import re
import time
import xml.etree.ElementTree as ET

import pytest
import yaml

from apigw_support.etcd import etcd_single
from apigw_support.simulator import Simulator

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(REPO_ROOT, "playbooks")
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

REFRESH = "apigw.router.apigw_router_refresh"
ROLE = "apigw.router.fleet_refresh"
ROLE_TASK = ROLE + " : "

PROJECT = "7a1b2c3d4e5f60718293a4b5c6d7e8f9"
TOKEN = "MIIfleet-secret-token-3c9d1e"  # must never show in any output, report or log

SIZE = 300
FLEET = ["f-%03d" % i for i in range(SIZE)]
GHOSTS = {50: "ghost-050", 299: "ghost-299"}  # listed, but no such instance: 404 APIG.3030
for _index, _ghost in GHOSTS.items():
    FLEET[_index] = _ghost
ALWAYS_503 = ("f-013", "f-101", "f-202", "f-257")
FLAKY = ("f-007", "f-150", "f-298")  # 500 APIG.3500 once, then 200
SLOW_MS = 30
RETRIES = 2

CONFIG = {
    "settings": {"refresh": {"working_polls": 0, "working_seconds": 0}},
    "projects": [{"id": PROJECT, "name": "cn-fleet-1", "instances": [
        dict({"id": instance_id, "generate": {"count": 2, "seed": index}},
             **({"latency_ms": SLOW_MS} if index % 2 == 0 else {}),
             **({"faults": {"always": {"status": 503}}} if instance_id in ALWAYS_503 else {}),
             **({"faults": {"sequence": [{"status": 500, "error_code": "APIG.3500",
                                          "error_msg": "Failed to synchronize data to etcd"}]}}
                if instance_id in FLAKY else {}))
        for index, instance_id in enumerate(FLEET) if not instance_id.startswith("ghost-")]}],
    "credentials": {"tokens": [{"name": "fleet-ci", "token": TOKEN, "roles": ["op_svc_apig"]}]},
}


def expected(instance_id, resources=1):
    """(failed, status, attempts, error_code) of one instance, from the simulator's config."""
    if instance_id.startswith("ghost-"):
        return True, 404, 1, "APIG.3030"
    if instance_id in ALWAYS_503:
        return True, 503, RETRIES + 1, "APIG.9999"
    if instance_id in FLAKY:
        return False, 200, resources + 1, None
    return False, 200, resources, None


FAILED = [i for i in FLEET if expected(i)[0]]  # in input order


# -- fixtures and helpers -------------------------------------------------------------------

@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Simulator(CONFIG, workdir=tmp_path_factory.mktemp("sim-fleet")) as simulator:
        yield simulator


@pytest.fixture
def log(sim):
    """Fresh log, counters and fault plans (the flaky instances fail once again)."""
    deadline = time.monotonic() + 10
    while sim.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.05)
    sim.reset(faults="config")
    return sim.requests


def puts(entries):
    return [e for e in entries if e["method"] == "PUT"]


def puts_per_instance(entries):
    return collections.Counter(e["instance_id"] for e in puts(entries))


def expected_puts(instances, resources=1):
    """PUTs per instance: one per resource, plus the retries that the faults cause."""
    counts = {}
    for instance_id in instances:
        _failed, _status, attempts, _code = expected(instance_id, resources)
        counts[instance_id] = attempts
    return counts


def connection(sim):
    return {"endpoint": sim.url, "project_id": PROJECT, "auth_token": "{{ apig_token }}",
            "retries": RETRIES, "retry_delay": 0.01}


def role_play(sim, instances=FLEET, options=None, post_tasks=True, **role_vars):
    """A play applying the role to localhost; the token comes from an extra var, as from a vault."""
    play_vars = {"fleet_refresh_instances": [{"instance_id": i} for i in instances],
                 "fleet_refresh_options": connection(sim) if options is None else options}
    play_vars.update(role_vars)
    play = {"name": "fleet", "hosts": "localhost", "gather_facts": False, "vars": play_vars,
            "roles": [ROLE]}
    if post_tasks:
        play["tasks"] = [{"name": "summary", "ansible.builtin.debug": {"var": "fleet_refresh_summary"}}]
    return play


def summary_fact(run):
    """fleet_refresh_summary as the role set it (also when the play failed afterwards)."""
    return run.task(ROLE_TASK + "Set the summary fact")["ansible_facts"]["fleet_refresh_summary"]


PROGRESS = re.compile(r'"batch (\d+)/(\d+): (\d+) instances, (\d+) changed, (\d+) failed \(')


def progress_lines(run):
    return [tuple(int(x) for x in m.groups()) for m in PROGRESS.finditer(run.stdout)]


def batch_progress(batches, of=None):
    """The progress lines expected for these batches of instance ids (of ``of`` batches in all)."""
    lines = []
    for index, batch in enumerate(batches, 1):
        failed = sum(1 for i in batch if expected(i)[0])
        lines.append((index, of or len(batches), len(batch), len(batch) - failed, failed))
    return lines


def read_reports(directory):
    with open(os.path.join(str(directory), "fleet_refresh.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    suite = ET.parse(os.path.join(str(directory), "fleet_refresh.junit.xml")).getroot()
    return report, suite


def junit_cases(root):
    """[(name, outcome, message)] with outcome 'failure', 'skipped' or 'passed'."""
    cases = []
    for case in root.iter("testcase"):
        failure, skipped = case.find("failure"), case.find("skipped")
        if failure is not None:
            cases.append((case.get("name"), "failure", failure.get("message")))
        elif skipped is not None:
            cases.append((case.get("name"), "skipped", skipped.get("message")))
        else:
            cases.append((case.get("name"), "passed", None))
    return cases


def assert_no_secret(ansible, sim, *directories):
    assert ansible.captured_files()
    assert ansible.find_in_captures(TOKEN) == []
    assert TOKEN not in sim.log_text()
    for directory in directories:
        for name in os.listdir(str(directory)):
            with open(os.path.join(str(directory), name), encoding="utf-8") as handle:
                assert TOKEN not in handle.read(), name


# -- the module's fleet form, mode api --------------------------------------------------------

def test_module_fleet_of_300_results_puts_and_concurrency_bound(ansible, sim, log):
    task = {"name": "fleet", REFRESH: dict(connection(sim), instances=[{"instance_id": i} for i in FLEET],
                                           concurrency=8)}
    run = ansible.run_tasks([task], extra_vars={"apig_token": TOKEN}).assert_failure()
    result = run.task("fleet")
    assert result.failed

    # every instance, in input order, with its own outcome
    assert [r["instance_id"] for r in result["results"]] == FLEET
    for r in result["results"]:
        failed, status, attempts, error_code = expected(r["instance_id"])
        assert (r["failed"], r["changed"], r["status"], r["attempts"], r["error_code"]) == \
            (failed, not failed, status, attempts, error_code), r
        assert r["resources"] == ([] if failed else ["apis"])
        assert r["msg"]
    assert result["summary"] == {"total": SIZE, "changed": SIZE - len(FAILED), "unchanged": 0,
                                 "failed": len(FAILED)}

    # the message names the first five failures in input order, then counts the rest
    msg = result["msg"]
    positions = [msg.index(i + " (") for i in FAILED[:5]]
    assert positions == sorted(positions), msg
    assert FAILED[5] not in msg and "and %d more" % (len(FAILED) - 5) in msg, msg

    # out of band: one PUT per instance, plus exactly the retries the faults cause
    entries = log()
    assert puts_per_instance(entries) == expected_puts(FLEET)
    assert all(e["resource"] == "apis" and e["principal"] == "fleet-ci" for e in puts(entries))
    assert len(entries) == len(puts(entries))  # nothing but the PUTs
    # the concurrency bound is reached (half the instances answer slowly; a loaded machine may
    # keep a worker or two busy elsewhere at the peak) and never exceeded
    peak = sim.stats()["peak_in_flight"]
    assert 6 <= peak <= 8, peak


def test_module_fleet_check_mode_sends_nothing(ansible, sim, log):
    task = {"name": "fleet", REFRESH: dict(connection(sim), instances=[{"instance_id": i} for i in FLEET])}
    run = ansible.run_tasks([task], check=True, extra_vars={"apig_token": TOKEN}).assert_success()
    result = run.task("fleet")
    assert [r["instance_id"] for r in result["results"]] == FLEET
    assert all(r["changed"] and not r["failed"] and r["attempts"] == 0 for r in result["results"])
    assert result["summary"] == {"total": SIZE, "changed": SIZE, "unchanged": 0, "failed": 0}
    assert log() == []


# -- the module's fleet form, mode etcd, and the role in mode etcd ------------------------------

def test_etcd_mode_fleet_one_prefix_per_instance(ansible, tmp_path_factory):
    with open(os.path.join(DATA, "listapisv2_page.json"), encoding="utf-8") as handle:
        apis = json.load(handle)["apis"]
    routed = sorted(a["id"] for a in apis if a.get("run_env_id"))
    prefix, instances = "/fleet/router", ["e-%d" % i for i in range(4)]
    with etcd_single(tmp_path_factory.mktemp("etcd-fleet")) as etcd:
        task = {"name": "fleet", REFRESH: {"mode": "etcd", "instances": [{"instance_id": i} for i in instances],
                                           "apis": apis, "key_prefix": prefix, "concurrency": 4,
                                           "etcd_endpoints": etcd.endpoints}}
        result = ansible.run_tasks([task]).assert_success().task("fleet")
        assert [(r["instance_id"], r["created"], r["failed"]) for r in result["results"]] == \
            [(i, routed, False) for i in instances]
        assert result["summary"] == {"total": 4, "changed": 4, "unchanged": 0, "failed": 0}

        dumps = {i: etcd.dump("%s/%s/" % (prefix, i)) for i in instances}
        everything = etcd.dump(prefix + "/")
        assert len(everything) == sum(len(d) for d in dumps.values())  # nothing outside the instances' prefixes
        first = None
        for instance_id, keys in dumps.items():
            base = "%s/%s/" % (prefix, instance_id)
            assert sorted(keys) == sorted([base + "apis/" + a for a in routed] + [base + "manifest"])
            records = {k[len(base):]: v for k, v in keys.items()}
            assert json.loads(records.pop("manifest"))["count"] == len(routed)
            first = first or records
            assert records == first  # the same source gives the same bytes on every instance

        # the role, in mode etcd with the etcd options passed through: nothing left to change
        revision = etcd.revision()
        play = {"name": "fleet", "hosts": "localhost", "gather_facts": False, "roles": [ROLE], "vars": {
            "fleet_refresh_instances": [{"instance_id": i} for i in instances],
            "fleet_refresh_mode": "etcd", "fleet_refresh_batch_size": 3,
            "fleet_refresh_options": {"apis": apis, "key_prefix": prefix, "etcd_endpoints": etcd.endpoints}}}
        run = ansible.run([play]).assert_success()
        assert progress_lines(run) == [(1, 2, 3, 0, 0), (2, 2, 1, 0, 0)]
        assert summary_fact(run) == {"total": 4, "changed": 0, "unchanged": 4, "failed": 0,
                                     "failed_instances": [], "skipped": 0, "skipped_instances": []}
        assert etcd.revision() == revision


# -- the role -----------------------------------------------------------------------------------

def test_role_batches_summary_and_reports(ansible, sim, log, tmp_path):
    reports = tmp_path / "reports"
    # 6 of 300 failed is exactly 2 %: not *more* than the threshold, so the play succeeds
    play = role_play(sim, fleet_refresh_batch_size=100, fleet_refresh_max_fail_percentage=2,
                     fleet_refresh_report_dir=str(reports))
    run = ansible.run([play], extra_vars={"apig_token": TOKEN}).assert_success()

    # three module calls, one progress line each
    calls = run.tasks(action=REFRESH)
    assert [c.task for c in calls] == [ROLE_TASK + "Refresh batch %d/3" % n for n in (1, 2, 3)]
    assert [len(c["results"]) for c in calls] == [100, 100, 100]
    assert progress_lines(run) == batch_progress([FLEET[0:100], FLEET[100:200], FLEET[200:300]])
    assert progress_lines(run)[1] == (2, 3, 100, 99, 1)  # "batch 2/3: 100 instances, 99 changed, 1 failed"

    summary = {"total": SIZE, "changed": SIZE - len(FAILED), "unchanged": 0, "failed": len(FAILED),
               "failed_instances": FAILED, "skipped": 0, "skipped_instances": []}
    assert run.task("summary")["fleet_refresh_summary"] == summary
    # the printed summary names each failed instance with its status and error code
    for instance_id in FAILED:
        _failed, status, _attempts, code = expected(instance_id)
        assert "FAILED %s: status %d %s: " % (instance_id, status, code) in run.stdout

    # out of band: every instance refreshed once (plus retries), batches in order
    entries = log()
    assert puts_per_instance(entries) == expected_puts(FLEET)
    first_seq = {}
    for e in puts(entries):
        first_seq.setdefault(e["instance_id"], e["seq"])
    batch_of = {i: n // 100 for n, i in enumerate(FLEET)}
    ordered = sorted(first_seq, key=first_seq.get)
    assert [batch_of[i] for i in ordered] == sorted(batch_of[i] for i in ordered)

    # the reports
    report, root = read_reports(reports)
    assert report["summary"] == summary and report["mode"] == "api" and report["check_mode"] is False
    assert [r["instance_id"] for r in report["results"]] == FLEET
    for r in report["results"]:
        failed, status, attempts, error_code = expected(r["instance_id"])
        assert (r["failed"], r["status"], r["attempts"], r["error_code"]) == (failed, status, attempts, error_code)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == (str(SIZE), str(len(FAILED)), "0")
    cases = junit_cases(root)
    assert [c[0] for c in cases] == FLEET
    assert [c[0] for c in cases if c[1] == "failure"] == FAILED
    assert not [c for c in cases if c[1] == "skipped"]
    by_name = {c[0]: c for c in cases}
    assert "the instance does not exist" in by_name["ghost-050"][2]
    assert "service unavailable" in by_name["f-013"][2]
    failure = root.find(".//testcase[@name='f-013']/failure")
    assert failure.get("type") == "APIG.9999" and "status: 503" in failure.text
    assert_no_secret(ansible, sim, reports)


def _comparable(results):
    """The per-instance results without what differs between two runs of one fleet (timings)."""
    return [{k: re.sub(r"request_id [0-9a-f]+", "request_id -", v) if k == "msg" else v
             for k, v in r.items() if k not in ("elapsed", "duration", "request_id")} for r in results]


def test_role_batches_run_in_process_with_the_modules_own_results(ansible, sim, log, tmp_path):
    """The role's batches run in the controller's process: no module process starts for them (-vvv
    shows no AnsiballZ of the module), and everything they return, report and send is what the
    module process returns, reports and sends for the same fleet."""
    runs, reports = {}, {}
    for in_process in (True, False):
        reports[in_process] = tmp_path / ("reports-%s" % in_process)
        play = role_play(sim, fleet_refresh_batch_size=150, fleet_refresh_max_fail_percentage=100,
                         fleet_refresh_report_dir=str(reports[in_process]), fleet_refresh_in_process=in_process)
        runs[in_process] = ansible.run([play], extra_vars={"apig_token": TOKEN}, verbosity=3).assert_success()
        assert puts_per_instance(log()) == expected_puts(FLEET)  # out of band: each instance refreshed
        sim.reset(faults="config")  # a fresh log, and the flaky instances fail once again
    here, module = runs[True], runs[False]
    assert here.stdout.count("apigw_router_refresh: runs in the controller's process") == 2
    assert "AnsiballZ_apigw_router_refresh" not in here.stdout
    assert "AnsiballZ_apigw_router_refresh" in module.stdout  # the check can fail: -vvv names the module's file
    assert "runs in the controller's process" not in module.stdout
    calls = {k: run.tasks(action=REFRESH) for k, run in runs.items()}
    assert [c.task for c in calls[True]] == [c.task for c in calls[False]] == [
        ROLE_TASK + "Refresh batch 1/2", ROLE_TASK + "Refresh batch 2/2"]
    for batch_here, batch_module in zip(calls[True], calls[False]):
        assert _comparable(batch_here["results"]) == _comparable(batch_module["results"])
        assert batch_here["summary"] == batch_module["summary"]
        assert batch_here["invocation"] == batch_module["invocation"]  # the token masked alike
        assert batch_here.changed == batch_module.changed and not batch_here.failed
    assert progress_lines(here) == progress_lines(module) == batch_progress([FLEET[0:150], FLEET[150:300]])
    assert summary_fact(here) == summary_fact(module)
    report_here, _suite = read_reports(reports[True])
    report_module, _suite = read_reports(reports[False])
    assert _comparable(report_here["results"]) == _comparable(report_module["results"])
    assert report_here["summary"] == report_module["summary"]
    assert_no_secret(ansible, sim, reports[True], reports[False])


def test_role_in_process_reads_a_token_given_only_in_the_environment_and_never_shows_it(ansible, sim, log, tmp_path):
    """The token only in the play's environment (HUAWEICLOUD_AUTH_TOKEN): in process, the option's
    environment fallback reads it as the module process would (the simulator refuses any other
    token with 401), and neither its results, progress, reports nor -vvv lines show it."""
    options = {k: v for k, v in connection(sim).items() if k != "auth_token"}
    instances = FLEET[:60]  # ghost-050 among them: one failure, with the token's request
    for verbosity in (3, 0):
        reports = tmp_path / ("reports-%d" % verbosity)
        play = role_play(sim, instances=instances, options=options, fleet_refresh_batch_size=30,
                         fleet_refresh_max_fail_percentage=100, fleet_refresh_report_dir=str(reports))
        play["environment"] = {"HUAWEICLOUD_AUTH_TOKEN": "{{ apig_token }}"}
        run = ansible.run([play], extra_vars={"apig_token": TOKEN}, verbosity=verbosity,
                          env={"HUAWEICLOUD_AUTH_TOKEN": None}).assert_success()
        assert puts_per_instance(log()) == expected_puts(instances)  # out of band: accepted, so the token arrived
        assert progress_lines(run) == batch_progress([instances[:30], instances[30:]])
        assert summary_fact(run)["failed_instances"] == [i for i in FAILED if i in instances]
        assert TOKEN not in sim.log_text()
        sim.reset(faults="config")
        for name in os.listdir(str(reports)):
            assert TOKEN not in (reports / name).read_text(encoding="utf-8"), name
        leaks = [p.name for p in ansible.find_in_captures(TOKEN) if p.parent == run.run_dir]
        if not verbosity:
            assert leaks == []
            continue
        assert run.stdout.count("apigw_router_refresh: runs in the controller's process") == 2
        assert "AnsiballZ_apigw_router_refresh" not in run.stdout
        # At -vvv Ansible itself prints a task's environment in the command lines of the modules it
        # starts (here the role's report tasks): that is Ansible's, and the role's README says so.
        # Nothing else may show it.
        assert leaks == ["stdout.txt"]
        shown = [line for line in run.stdout.splitlines() if TOKEN in line]
        assert all(line.startswith("<localhost> EXEC /bin/sh -c 'HUAWEICLOUD_AUTH_TOKEN=")
                   and "AnsiballZ_apigw_router_refresh" not in line for line in shown), shown


def test_role_stops_early_once_the_threshold_is_exceeded(ansible, sim, log, tmp_path):
    reports = tmp_path / "reports"
    # default threshold 0: the first batch already has two failures, so no further batch starts
    play = role_play(sim, fleet_refresh_batch_size=100, fleet_refresh_report_dir=str(reports))
    run = ansible.run([play], extra_vars={"apig_token": TOKEN}, verbosity=3).assert_failure()

    calls = [c for c in run.tasks(action=REFRESH) if not c.skipped]
    assert [c.task for c in calls] == [ROLE_TASK + "Refresh batch 1/3"]
    assert progress_lines(run) == batch_progress([FLEET[0:100]], of=3)
    assert "no further batch is started" in run.stdout
    first_failed = [i for i in FAILED if FLEET.index(i) < 100]
    failure = run.task(ROLE_TASK + "Fail when too many instances failed")
    assert failure.failed
    assert "%d of %d instances failed, more than 0" % (len(first_failed), SIZE) in failure["msg"]
    assert "200 not started" in failure["msg"] and all(i in failure["msg"] for i in first_failed)
    assert summary_fact(run) == {
        "total": SIZE, "changed": 100 - len(first_failed), "unchanged": 0, "failed": len(first_failed),
        "failed_instances": first_failed, "skipped": 200, "skipped_instances": FLEET[100:]}

    # out of band: the first batch only; nothing at all for the instances of later batches
    sent = puts_per_instance(log())
    assert sent == expected_puts(FLEET[:100])
    assert not set(sent) & set(FLEET[100:])

    # the reports still come, with the instances never started as skipped testcases
    report, root = read_reports(reports)
    assert [r["instance_id"] for r in report["results"]] == FLEET[:100]
    assert report["summary"]["skipped_instances"] == FLEET[100:]
    cases = junit_cases(root)
    assert [c[0] for c in cases] == FLEET
    assert [c[0] for c in cases if c[1] == "failure"] == first_failed
    assert [c[0] for c in cases if c[1] == "skipped"] == FLEET[100:]
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == (str(SIZE), "2", "200")
    assert_no_secret(ansible, sim, reports)


def test_role_check_mode_sends_nothing_and_reports(ansible, sim, log, tmp_path):
    reports = tmp_path / "reports"
    play = role_play(sim, fleet_refresh_batch_size=150, fleet_refresh_report_dir=str(reports))
    run = ansible.run([play], check=True, extra_vars={"apig_token": TOKEN}).assert_success()
    assert progress_lines(run) == [(1, 2, 150, 150, 0), (2, 2, 150, 150, 0)]
    assert run.task("summary")["fleet_refresh_summary"]["changed"] == SIZE
    assert log() == []
    report, root = read_reports(reports)
    assert report["check_mode"] is True and report["summary"]["failed"] == 0
    assert all(r["attempts"] == 0 and r["changed"] for r in report["results"])
    assert [c[1] for c in junit_cases(root)] == ["passed"] * SIZE
    assert_no_secret(ansible, sim, reports)


def test_role_with_module_defaults_and_several_resources(ansible, sim, log):
    instances = ["f-%03d" % i for i in range(1, 11)]  # f-007 flakes once
    # connection and auth from module_defaults; fleet_refresh_options overrides one option of
    # them (retries: without the override, the flaky instance would fail) and keeps the rest
    play = role_play(sim, instances=instances, options={"retries": 1}, fleet_refresh_batch_size=4,
                     fleet_refresh_concurrency=2, fleet_refresh_resources=["apis", "acls"])
    play["module_defaults"] = {"group/apigw.router.apigw": dict(connection(sim), retries=0)}
    run = ansible.run([play], extra_vars={"apig_token": TOKEN}).assert_success()
    assert progress_lines(run) == [(1, 3, 4, 4, 0), (2, 3, 4, 4, 0), (3, 3, 2, 2, 0)]
    summary = run.task("summary")["fleet_refresh_summary"]
    assert (summary["total"], summary["changed"], summary["failed"]) == (10, 10, 0)

    sent = puts(log())
    per_instance = collections.defaultdict(list)
    for e in sent:
        per_instance[e["instance_id"]].append((e["resource"], e["status"]))
    assert set(per_instance) == set(instances)
    for instance_id in instances:
        if instance_id in FLAKY:  # apis fails once, is retried, then acls
            assert per_instance[instance_id] == [("apis", 500), ("apis", 200), ("acls", 200)]
        else:
            assert per_instance[instance_id] == [("apis", 200), ("acls", 200)]
    assert all(e["principal"] == "fleet-ci" and e["project_id"] == PROJECT for e in sent)
    assert sim.stats()["peak_in_flight"] <= 2
    assert_no_secret(ansible, sim)


# What ansible-core checks against meta/argument_specs.yml, then what tasks/validate.yml checks.
BAD_VARIABLES = [
    ("bad_mode", {"fleet_refresh_mode": "foo"},
     ["fleet_refresh_mode", "must be one of: api, etcd", "got: foo"]),
    ("missing_instances", {"fleet_refresh_instances": None},
     ["give the instances, as fleet_refresh_instances (a list of dicts) or as fleet_refresh_hosts"]),
    ("item_without_id", {"fleet_refresh_instances": [{"instance_id": "f-001"}, {"region": "cn-north-4"}]},
     ["missing required arguments: instance_id", "fleet_refresh_instances"]),
    ("unknown_option", {"fleet_refresh_options": {"auth-token": "x", "endpoint": "http://127.0.0.1:9"}},
     ["auth-token", "fleet_refresh_options"]),
    ("role_owned_option", {"fleet_refresh_options": {"mode": "etcd"}},
     ["mode", "fleet_refresh_options"]),
    ("bad_resource", {"fleet_refresh_resources": ["apis", "routes"]},
     ["fleet_refresh_resources", "routes"]),
    ("concurrency", {"fleet_refresh_concurrency": 300},
     ["fleet_refresh_concurrency must be between 1 and 256, not 300"]),
    ("batch_size", {"fleet_refresh_batch_size": 0},
     ["fleet_refresh_batch_size must be at least 1, not 0"]),
    ("percentage", {"fleet_refresh_max_fail_percentage": 101},
     ["fleet_refresh_max_fail_percentage must be between 0 and 100"]),
    ("empty", {"fleet_refresh_instances": []},
     ["fleet_refresh_instances is empty"]),
    # a bad id in the last batch is refused before the first batch is sent
    ("bad_id", {"fleet_refresh_instances": [{"instance_id": "f-%03d" % i} for i in range(150)]
                + [{"instance_id": "../f-001"}]},
     ["every instance_id must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", 'these do not: "../f-001"']),
    ("duplicate", {"fleet_refresh_instances": [{"instance_id": "f-001"}, {"instance_id": "f-002"},
                                               {"instance_id": "f-001"}]},
     ["listed more than once: f-001"]),
]


def test_role_refuses_bad_variables_before_any_request(ansible, sim, log):
    # One playbook, one block per case: include_role runs the role's argument validation too.
    tasks = []
    for name, variables, _fragments in BAD_VARIABLES:
        role_vars = {"fleet_refresh_instances": [{"instance_id": "f-001"}],
                     "fleet_refresh_options": connection(sim)}
        role_vars.update(variables)
        role_vars = {k: v for k, v in role_vars.items() if v is not None}
        tasks.append({"name": "case " + name, "block": [
            {"name": "apply " + name, "ansible.builtin.include_role": {"name": ROLE}, "vars": role_vars},
            {"name": "accepted " + name, "ansible.builtin.fail": {"msg": "NOT REFUSED"}},
        ], "rescue": [
            {"name": "refused " + name, "ansible.builtin.debug": {"msg": "{{ ansible_failed_result.msg }}"}},
        ]})
    run = ansible.run_tasks(tasks, extra_vars={"apig_token": TOKEN}).assert_success()
    for name, _variables, fragments in BAD_VARIABLES:
        msg = run.task("refused " + name)["msg"]
        assert msg != "NOT REFUSED", name
        for fragment in fragments:
            assert fragment in msg, (name, fragment, msg)
    assert log() == []
    assert "Traceback" not in run.stdout + run.stderr
    assert_no_secret(ansible, sim)


# -- the inventory-host form -------------------------------------------------------------------

def _inventory_playbook():
    with open(os.path.join(PLAYBOOKS, "fleet_inventory.yml"), encoding="utf-8") as handle:
        return handle.read()


def test_inventory_form_one_put_per_host(ansible, sim, log, tmp_path):
    hosts = FLEET[:30]  # f-007 flakes once, f-013 always answers 503
    inventory = tmp_path / "fleet-hosts.yml"
    inventory.write_text(yaml.safe_dump({"apig_instances": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                 "apigw_project_id": PROJECT, "apigw_endpoint": sim.url},
        # host name = instance ID for most; one host names its instance explicitly
        "hosts": dict({i: {} for i in hosts[1:]}, **{"first-host": {"apigw_instance_id": hosts[0]}})}}))
    run = ansible.run(_inventory_playbook(), extra_vars={"apig_token": TOKEN, "apig_auth_token": "{{ apig_token }}"},
                      args=["-i", str(inventory), "--forks", "10"]).assert_failure()  # f-013 fails
    results = {r.host: r for r in run.tasks("Refresh this instance's router")}
    assert len(results) == 30
    assert results["f-013"].failed and results["f-013"]["status"] == 503
    assert all(r.changed and r["status"] == 200 for h, r in results.items() if h != "f-013")
    assert results["f-007"]["attempts"] == 2
    assert "30 instances, 29 changed, 1 failed: f-013" in run.task("Show the summary")["msg"]
    # the default retries (3) apply here: f-013 got four attempts
    assert puts_per_instance(log()) == dict(expected_puts(hosts), **{"f-013": 4})
    assert_no_secret(ansible, sim)


def test_example_inventory_in_check_mode(ansible, sim, log):
    """The shipped example inventory parses and drives the playbook (check mode: nothing sent)."""
    run = ansible.run(_inventory_playbook(), check=True,
                      extra_vars={"apig_auth_token": "{{ apig_token }}", "apig_token": TOKEN,
                                  "apigw_endpoint": sim.url},
                      args=["-i", os.path.join(PLAYBOOKS, "inventory", "fleet.yml")]).assert_success()
    results = run.tasks("Refresh this instance's router")
    assert sorted(r.host for r in results) == sorted(
        ["shop-prod", "shop-staging", "3f4c7b9d2e1a6a2b0c5d8e4f1a0b9c8d", "payments-prod"])
    assert all(r.changed and r["attempts"] == 0 for r in results)
    assert log() == []
