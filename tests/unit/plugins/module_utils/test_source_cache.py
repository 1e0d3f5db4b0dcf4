# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The src cache: what it stores, when it is a miss, and that a hit builds nothing."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import sys

import pytest

from ansible_collections.apigw.router.plugins.module_utils.sources import _source

from ansible_collections.apigw.router.plugins.module_utils.sources import _cache as _source_cache
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import build_records, manifest
from ansible_collections.apigw.router.plugins.module_utils.sources._source import FileSource, fixed_source, keyed
from ansible_collections.apigw.router.plugins.module_utils.sources._cache import SourceCache, default_directory

APIS = [
    {"id": "a1", "name": "one", "req_method": "GET", "req_uri": "/one", "run_env_id": "RELEASE"},
    {"id": "a2", "name": "two", "req_method": "POST", "req_uri": "/two", "run_env_id": "RELEASE"},
    {"id": "a3", "name": "draft", "req_method": "GET", "req_uri": "/three", "run_env_id": ""},
]
P1, P2 = "/apig/router/i1/apis/", "/apig/router/i2/apis/"


def target(prefix):
    return {"routes_prefix": prefix}


def expected(prefix, apis=None):
    return manifest(keyed(prefix, build_records(APIS if apis is None else apis)))


@pytest.fixture
def src(tmp_path):
    path = tmp_path / "apis.json"
    path.write_text(json.dumps(APIS), encoding="utf-8")
    return str(path)


@pytest.fixture
def builds(monkeypatch):
    """The number of build_records calls made through the source module."""
    calls = []
    real = _source.build_records
    monkeypatch.setattr(_source, "build_records", lambda apis: calls.append(len(apis)) or real(apis))
    return calls


def entries():
    directory = default_directory()
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


def sync_like(source, prefixes):
    """What a run does with a FileSource: ask each instance's manifest, then save."""
    got = dict((p, source.routes(target(p)).manifest) for p in prefixes)
    source.save()
    return got


# --- SourceCache ------------------------------------------------------------------------------

def test_default_directory_follows_xdg_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_directory() == str(tmp_path / "xdg" / "apigw.router" / "sources")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/not/used")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_directory() == str(tmp_path / "home" / ".cache" / "apigw.router" / "sources")


def test_key_depends_on_the_bytes_and_the_code(tmp_path):
    one, other = SourceCache(str(tmp_path), "code-1"), SourceCache(str(tmp_path), "code-2")
    assert one.key(b"[]") == one.key(b"[]")
    assert len({one.key(b"[]"), one.key(b"[ ]"), other.key(b"[]")}) == 3


def test_code_fingerprint_changes_with_the_source_and_is_none_without_it():
    base = _source_cache.code_fingerprint([_source_cache])
    assert base and base == _source_cache.code_fingerprint([_source_cache])
    assert _source_cache.code_fingerprint([_source_cache], ["yaml 6.0"]) != base
    assert _source_cache.code_fingerprint([sys]) is None  # a built-in module has no source text


def test_code_fingerprint_is_the_same_from_a_loader_that_gives_bytes():
    class BytesLoader(object):  # as Ansible's collection loader does
        @staticmethod
        def get_source(name):
            text = _source_cache.__loader__.get_source(name)  # bytes already under Ansible's loader
            return text if isinstance(text, bytes) else text.encode("utf-8")

    class Module(object):
        __name__ = _source_cache.__name__
        __loader__ = BytesLoader()

    assert _source_cache.code_fingerprint([Module()]) == _source_cache.code_fingerprint([_source_cache])


def test_save_merges_and_load_checks_the_shape(tmp_path):
    cache = SourceCache(str(tmp_path / "c"), "code")
    key = cache.key(b"x")
    assert cache.load(key) == {}
    m1, m2 = expected(P1), expected(P2)
    cache.save(key, {P1: m1})
    cache.save(key, {P2: m2})
    assert cache.load(key) == {P1: m1, P2: m2}
    assert oct(os.stat(str(tmp_path / "c")).st_mode & 0o777) == "0o700"
    path = tmp_path / "c" / (key + ".json")
    for bad in ("not json", "[]", json.dumps({"format": 2, "manifests": {P1: m1}}),
                json.dumps({"format": 1, "manifests": {P1: dict(m1, sha256="xyz")}}),
                json.dumps({"format": 1, "manifests": {P1: dict(m1, count=-1)}}),
                json.dumps({"format": 1, "manifests": {P1: dict(m1, extra=1)}}),
                json.dumps({"format": 1, "manifests": {P1: m1, P2: "m2"}})):
        path.write_text(bad, encoding="utf-8")
        assert cache.load(key) == {}, bad


def test_entries_are_bounded_and_the_newest_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(_source_cache, "MAX_ENTRIES", 3)
    cache = SourceCache(str(tmp_path), "code")
    keys = [cache.key(str(i).encode()) for i in range(5)]
    for age, key in enumerate(keys):
        cache.save(key, {P1: expected(P1)})
        os.utime(os.path.join(str(tmp_path), key + ".json"), (1000 + age, 1000 + age))
    assert sorted(os.listdir(str(tmp_path))) == sorted(k + ".json" for k in keys[-3:])


