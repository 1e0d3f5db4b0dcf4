# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Secrets outside no_log options: URL userinfo, etcdctl's user:password, plain-http passwords."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.apigw.router.plugins.module_utils.runs._etcd_targets import resolve_etcd_targets
from ansible_collections.apigw.router.plugins.module_utils.apig._endpoints import check_region, cloud_of
from ansible_collections.apigw.router.plugins.module_utils.common._errors import EtcdError, ValidationError
from ansible_collections.apigw.router.plugins.module_utils.etcd._client import EtcdClient, parse_endpoint
from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import base_url, check_http_url
from ansible_collections.apigw.router.plugins.plugin_utils._instances_api import (
    checked_host_name, host_name_problem, resolve_regions)
from ansible_collections.apigw.router.plugins.module_utils.common._secrets import (
    etcd_credentials, hidden_values, is_loopback, plaintext_password_warnings, redact_endpoint, redact_url,
    split_etcd_user, url_secrets)

PW = "Pw-LEAK-7q"


# ---- redaction ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("http://ops:%s@host:bad" % PW, "http://***@host:bad"),
    ("https://ops@host", "https://***@host"),
    ("see http://a:%s@h1/x and https://b:%s@h2:1" % (PW, PW), "see http://***@h1/x and https://***@h2:1"),
    ("http://a@b:%s@host/p@q" % PW, "http://***@host/p@q"),  # userinfo ends at the netloc's last @
    ("http://host/path@x", "http://host/path@x"),
    ("https://apig.example:443", "https://apig.example:443"),
    (None, None),
])
def test_redact_url(text, expected):
    assert redact_url(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("ops:%s@host:2379" % PW, "***@host:2379"),
    ("http://ops:%s@host:2379" % PW, "http://***@host:2379"),
    ("host:2379", "host:2379"),
])
def test_redact_endpoint_without_a_scheme(text, expected):
    assert redact_endpoint(text) == expected


def test_url_secrets():
    assert url_secrets("http://ops:%s@h" % PW) == ["ops:%s" % PW, PW]
    assert url_secrets("ops:%s@h:2379" % PW) == ["ops:%s" % PW, PW]
    assert url_secrets("http://token@h") == ["token"]
    assert url_secrets("http://h:1/a@b") == [] and url_secrets(None) == []


@pytest.mark.parametrize("url", [
    "http://ops:%s@host:bad" % PW, "http://ops:%s@host:8080" % PW, "https://ops:%s@[::1" % PW,
    "http://ops:%s@" % PW, "ftp://ops:%s@host" % PW])
def test_check_http_url_refuses_credentials_without_echoing_them(url):
    with pytest.raises(ValidationError) as err:
        check_http_url("iam_endpoint", url)
    assert PW not in err.value.msg and "ops" not in err.value.msg
    assert "iam_endpoint" in err.value.msg and "***@" in err.value.msg
    assert "must not carry credentials" in err.value.msg and "iam_user/iam_password" in err.value.msg


def test_base_url_refuses_credentials():
    with pytest.raises(ValidationError, match=r"endpoint 'http://\*\*\*@host:bad' must not carry credentials") as err:
        base_url("http://ops:%s@host:bad" % PW)
    assert PW not in err.value.msg


@pytest.mark.parametrize("endpoint, shown", [
    ("http://ops:%s@host:bad" % PW, "http://***@host:bad"),
    ("http://ops:%s@host:2379" % PW, "http://***@host:2379"),
    ("ops:%s@host:2379" % PW, "***@host:2379"),
    ("https://ops:%s@[::1:2379" % PW, "https://***@[::1:2379"),
])
def test_parse_endpoint_refuses_credentials_without_echoing_them(endpoint, shown):
    with pytest.raises(EtcdError) as err:
        parse_endpoint(endpoint)
    assert PW not in err.value.msg and repr(shown) in err.value.msg
    assert "etcd_user and etcd_password" in err.value.msg


def test_etcd_client_refuses_credentials_in_any_endpoint():
    with pytest.raises(EtcdError) as err:
        EtcdClient(["http://127.0.0.1:2379", "http://ops:%s@10.0.0.2:2379" % PW])
    assert PW not in err.value.msg and "http://***@10.0.0.2:2379" in err.value.msg


@pytest.mark.parametrize("check, value", [(check_region, "http://ops:%s@host" % PW),
                                          (lambda v: cloud_of("cn-north-4", v), "ops:%s@example.com" % PW)])
def test_region_and_cloud_messages_redact_a_url(check, value):
    with pytest.raises(ValidationError) as err:
        check(value)
    assert PW not in err.value.msg and "***@" in err.value.msg


@pytest.mark.parametrize("region", [
    {"name": "cn-north-4", "endpoint": "http://ops:%s@host:bad" % PW},
    {"name": "cn-north-4", "iam_endpoint": "https://ops:%s@iam.example" % PW}])
