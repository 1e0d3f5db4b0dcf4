# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for _routes: records, canonical bytes, keys, validation, manifest."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import hashlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import (
    MAX_FIELD_BYTES,
    MAX_URI_BYTES,
    api_id_of,
    build_records,
    canonical_json,
    manifest,
    manifest_key,
    routes_prefix,
)
from apigw_support.routes import desired_routes, route_record

FUZZ = settings(max_examples=300, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

PREFIX = "/apig/router"
INSTANCE = "inst-1"


def api(**overrides):
    """A realistic ListApisV2 item (published once), with overrides; None deletes a field."""
    item = {
        "id": "5f918d104dc84480a75166ba99efff21",
        "name": "list_users",
        "type": 1,
        "version": "V0.0.1",
        "req_protocol": "HTTPS",
        "req_method": "GET",
        "req_uri": "/users/{id}",
        "match_mode": "NORMAL",
        "auth_type": "APP",
        "cors": False,
        "backend_type": "HTTP",
        "group_id": "c77f5e81d9cb4424bf704ef2b0ac7600",
        "group_name": "users",
        "status": 1,
        "register_time": "2020-08-03T12:30:00Z",
        "update_time": "2020-08-04T12:30:00Z",
        "run_env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID",
        "run_env_name": "RELEASE",
        "publish_id": "9a5d2cbfe2b84c3d9b6ea0b2e8f0a1aa",
        "publish_time": "2020-08-05T12:30:00Z",
        "tags": ["a"],
        "req_params": [{"name": "id", "location": "PATH"}],
        "backend_api": {
            "req_protocol": "HTTP",
            "req_method": "GET",
            "req_uri": "/v1/users/{id}",
            "url_domain": "10.0.0.8:8080",
            "timeout": 5000,
            "retry_count": "-1",
            "vpc_channel_status": 2,
            "enable_client_ssl": False,
        },
    }
    for key, value in overrides.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    return item


BASE_RECORD = {
    "schema": 1,
    "id": "5f918d104dc84480a75166ba99efff21",
    "name": "list_users",
    "type": 1,
    "req_protocol": "HTTPS",
    "req_method": "GET",
    "req_uri": "/users/{id}",
    "match_mode": "NORMAL",
    "auth_type": "APP",
    "cors": False,
    "backend_type": "HTTP",
    "group_id": "c77f5e81d9cb4424bf704ef2b0ac7600",
    "group_name": "users",
    "envs": [{"id": "DEFAULT_ENVIRONMENT_RELEASE_ID", "name": "RELEASE",
              "publish_id": "9a5d2cbfe2b84c3d9b6ea0b2e8f0a1aa"}],
    "backend": {"req_protocol": "HTTP", "req_method": "GET", "req_uri": "/v1/users/{id}",
                "url_domain": "10.0.0.8:8080", "timeout": 5000, "retry_count": -1},
}


def test_full_record():
    assert route_record(api()) == BASE_RECORD


@pytest.mark.parametrize("field", ["register_time", "update_time", "publish_time", "version", "status",
                                   "tags", "req_params"])
def test_volatile_and_unknown_fields_never_appear(field):
    record = route_record(api())
    assert field not in record
    assert field.encode() not in canonical_json(record)


def test_record_keys_are_the_documented_ones():
    """A full record holds schema, envs and exactly the fields the tables name."""
    assert sorted(route_record(api())) == sorted(
        ["schema", "id", "name", "type", "req_protocol", "req_method", "req_uri", "match_mode", "auth_type",
         "cors", "backend_type", "group_id", "group_name", "envs", "backend"])
    assert sorted(route_record(api())["backend"]) == sorted(
        ["req_protocol", "req_method", "req_uri", "url_domain", "timeout", "retry_count"])


def test_build_records_is_keyed_by_api_id():
    records = build_records([api(id="a1"), api(id="b2", run_env_id="")])
    assert list(records) == ["a1"]
    assert records["a1"] == canonical_json(route_record(api(id="a1")))


def test_volatile_fields_do_not_change_bytes():
    a = canonical_json(route_record(api()))
    b = canonical_json(route_record(api(register_time="x", update_time="y", publish_time="z")))
    assert a == b


@pytest.mark.parametrize("field, value, expected", [
    ("type", 1, 1),
    ("type", 2, 2),
    ("type", "2", 2),
    ("type", " 2 ", 2),
    ("type", 2.0, 2),
    ("cors", True, True),
    ("cors", False, False),
    ("name", u"用户列表", u"用户列表"),
    ("name", "", ""),
    ("req_method", "ANY", "ANY"),
    ("req_method", "PATCH", "PATCH"),
    ("req_uri", "/", "/"),
    ("req_uri", "/a/b/{c+}", "/a/b/{c+}"),
    ("req_protocol", "BOTH", "BOTH"),
    ("match_mode", "SWA", "SWA"),
    ("auth_type", "AUTHORIZER", "AUTHORIZER"),
    ("backend_type", "MOCK", "MOCK"),
    ("group_id", "g1", "g1"),
    ("group_name", "", ""),
])
def test_field_normalisation(field, value, expected):
    assert route_record(api(**{field: value}))[field] == expected


@pytest.mark.parametrize("field", ["name", "type", "req_protocol", "match_mode", "auth_type", "cors",
                                   "backend_type", "group_id", "group_name"])
@pytest.mark.parametrize("how", ["missing", "null"])
def test_missing_fields_are_omitted(field, how):
    item = api()
    if how == "missing":
        del item[field]
    else:
        item[field] = None
    record = route_record(item)
    expected = dict(BASE_RECORD)
    del expected[field]
    assert record == expected


@pytest.mark.parametrize("field, value, expected", [
    ("timeout", "3000", 3000),
    ("timeout", 3000, 3000),
    ("retry_count", "-1", -1),
    ("retry_count", 3, 3),
    ("retry_count", "+2", 2),
    ("url_domain", u"ünï.example:443", u"ünï.example:443"),
    ("req_method", "POST", "POST"),
    ("req_protocol", "HTTPS", "HTTPS"),
])
def test_backend_normalisation(field, value, expected):
    backend = dict(api()["backend_api"])
    backend[field] = value
    assert route_record(api(backend_api=backend))["backend"][field] == expected


@pytest.mark.parametrize("field", ["req_protocol", "req_method", "req_uri", "url_domain", "timeout",
                                   "retry_count"])
def test_backend_missing_subfields_are_omitted(field):
    backend = dict(api()["backend_api"])
    del backend[field]
    assert field not in route_record(api(backend_api=backend))["backend"]


@pytest.mark.parametrize("backend_api", [None, {}, {"vpc_channel_status": 1}])
def test_no_backend_without_backend_fields(backend_api):
    item = api()
    item["backend_api"] = backend_api
    assert "backend" not in route_record(item)
    del item["backend_api"]
    assert "backend" not in route_record(item)


@pytest.mark.parametrize("run_env_id", [None, "", "missing"])
def test_unpublished_api_has_no_record(run_env_id):
    item = api(run_env_name=None, publish_id=None)
    if run_env_id == "missing":
        del item["run_env_id"]
    else:
        item["run_env_id"] = run_env_id
    assert route_record(item) is None
    assert desired_routes([item], PREFIX, INSTANCE) == {}


def test_unpublished_api_needs_no_method_or_uri():
    item = {"id": "draft1", "run_env_id": ""}
    assert route_record(item) is None
    assert build_records([item]) == {}
    assert desired_routes([item], PREFIX, INSTANCE) == {}


@pytest.mark.parametrize("ids, names, publish_ids, expected", [
    ("e1", "RELEASE", "p1", [{"id": "e1", "name": "RELEASE", "publish_id": "p1"}]),
    ("e2|e1", "TEST|RELEASE", "p2|p1",
     [{"id": "e1", "name": "RELEASE", "publish_id": "p1"}, {"id": "e2", "name": "TEST", "publish_id": "p2"}]),
    ("c|a|b", "C|A|B", "pc|pa|pb",
     [{"id": "a", "name": "A", "publish_id": "pa"}, {"id": "b", "name": "B", "publish_id": "pb"},
      {"id": "c", "name": "C", "publish_id": "pc"}]),
    # absent names / publish ids: the key is left out of every entry, not invented
    ("e2|e1", None, "p2|p1", [{"id": "e1", "publish_id": "p1"}, {"id": "e2", "publish_id": "p2"}]),
    ("e2|e1", "", "p2|p1", [{"id": "e1", "publish_id": "p1"}, {"id": "e2", "publish_id": "p2"}]),
    ("e2|e1", "B|A", None, [{"id": "e1", "name": "A"}, {"id": "e2", "name": "B"}]),
    ("e1", None, None, [{"id": "e1"}]),
    # an empty part of a present field is kept: the count proves the pairing
    ("e2|e1", "B|", "p2|p1", [{"id": "e1", "name": "", "publish_id": "p1"},
                              {"id": "e2", "name": "B", "publish_id": "p2"}]),
    ("e1", u"生产", "p1", [{"id": "e1", "name": u"生产", "publish_id": "p1"}]),
])
def test_envs_split_and_sorted(ids, names, publish_ids, expected):
    record = route_record(api(run_env_id=ids, run_env_name=names, publish_id=publish_ids))
    assert record["envs"] == expected


def test_envs_sorted_in_bytes():
    value = canonical_json(route_record(api(run_env_id="z|a", run_env_name="Z|A", publish_id="pz|pa")))
    assert value.index(b'"id":"a"') < value.index(b'"id":"z"')


@pytest.mark.parametrize("obj, expected", [
    ({"b": 1, "a": 2}, b'{"a":2,"b":1}'),
    ({"a": [1, {"d": None, "c": True}]}, b'{"a":[1,{"c":true,"d":null}]}'),
    ({"n": u"é中"}, u'{"n":"é中"}'.encode("utf-8")),
    ({"n": u"\U0001F600"}, b'{"n":"\xf0\x9f\x98\x80"}'),
    ({"n": "a\nb\"c"}, b'{"n":"a\\nb\\"c"}'),
    ([], b"[]"),
    ({}, b"{}"),
])
def test_canonical_json(obj, expected):
    assert canonical_json(obj) == expected


def test_canonical_json_is_independent_of_insertion_order():
    record = route_record(api())
    reordered = dict(reversed(list(record.items())))
    assert canonical_json(reordered) == canonical_json(record)
    value = canonical_json(record)
    assert b" " not in value.replace(b"list_users", b"")
    assert json.loads(value.decode("utf-8")) == record


def test_canonical_json_refuses_nan():
    with pytest.raises(ValueError):
        canonical_json({"a": float("nan")})


def test_desired_routes_keys_and_values():
    a = api(id="a1")
    b = api(id="b2", run_env_id="e2|e1", run_env_name="T|R", publish_id="p2|p1")
    unpublished = api(id="c3", run_env_id="", run_env_name=None, publish_id=None)
    routes = desired_routes([a, b, unpublished], PREFIX, INSTANCE)
    assert sorted(routes) == ["/apig/router/inst-1/apis/a1", "/apig/router/inst-1/apis/b2"]
    for key, value in routes.items():
        assert isinstance(key, str) and isinstance(value, bytes)
        assert value == canonical_json(json.loads(value.decode("utf-8")))
    assert routes["/apig/router/inst-1/apis/a1"] == canonical_json(route_record(a))


def test_desired_routes_trailing_slash_prefix_and_tuple():
    routes = desired_routes((api(id="a1"),), "/apig/router/", INSTANCE)
    assert list(routes) == ["/apig/router/inst-1/apis/a1"]


def test_desired_routes_does_not_mutate_input():
    items = [api(id="a1"), api(id="b2")]
    before = copy.deepcopy(items)
    desired_routes(items, PREFIX, INSTANCE)
    assert items == before


def test_keys():
    assert routes_prefix(PREFIX, INSTANCE) == "/apig/router/inst-1/apis/"
    assert routes_prefix("/p/", "i") == "/p/i/apis/"
    assert manifest_key(PREFIX, INSTANCE) == "/apig/router/inst-1/manifest"
    assert api_id_of("/apig/router/inst-1/apis/a1") == "a1"
    assert api_id_of(b"/apig/router/inst-1/apis/a1") == "a1"
    # the manifest key is not under the routes prefix
    assert not manifest_key(PREFIX, INSTANCE).startswith(routes_prefix(PREFIX, INSTANCE))


@pytest.mark.parametrize("key", ["/apig/router/inst-1/manifest", "/apig/router/inst-1/apis/", "a1",
                                 "/x/apis/a/b", "/x/apis/bad id"])
def test_api_id_of_refuses_non_route_keys(key):
    with pytest.raises(ValueError):
        api_id_of(key)


@pytest.mark.parametrize("key_prefix, instance_id, message", [
    ("apig", INSTANCE, "must start with '/'"),
    ("/a//b", INSTANCE, "must not contain '//'"),
    ("/a/../b", INSTANCE, "must not contain '//', '..'"),
    ("/", INSTANCE, "must not be '/' alone"),
    (PREFIX, "inst/1", "instance_id 'inst/1' is not a valid identifier"),
    (PREFIX, "", "instance_id '' is not a valid identifier"),
    (PREFIX, None, "instance_id None is not a valid identifier"),
])
def test_bad_prefix_or_instance_refused(key_prefix, instance_id, message):
    with pytest.raises(ValidationError) as exc:
        desired_routes([api()], key_prefix, instance_id)
    assert message in exc.value.msg


LONG_URI = "/" + "u" * MAX_URI_BYTES
LONG_NAME = "n" * (MAX_FIELD_BYTES + 1)

REFUSED = [
    # (overrides, message fragment)
    ({"id": None}, "apis[0] (no id): id is missing"),
    ({"id": ""}, "apis[0] (id ''): id '' is not a valid identifier"),
    ({"id": "a/b"}, "apis[0] (id 'a/b'): id 'a/b' is not a valid identifier"),
    ({"id": "../x"}, "is not a valid identifier"),
    ({"id": "-a"}, "is not a valid identifier"),
    ({"id": "a" * 65}, "is not a valid identifier"),
    ({"id": "a\n"}, "is not a valid identifier"),
    ({"id": 12}, "apis[0] (id 12): id 12 is not a valid identifier"),
    ({"id": ["a"]}, "apis[0] (id a list): id a list is not a valid identifier"),
    ({"req_method": "get"}, "req_method 'get' is not one of GET, POST"),
    ({"req_method": "CONNECT"}, "req_method 'CONNECT' is not one of"),
    ({"req_method": None}, "req_method is missing (required for a published API)"),
    ({"req_method": 1}, "req_method must be a string, got 1"),
    ({"req_uri": "users"}, "req_uri 'users' must start with '/'"),
    ({"req_uri": ""}, "req_uri '' must start with '/'"),
    ({"req_uri": None}, "req_uri is missing (required for a published API)"),
    ({"req_uri": ["/a"]}, "req_uri must be a string, got a list"),
    ({"req_uri": "/a\x00b"}, "must not contain control characters"),
    ({"req_uri": LONG_URI}, "req_uri is %d bytes long: at most %d" % (len(LONG_URI), MAX_URI_BYTES)),
    ({"name": LONG_NAME}, "name is %d bytes long: at most %d" % (len(LONG_NAME), MAX_FIELD_BYTES)),
    ({"name": u"\ud800"}, "name '\\ud800' is not valid Unicode"),
    ({"name": 5}, "name must be a string, got 5"),
    ({"group_id": {"a": 1}}, "group_id must be a string, got a dict"),
    ({"match_mode": True}, "match_mode must be a string, got True"),
    ({"type": "public"}, "type must be an integer, got 'public'"),
    ({"type": True}, "type must be an integer, got True"),
    ({"type": 1.5}, "type must be an integer, got 1.5"),
    ({"type": 2 ** 64}, "type must be an integer"),
    ({"type": float("inf")}, "type must be an integer, got inf"),
    ({"cors": "true"}, "cors must be true or false, got 'true'"),
    ({"cors": 1}, "cors must be true or false, got 1"),
    ({"run_env_id": 5}, "run_env_id must be a string, got 5"),
    ({"run_env_id": "e1|e2"}, "run_env_name has 1 '|'-separated parts but run_env_id has 2"),
    ({"run_env_id": "e1|e2", "run_env_name": "A|B"}, "publish_id has 1 '|'-separated parts but run_env_id has 2"),
    ({"run_env_name": "A|B"}, "run_env_name has 2 '|'-separated parts but run_env_id has 1"),
    ({"run_env_id": "e1|", "run_env_name": "A|B", "publish_id": "1|2"}, "run_env_id part '' is not a valid"),
    ({"run_env_id": "e1|e1", "run_env_name": "A|B", "publish_id": "1|2"}, "names environment e1 twice"),
    ({"run_env_id": "e 1"}, "run_env_id part 'e 1' is not a valid environment id"),
    ({"run_env_name": ["RELEASE"]}, "run_env_name must be a string, got a list"),
    ({"publish_id": 7}, "publish_id must be a string, got 7"),
    ({"backend_api": "http://x"}, "backend_api must be a dict, got 'http://x'"),
    ({"backend_api": {"req_method": "FETCH"}}, "backend_api.req_method 'FETCH' is not one of"),
    ({"backend_api": {"req_uri": "v1"}}, "backend_api.req_uri 'v1' must start with '/'"),
    ({"backend_api": {"req_uri": LONG_URI}}, "backend_api.req_uri is %d bytes long" % len(LONG_URI)),
    ({"backend_api": {"url_domain": 8080}}, "backend_api.url_domain must be a string, got 8080"),
    ({"backend_api": {"timeout": "soon"}}, "backend_api.timeout must be an integer, got 'soon'"),
    ({"backend_api": {"retry_count": [1]}}, "backend_api.retry_count must be an integer, got a list"),
]


@pytest.mark.parametrize("overrides, message", REFUSED)
def test_refused_input(overrides, message):
    item = api(**{k: v for k, v in overrides.items() if v is not None})
    for key, value in overrides.items():
        if value is None:
            item.pop(key)
    with pytest.raises(ValidationError) as exc:
        desired_routes([item], PREFIX, INSTANCE)
    assert message in exc.value.msg
    assert exc.value.msg.startswith("the API resources were refused (")
    assert "apis[0]" in exc.value.msg
    # the same problem is found for a lone resource, which is named "api"
    with pytest.raises(ValidationError) as exc:
        route_record(item)
    assert message.replace("apis[0]", "api") in exc.value.msg
    assert exc.value.msg.startswith("the API resource was refused (")


def test_bad_fields_of_unpublished_apis_are_refused_too():
    item = {"id": "draft", "req_method": "get", "run_env_id": ""}
    with pytest.raises(ValidationError) as exc:
        desired_routes([item], PREFIX, INSTANCE)
    assert "apis[0] (id draft): req_method 'get'" in exc.value.msg


@pytest.mark.parametrize("item, message", [
    ("abc", "apis[1] must be a dict (an API resource), got 'abc'"),
    (None, "apis[1] must be a dict (an API resource), got None"),
    ([{"id": "a"}], "apis[1] must be a dict (an API resource), got a list"),
])
def test_non_dict_item_refused(item, message):
    with pytest.raises(ValidationError) as exc:
        desired_routes([api(id="ok"), item], PREFIX, INSTANCE)
    assert message in exc.value.msg


@pytest.mark.parametrize("apis", [None, "abc", {"apis": []}, 5])
def test_apis_not_a_list_refused(apis):
    with pytest.raises(ValidationError) as exc:
        desired_routes(apis, PREFIX, INSTANCE)
    assert "apis must be a list" in exc.value.msg


def test_duplicate_ids_name_both_indexes():
    items = [api(id="a1"), api(id="b2"), api(id="a1", run_env_id="")]
    with pytest.raises(ValidationError) as exc:
        desired_routes(items, PREFIX, INSTANCE)
    assert "apis[2] (id a1): duplicate id, also at apis[0]" in exc.value.msg


def test_all_items_validated_first_few_reported_with_count():
    items = [api(id="i%d" % i, req_uri="bad") for i in range(12)]
    with pytest.raises(ValidationError) as exc:
        desired_routes(items, PREFIX, INSTANCE)
    msg = exc.value.msg
    assert "refused (12 problems)" in msg
    assert "apis[0] (id i0)" in msg and "apis[4] (id i4)" in msg
    assert "apis[5]" not in msg
    assert msg.endswith("; and 7 more")
    assert exc.value.details["problem_count"] == 12
    assert len(exc.value.details["problems"]) == 12


def test_one_bad_item_among_good_ones_refuses_all():
    items = [api(id="a%d" % i) for i in range(100)] + [api(id="bad", req_method="FETCH")]
    with pytest.raises(ValidationError) as exc:
        desired_routes(items, PREFIX, INSTANCE)
    assert "apis[100] (id bad)" in exc.value.msg
    assert "1 problem)" in exc.value.msg


def test_limits_are_inclusive():
    uri = "/" + "u" * (MAX_URI_BYTES - 1)
    name = u"é" * (MAX_FIELD_BYTES // 2)  # 2 bytes each: exactly the limit
    record = route_record(api(req_uri=uri, name=name))
    assert record["req_uri"] == uri and record["name"] == name
    with pytest.raises(ValidationError):
        route_record(api(name=name + "x"))


def test_manifest_layout():
    routes = {
        "/p/i/apis/b": b'{"id":"b"}',
        "/p/i/apis/a": b'{"id":"a"}',
    }
    expected = hashlib.sha256(b'/p/i/apis/a\n{"id":"a"}\n/p/i/apis/b\n{"id":"b"}\n').hexdigest()
    assert manifest(routes) == {"schema": 1, "count": 2, "sha256": expected}


def test_manifest_empty():
    assert manifest({}) == {"schema": 1, "count": 0, "sha256": hashlib.sha256(b"").hexdigest()}


def test_manifest_known_answer():
    # Pinned: the gateway computes the same digest; change this only with the contract.
    routes = desired_routes([api(id="a1"), api(id="b2", run_env_id="e2|e1", run_env_name="T|R",
                                               publish_id="p2|p1")], PREFIX, INSTANCE)
    data = b"".join(k.encode() + b"\n" + routes[k] + b"\n" for k in sorted(routes))
    assert manifest(routes)["sha256"] == hashlib.sha256(data).hexdigest()
    assert canonical_json(manifest(routes)).startswith(b'{"count":2,"schema":1,"sha256":"')


def test_manifest_changes_with_any_byte():
    routes = desired_routes([api(id="a1"), api(id="b2")], PREFIX, INSTANCE)
    base = manifest(routes)["sha256"]
    changed = dict(routes)
    changed["/apig/router/inst-1/apis/b2"] = routes["/apig/router/inst-1/apis/b2"].replace(b"GET", b"PUT", 1)
    assert manifest(changed)["sha256"] != base
    assert manifest(dict(reversed(list(routes.items()))))["sha256"] == base


def test_manifest_orders_keys_by_their_utf8_bytes_whether_str_bytes_or_both():
    # Written out by hand in byte order: "~" (0x7e) < U+00E9 (0xc3 0xa9) < U+FF5E (0xef 0xbd 0x9e)
    # < U+1F600 (0xf0 ...); a stray key that is not UTF-8 (0xff) sorts last.
    ordered = [(b"/p/i/apis/a~", b"1"), (u"/p/i/apis/a\u00e9".encode("utf-8"), b"2"),
               (u"/p/i/apis/a\uff5e".encode("utf-8"), b"3"), (u"/p/i/apis/a\U0001f600".encode("utf-8"), b"4")]
    expected = hashlib.sha256(b"".join(k + b"\n" + v + b"\n" for k, v in ordered)).hexdigest()
    as_text = dict((k.decode("utf-8"), v) for k, v in reversed(ordered))
    as_bytes = dict(reversed(ordered))
    mixed = dict((k if i % 2 else k.decode("utf-8"), v) for i, (k, v) in enumerate(ordered))
    for routes in (as_text, as_bytes, mixed):
        assert manifest(routes) == {"schema": 1, "count": 4, "sha256": expected}
    stray = dict(as_bytes, **{})
    stray[b"/p/i/apis/\xff"] = b"5"
    expected = hashlib.sha256(b"".join(k + b"\n" + v + b"\n" for k, v in ordered + [(b"/p/i/apis/\xff", b"5")]))
    assert manifest(stray)["sha256"] == expected.hexdigest()
    assert manifest(dict(stray, **{u"/p/i/apis/b": b"6"}))["count"] == 6


@pytest.mark.parametrize("routes", [{"/p/i/apis/a": b"{}", "/p/i/apis/b": "{}"}, {b"/p/i/apis/a": bytearray(b"{}")}])
def test_manifest_refuses_values_that_are_not_bytes_whatever_the_keys(routes):
    with pytest.raises(TypeError):
        manifest(routes)


def test_manifest_refuses_str_values():
    with pytest.raises(TypeError):
        manifest({"/p/i/apis/a": "{}"})


# --- the order of keys and problems --------------------------------------------

def test_record_dicts_are_filled_in_sorted_key_order():
    """What lets build_records encode without sorting (the golden test pins the bytes)."""
    for item in (api(), api(run_env_id="b|a", run_env_name="B|A", publish_id="2|1"), api(backend_api=None),
                 api(name=None, cors=None, backend_api={"timeout": 1, "req_uri": "/x"})):
        record = route_record(item)
        assert list(record) == sorted(record)
        for env in record["envs"]:
            assert list(env) == sorted(env)
        if "backend" in record:
            assert list(record["backend"]) == sorted(record["backend"])


def test_problems_are_reported_in_the_documented_field_order():
    """One item wrong everywhere: its problems come in the order of the fields in the module
    docstring (id, name, group, request, match, auth, backend type, type, cors, envs, backend),
    not in the order of the record's keys."""
    item = {"id": "x", "name": 1, "group_id": 2, "group_name": 3, "req_protocol": 4, "req_method": "get",
            "req_uri": "a", "match_mode": 5, "auth_type": 6, "backend_type": 7, "type": "t", "cors": "c",
            "run_env_id": "e 1", "backend_api": {"req_uri": "b", "timeout": "t", "req_method": 8}}
    with pytest.raises(ValidationError) as exc:
        build_records([item])
    fields = [p.split(": ", 1)[1].split(" ", 1)[0] for p in exc.value.details["problems"]]
    assert fields == ["name", "group_id", "group_name", "req_protocol", "req_method", "req_uri", "match_mode",
                      "auth_type", "backend_type", "type", "cors", "run_env_id",
                      "backend_api.req_method", "backend_api.req_uri", "backend_api.timeout"]
    assert exc.value.details["problem_count"] == len(fields)


def test_a_bad_backend_refuses_its_api_and_a_good_one_is_kept():
    with pytest.raises(ValidationError) as exc:
        build_records([api(id="a1", backend_api={"timeout": "soon"})])
    assert exc.value.details["problems"] == ["apis[0] (id a1): backend_api.timeout must be an integer, got 'soon'"]
    assert json.loads(build_records([api(id="a1", backend_api={"timeout": "7"})])["a1"])["backend"] == {"timeout": 7}


# --- properties --------------------------------------------------------------

ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,10}\Z")
env_lists = st.lists(ids, min_size=1, max_size=4, unique=True)


@FUZZ
@given(envs=env_lists,
       names=st.lists(st.text(alphabet=st.characters(blacklist_characters="|", blacklist_categories=("Cs",)),
                              max_size=5), min_size=4, max_size=4),
       data=st.data())
def test_envs_property(envs, names, data):
    publish = ["p%d" % i for i in range(len(envs))]
    record = route_record(api(run_env_id="|".join(envs), run_env_name="|".join(names[:len(envs)]) or None,
                              publish_id="|".join(publish)))
    assert [e["id"] for e in record["envs"]] == sorted(envs)
    for env in record["envs"]:
        i = envs.index(env["id"])
        assert env["publish_id"] == publish[i]


# Values that are sometimes right and often wrong, for every field a record reads.
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["GET", "get", "/a", "a", "1", "-1", "e1|e2", ""]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                      max_leaves=8)
field_names = st.sampled_from(["id", "name", "type", "req_protocol", "req_method", "req_uri", "match_mode",
                               "auth_type", "cors", "backend_type", "group_id", "group_name", "run_env_id",
                               "run_env_name", "publish_id", "backend_api", "register_time"])
api_like = st.one_of(
    st.dictionaries(field_names, values, max_size=10),
    st.builds(lambda base, extra: dict(base, **extra), st.just(api()),
              st.dictionaries(field_names, values, max_size=3)),
    values,
)


@FUZZ
@given(apis=st.one_of(st.lists(api_like, max_size=5), values))
def test_fuzz_desired_routes_returns_or_refuses(apis):
    try:
        routes = desired_routes(apis, PREFIX, INSTANCE)
    except ValidationError as e:
        assert e.msg
        return
    for key, value in routes.items():
        assert key.startswith("/apig/router/inst-1/apis/")
        record = json.loads(value.decode("utf-8"))
        assert canonical_json(record) == value
        assert record["schema"] == 1 and api_id_of(key) == record["id"]
