# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run real ``ansible-playbook`` against the installed collection and parse what happened.

    run = ansible.run_tasks([{'name': 'refresh', 'apigw.router.apigw_router_refresh': {...}}],
                            check=True, diff=True)
    run.assert_success()
    assert run.task('refresh').changed
    assert run.task('refresh')['mode'] == 'api'

The collection comes from ``build/collections`` (filled by ``hack/bootstrap.sh``), so the
tests see exactly what ``ansible-galaxy collection install`` gives users; nothing is
imported from the checkout. Modules run on localhost with ``ansible_connection=local`` and
the Python running the tests as ``ansible_python_interpreter`` (the bootstrap venv, which
has requests and the etcd clients).

How results are read: a test-only callback plugin, ``apigw_support/callback/apigw_test_results.py``,
is enabled next to the default stdout callback and appends every task result (ok, failed,
skipped, unreachable) and the final stats as JSON lines to a file named by
``APIGW_TEST_RESULTS_FILE``. That was chosen over registering each task's result and writing
it with ``copy``: it needs no rewriting of the playbook under test, works for failing tasks,
handlers, loops and multi-play playbooks, sees results exactly as every callback does (so
``no_log`` results arrive censored, as they would in a user's log), and keeps the human
output of the default callback intact in stdout.

Every run gets a directory ``<workdir>/run-NNN[-name]/`` with ``playbook.yml``,
``inventory.yml``, ``extra_vars.json``, ``command.txt`` and the captures ``stdout.txt``,
``stderr.txt`` and ``results.jsonl``. :meth:`AnsibleRunner.captured_files` lists the
captures of all runs (not the inputs, which may hold secrets on purpose) for a grep such
as :meth:`AnsibleRunner.find_in_captures`.

Runs are bounded by ``timeout`` seconds (default 300, below pytest-timeout's 600): the whole
process group is killed and :class:`PlaybookTimeout` is raised with the output so far.

Timing: ``PlaybookRun.duration`` is the exact wall time of the ``ansible-playbook`` process
(the runner blocks in ``waitpid``; a timer thread enforces the timeout), so benchmarks use it
as it is. ``on_run`` (a callable taking the :class:`PlaybookRun`) is called after every run,
before any timeout or missing-stats error is raised: the public hook for whoever wants every
run's figures (bench/ collects them there). ``quiet=True`` drops the one line printed per
run (pytest shows it for a failing test; a benchmark prints its own tables).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
INSTALLED_COLLECTIONS = REPO_ROOT / 'build' / 'collections'
INSTALLED_COLLECTION = INSTALLED_COLLECTIONS / 'ansible_collections' / 'apigw' / 'router'
CALLBACK_DIR = Path(__file__).resolve().parent / 'callback'
CALLBACK_NAME = 'apigw_test_results'
RESULTS_ENV = 'APIGW_TEST_RESULTS_FILE'
DEFAULT_TIMEOUT = 300.0

Playbook = Union[str, Mapping[str, Any], Sequence[Mapping[str, Any]]]


class HarnessError(AssertionError):
    """The harness could not run ansible-playbook or make sense of what it wrote."""


class PlaybookTimeout(AssertionError):
    """ansible-playbook ran longer than its timeout; ``run`` holds what it wrote so far."""

    def __init__(self, run: 'PlaybookRun'):
        super().__init__('ansible-playbook timed out after %.0fs\n%s' % (run.duration, run.describe()))
        self.run = run


@dataclass
class TaskResult:
    """One task's result for one host, as the callback plugin saw it."""

    play: Optional[str]
    task: str
    action: str
    resolved_action: str
    host: str
    status: str  # ok | failed | skipped | unreachable
    changed: bool
    ignore_errors: bool
    handler: bool
    result: dict

    @property
    def failed(self) -> bool:
        return self.status == 'failed'

    @property
    def skipped(self) -> bool:
        return self.status == 'skipped'

    def __getitem__(self, key: str) -> Any:
        return self.result[key]

    def __contains__(self, key: str) -> bool:
        return key in self.result

    def get(self, key: str, default: Any = None) -> Any:
        return self.result.get(key, default)


@dataclass
class PlaybookRun:
    """What one ``ansible-playbook`` run did."""

    command: list
    rc: int
    stdout: str
    stderr: str
    results: list
    stats: dict
    run_dir: Path
    duration: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.rc == 0

    @property
    def failed_tasks(self) -> list:
        return [r for r in self.results if r.failed and not r.ignore_errors]

    @property
    def changed_tasks(self) -> list:
        return [r for r in self.results if r.changed]

    def tasks(self, name: Optional[str] = None, *, host: Optional[str] = None,
              status: Optional[str] = None, action: Optional[str] = None) -> list:
        """All results matching every filter given (``action`` matches as written or resolved)."""
        return [r for r in self.results
                if (name is None or r.task == name)
                and (host is None or r.host == host)
                and (status is None or r.status == status)
                and (action is None or action in (r.action, r.resolved_action))]

    def task(self, name: str, host: Optional[str] = None) -> TaskResult:
        """The one result of the task called ``name`` (raises unless there is exactly one)."""
        found = self.tasks(name, host=host)
        if len(found) != 1:
            names = ', '.join(repr(r.task) for r in self.results) or 'none'
            raise AssertionError('expected one result for task %r, found %d (tasks run: %s)\n%s'
                                 % (name, len(found), names, self.describe()))
        return found[0]

    def assert_success(self) -> 'PlaybookRun':
        if self.rc != 0:
            raise AssertionError('ansible-playbook failed with rc=%s\n%s' % (self.rc, self.describe()))
        return self

    def assert_failure(self) -> 'PlaybookRun':
        if self.rc == 0:
            raise AssertionError('ansible-playbook succeeded but a failure was expected\n%s' % self.describe())
        return self

    def describe(self, lines: int = 60) -> str:
        """The command, rc and the tails of stdout/stderr, for assertion messages."""
        def tail(text):
            parts = text.rstrip().splitlines()
            cut = parts[-lines:]
            prefix = ['... (%d lines above, full text in %s)' % (len(parts) - lines, self.run_dir)] if len(parts) > lines else []
            return '\n'.join(prefix + cut)
        return ('command: %s\nrc: %s\nrun dir: %s\n--- stdout ---\n%s\n--- stderr ---\n%s'
                % (' '.join(self.command), self.rc, self.run_dir, tail(self.stdout), tail(self.stderr)))


@dataclass
class AnsibleRunner:
    """Runs playbooks in ``workdir``; ``env`` and ``extra_vars`` apply to every run."""

    workdir: Path
    collections_path: Path = INSTALLED_COLLECTIONS
    python: str = sys.executable
    timeout: float = DEFAULT_TIMEOUT
    env: dict = field(default_factory=dict)
    extra_vars: dict = field(default_factory=dict)
    runs: list = field(default_factory=list)
    on_run: Optional[Callable[[PlaybookRun], None]] = None
    quiet: bool = False

    def __post_init__(self):
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)

    # --- running -------------------------------------------------------------------------

    def run(self, playbook: Playbook, *, extra_vars: Optional[Mapping[str, Any]] = None,
            env: Optional[Mapping[str, Optional[str]]] = None, verbosity: int = 0,
            check: bool = False, diff: bool = False, tags: Iterable[str] = (),
            skip_tags: Iterable[str] = (), limit: Optional[str] = None,
            args: Sequence[str] = (), timeout: Optional[float] = None,
            name: Optional[str] = None) -> PlaybookRun:
        """Run ``playbook`` (YAML text, one play as a dict, or a list of plays).

        ``env`` entries override the harness's (a value of None removes the variable);
        ``verbosity`` is the number of ``-v``; ``args`` are appended to the command line.
        """
        run_dir = self._new_run_dir(name)
        playbook_path = run_dir / 'playbook.yml'
        if isinstance(playbook, str):
            playbook_path.write_text(playbook, encoding='utf-8')
        else:
            plays = [playbook] if isinstance(playbook, Mapping) else list(playbook)
            playbook_path.write_text(yaml.safe_dump(plays, sort_keys=False, allow_unicode=True),
                                     encoding='utf-8')
        inventory_path = run_dir / 'inventory.yml'
        inventory = {'all': {'hosts': {'localhost': {
            'ansible_connection': 'local',
            'ansible_python_interpreter': self.python,
        }}}}
        inventory_path.write_text(json.dumps(inventory, indent=2), encoding='utf-8')
        vars_path = run_dir / 'extra_vars.json'
        vars_path.write_text(json.dumps({**self.extra_vars, **(extra_vars or {})}, indent=2),
                             encoding='utf-8')

        command = [self._playbook_bin(), '-i', str(inventory_path), '-e', '@' + str(vars_path)]
        if verbosity:
            command.append('-' + 'v' * verbosity)
        if check:
            command.append('--check')
        if diff:
            command.append('--diff')
        if tags:
            command += ['--tags', ','.join(tags)]
        if skip_tags:
            command += ['--skip-tags', ','.join(skip_tags)]
        if limit:
            command += ['--limit', limit]
        command += list(args)
        command.append(str(playbook_path))
        (run_dir / 'command.txt').write_text(' '.join(command) + '\n', encoding='utf-8')

        results_path = run_dir / 'results.jsonl'
        full_env = self._environment(run_dir, results_path, env)
        rc, duration, timed_out = run_process(command, run_dir, full_env, timeout or self.timeout)

        stdout = (run_dir / 'stdout.txt').read_text(encoding='utf-8', errors='replace')
        stderr = (run_dir / 'stderr.txt').read_text(encoding='utf-8', errors='replace')
        results, stats = _parse_results(results_path)
        run = PlaybookRun(command=command, rc=rc, stdout=stdout, stderr=stderr, results=results,
                          stats=stats, run_dir=run_dir, duration=duration, timed_out=timed_out)
        self.runs.append(run)
        if self.on_run is not None:
            self.on_run(run)
        if not self.quiet:
            # Shown by pytest for a failing test: which run, how it ended, where its files are.
            print('ansible-playbook %s: rc=%s in %.1fs, %d task results, files in %s'
                  % (playbook_path.parent.name, rc, duration, len(results), run_dir))
        if timed_out:
            raise PlaybookTimeout(run)
        listing = {'--syntax-check', '--list-tasks', '--list-hosts', '--list-tags'} & set(args)
        if stats is None and rc in (0, 2) and not listing:
            # rc 0/2 means the playbook ran to the end, so the callback must have written stats.
            raise HarnessError('the %s callback wrote no stats: was it loaded?\n%s'
                               % (CALLBACK_NAME, run.describe()))
        return run

    def run_tasks(self, tasks: Sequence[Mapping[str, Any]], *, play_vars: Optional[Mapping[str, Any]] = None,
                  module_defaults: Optional[Mapping[str, Any]] = None, handlers: Sequence[Mapping[str, Any]] = (),
                  gather_facts: bool = False, **kwargs) -> PlaybookRun:
        """Run ``tasks`` as one play on localhost; keyword arguments go to :meth:`run`."""
        play = {'name': kwargs.get('name') or 'harness', 'hosts': 'localhost', 'gather_facts': gather_facts}
        if play_vars:
            play['vars'] = dict(play_vars)
        if module_defaults:
            play['module_defaults'] = dict(module_defaults)
        play['tasks'] = list(tasks)
        if handlers:
            play['handlers'] = list(handlers)
        return self.run([play], **kwargs)

    # --- captures ------------------------------------------------------------------------

    def captured_files(self) -> list:
        """stdout, stderr and results of every run so far (not the inputs)."""
        names = ('stdout.txt', 'stderr.txt', 'results.jsonl')
        return [r.run_dir / n for r in self.runs for n in names if (r.run_dir / n).exists()]

    def find_in_captures(self, needle: str) -> list:
        """The captured files that contain ``needle`` (e.g. a secret that must never show)."""
        return [p for p in self.captured_files()
                if needle in p.read_text(encoding='utf-8', errors='replace')]

    # --- internals -----------------------------------------------------------------------

    def _new_run_dir(self, name: Optional[str]) -> Path:
        index = len(self.runs) + 1
        while True:
            label = 'run-%03d' % index + ('-' + _slug(name) if name else '')
            run_dir = self.workdir / label
            if not run_dir.exists():
                run_dir.mkdir(parents=True)
                return run_dir
            index += 1

    def _playbook_bin(self) -> str:
        sibling = Path(self.python).parent / 'ansible-playbook'
        if sibling.exists():
            return str(sibling)
        found = shutil.which('ansible-playbook')
        if not found:
            raise HarnessError('ansible-playbook not found next to %s or on PATH: run hack/bootstrap.sh'
                               % self.python)
        return found

    def _environment(self, run_dir: Path, results_path: Path,
                     overrides: Optional[Mapping[str, Optional[str]]]) -> dict:
        # Start clean of the caller's ANSIBLE_* settings so runs are reproducible.
        env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
        home = self.workdir / 'ansible-home'
        tmp = self.workdir / 'tmp'  # TMPDIR: what a killed run leaves behind stays in here
        tmp.mkdir(exist_ok=True)
        config = self.workdir / 'ansible.cfg'
        if not config.exists():
            config.write_text('# empty on purpose: the harness configures Ansible through the environment\n')
        env.update({
            'ANSIBLE_CONFIG': str(config),
            'ANSIBLE_HOME': str(home),
            'ANSIBLE_LOCAL_TEMP': str(home / 'tmp'),
            'ANSIBLE_REMOTE_TEMP': str(home / 'remote-tmp'),
            'ANSIBLE_COLLECTIONS_PATH': str(self.collections_path),
            'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'False',
            'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default',
            'ANSIBLE_CALLBACK_PLUGINS': str(CALLBACK_DIR),
            'ANSIBLE_CALLBACKS_ENABLED': CALLBACK_NAME,
            RESULTS_ENV: str(results_path),
            'ANSIBLE_PYTHON_INTERPRETER': self.python,
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_RETRY_FILES_ENABLED': 'False',
            'ANSIBLE_HOST_KEY_CHECKING': 'False',
            'ANSIBLE_LOCALHOST_WARNING': 'False',
            'PYTHONUNBUFFERED': '1',
            'TMPDIR': str(tmp),
            # The modules' src cache (source_cache): per runner, never the user's own.
            'XDG_CACHE_HOME': str(self.workdir / 'cache'),
        })
        if 'utf-8' not in (env.get('LC_ALL') or env.get('LC_CTYPE') or env.get('LANG') or '').lower().replace('utf8', 'utf-8'):
            env['LC_ALL'] = 'C.UTF-8'  # ansible-core refuses to run without a UTF-8 locale
        for key, value in {**self.env, **(overrides or {})}.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = str(value)
        return env


def run_process(command: list, run_dir: Path, env: dict, timeout: float):
    """Run ``command`` in ``run_dir`` with stdout/stderr going straight to ``stdout.txt`` and
    ``stderr.txt`` there; return ``(rc, wall seconds, timed out)``.

    The wait blocks in ``waitpid`` (``Popen.wait(timeout=...)`` polls with sleeps growing to
    50 ms, which would make every duration late by up to that); a timer thread kills the
    whole process group when ``timeout`` expires.
    """
    expired = threading.Event()
    with open(run_dir / 'stdout.txt', 'wb') as out, open(run_dir / 'stderr.txt', 'wb') as err:
        start = time.monotonic()
        try:
            proc = subprocess.Popen(command, cwd=str(run_dir), env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, start_new_session=True)
        except OSError as exc:
            raise HarnessError('cannot run %s: %s' % (command[0], exc)) from exc

        def expire():
            expired.set()
            kill_process_group(proc)

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            rc = proc.wait()
        finally:
            timer.cancel()
        duration = time.monotonic() - start
    return rc, duration, expired.is_set()


def kill_process_group(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL, the process group ``proc`` leads (started with a new session)."""
    # ansible-playbook forks workers and modules may start their own children.
    for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _parse_results(path: Path):
    """(list of TaskResult, stats dict or None) from the callback's JSON lines."""
    results, stats = [], None
    if not path.exists():
        return results, stats
    lines = path.read_text(encoding='utf-8').splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            if number == len(lines):
                break  # a last line cut short by a kill
            raise HarnessError('%s:%d is not JSON: %s' % (path, number, exc)) from exc
        if record.get('event') == 'stats':
            stats = record['hosts']
        elif record.get('event') == 'task':
            results.append(TaskResult(**{k: record[k] for k in TaskResult.__dataclass_fields__}))
    return results, stats


def _slug(text: str) -> str:
    keep = ''.join(c if c.isalnum() or c in '-_' else '-' for c in text.lower())
    return keep.strip('-')[:40] or 'run'