def test_inventory_region_endpoints_refuse_credentials(region):
    with pytest.raises(ValidationError) as err:
        resolve_regions([region])
    assert PW not in err.value.msg and "regions[0]" in err.value.msg and "***@" in err.value.msg


def test_inventory_iam_endpoint_refuses_credentials():
    with pytest.raises(ValidationError) as err:
        resolve_regions(["cn-north-4"], default_iam_endpoint="http://ops:%s@iam:bad" % PW)
    assert PW not in err.value.msg and "iam_endpoint 'http://***@iam:bad'" in err.value.msg


# ---- etcdctl's user:password ---------------------------------------------------------------------

@pytest.mark.parametrize("user, password, expected", [
    ("root:%s" % PW, None, ("root", PW)),
    ("root:a:b", None, ("root", "a:b")),          # the first colon, as etcdctl
    ("root:%s" % PW, "given", ("root", "given")),  # an explicit password wins
    ("root:", None, ("root", "")),
    ("root", "given", ("root", "given")),
    ("root", None, ("root", None)),
    (None, None, (None, None)),
])
def test_split_etcd_user(user, password, expected):
    assert split_etcd_user(user, password) == expected


@pytest.mark.parametrize("item, params, expected", [
    ({}, dict(etcd_user="u:%s" % PW), ("u", PW)),
    ({}, dict(etcd_user="u:%s" % PW, etcd_password="env"), ("u", "env")),
    (dict(etcd_user="i:%s" % PW), dict(etcd_user="u", etcd_password="module"), ("i", PW)),
    (dict(etcd_user="i:%s" % PW, etcd_password="own"), dict(etcd_password="module"), ("i", "own")),
    (dict(etcd_user="i"), dict(etcd_password="module"), ("i", "module")),
    (dict(etcd_password="own"), dict(etcd_user="u:%s" % PW), ("u", "own")),
])
def test_etcd_credentials_of_an_item(item, params, expected):
    assert etcd_credentials(item, params) == expected


def test_hidden_values_cover_urls_and_etcd_user_top_level_and_per_item():
    params = dict(endpoint="http://a:pw1@h", iam_endpoint="https://b:pw2@h", etcd_user="u:pw3",
                  etcd_endpoints=["http://c:pw4@h", "h:1"],
                  instances=[dict(instance_id="x", etcd_user="v:pw5", endpoint="https://d:pw6@h",
                                  etcd_endpoints=["e:pw7@h:2379"])])
    hidden = hidden_values(params)
    assert set("pw%d" % i for i in range(1, 8)) <= hidden
    assert "u" not in hidden and "h" not in hidden
    assert hidden_values(dict(etcd_user="plain", endpoint="https://h", instances=None)) == set()


def _etcd_run_params(**overrides):
    base = dict(mode="etcd", instance_id="i1", instances=None, project_id="p", apis=[], src=None, endpoint=None,
                region=None, cloud=None, etcd_endpoints=["http://127.0.0.1:1"], etcd_ca_cert=None,
                etcd_client_cert=None, etcd_client_key=None, etcd_user=None, etcd_password=None, etcd_timeout=10.0,
                etcd_library="auto", key_prefix="/apig/router", concurrency=4)
    base.update(overrides)
    return base


def test_resolve_targets_splits_etcd_user_top_level_and_per_item():
    _fleet, [single] = resolve_etcd_targets(_etcd_run_params(etcd_user="root:%s" % PW), False)
    assert (single["etcd"]["etcd_user"], single["etcd"]["etcd_password"]) == ("root", PW)
    _fleet, targets = resolve_etcd_targets(_etcd_run_params(
        instance_id=None, etcd_user="root:%s" % PW, etcd_password="explicit",
        instances=[dict(instance_id="a"), dict(instance_id="b", etcd_user="ops:item-pw")]), False)
    assert [(t["etcd"]["etcd_user"], t["etcd"]["etcd_password"]) for t in targets] == [
        ("root", "explicit"), ("ops", "item-pw")]


# ---- passwords over plain http ------------------------------------------------------------------

@pytest.mark.parametrize("host, expected", [
    ("localhost", True), ("LOCALHOST", True), ("127.0.0.1", True), ("127.3.2.1", True), ("::1", True),
    ("[::1]", True), ("db.localhost", True), ("10.0.0.1", False), ("etcd.example", False), ("", False),
    ("128.0.0.1", False), ("::2", False)])
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


IAM = dict(iam_user="u", iam_password=PW, iam_domain="d")


