# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The golden corpus: today's records, manifests and messages equal 0.1.0's, byte for byte.

golden/corpus.py generates the inputs; golden/expected.json.gz holds what the record
builder of 0.1.0 made of them (frozen once, never rewritten by these tests). A mismatch
here means an upgrade would rewrite deployed routes or change what users read.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib.util
import json
import os

import pytest

from ansible_collections.apigw.router.plugins.module_utils.sources import _routes
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from apigw_support.routes import desired_routes, route_record

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")


def _load_generator():
    spec = importlib.util.spec_from_file_location("golden_corpus", os.path.join(HERE, "corpus.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


corpus = _load_generator()
EXPECTED = corpus.load(os.path.join(HERE, "expected.json.gz"))
VALID = list(corpus.valid_cases())
MALFORMED = list(corpus.malformed_cases())
FROZEN = dict((line["name"], line) for line in EXPECTED)


def _frozen(name, apis, kind):
    line = FROZEN[name]
    assert line["kind"] == kind
    assert line["input"] == corpus.digest(apis), "the generator changed: %s is not the frozen input" % name
    return line


def test_corpus_is_large_and_complete():
    assert [line["name"] for line in EXPECTED] == [name for name, dummy in VALID + MALFORMED]
    everything = dict(VALID)["everything"]
    assert len(everything) >= 2000
    assert sum(1 for published in FROZEN["everything"]["route_record"] if published) >= 1500
    assert len(MALFORMED) >= 50
    # several items in one list, too
    assert sum(1 for dummy, apis in MALFORMED if isinstance(apis, list) and len(apis) > 1) >= 50


@pytest.mark.parametrize("name, apis", VALID, ids=[name for name, dummy in VALID])
def test_valid_records_and_manifests_are_frozen(name, apis):
    line = _frozen(name, apis, "valid")
    records = _routes.build_records(apis)
    frozen_records = line["records"]
    if frozen_records is None:
        # "everything": the union of the batches' frozen records
        frozen_records = {}
        for other in EXPECTED:
            if other["kind"] == "valid" and other["records"]:
                frozen_records.update(other["records"])
    expected = dict((k, v.encode("utf-8")) for k, v in frozen_records.items())
    assert records == expected
    # insertion order is not part of the contract, but every value is
    assert sorted(records) == sorted(expected)
    for (key_prefix, instance_id), frozen in zip(corpus.PLACES, line["manifests"]):
        routes = desired_routes(apis, key_prefix, instance_id)
        assert _routes.canonical_json(_routes.manifest(routes)) == frozen.encode("ascii")
    # route_record: None for an unpublished API, else the bytes of its record
    assert len(line["route_record"]) == len(apis)
    for item, published in zip(apis, line["route_record"]):
        record = route_record(item)
        if published:
            assert _routes.canonical_json(record) == expected[item["id"]]
        else:
            assert record is None


@pytest.mark.parametrize("name, apis", VALID, ids=[name for name, dummy in VALID])
def test_record_bytes_are_canonical(name, apis):
    """What the builder writes is what canonical_json writes for the same data."""
    for value in _routes.build_records(apis).values():
        assert _routes.canonical_json(json.loads(value.decode("utf-8"))) == value


@pytest.mark.parametrize("name, apis", MALFORMED, ids=[name for name, dummy in MALFORMED])
def test_malformed_messages_are_frozen(name, apis):
    line = _frozen(name, apis, "malformed")
    with pytest.raises(ValidationError) as exc:
        _routes.build_records(apis)
    assert exc.value.msg == line["error"]["msg"]
    assert str(exc.value) == line["error"]["msg"]
    assert exc.value.details == line["error"]["details"]
    if line["route_record"] is not None:
        with pytest.raises(ValidationError) as exc:
            route_record(apis[0])
        assert exc.value.msg == line["route_record"]["msg"]
        assert exc.value.details == line["route_record"]["details"]
