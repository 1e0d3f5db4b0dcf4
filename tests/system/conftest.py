# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fixtures for the system suites (the support package: tests/support/apigw_support)."""

from __future__ import annotations

import pytest

from apigw_support.fixtures import ansible, installed_collection  # noqa: F401  pylint: disable=unused-import

# Modules whose module-scoped fixtures cost more than their tests (test_docs_build.py builds the
# docs site once for both its tests): under pytest-xdist (`make system`, CI) each stays on one
# worker, instead of every worker that gets one of its tests building the site again.
ONE_WORKER = {'test_docs_build.py'}


# tryfirst: xdist reads the mark in its own hook of the same name, which runs before a conftest's.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.name in ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))