@pytest.mark.parametrize("params, expected", [
    (dict(IAM, iam_endpoint="http://iam.example:5000"), ["iam_password is sent over plain http:// to iam_endpoint "
                                                         "http://iam.example:5000"]),
    (dict(IAM, iam_endpoint="https://iam.example"), []),
    (dict(IAM, iam_endpoint="http://127.0.0.1:5000"), []),
    (dict(IAM, iam_endpoint="http://localhost:5000"), []),
    (dict(iam_endpoint="http://iam.example"), []),  # no password given
    (dict(etcd_user="root", etcd_password=PW, etcd_endpoints=["http://10.0.0.1:2379", "https://10.0.0.2:2379"]),
     ["etcd_password is sent over plain http:// to etcd endpoint http://10.0.0.1:2379, which is not loopback"]),
    (dict(etcd_user="root:%s" % PW, etcd_endpoints=["10.0.0.1:2379"]),
     ["the password in etcd_user (user:password) is sent over plain http:// to etcd endpoint http://10.0.0.1:2379"]),
    (dict(etcd_user="root", etcd_password=PW, etcd_endpoints=["10.0.0.1:2379"], etcd_ca_cert="/ca"), []),
    (dict(etcd_user="root", etcd_password=PW, etcd_endpoints=["http://127.0.0.1:2379", "http://[::1]:2379"]), []),
    (dict(etcd_user="root", etcd_endpoints=["http://10.0.0.1:2379"]), []),  # no password
    (dict(etcd_user="root", etcd_password=PW, etcd_endpoints=["http://127.0.0.1:2379"],
          instances=[dict(instance_id="a"), dict(instance_id="b", etcd_endpoints=["http://10.0.0.3:2379"])]),
     ["instances[1].etcd_password is sent over plain http:// to etcd endpoint http://10.0.0.3:2379"]),
])
def test_plaintext_password_warnings(params, expected):
    warnings = plaintext_password_warnings(params)
    assert len(warnings) == len(expected), warnings
    for warning, start in zip(warnings, expected):
        assert warning.startswith(start) and PW not in warning
        assert "https://" in warning


def test_plaintext_warning_once_for_items_sharing_the_module_connection():
    params = dict(etcd_user="root", etcd_password=PW, etcd_endpoints=["http://10.0.0.1:2379"],
                  instances=[dict(instance_id="a"), dict(instance_id="b")])
    assert len(plaintext_password_warnings(params)) == 1
    assert plaintext_password_warnings(params, etcd=False) == []


def test_plaintext_warning_for_endpoints_from_etcdctl_endpoints(monkeypatch):
    # etcd_endpoints has no argspec fallback: ETCDCTL_ENDPOINTS is resolved by the module, and counts here too.
    monkeypatch.setenv("ETCDCTL_ENDPOINTS", "http://10.0.0.9:2379")
    warnings = plaintext_password_warnings(dict(etcd_user="root", etcd_password=PW, etcd_endpoints=None))
    assert len(warnings) == 1 and warnings[0].startswith(
        "etcd_password is sent over plain http:// to etcd endpoint http://10.0.0.9:2379")
    monkeypatch.setenv("ETCDCTL_ENDPOINTS", "http://127.0.0.1:2379")
    assert plaintext_password_warnings(dict(etcd_user="root", etcd_password=PW, etcd_endpoints=None)) == []


# ---- inventory host names -------------------------------------------------------------------------

def _record(name, instance_id="0123456789abcdef"):
    return dict(region="cn-north-4", instance=dict(id=instance_id, instance_name=name))


@pytest.mark.parametrize("name, problem", [
    ("gw-prod-1", None), ("gw_prod.1", None), (u"网关-1", None),
    ("localhost", "localhost"), ("LocalHost", "localhost"), ("127.0.0.1", "localhost"), ("127.0.0.9", "localhost"),
    ("::1", "not a valid"), ("", "not a valid"), ("a b", "not a valid"), (" a", "not a valid"),
    ("a\x00", "not a valid"), ("a\n", "not a valid"), ("a,b", "not a valid"), ("web[1:3]", "not a valid"),
    ("!a", "not a valid"), ("a*", "not a valid"), ("-a", "not a valid"), ("taken", "already a host or group"),
    ("all", "already a host or group"),
])
def test_host_name_problem(name, problem):
    found = host_name_problem(name, {"taken", "all", "ungrouped"})
    assert (found is None) if problem is None else (problem in found)


def test_a_refused_name_falls_back_to_the_instance_id_with_a_warning():
    name, warning = checked_host_name(_record("localhost"), ["instance_name", "id"])
    assert name == "0123456789abcdef"
    assert "instance 0123456789abcdef" in warning and "'localhost'" in warning and "id first" in warning
    assert checked_host_name(_record("gw-1"), ["instance_name"]) == ("gw-1", None)


def test_a_control_character_is_not_echoed_raw():
    _name, warning = checked_host_name(_record("gw\x1b[31m"), ["instance_name"])
    assert "\x1b" not in warning and "\\x1b" in warning


def test_an_instance_whose_id_is_taken_too_is_left_out():
    name, warning = checked_host_name(_record("x", instance_id="dup"), ["id"], {"dup"})
    assert name is None and "instance dup" in warning and "left out" in warning
    name, warning = checked_host_name(_record("localhost", instance_id="dup"), ["instance_name"], {"dup"})
    assert name is None and "so is its instance id" in warning
