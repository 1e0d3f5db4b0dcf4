# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for _source: the apis option, src files (JSON/YAML), ListApisV2 fetch."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import sys

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.apigw.router.plugins.module_utils.common._errors import (
    IncompleteListingError, MissingLibraryError, ValidationError)
from ansible_collections.apigw.router.plugins.module_utils.apig import _router_api
from ansible_collections.apigw.router.plugins.module_utils.sources import _api_source, _source
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import build_records
from ansible_collections.apigw.router.plugins.module_utils.sources._api_source import ManagementApiSource
from ansible_collections.apigw.router.plugins.module_utils.sources._source import (
    apis_from_param,
    fixed_source,
)

FUZZ = settings(max_examples=200, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

APIS = [
    {"id": "a1", "name": u"列表", "req_method": "GET", "req_uri": "/a", "run_env_id": "e1"},
    {"id": "b2", "name": "b", "req_method": "POST", "req_uri": "/b", "run_env_id": ""},
]
PAGE = {"total": 2, "size": 2, "apis": APIS}


def load_src(path):
    """The API resources of a ``src`` file, read and parsed as FileSource reads and parses it."""
    path = _source._check_path(path)
    text = _source._decode(path, _source._read(path))
    return _source._items_of(path, _source._parse(path, text))


def write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("name, content", [
    ("apis.json", json.dumps(APIS)),
    ("page.json", json.dumps(PAGE)),
    ("apis.yml", yaml.safe_dump(APIS, allow_unicode=True)),
    ("page.yaml", yaml.safe_dump(PAGE, allow_unicode=True)),
    ("APIS.JSON", json.dumps(APIS, indent=2)),
    ("apis.txt", json.dumps(APIS)),           # unknown suffix: JSON
    ("apis", yaml.safe_dump(APIS)),           # unknown suffix: YAML
    ("flow", "[{id: a1, name: 列表, req_method: GET, req_uri: /a, run_env_id: e1},"
             " {id: b2, name: b, req_method: POST, req_uri: /b, run_env_id: ''}]"),
    ("bom.json", b"\xef\xbb\xbf" + json.dumps(APIS).encode()),
    ("page_no_total.json", json.dumps({"apis": APIS})),
])
def test_load_src_lists_and_pages(tmp_path, name, content):
    assert load_src(write(tmp_path, name, content)) == APIS


def test_load_src_accepts_pathlike(tmp_path):
    path = write(tmp_path, "apis.json", json.dumps(APIS))
    assert load_src(tmp_path / "apis.json") == load_src(path)


@pytest.mark.parametrize("content", ["[]", json.dumps({"total": 0, "size": 0, "apis": []})])
def test_load_src_empty_list(tmp_path, content):
    assert load_src(write(tmp_path, "e.json", content)) == []


@pytest.mark.parametrize("name, content, message", [
    ("bad.json", '[\n  {"id": "a1"},\n  {"id": "b2",}\n]',
     "is not valid JSON: line 3, column 15: Expecting property name"),
    ("bad.json", '[\n{"id": "a1"}\n', "is not valid JSON: line 3, column 1: Expecting ',' delimiter"),
    ("bad.json", "", "is not valid JSON: line 1, column 1"),
    ("bad.json", "id: a1", "is not valid JSON: line 1, column 1"),
    ("bad.yml", "- id: a1\n- id: b2\n  name: [x\n", "is not valid YAML: line 4, column 1:"),
    ("bad.yml", "- id: a1\n  name: 'x\n", "is not valid YAML: line 3, column 1"),
    ("bad.yml", "- id: a1\n - id: b2\n", "is not valid YAML: line 2, column"),
    ("bad.yaml", "--- [1]\n--- [2]\n", "is not valid YAML: line 2, column 1"),
    ("bad.yaml", "- a: &x 1\n- b: *y\n", "is not valid YAML: line 2, column 6"),
    ("bad.yaml", "- !!python/object:os.system x\n", "is not valid YAML: line 1, column 3"),
    ("bad.yaml", "- a: 2020-13-45\n", "is not valid YAML: a value cannot be built (ValueError"),
    ("bad.yaml", "- a: !!timestamp x\n", "is not valid YAML: a value cannot be built"),
    ("bad", '[{"id": "a1",]', "is not valid JSON: line 1, column 14"),   # looks like JSON: JSON's error
    ("bad", "a: [b\n", "is not valid YAML: line 2, column 1"),            # does not: YAML's error
])
def test_parse_errors_name_path_and_line(tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(ValidationError) as exc:
        load_src(path)
    assert exc.value.msg.startswith("src %s " % path)
    assert message in exc.value.msg


@pytest.mark.skipif(not hasattr(sys, "get_int_max_str_digits"), reason="no int digit limit here")
def test_json_value_error_without_position(tmp_path):
    path = write(tmp_path, "big.json", "[" + "9" * 5000 + "]")
    with pytest.raises(ValidationError) as exc:
        load_src(path)
    assert exc.value.msg.startswith("src %s is not valid JSON: " % path)


def test_json_parse_error_details(tmp_path):
    path = write(tmp_path, "bad.json", '[\n  {"id": "a1"}\n  {"id": "b2"}\n]')
    with pytest.raises(ValidationError) as exc:
        load_src(path)
    assert exc.value.details == {"line": 3, "column": 3}


@pytest.mark.parametrize("name, content, message", [
    ("o.json", '{"id": "a1"}', "holds a dict: expected a list of API resources or a ListApisV2 page"),
    ("s.json", '"apis"', "holds 'apis': expected"),
    ("n.json", "5", "holds 5: expected"),
    ("null.json", "null", "is empty: expected a list"),
    ("empty.yml", "", "is empty: expected a list"),
    ("comments.yml", "# nothing\n", "is empty"),
    ("page.json", '{"total": 1, "apis": {"id": "a1"}}', "'apis' must be a list, got a dict"),
    ("page.json", '{"total": "2", "apis": []}', "'total' must be an integer, got '2'"),
    ("page.json", '{"total": 1200, "size": 500, "apis": [%s]}' % ",".join(['{"id": "x"}'] * 500),
     "is one ListApisV2 page of several: total is 1200 but it holds 500 APIs"),
    ("items.json", '[{"id": "a1"}, "b2"]', "apis[1] must be a dict (an API resource), got 'b2'"),
    ("items.json", '{"apis": [{"id": "a1"}, null]}', "apis[1] must be a dict (an API resource), got None"),
    ("items.yml", "- id: a1\n- - b2\n", "apis[1] must be a dict (an API resource), got a list"),
])
def test_wrong_documents_refused(tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(ValidationError) as exc:
        load_src(path)
    assert exc.value.msg.startswith("src %s" % path)
    assert message in exc.value.msg


@pytest.mark.parametrize("content, offset, line", [
    (b'[{"id": "a\xff"}]', 10, 1),
    (b'[\n{"id": "a1"},\n{"name": "\xc3\x28"}]', 26, 3),
    (b"\xef\xbb\xbf[\xfe]", 4, 1),
])
def test_invalid_utf8_names_byte_offset(tmp_path, content, offset, line):
    path = write(tmp_path, "bad.json", content)
    with pytest.raises(ValidationError) as exc:
        load_src(path)
    assert "is not valid UTF-8: byte offset %d (line %d)" % (offset, line) in exc.value.msg


def test_missing_file(tmp_path):
    path = str(tmp_path / "nope.json")
    with pytest.raises(ValidationError) as exc:
        load_src(path)
    assert exc.value.msg == "src %s does not exist" % path


def test_directory(tmp_path):
    with pytest.raises(ValidationError) as exc:
        load_src(str(tmp_path))
    assert "is a directory" in exc.value.msg


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_not_a_regular_file(tmp_path):
    path = str(tmp_path / "fifo")
    os.mkfifo(path)
    with pytest.raises(ValidationError) as exc:
        load_src(path)
    assert "is not a regular file" in exc.value.msg


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path):
    path = write(tmp_path, "secret.json", "[]")
    os.chmod(path, 0)
    try:
        with pytest.raises(ValidationError) as exc:
            load_src(path)
        assert "cannot be read" in exc.value.msg
    finally:
        os.chmod(path, 0o600)


def test_unreadable_file_via_open_error(tmp_path, monkeypatch):
    path = write(tmp_path, "a.json", "[]")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(_source, "open", refuse, raising=False)
    with pytest.raises(ValidationError) as exc:
        load_src(path)
    assert exc.value.msg == "src %s cannot be read: Permission denied" % path


def test_too_large(tmp_path, monkeypatch):
    path = write(tmp_path, "big.json", "[" + " " * 100 + "]")
    monkeypatch.setattr(_source, "MAX_SRC_BYTES", 50)
    with pytest.raises(ValidationError) as exc:
        load_src(path)
    assert "is 102 bytes: at most 50 are accepted" in exc.value.msg


@pytest.mark.parametrize("src", ["", None, 5])
def test_bad_src_value(src):
    with pytest.raises(ValidationError):
        load_src(src)


@pytest.mark.parametrize("name, content", [
    ("deep.json", "[" * 100000 + "]" * 100000),
    ("deep.yml", "[" * 100000 + "]" * 100000),
    ("deep_block.yml", "".join(" " * i + "- \n" for i in range(3000))),
])
def test_deep_nesting_refused(tmp_path, name, content):
    with pytest.raises(ValidationError) as exc:
        load_src(write(tmp_path, name, content))
    assert "nested too deeply" in exc.value.msg or "maximum nesting depth" in exc.value.msg


def test_deep_nesting_pure_python_loader(tmp_path, monkeypatch):
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    with pytest.raises(ValidationError) as exc:
        load_src(write(tmp_path, "deep.yml", "[" * 5000 + "]" * 5000))
    assert "nested too deeply" in exc.value.msg


def test_yaml_aliases_do_not_explode(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += ["a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]"
              % ((i, i) + (i - 1,) * 10) for i in range(1, 9)]
    doc = "- id: a1\n  run_env_id: e1\n  req_method: GET\n  req_uri: /x\n  junk:\n" + \
        "".join("    " + line + "\n" for line in lines) + "  name: *a8\n"
    apis = load_src(write(tmp_path, "laughs.yml", doc))
    with pytest.raises(ValidationError) as exc:
        build_records(apis)
    assert "name must be a string, got a list" in exc.value.msg


def test_yaml_without_pyyaml(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)
    path_json = write(tmp_path, "a.json", json.dumps(APIS))
    assert load_src(path_json) == APIS                     # JSON needs no PyYAML
    assert load_src(write(tmp_path, "a", json.dumps(APIS))) == APIS
    with pytest.raises(MissingLibraryError) as exc:
        load_src(write(tmp_path, "a.yml", "- id: a1\n"))
    assert exc.value.library == "PyYAML" and "to read a YAML src" in exc.value.msg
    assert exc.value.exception_text
    with pytest.raises(MissingLibraryError):
        load_src(write(tmp_path, "b", "- id: a1\n"))
    with pytest.raises(ValidationError) as exc:
        load_src(write(tmp_path, "c", '[{"id": }]'))       # looks like JSON: JSON's error
    assert "is not valid JSON" in exc.value.msg


def test_pure_python_yaml_loader(tmp_path, monkeypatch):
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    assert load_src(write(tmp_path, "a.yml", yaml.safe_dump(PAGE))) == APIS
    with pytest.raises(ValidationError) as exc:
        load_src(write(tmp_path, "b.yml", "- id: a1\n  name: [x\n"))
    assert "is not valid YAML: line 3, column 1" in exc.value.msg


# --- apis option and the source picker -----------------------------------------

@pytest.mark.parametrize("value", [[], APIS, tuple(APIS)])
def test_apis_from_param(value):
    assert apis_from_param(value) == list(value)


@pytest.mark.parametrize("value, message", [
    ({"id": "a"}, "apis must be a list of API resources, got a dict"),
    ("a1", "apis must be a list of API resources, got 'a1'"),
    (None, "got None"),
    ([{"id": "a"}, "b"], "apis[1] must be a dict (an API resource), got 'b'"),
    ([{"id": "a"}, {"id": "b"}, ["c"]], "apis[2] must be a dict (an API resource), got a list"),
])
def test_apis_from_param_refused(value, message):
    with pytest.raises(ValidationError) as exc:
        apis_from_param(value)
    assert message in exc.value.msg


def test_fixed_source_builds_records_once_and_keys_them_per_instance(tmp_path, monkeypatch):
    built = []
    real = _source.build_records

    def counting(apis):
        built.append(len(apis))
        return real(apis)

    monkeypatch.setattr(_source, "build_records", counting)
    source = fixed_source(dict(apis=None, src=write(tmp_path, "a.json", json.dumps(PAGE))))
    one = source.routes(dict(instance_id="i1", routes_prefix="/apig/router/i1/apis/")).routes()
    two = source.routes(dict(instance_id="i2", routes_prefix="/p/i2/apis/")).routes()
    assert built == [len(APIS)]
    assert sorted(one) == ["/apig/router/i1/apis/" + i for i in sorted(build_records(APIS))]
    assert [two["/p/i2/apis/" + k[len("/apig/router/i1/apis/"):]] for k in sorted(one)] == \
        [one[k] for k in sorted(one)]


def test_fixed_source_from_the_option_and_none_for_listapis():
    assert fixed_source(dict(apis=[], src=None)).records == {}  # an empty list is a source
    assert fixed_source(dict(apis=None, src=None)) is None
    with pytest.raises(ValidationError, match="apis\\[1\\] must be a dict"):
        fixed_source(dict(apis=[{"id": "a"}, 5], src=None))


def test_management_api_source_reads_each_instance():
    class Pool(object):
        transport = auth = None  # only a project lookup would use them: these targets have their project

        def __init__(self):
            self.asked = []

        def get(self, base_url):
            self.asked.append(base_url)
            return self

        def call(self, method, segments, what, project_id, query=None, **kwargs):
            self.asked.append((segments[4], project_id, query["offset"]))
            return self

        def json(self, what):
            return {"total": len(APIS), "apis": APIS}

    pool = Pool()
    routes = ManagementApiSource(pool).routes(
        dict(instance_id="i9", project_id="p1", base_url="https://apig", routes_prefix="/k/i9/apis/"))
    assert routes == dict(("/k/i9/apis/" + k, v) for k, v in build_records(APIS).items())
    assert pool.asked[0] == "https://apig" and pool.asked[1] == ("i9", "p1", 0)


def test_management_api_source_looks_up_the_project_of_a_target_without_one(monkeypatch):
    asked = []

    class Lookup(object):
        def __init__(self, transport, auth):
            asked.append((transport, auth))

        def of(self, target):
            return dict(target, project_id=target["project_id"] or "proj-" + target["region"])

    class Pool(object):
        transport, auth = "the transport", "the auth"

        def get(self, base_url):
            return self

        def call(self, method, segments, what, project_id, query=None, **kwargs):
            asked.append(project_id)
            return self

        def json(self, what):
            return {"total": len(APIS), "apis": APIS}

    monkeypatch.setattr(_api_source, "ProjectLookup", Lookup)
    source = ManagementApiSource(Pool())
    for project_id in (None, "own"):
        source.routes(dict(instance_id="i9", project_id=project_id, region="cn-north-4", base_url="https://apig",
                           routes_prefix="/k/i9/apis/"))
    assert asked == [("the transport", "the auth"), "proj-cn-north-4", "own"]


def test_management_api_source_builds_nothing_from_a_listing_that_never_adds_up(monkeypatch):
    """A listing that stops short of its total, every time: no record is built, so a sync has
    nothing to plan with (and nothing to prune)."""
    built = []
    monkeypatch.setattr(_api_source, "build_records", lambda apis: built.append(apis) or {})
    monkeypatch.setattr(_router_api, "LISTING_PAUSE", 0.0)

    class Pool(object):
        transport = auth = None  # only a project lookup would use them: these targets have their project
        offsets = []

        def get(self, base_url):
            return self

        def call(self, method, segments, what, project_id, query=None, **kwargs):
            self.offsets.append(query["offset"])
            self.page = {"total": 1234, "apis": [{"id": "a%d" % i} for i in range(600)] if not query["offset"]
                         else []}
            return self

        def json(self, what):
            return self.page

    pool = Pool()
    with pytest.raises(IncompleteListingError, match="instance i9 did not add up in 3 listing") as caught:
        ManagementApiSource(pool).routes(
            dict(instance_id="i9", project_id="p1", base_url="https://apig", routes_prefix="/k/i9/apis/"))
    assert built == [] and pool.offsets == [0, 600] * 3
    assert caught.value.details["listings"][0] == {"totals": [1234, 1234], "collected": 600, "unique": 600,
                                                   "duplicates": []}


# --- fuzz: anything either loads or is refused with a ValidationError ----------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10),
              st.sampled_from(["GET", "/a", "e1|e2", "a1", "\ud800"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["id", "apis", "total", "req_method", "req_uri",
                                                             "run_env_id", "run_env_name", "name", "type",
                                                             "cors", "backend_api", "x"]), inner, max_size=5)),
    max_leaves=15)


def _check_result(path):
    try:
        apis = load_src(path)
    except ValidationError as e:
        assert e.msg.startswith("src %s" % path)
        return
    assert isinstance(apis, list) and all(isinstance(a, dict) for a in apis)
    try:
        build_records(apis)
    except ValidationError:
        pass


@FUZZ
@given(doc=json_values, suffix=st.sampled_from([".json", ".yml", ""]))
def test_fuzz_documents(tmp_path, doc, suffix):
    if suffix == ".yml":
        text = yaml.safe_dump(doc)
    else:
        text = json.dumps(doc)
    _check_result(write(tmp_path, "doc" + suffix, text))


@FUZZ
@given(data=st.binary(max_size=200), suffix=st.sampled_from([".json", ".yaml", ""]))
def test_fuzz_bytes(tmp_path, data, suffix):
    _check_result(write(tmp_path, "raw" + suffix, data))


@FUZZ
@given(text=st.text(alphabet='[]{}:,-"\' \n\tab1|&*!?#%@`', max_size=80),
       suffix=st.sampled_from([".json", ".yaml", ""]))
def test_fuzz_syntax(tmp_path, text, suffix):
    _check_result(write(tmp_path, "syn" + suffix, text))


# --- the cyclic collector while a source is parsed and built ----------------------------

def test_collector_paused_holds_it_off_and_resumes_it():
    import gc
    assert gc.isenabled()
    with _source.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_paused_resumes_it_after_an_error():
    import gc
    with pytest.raises(ValidationError):
        with _source.collector_paused():
            raise ValidationError("bad")
    assert gc.isenabled()


def test_collector_paused_leaves_a_collector_that_was_off_off():
    import gc
    gc.disable()
    try:
        with _source.collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_src_is_parsed_and_built_with_the_collector_paused(tmp_path, monkeypatch):
    import gc
    seen = []
    real = _source.build_records

    def build_records_watched(apis):
        seen.append(gc.isenabled())
        return real(apis)
    monkeypatch.setattr(_source, "build_records", build_records_watched)
    path = tmp_path / "apis.json"
    path.write_text(json.dumps(PAGE))
    source = fixed_source({"src": str(path), "source_cache": False})
    assert sorted(source.records) == ["a1"] and seen == [False] and gc.isenabled()


def test_the_parsed_source_is_freed_before_the_collector_resumes(tmp_path, monkeypatch):
    import gc
    path = tmp_path / "apis.json"
    # Each item holds a list, as ListApisV2's do (tags, req_params): a dict of strings alone is not tracked.
    path.write_text(json.dumps([dict(APIS[0], id="a%d" % i, tags=["t"]) for i in range(3000)]))
    young_when_resumed = []
    resume = gc.enable

    def counting_resume():
        young_when_resumed.append(len(gc.get_objects(generation=0)))
        resume()
    monkeypatch.setattr(gc, "enable", counting_resume)
    gc.collect()
    source = fixed_source({"src": str(path), "source_cache": False})
    # Still holding the 3,000 parsed dicts, the collector would walk them all at its next run.
    assert len(source.records) == 3000 and young_when_resumed and young_when_resumed[0] < 500
