# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""`make docs` (hack/docs.sh build) without the internet: it passes, the links into Ansible's
docs point at docs.ansible.com, and a broken reference to one of our own plugins, options or
variables still fails the build.

The machine is forced offline for Sphinx with a proxy that nobody listens on, so the test
means the same on a machine that can reach docs.ansible.com.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess

import pytest

from apigw_support.ansible import REPO_ROOT

HTML = 'build/html/collections/apigw/router'


def _closed_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _offline_env(**extra):
    env = dict(os.environ)
    proxy = 'http://127.0.0.1:%d' % _closed_port()
    for name in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'):
        env[name] = proxy
    for name in ('no_proxy', 'NO_PROXY'):
        env.pop(name, None)
    env.update(extra)
    return env


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    dest = tmp_path_factory.mktemp('docs') / 'site'
    # The docs packages come from the package index first (on a fresh clone they are not there
    # yet); only the build itself is offline.
    subprocess.run(['bash', 'hack/docs.sh', 'deps'], cwd=str(REPO_ROOT), check=True, timeout=900)
    proc = subprocess.run(['bash', 'hack/docs.sh', 'build'], cwd=str(REPO_ROOT), env=_offline_env(DOCS_DEST=str(dest)),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=540,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    return dest


def test_offline_build_links_ansible_docs(site):
    refresh = (site / HTML / 'apigw_router_refresh_module.html').read_text(encoding='utf-8')
    assert ('href="https://docs.ansible.com/projects/ansible/devel/collections/ansible/builtin/copy_module.html'
            '#parameter-src"') in refresh
    assert 'href="https://docs.ansible.com/projects/ansible/devel/reference_appendices/common_return_values.html"' in refresh
    inventory = (site / HTML / 'apig_instances_inventory.html').read_text(encoding='utf-8')
    assert 'reference_appendices/config.html#envvar-ANSIBLE_CACHE_PLUGIN_CONNECTION"' in inventory


BROKEN = [
    'ansible_collections.apigw.router.apigw_router_refresh_module__parameter-no_such_option',
    'ansible_collections.apigw.router.apigw_router_nosuch_module',
    'ansible_collections.apigw.router.apigw_router_info_module__return-no_such_key',
]


def test_broken_reference_to_our_own_docs_fails(site):
    # The generated pages again, with references to things this collection does not have
    # (as a typo in O(...), M(...), RV(...) would give), built with the same conf.py.
    src = site / 'rst-broken'
    shutil.copytree(str(site / 'rst'), str(src))
    page = src / 'collections' / 'apigw' / 'router' / 'apigw_router_refresh_module.rst'
    text = page.read_text(encoding='utf-8')
    extra = '\n'.join('See :ref:`%s`.\n' % target for target in BROKEN)
    extra += '\nSee :envvar:`APIGW_ROUTER_NO_SUCH_VARIABLE`.\n'
    page.write_text(text + '\n' + extra, encoding='utf-8')
    command = ['sphinx-build', '-M', 'html', str(src), str(site / 'build-broken'), '-c', '.', '-q', '-W', '--keep-going']
    path = '%s:%s' % (REPO_ROOT / '.venv' / 'bin', os.environ['PATH'])
    proc = subprocess.run(command, cwd=str(site), env=_offline_env(PATH=path), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=400, check=False)
    assert proc.returncode != 0, proc.stdout[-4000:]
    for target in BROKEN + ['APIGW_ROUTER_NO_SUCH_VARIABLE']:
        assert re.search(re.escape(target), proc.stdout), (target, proc.stdout[-4000:])
    # Only the injected references fail: the external ones are still resolved.
    warnings = [line for line in proc.stdout.splitlines() if 'WARNING' in line]
    assert len(warnings) == len(BROKEN) + 1, warnings
