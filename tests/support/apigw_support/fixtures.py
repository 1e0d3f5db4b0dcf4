# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""pytest fixtures for suites that run the installed collection: import them into a conftest.py.

    from apigw_support.fixtures import ansible, installed_collection  # noqa: F401
"""

from __future__ import annotations

import pytest

from apigw_support.ansible import INSTALLED_COLLECTION, AnsibleRunner


@pytest.fixture(scope='session')
def installed_collection():
    """The collection as ``hack/bootstrap.sh`` built and installed it."""
    if not (INSTALLED_COLLECTION / 'MANIFEST.json').is_file():
        pytest.fail('%s is missing: run hack/bootstrap.sh (or any make target) first'
                    % INSTALLED_COLLECTION, pytrace=False)
    return INSTALLED_COLLECTION


@pytest.fixture
def ansible(installed_collection, tmp_path):  # pylint: disable=redefined-outer-name
    """An :class:`~apigw_support.ansible.AnsibleRunner` for this test, working in tmp_path/ansible."""
    return AnsibleRunner(tmp_path / 'ansible', collections_path=installed_collection.parents[2])
