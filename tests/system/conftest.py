# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fixtures for the system suites (the support package: tests/support/apigw_support)."""

from __future__ import annotations

from apigw_support.fixtures import ansible, installed_collection  # noqa: F401  pylint: disable=unused-import
