# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A pytest plugin for the matrix (noxfile.py): run the modules under another Python.

``pytest -p matrix_target`` with ``APIGW_TEST_TARGET_PYTHON=/path/to/python`` gives every
playbook run of the integration suites ``ansible_python_interpreter`` as an extra variable
(which beats the harness's inventory), so the controller stays the Python pytest runs on and
the modules run on the target Python, as on a managed host. test_target_python.py checks
that it took effect.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

TARGET_ENV = 'APIGW_TEST_TARGET_PYTHON'


@pytest.fixture(autouse=True)
def _modules_on_the_target_python(request):
    target = os.environ.get(TARGET_ENV)
    if target and 'ansible' in request.fixturenames:
        request.getfixturevalue('ansible').extra_vars['ansible_python_interpreter'] = target
    yield
