# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ansible-playbook runner itself, with ansible.builtin modules only."""

from __future__ import annotations

import sys
import time

import pytest

from apigw_support.ansible import AnsibleRunner, PlaybookTimeout


def test_tasks_results_and_stats_are_parsed(ansible):
    run = ansible.run_tasks([
        {'name': 'ping', 'ansible.builtin.ping': {'data': 'hello'}},
        {'name': 'set a fact', 'ansible.builtin.set_fact': {'answer': 42}},
        {'name': 'show it', 'ansible.builtin.debug': {'msg': 'answer={{ answer }}'}},
        {'name': 'changed on purpose', 'ansible.builtin.command': 'true'},
        {'name': 'never', 'ansible.builtin.debug': {'msg': 'no'}, 'when': False},
    ]).assert_success()

    assert [r.task for r in run.results] == ['ping', 'set a fact', 'show it', 'changed on purpose', 'never']
    assert run.task('ping')['ping'] == 'hello'
    assert run.task('ping').resolved_action == 'ansible.builtin.ping'
    assert run.task('show it')['msg'] == 'answer=42'
    assert run.task('changed on purpose').changed
    assert run.task('never').skipped
    assert [r.task for r in run.changed_tasks] == ['changed on purpose']
    assert run.stats['localhost']['changed'] == 1
    assert run.stats['localhost']['skipped'] == 1
    assert run.task('ping').host == 'localhost'


def test_modules_run_with_the_test_python(ansible):
    run = ansible.run_tasks([{'name': 'facts', 'ansible.builtin.setup': {'gather_subset': ['!all', 'min']}}])
    run.assert_success()
    assert run.task('facts')['ansible_facts']['ansible_python']['executable'] == sys.executable


def test_a_failing_assert_is_a_failed_result(ansible):
    run = ansible.run_tasks([
        {'name': 'tolerated', 'ansible.builtin.fail': {'msg': 'ignored'}, 'ignore_errors': True},
        {'name': 'must hold', 'ansible.builtin.assert': {'that': ['1 == 2'], 'fail_msg': 'one is not two'}},
        {'name': 'not reached', 'ansible.builtin.debug': {'msg': 'x'}},
    ]).assert_failure()

    assert run.rc == 2
    assert run.task('tolerated').failed and run.task('tolerated').ignore_errors
    assert run.task('must hold').failed
    assert run.task('must hold')['msg'] == 'one is not two'
    assert [r.task for r in run.failed_tasks] == ['must hold']
    assert not run.tasks('not reached')
    assert 'one is not two' in run.stdout
    assert run.stats['localhost']['failures'] == 1


def test_yaml_text_check_diff_verbosity_and_extra_vars(ansible, tmp_path):
    target = tmp_path / 'file.txt'
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: write
      ansible.builtin.copy:
        dest: "{{ target }}"
        content: "new\\n"
"""
    run = ansible.run(playbook, extra_vars={'target': str(target)}, check=True, diff=True, verbosity=2)
    run.assert_success()
    assert run.task('write').changed
    assert not target.exists()  # check mode wrote nothing
    assert '+new' in run.stdout  # the diff
    assert '--check' in run.command and '--diff' in run.command and '-vv' in run.command

    run = ansible.run(playbook, extra_vars={'target': str(target)}).assert_success()
    assert target.read_text() == 'new\n'


def test_environment_reaches_the_modules_and_captures_are_greppable(ansible):
    ansible.env['APIGW_HARNESS_PROBE'] = 'from-runner'
    run = ansible.run_tasks(
        [{'name': 'env', 'ansible.builtin.debug': {'msg': "{{ lookup('env', 'APIGW_HARNESS_PROBE') }}/"
                                                          "{{ lookup('env', 'APIGW_HARNESS_RUN') }}"}},
         {'name': 'hidden', 'ansible.builtin.debug': {'msg': 's3cr3t-value'}, 'no_log': True}],
        env={'APIGW_HARNESS_RUN': 'from-run'}, name='env probe')
    run.assert_success()
    assert run.task('env')['msg'] == 'from-runner/from-run'
    assert 'censored' in run.task('hidden')
    assert run.run_dir.name == 'run-001-env-probe'
    assert ansible.find_in_captures('s3cr3t-value') == []
    assert ansible.find_in_captures('from-run') != []


def test_loops_and_handlers(ansible):
    run = ansible.run_tasks(
        [{'name': 'loop', 'ansible.builtin.command': 'echo {{ item }}', 'loop': ['a', 'b'],
          'notify': 'handle'}],
        handlers=[{'name': 'handle', 'ansible.builtin.debug': {'msg': 'handled'}}])
    run.assert_success()
    assert [r['stdout'] for r in run.task('loop')['results']] == ['a', 'b']
    assert run.task('handle').handler and not run.task('loop').handler
    assert run.task('handle')['msg'] == 'handled'


def test_syntax_error_gives_rc_and_stderr(ansible):
    run = ansible.run('- hosts: localhost\n  tasks:\n    - ansible.builtin.debug: {msg: [unclosed\n')
    assert run.rc != 0 and run.results == []
    assert 'ERROR' in run.stderr


def test_timeout_kills_the_run(ansible):
    with pytest.raises(PlaybookTimeout) as info:
        ansible.run_tasks([{'name': 'sleep', 'ansible.builtin.command': 'sleep 60'}], timeout=3)
    assert info.value.run.timed_out
    assert info.value.run.duration < 30


def test_on_run_sees_every_run_with_its_wall_time(tmp_path, installed_collection, capsys):
    seen = []
    runner = AnsibleRunner(tmp_path / 'hooked', collections_path=installed_collection.parents[2],
                           on_run=seen.append, quiet=True)
    started = time.monotonic()
    run = runner.run_tasks([{'name': 'pause', 'ansible.builtin.command': 'sleep 1'}]).assert_success()
    elapsed = time.monotonic() - started
    failing = runner.run_tasks([{'name': 'fail', 'ansible.builtin.fail': {'msg': 'no'}}])

    assert seen == [run, failing] == runner.runs
    assert 1.0 < run.duration <= elapsed  # the process's own wall time, the command's second inside it
    assert 'ansible-playbook run-' not in capsys.readouterr().out  # quiet: no line per run
