# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every benchmark section shares: the run context, statistics, tables, etcd helpers.

A section gets a :class:`Context` (``ctx``): ``ctx.args`` (the parsed command line),
``ctx.workdir`` (a fresh directory, removed at the end unless ``--keep``), ``ctx.playbook()``
(a real ``ansible-playbook`` run through the test support package's runner, exact wall time
in ``run.duration``), ``ctx.empty_playbook()`` / ``ctx.ping_playbook()`` (Ansible's floors),
``ctx.report`` (written with ``--json``) and ``ctx.target()`` (a target met or missed).
"""

from __future__ import absolute_import, division, print_function

import datetime
import importlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import OrderedDict
from pathlib import Path

import ansible

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
BASELINE_DIR = REPO / 'build' / 'baseline'
# The last release, what the report sets the current tree against: 0.2.0 is this commit on main.
LAST_RELEASE, LAST_RELEASE_REF = '0.2.0', '6282515'
if str(REPO / 'tests' / 'support') not in sys.path:
    sys.path.insert(0, str(REPO / 'tests' / 'support'))

from apigw_support.ansible import INSTALLED_COLLECTIONS, AnsibleRunner  # noqa: E402  pylint: disable=wrong-import-position
from apigw_support.etcd import binary as etcd_binary, etcd_single  # noqa: E402  pylint: disable=wrong-import-position

MODULE = 'apigw.router.apigw_router_refresh'
INSTANCE = 'bench'
PROJECT = '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e'
TOKEN = 'bench-static-token-0123456789'  # a made-up simulator token, not a secret
LIBRARIES = ('pyetcd', 'etcd3')


class BenchError(RuntimeError):
    pass


def log(msg):
    sys.stderr.write(msg + '\n')
    sys.stderr.flush()


# ----------------------------------------------------------------------------- statistics

# The headline statistic of repeated timings: 'best' (the minimum, default: on a shared machine
# other processes only ever add time) or 'median'. Set from --stat.
STAT = {'name': 'best'}


class Series(list):
    """Repeated measurements of one quantity.

    ``head`` is the headline figure: the best or the median of the samples (``peak``
    series, such as RSS, take the maximum), or ``value`` when it is set explicitly
    (derived figures are computed from the headline figures of their parts, and keep
    their per-repetition values for the spread).
    """

    def __init__(self, values=(), peak=False):
        list.__init__(self, values)
        self.peak = peak
        self.value = None

    @property
    def median(self):
        return statistics.median(self) if self else None

    @property
    def head(self):
        if self.value is not None:
            return self.value
        if not self:
            return None
        if self.peak:
            return max(self)
        return min(self) if STAT['name'] == 'best' else statistics.median(self)

    def fmt(self, unit='s', digits=2):
        if self.head is None:
            return '-'
        scale = 1024.0 if unit == 'MB' else 1.0  # ru_maxrss is in KiB
        if unit == 'MB':
            digits = 0
        text = '%.*f' % (digits, self.head / scale)
        if len(self) > 1:
            text += ' (%.*f-%.*f)' % (digits, min(self) / scale, digits, max(self) / scale)
        return text + ('' if unit in ('x', '') else ' ' + unit)

    def summary(self):
        return {'head': self.head, 'stat': 'max' if self.peak else ('derived' if self.value is not None else STAT['name']),
                'median': self.median, 'min': min(self) if self else None,
                'max': max(self) if self else None, 'samples': list(self)}


def render(headers, rows, title=None, left=(0,)):
    """Aligned plain-text table: the ``left`` columns left-aligned, the others right-aligned."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    out = []
    if title:
        out.append(title)

    def line(cells):
        parts = [c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return '  '.join(parts).rstrip()

    out.append(line([str(h) for h in headers]))
    out.append('  '.join('-' * w for w in widths))
    out.extend(line(r) for r in rows)
    return '\n'.join(out)


def int_list(text):
    """'16,64' -> [16, 64] (an argparse type)."""
    return [int(x) for x in text.split(',') if x.strip()]


def verdict(ok):
    if ok is None:
        return 'n/a'
    return 'MET' if ok else 'NOT MET'


def against_rounds(samples, limit, at_least=False):
    """How the rounds of one target stand against its ``limit`` (a target is met at or below it,
    or at or above it with ``at_least``): how many rounds meet it, and whether the figure is
    settled, that is whether the spread of the rounds (max - min) is smaller than the gap
    between their median and the limit. A figure that is not settled needs more rounds before
    its verdict says anything; one round settles nothing."""
    samples = [float(v) for v in samples if v is not None]
    if not samples:
        return None
    median = statistics.median(samples)
    spread = max(samples) - min(samples)
    gap = abs(median - limit)
    return OrderedDict(rounds=len(samples),
                       rounds_met=sum(1 for v in samples if (v >= limit if at_least else v <= limit)),
                       spread=spread, gap=gap, settled=len(samples) > 1 and spread < gap)


def settled_text(entry):
    """'3 of 3 rounds; spread 0.12 < gap 0.40: settled' for a target entry of Context.target."""
    rounds = entry.get('rounds')
    if not rounds:
        return 'no per-round figures'
    return '%d of %d rounds; spread %.3f %s gap %.3f: %s' % (
        rounds['rounds_met'], rounds['rounds'], rounds['spread'], '<' if rounds['settled'] else '>=', rounds['gap'],
        'settled' if rounds['settled'] else 'not settled, more rounds needed')


# ----------------------------------------------------------------------------- the bench


def jsonable(obj):
    if isinstance(obj, Series):
        return obj.summary()
    if isinstance(obj, dict):
        return OrderedDict((str(k), jsonable(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


# ----------------------------------------------------------------------------- the context

WRAPPER = r'''#!{python} -S
# Written by bench/common.py: runs the real interpreter as a child and records the child's
# peak RSS (ru_maxrss from wait4, KiB) and CPU/wall time. Used as ansible_python_interpreter.
import json, os, sys, time
real = {python!r}
t0 = time.monotonic()
pid = os.posix_spawn(real, [real] + sys.argv[1:], dict(os.environ))
_pid, status, ru = os.wait4(pid, 0)
wall = time.monotonic() - t0
with open({out!r}, 'a') as handle:
    handle.write(json.dumps({{'argv': sys.argv[1:], 'maxrss_kb': ru.ru_maxrss, 'user_s': ru.ru_utime,
                             'sys_s': ru.ru_stime, 'wall_s': wall}}) + '\n')
sys.exit(os.waitstatus_to_exitcode(status))
'''


class Context:
    """One benchmark run: its arguments, work directory, collection copy, runners and report."""

    def __init__(self, args):
        self.args = args
        self.python = sys.executable
        self.workdir = Path(tempfile.mkdtemp(prefix='run-', dir=str(args.workdir)))
        self.report = OrderedDict()
        self.missed = []  # sections with a target not met
        self._runners = {}
        # A private copy of the installed collection: other shells may rebuild
        # build/collections while the benchmark runs; every run here uses the same code.
        src = INSTALLED_COLLECTIONS / 'ansible_collections'
        if not (src / 'apigw' / 'router' / 'MANIFEST.json').is_file():
            raise BenchError('%s is missing: run hack/bootstrap.sh first' % src)
        self.collections = self.workdir / 'collections'
        shutil.copytree(str(src), str(self.collections / 'ansible_collections'), symlinks=True)
        sha = INSTALLED_COLLECTIONS / '.content.sha256'
        self.collection_sha = sha.read_text().strip()[:12] if sha.exists() else '?'
        sys.path.insert(0, str(self.collections))
        self.runner = self.runner_for(self.collections)
        self.wrapper = self.workdir / 'rss-python'
        self.rss_log = self.workdir / 'rss.jsonl'
        self.wrapper.write_text(WRAPPER.format(python=self.python, out=str(self.rss_log)))
        self.wrapper.chmod(0o755)

    def runner_for(self, collections):
        """The (quiet) playbook runner of a collections directory (``<dir>/ansible_collections``)."""
        collections = Path(collections)
        if collections not in self._runners:
            self._runners[collections] = AnsibleRunner(
                self.workdir / ('ansible-%d' % len(self._runners)), collections_path=collections,
                python=self.python, timeout=self.args.timeout, quiet=True)
        return self._runners[collections]

    def close(self, failed=False):
        if self.args.keep or failed:
            log('kept the work directory %s%s' % (self.workdir, ' (the run failed)' if failed else ''))
        else:
            shutil.rmtree(str(self.workdir), ignore_errors=True)

    # -- environment -------------------------------------------------------------------------

    def environment(self):
        def cmd(*c):
            try:
                return subprocess.run(c, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=str(REPO),
                                      universal_newlines=True, timeout=30, check=False).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                return '?'
        etcd_version = cmd(etcd_binary('etcd'), '--version').splitlines()
        env = OrderedDict([
            ('date', datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S')),
            ('git', cmd('git', 'rev-parse', '--short', 'HEAD') + (' (dirty tree)' if cmd('git', 'status', '--porcelain') else '')),
            ('collection content sha256', self.collection_sha),
            ('python', platform.python_version()),
            ('ansible-core', ansible.__version__),
            ('etcd', etcd_version[0] if etcd_version else '?'),
            ('cpus', os.cpu_count()),
            ('load average at start', '%.2f %.2f %.2f' % os.getloadavg()),
        ])
        return env

    # -- ansible-playbook --------------------------------------------------------------------

    def playbook(self, plays, name, extra_vars=None, args=(), instrument=False, collections=None):
        """Run plays with ansible-playbook; return the PlaybookRun (rc 0 required).

        ``collections``: another installed copy to run (default: this run's copy of
        build/collections); ``instrument``: run modules through the wrapper interpreter and
        put what it recorded in ``run.module_processes``.
        """
        runner = self.runner if collections is None else self.runner_for(collections)
        extra = dict(extra_vars or {})
        if instrument:
            extra['ansible_python_interpreter'] = str(self.wrapper)
            if self.rss_log.exists():
                self.rss_log.unlink()
        run = runner.run(plays, extra_vars=extra, name=name, args=args)
        if run.rc != 0:
            raise BenchError('%s failed:\n%s' % (name, run.describe()))
        if instrument:
            records = []
            if self.rss_log.exists():
                records = [json.loads(line) for line in self.rss_log.read_text().splitlines() if line.strip()]
            run.module_processes = [r for r in records if any('AnsiballZ_' in a for a in r['argv'])]
            if not run.module_processes:
                raise BenchError('%s: the wrapper interpreter recorded no module process' % name)
        return run

    def empty_playbook(self, label, collections=None):
        """One play on localhost with one debug task: Ansible's start-up, no module run."""
        play = {'name': 'empty', 'hosts': 'localhost', 'gather_facts': False,
                'tasks': [{'name': 'empty', 'ansible.builtin.debug': {'msg': 'nothing'}}]}
        return self.playbook([play], 'empty-' + label, collections=collections).duration

    def ping_playbook(self, label, collections=None):
        """The same with one ansible.builtin.ping task: the floor of any task that runs a module."""
        play = {'name': 'ping', 'hosts': 'localhost', 'gather_facts': False,
                'tasks': [{'name': 'ping', 'ansible.builtin.ping': {}}]}
        return self.playbook([play], 'ping-' + label, collections=collections).duration

    # -- targets -----------------------------------------------------------------------------

    def target(self, section, what, value, median, ok, samples=None, limit=None, at_least=False, **extra):
        """Record one target of ``section`` (``ok``: True, False, or None when not evaluated).
        ``samples``: the figure of every round (repetition), to say how many rounds meet
        ``limit`` and whether the spread of the rounds is smaller than their gap to it."""
        entry = dict(extra, section=section, target=what, value=value, median=median, met=ok, stat=STAT['name'])
        if limit is not None:
            entry['limit'] = limit
            if samples is not None:
                entry['rounds'] = against_rounds(samples, limit, at_least)
        self.report.setdefault('targets', []).append(entry)
        if ok is False:
            self.missed.append(section)
        return entry


# ----------------------------------------------------------------------------- older versions

def git(*args):
    """stdout of ``git args`` in the repository (BenchError if it fails)."""
    proc = subprocess.run(['git'] + list(args), cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)
    if proc.returncode != 0:
        raise BenchError('git %s: %s' % (' '.join(args), proc.stderr.decode('utf-8', 'replace').strip()))
    return proc.stdout


def collection_at(ref, timeout=600):
    """The collection as it was at git ``ref``, installed: (commit, its collections directory).

    The one way the bench gets an older version: ``git archive`` of the commit,
    ``ansible-galaxy collection build`` and ``install`` into
    ``build/baseline/<commit>/collections``, once per commit (swapped in whole, so an
    interrupted build is never taken for a finished one). ansible-playbook runs it through
    ``Context.playbook(collections=...)``; a process that imports it puts the directory first
    on ``sys.path`` (see ``import_module_utils``).
    """
    commit = git('rev-parse', '--verify', '%s^{commit}' % ref).decode().strip()
    dest = BASELINE_DIR / commit[:12]
    collections = dest / 'collections'
    if (collections / 'ansible_collections' / 'apigw' / 'router' / 'MANIFEST.json').is_file():
        return commit, collections
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix='.build-', dir=str(dest)))
    try:
        source = tmp / 'src'
        source.mkdir()
        archive = git('archive', '--format=tar', commit)
        subprocess.run(['tar', '-x', '-C', str(source)], input=archive, check=True, timeout=timeout)
        galaxy = str(Path(sys.executable).parent / 'ansible-galaxy')
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp / 'collections'))
        _galaxy([galaxy, 'collection', 'build', '--force', '--output-path', str(tmp / 'dist'), str(source)],
                env, ref, timeout)
        tarballs = sorted((tmp / 'dist').glob('apigw-router-*.tar.gz'))
        if len(tarballs) != 1:
            raise BenchError('ansible-galaxy built %d tarballs for %s' % (len(tarballs), ref))
        _galaxy([galaxy, 'collection', 'install', '--force', '-p', str(tmp / 'collections'), str(tarballs[0])],
                env, ref, timeout)
        (tmp / 'collections' / 'COMMIT').write_text(commit + '\n')
        os.rename(str(tmp / 'collections'), str(collections))
    finally:
        shutil.rmtree(str(tmp), ignore_errors=True)
    return commit, collections


def _galaxy(command, env, ref, timeout):
    proc = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                          check=False)
    if proc.returncode != 0:
        raise BenchError('ansible-galaxy collection %s failed for %s:\n%s'
                         % (command[2], ref, proc.stdout.decode('utf-8', 'replace')[-2000:]))


def import_module_utils(*names):
    """The first of ``names`` (under ``plugins.module_utils``) that the collection on ``sys.path``
    has: module_utils was flat in 0.1.0 and 0.2.0 (``_routes``), then grouped (``sources._routes``)."""
    for name in names:
        module = 'ansible_collections.apigw.router.plugins.module_utils.' + name
        try:
            return importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # Only this layout's absence is a reason to try the next one; a missing library
            # (grpc, say) inside the collection is an error to show.
            if exc.name is None or not module.startswith(exc.name):
                raise
    raise BenchError('the collection on sys.path has none of %s' % ', '.join(names))


# ----------------------------------------------------------------------------- etcd helpers

def etcd_server(base_dir, fsync=True):
    """One etcd member on free loopback ports, with fsync unless ``fsync`` is false; always stopped."""
    base_dir.mkdir(parents=True, exist_ok=True)
    return etcd_single(str(base_dir), fsync=fsync)


def key_count(cluster, prefix):
    out = cluster.etcdctl(['get', prefix + '/', '--prefix', '--count-only', '-w', 'fields'])
    for line in out.splitlines():
        if line.startswith('"Count"'):
            return int(line.split(':', 1)[1])
    raise BenchError('etcdctl printed no count for %s: %r' % (prefix, out[-500:]))


def wipe(cluster, prefix):
    """Delete every key under ``prefix`` and compact, so each run starts from the same etcd state."""
    cluster.etcdctl(['del', prefix + '/', '--prefix'], timeout=120, command_timeout='60s')
    cluster.etcdctl(['compact', str(cluster.revision())], timeout=120, command_timeout='60s')
