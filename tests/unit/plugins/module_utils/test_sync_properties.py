# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Properties of the planner and the writer together: ``sync()`` against an in-memory etcd.

etcd holds random keys: routes and strays of the instance, keys of other instances under the
same prefix (``inst`` against ``inst2`` and ``ins``), of other prefixes (``/apig/routerX``,
``/apig``), ``apisX/`` and ``apis`` beside ``apis/``, and keys that are not UTF-8, inside and
outside the instance's ``apis/``. The source is random too. Whatever they are:

- a sync deletes only keys under ``<key_prefix>/<instance_id>/apis/`` that the source does
  not have (none without prune), and writes only keys under it plus the manifest;
- every other key keeps its value and mod_revision;
- the prefix then holds exactly the source's routes (plus, without prune, the others), the
  manifest describes them (digest computed here from the layout guide, not by the module),
  and the result names what was written, a key that is not UTF-8 escaped with backslashreplace;
- check mode writes nothing and reports what the real run then does; a second run is a no-op.

The fake applies guards as etcd does, in the order of the keys' bytes (see FakeEtcd).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.etcd._sync import inspect, sync
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import build_records

from test_fuzz_sources import FakeEtcd, good_api

PROPS = settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])

INSTANCE = 'inst'
PREFIX = '/apig/router'
ROUTES = b'/apig/router/inst/apis/'
MANIFEST = b'/apig/router/inst/manifest'

# Key parts that make keys inside the instance's apis/, right beside it, and far from it.
heads = st.sampled_from([b'/apig/router/', b'/apig/routerX/', b'/apig/', b'/other/', b''])
instances = st.sampled_from([b'inst', b'inst2', b'ins', b'inst\xff', b'x'])
middles = st.sampled_from([b'/apis/', b'/apisX/', b'/apis', b'/manifest', b'/lock', b'/', b'/apis/sub/'])
tails = st.one_of(
    st.sampled_from([b'api-0', b'api-1', b'api-2', b'api-5', b'stray', b'not an id!', b'\xff', b'\xc3', b'a\xc3\xa9',
                     b'caf\xc3\xa9', b'', b'a/b', b'\\xff', b'\xf0\x9f\x98\x80', b'\xed\xa0\x80']),
    st.binary(max_size=4))
keys = st.one_of(st.builds(lambda h, i, m, t: h + i + m + t, heads, instances, middles, tails), st.binary(max_size=12))
values = st.sampled_from([b'{}', b'garbage', b'\xff\xfe', b'{"id":"api-1","schema":1}'])
contents = st.dictionaries(keys, st.tuples(values, st.integers(1, 50)), max_size=12)
sources = st.lists(good_api, max_size=6, unique_by=lambda api: api['id'])


def text(key):
    return key.decode('utf-8', 'backslashreplace')


def shown_id(key):
    """The id the result gives a deleted key: the API id of a route key, else the key escaped."""
    tail = key[len(ROUTES):]
    try:
        api_id = tail.decode('ascii')
    except UnicodeDecodeError:
        return text(key)
    ok = api_id[:1].isalnum() and len(api_id) <= 64 and all(c.isalnum() or c in '_-' for c in api_id)
    return api_id if ok else text(key)


def layout_digest(routes):
    """The manifest digest as docs/docsite/rst/guide_etcd_layout.rst defines it, over raw bytes."""
    digest = hashlib.sha256()
    for key in sorted(routes):
        digest.update(key + b'\n' + routes[key] + b'\n')
    return digest.hexdigest()


def store_with(seed):
    store = FakeEtcd(None)
    store.kv.update(seed)
    store.revision = 51
    return store


@PROPS
@given(seed=contents, apis=sources, prune=st.booleans(), allow_empty=st.booleans(), max_txn_ops=st.integers(1, 5),
       diff=st.booleans())
