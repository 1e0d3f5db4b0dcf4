# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Only the adapters reach below an etcd library's public API, and only they know which one runs."""

from __future__ import annotations

import pathlib
import re

import pytest

MODULE_UTILS = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "module_utils"
ADAPTERS = {"etcd/_adapter_pyetcd.py", "etcd/_adapter_etcd3.py"}
# The library client's internals, its generated messages, and the libraries themselves.
BELOW_THE_API = re.compile(r"\bkvstub\b|_build_get_range_request|\betcdrpc\b|call_credentials|\.transactions\b"
                           r"|\bimport (pyetcd|etcd3)\b|\bMultiEndpointEtcd3Client\b")
LIBRARY_BRANCH = re.compile(r"[!=]=\s*['\"](pyetcd|etcd3)['\"]|['\"](pyetcd|etcd3)['\"]\s*[!=]=")


def _sources():
    return sorted(p for p in MODULE_UTILS.rglob("*.py") if p.relative_to(MODULE_UTILS).as_posix() not in ADAPTERS)


def test_the_adapters_exist():
    assert all((MODULE_UTILS / name).is_file() for name in ADAPTERS)


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.relative_to(MODULE_UTILS).as_posix())
def test_no_library_internals_or_library_branches_outside_the_adapters(path):
    text = path.read_text(encoding="utf-8")
    found = [m.group(0) for pattern in (BELOW_THE_API, LIBRARY_BRANCH) for m in pattern.finditer(text)]
    assert not found, "%s reaches below an etcd library's API or branches on it: %s" % (path.name, found)


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_each_adapter_says_what_it_uses_and_what_was_tested(name):
    header = (MODULE_UTILS / name).read_text(encoding="utf-8").split('"""')[1]
    assert "Tested with" in header and ("nternals used" in header or "same internals" in header)