def test_prefixes_per_entry_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(_source_cache, "MAX_PREFIXES", 2)
    cache = SourceCache(str(tmp_path), "code")
    key = cache.key(b"x")
    cache.save(key, {"/a/": expected("/a/"), "/b/": expected("/b/")})
    cache.save(key, {"/c/": expected("/c/")})
    assert cache.load(key) == {"/c/": expected("/c/")}  # started afresh, not grown without end


def test_a_cache_that_cannot_be_written_is_ignored(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    cache = SourceCache(str(blocker / "sub"), "code")  # a directory under a file
    cache.save(cache.key(b"x"), {P1: expected(P1)})
    assert cache.load(cache.key(b"x")) == {}


# --- FileSource with the cache ----------------------------------------------------------------

def test_a_miss_builds_at_once_and_a_hit_builds_nothing(src, builds):
    first = fixed_source(dict(apis=None, src=src))
    assert builds == [len(APIS)]  # validated before anything is sent
    assert sync_like(first, [P1, P2]) == {P1: expected(P1), P2: expected(P2)}
    assert len(entries()) == 1

    second = fixed_source(dict(apis=None, src=src))
    assert sync_like(second, [P1, P2]) == {P1: expected(P1), P2: expected(P2)}
    assert builds == [len(APIS)]  # the hit: no parse, no build
    # when etcd cannot prove the no-op the routes are built, once for all instances
    assert second.routes(target(P1)).routes() == keyed(P1, build_records(APIS))
    assert second.routes(target(P2)).routes() == keyed(P2, build_records(APIS))
    assert builds == [len(APIS)] * 2


def test_a_prefix_the_entry_lacks_is_built_and_learnt(src, builds):
    sync_like(fixed_source(dict(apis=None, src=src)), [P1])
    source = fixed_source(dict(apis=None, src=src))
    assert builds == [len(APIS)]
    assert sync_like(source, [P1, P2])[P2] == expected(P2)
    assert builds == [len(APIS)] * 2
    cache = _source.source_cache(src)
    assert cache.load(cache.key(open(src, "rb").read())) == {P1: expected(P1), P2: expected(P2)}


def test_a_wrong_entry_is_corrected_once_the_routes_are_built(src):
    cache = _source.source_cache(src)
    key = cache.key(open(src, "rb").read())
    wrong = dict(expected(P1), sha256="0" * 64)
    cache.save(key, {P1: wrong})
    source = fixed_source(dict(apis=None, src=src))
    desired = source.routes(target(P1))
    assert desired.manifest == wrong  # what a hit offers, for etcd to confirm or not
    desired.computed_manifest()  # etcd did not confirm it: the sync built the routes and their manifest
    source.save()
    assert cache.load(key) == {P1: expected(P1)}


def test_an_invalid_src_is_never_cached(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([dict(APIS[0], req_uri="no-slash")]), encoding="utf-8")
    for _attempt in range(2):
        with pytest.raises(ValidationError, match="req_uri"):
            fixed_source(dict(apis=None, src=str(path)))
    assert entries() == []


def test_source_cache_false_neither_reads_nor_writes(src, builds):
    sync_like(fixed_source(dict(apis=None, src=src)), [P1])
    assert len(entries()) == 1
    os.unlink(os.path.join(default_directory(), entries()[0]))
    sync_like(fixed_source(dict(apis=None, src=src, source_cache=False)), [P1])
    assert entries() == [] and builds == [len(APIS)] * 2


def test_the_file_kind_is_part_of_the_key(tmp_path):
    data = json.dumps(APIS)
    keys = set()
    for name in ("a.json", "a.yml", "a"):
        path = tmp_path / name
        path.write_text(data, encoding="utf-8")
        keys.add(_source.source_cache(str(path)).key(data.encode()))
    assert len(keys) == 2  # .json is read as JSON only; the other two may be read as YAML


def test_no_cache_without_a_home(src, monkeypatch, builds):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setattr(os.path, "expanduser", lambda path: path)  # no home: "~" stays "~"
    assert _source.source_cache(src) is None
    source = fixed_source(dict(apis=None, src=src))
    assert isinstance(source, FileSource) and builds == [len(APIS)]
    sync_like(source, [P1])


def test_a_known_manifest_is_a_claim_and_never_what_is_written():
    from ansible_collections.apigw.router.plugins.module_utils.sources._routes import DesiredRoutes
    routes = keyed(P1, build_records(APIS))
    wrong = dict(expected(P1), sha256="0" * 64)
    desired = DesiredRoutes(lambda: routes, wrong)
    assert desired.manifest == wrong and not desired.built and desired.manifest_at_hand is None
    assert desired.computed_manifest() == expected(P1) == manifest(routes)
    assert desired.manifest == wrong and desired.manifest_at_hand == expected(P1)
    plain = DesiredRoutes.of(routes)
    assert plain.built and plain.manifest == plain.computed_manifest() == expected(P1)
