# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.apigw.router.plugins.module_utils.common._etcd_endpoints import resolve
from ansible_collections.apigw.router.plugins.module_utils.runs._etcd_clients import (
    endpoints_header as header, shown_endpoints as shown)


@pytest.mark.parametrize("value, environ, expected", [
    (["http://a:2379"], {"ETCDCTL_ENDPOINTS": "http://env:2379"}, (["http://a:2379"], "option")),
    ([], {"ETCDCTL_ENDPOINTS": "http://env:2379"}, ([], "option")),  # refused later, naming the option
    (None, {"ETCDCTL_ENDPOINTS": "http://e1:2379, http://e2:2379,"}, (["http://e1:2379", "http://e2:2379"], "env")),
    (None, {"ETCDCTL_ENDPOINTS": " , "}, (["http://127.0.0.1:2379"], "default")),
    (None, {}, (["http://127.0.0.1:2379"], "default")),
])
def test_resolve(value, environ, expected):
    assert resolve(value, environ) == expected


@pytest.mark.parametrize("endpoint, expected", [
    ("http://a:2379", "http://a:2379"),
    ("https://user:s3cret@a:2379", "https://a:2379"),
    ("https://user@a:2379/x", "https://a:2379/x"),
    ("user:s3cret@a:2379", "a:2379"),
    ("http://a:2379/p@th", "http://a:2379/p@th"),
])
def test_shown_drops_userinfo(endpoint, expected):
    assert shown([endpoint]) == [expected]


def test_header_names_endpoints_and_origin():
    assert (header(["https://u:pw@a:2379", "http://b:2379"], "env", "/apig/router/i1/apis/")
            == "etcd https://a:2379, http://b:2379 (from ETCDCTL_ENDPOINTS): /apig/router/i1/apis/")
    assert header(["http://a:2379"], "option", "/p/") == "etcd http://a:2379 (from etcd_endpoints): /p/"
