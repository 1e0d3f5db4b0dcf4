# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which Python the modules run on: the controller's, or in the matrix (``make matrix``) the
target Python that ``APIGW_TEST_TARGET_PYTHON`` names (see matrix_target.py).

The matrix's target cells run the api, etcd and role smoke tests with the modules on Python
3.8 and 3.13; this test proves that the interpreter really was that one, by asking the
interpreter a module ran on for its own path and version. The module-host cells also name the
distribution's package versions they pinned (``APIGW_TEST_TARGET_PACKAGES``), checked the same way.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from matrix_target import TARGET_ENV

PACKAGES_ENV = 'APIGW_TEST_TARGET_PACKAGES'


def test_modules_run_on_the_expected_python(ansible):
    expected = os.environ.get(TARGET_ENV) or sys.executable
    run = ansible.run_tasks([{'name': 'python', 'ansible.builtin.setup': {'gather_subset': ['!all', 'min']}}])
    python = run.assert_success().task('python')['ansible_facts']['ansible_python']
    version = subprocess.run([expected, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'],
                             check=True, capture_output=True, text=True).stdout.strip()
    assert '.'.join(str(v) for v in python['version_info'][:3]) == version
    # the venv's python, not the interpreter it was made from (the venv has the requirements)
    assert os.path.dirname(python['executable']) == os.path.dirname(expected)


@pytest.mark.skipif(not os.environ.get(PACKAGES_ENV), reason='only in the module-host cells of the matrix')
def test_modules_run_with_the_expected_packages(ansible):
    pins = dict(pin.split('==') for pin in os.environ[PACKAGES_ENV].split())
    script = ('import importlib.metadata as m, json, sys; '
              'print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))')
    run = ansible.run_tasks([{'name': 'versions', 'ansible.builtin.command': {
        'argv': ['{{ ansible_python_interpreter }}', '-c', script] + sorted(pins)}}])
    assert json.loads(run.assert_success().task('versions')['stdout']) == pins