def test_a_sync_touches_only_its_own_apis_prefix(seed, apis, prune, allow_empty, max_txn_ops, diff):
    desired = dict((ROUTES + api_id.encode(), record) for api_id, record in build_records(apis).items())
    desired_text = dict((k.decode(), v) for k, v in desired.items())
    mine = dict((k, v) for k, v in seed.items() if k.startswith(ROUTES))
    removed = set(mine) - set(desired) if prune else set()

    # check mode first: nothing written, and it names what the real run then does
    checked = store_with(seed)
    try:
        preview = sync(checked, INSTANCE, desired_text, key_prefix=PREFIX, prune=prune, allow_empty=allow_empty,
                       max_txn_ops=max_txn_ops, check_mode=True, diff=diff)
    except ValidationError as exc:
        # only an empty source that would delete routes is refused, and then nothing is written
        assert not desired and removed and not allow_empty and 'allow_empty' in exc.msg
        assert checked.kv == seed and checked.txns == []
        return
    assert checked.kv == seed and checked.txns == [] and checked.locks == 0

    store = store_with(seed)
    result = sync(store, INSTANCE, desired_text, key_prefix=PREFIX, prune=prune, allow_empty=allow_empty,
                  max_txn_ops=max_txn_ops, diff=diff)
    json.dumps(result)  # all text, as Ansible needs

    # writes: only under the instance's apis/, plus the manifest; deletes: only what the source lacks
    for ops in store.txns:
        assert len(ops) <= max_txn_ops
        for op in ops:
            if op[0] == 'delete':
                assert op[1].startswith(ROUTES) and op[1] not in desired and prune, op
            else:
                assert op[1].startswith(ROUTES) or op[1] == MANIFEST, op
    # everything else is as it was, value and mod_revision
    for key, held in seed.items():
        if not key.startswith(ROUTES) and key != MANIFEST:
            assert store.kv[key] == held, key
    assert set(store.kv) - set(seed) <= set(desired) | {MANIFEST}

    # the prefix holds the source's routes (and without prune what was there besides)
    held = dict((k, v[0]) for k, v in store.kv.items() if k.startswith(ROUTES))
    expected = dict((k, v[0]) for k, v in mine.items() if k not in removed)
    expected.update(desired)
    assert held == expected
    if store.txns:
        stored = json.loads(store.kv[MANIFEST][0].decode('utf-8'))
        assert stored == result['manifest'] == {'schema': 1, 'count': len(held), 'sha256': layout_digest(held)}

    # the result names what was written, as check mode did
    assert result['deleted'] == sorted(shown_id(k) for k in removed)
    assert result['created'] == sorted(k[len(ROUTES):].decode() for k in set(desired) - set(mine))
    assert result['updated'] == sorted(k[len(ROUTES):].decode() for k in desired
                                       if k in mine and mine[k][0] != desired[k])
    for name in ('created', 'updated', 'deleted'):
        assert preview[name] == result[name]
    if diff:
        removed_shown = set(text(k) for k in removed)
        assert removed_shown <= set(result['diff']['before']) and removed_shown <= set(preview['diff']['before'])

    # a second run changes nothing
    again = store_with(store.kv)
    repeat = sync(again, INSTANCE, desired_text, key_prefix=PREFIX, prune=prune, allow_empty=allow_empty,
                  max_txn_ops=max_txn_ops)
    assert repeat['changed'] is False and again.txns == [] and again.locks == 0


@PROPS
@given(seed=contents, apis=sources)
def test_inspect_reads_every_key_of_its_prefix_and_nothing_else(seed, apis):
    desired = dict((ROUTES.decode() + api_id, record) for api_id, record in build_records(apis).items())
    store = store_with(seed)
    info = inspect(store, INSTANCE, PREFIX, desired=desired, records=True)
    json.dumps(info)
    mine = sorted(k for k in seed if k.startswith(ROUTES))
    assert info['count'] == len(mine) == len(info['routes'])
    lacking = [k for k in mine if k not in set(key.encode() for key in desired)]
    assert info['drift']['delete'] == sorted(shown_id(k) for k in lacking)
    assert store.kv == seed and store.txns == []
