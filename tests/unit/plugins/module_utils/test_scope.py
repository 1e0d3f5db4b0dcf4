# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for scopes: sources/_scope, the planner's split, a scoped sync against an in-memory
etcd (its reads counted), and sources/_export's source files."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import json

import pytest

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.etcd._planner import split_by_scope
from ansible_collections.apigw.router.plugins.module_utils.etcd._sync import inspect, sync
from ansible_collections.apigw.router.plugins.module_utils.sources._export import source_document
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import build_records
from ansible_collections.apigw.router.plugins.module_utils.sources._scope import (
    check_records_in_scope,
    check_scope,
    entry_of_key,
    group_manifest_key,
)

from test_fuzz_sources import FakeEtcd

P = "/r/i1/apis/"
G = "/r/i1/groups/"


def item(api_id, group_id, group_name, uri="/x"):
    return {"id": api_id, "group_id": group_id, "group_name": group_name, "req_method": "GET", "req_uri": uri,
            "run_env_id": "env1|env2", "run_env_name": "a|b", "publish_id": "p1|p2",
            "backend_api": {"req_method": "GET", "req_uri": "/b", "timeout": 5}}


def desired(*items):
    return dict((P + api_id, value) for api_id, value in build_records(list(items)).items())


A = [item("a1", "ga", "team-a"), item("a2", "ga", "team-a", "/y")]
B = [item("b1", "gb", "team/b")]


@pytest.mark.parametrize("value, fragment", [
    ("grp", "must be a dict"),
    ({"groups": []}, "at least one"),
    ({"groups": "ga"}, "at least one"),
    ({"groups": ["ga", ""]}, "scope.groups[1]"),
    ({"groups": [" ga"]}, "surrounding spaces"),
    ({"groups": ["ga"], "tags": ["x"]}, "unknown key(s) tags"),
])
def test_bad_scopes_are_refused_naming_the_problem(value, fragment):
    with pytest.raises(ValidationError) as exc:
        check_scope(value)
    assert fragment in exc.value.msg


def test_a_scope_holds_routes_by_group_id_or_name():
    scope = check_scope({"groups": ["team/b", "ga"]})
    assert scope.groups == ("ga", "team/b")
    assert scope.holds(("ga", None)) and scope.holds(("zz", "team/b")) and not scope.holds(("gb", "team-b"))
    assert not scope.holds((None, None))


def test_a_source_item_outside_the_scope_is_refused_naming_it():
    records = build_records(A + B)
    with pytest.raises(ValidationError) as exc:
        check_records_in_scope(records, check_scope({"groups": ["ga"]}), "instances[2] (instance i3): ")
    assert exc.value.msg.startswith("instances[2] (instance i3): the source has 1 API(s) outside the scope")
    assert "b1 (group gb (team/b))" in exc.value.msg
    check_records_in_scope(records, check_scope({"groups": ["ga", "team/b"]}))


def test_split_keeps_other_groups_out_and_refuses_an_id_held_by_another_group():
    current = dict((k, (v, 7)) for k, v in desired(*(A + B)).items())
    current[(P + "stray").encode()] = (b"not json", 3)
    scope = check_scope({"groups": ["team-a"]})
    inside, outside, groups = split_by_scope(current, desired(*A), scope)
    assert sorted(inside) == [(P + "a1").encode(), (P + "a2").encode()]
    assert sorted(outside) == [(P + "b1").encode(), (P + "stray").encode()]
    assert groups[(P + "stray").encode()] == (None, None)
    with pytest.raises(ValidationError) as exc:
        split_by_scope(current, desired(item("b1", "ga", "team-a")), scope)
    assert "API b1: the source has it in group ga (team-a), etcd holds it in group gb (team/b)" in exc.value.msg


def test_group_manifest_keys_quote_names():
    key = group_manifest_key(G, "team/b c")
    assert key == G + "team%2Fb%20c/manifest"
    assert entry_of_key(key.encode(), G) == "team/b c"
    assert entry_of_key((G + "x/y/manifest").encode(), G) is None


class CountingEtcd(FakeEtcd):
    """FakeEtcd that counts the values it returns (a no-op must read none of the routes)."""

    def __init__(self):
        FakeEtcd.__init__(self, None)
        self.values_read = 0

    def read_prefix(self, prefix, page_size=1000):
        revision, found = FakeEtcd.read_prefix(self, prefix, page_size)
        self.values_read += len(found)
        return revision, found


def sha(pairs):
    digest = hashlib.sha256()
    for key, value in sorted(pairs):
        digest.update(key + b"\n" + value + b"\n")
    return digest.hexdigest()


def test_scoped_syncs_share_an_instance_and_prove_their_no_op_without_reading_routes():
    etcd = CountingEtcd()
    scope_a, scope_b = check_scope({"groups": ["ga"]}), check_scope({"groups": ["team/b"]})
    sync(etcd, "i1", desired(*A), key_prefix="/r", scope=scope_a)
    result = sync(etcd, "i1", desired(*B), key_prefix="/r", scope=scope_b)
    assert result["created"] == ["b1"] and result["deleted"] == []
    routes = dict((k, v[0]) for k, v in etcd.kv.items() if k.startswith(P.encode()))
    assert sorted(routes) == sorted(k.encode() for k in desired(*(A + B)))
    # The instance manifest covers every route, the per-group ones their group.
    manifest = json.loads(etcd.kv[b"/r/i1/manifest"][0])
    assert manifest == {"schema": 1, "count": 3, "sha256": sha(routes.items())}
    group_b = json.loads(etcd.kv[(G + "team%2Fb/manifest").encode()][0])
    assert group_b == {"schema": 1, "count": 1, "instance_sha256": manifest["sha256"],
                       "sha256": sha([(k, v) for k, v in routes.items() if k.endswith(b"/b1")])}

    # A changes its routes: B's no-op is still proven without reading a route value.
    sync(etcd, "i1", desired(A[0]), key_prefix="/r", scope=scope_a)
    etcd.values_read, revision = 0, etcd.revision
    for source, scope in ((desired(A[0]), scope_a), (desired(*B), scope_b)):
        result = sync(etcd, "i1", source, key_prefix="/r", scope=scope)
        assert result["changed"] is False and result["unchanged"] == 1
    assert etcd.values_read == 0 and etcd.revision == revision

    # A writer that does not keep the group manifests (0.2.0, by hand) voids the proof: the
    # next scoped sync reads, finds its routes right, and rewrites the proofs.
    routes = dict((k, v[0]) for k, v in etcd.kv.items() if k.startswith(P.encode()))
    del routes[(P + "a1").encode()]
    etcd.kv.pop((P + "a1").encode())
    etcd.revision += 1
    etcd.kv[b"/r/i1/manifest"] = (json.dumps({"count": 1, "schema": 1, "sha256": sha(routes.items())},
                                             separators=(",", ":"), sort_keys=True).encode(), etcd.revision)
    result = sync(etcd, "i1", desired(*B), key_prefix="/r", scope=scope_b)
    assert result["changed"] is True and result["created"] == result["deleted"] == []
    assert etcd.values_read == 3  # the one route left, and the two group manifests
    assert sync(etcd, "i1", desired(*B), key_prefix="/r", scope=scope_b)["changed"] is False


def test_inspect_with_a_scope_counts_and_exports_only_its_routes():
    etcd = FakeEtcd(None)
    sync(etcd, "i1", desired(*(A + B)), key_prefix="/r")
    exported = {}
    result = inspect(etcd, "i1", "/r", records=True, scope=check_scope({"groups": ["team-a"]}),
                     export=lambda routes: exported.update(routes) or "/tmp/x.json")
    assert result["count"] == 2 and [r["id"] for r in result["routes"]] == ["a1", "a2"]
    assert result["manifest"]["count"] == 3 and result["dest"] == "/tmp/x.json"
    assert sorted(exported) == [(P + "a1").encode(), (P + "a2").encode()]


def test_a_source_document_builds_the_same_records_and_refuses_what_it_cannot_keep():
    routes = dict((k.encode(), v) for k, v in desired(*(A + B + [{"id": "m", "req_method": "ANY",
                                                                  "req_uri": "/h", "run_env_id": "e"}])).items())
    document = json.loads(source_document(routes, {"instance_id": "i1"}).decode("utf-8"))
    assert document["total"] == 4 and document["apigw_router_export"] == {"instance_id": "i1"}
    rebuilt = build_records(document["apis"])
    assert dict((P.encode() + k.encode(), v) for k, v in rebuilt.items()) == routes
    routes[(P + "junk").encode()] = b"not a record"
    with pytest.raises(ValidationError) as exc:
        source_document(routes, {})
    assert "route /r/i1/apis/junk holds a value that is not a route record" in exc.value.msg
    del routes[(P + "junk").encode()]
    routes[(P + "odd").encode()] = b'{"id":"odd","req_method":"GET","req_uri":"/o","schema":1,"extra":1}'
    with pytest.raises(ValidationError) as exc:
        source_document(routes, {})
    assert "route odd would not come back byte for byte" in exc.value.msg


@pytest.mark.parametrize("overrides, message", [
    (dict(scope={"groups": ["ga"]}), "scope applies to mode etcd"),
    (dict(backup=True), "backup applies to mode etcd"),
    (dict(instance_id=None, instances=[dict(instance_id="a", scope={"groups": ["ga"]})]),
     "instances\\[0\\].scope applies to mode etcd"),
])
def test_mode_api_refuses_scope_and_backup(overrides, message):
    from test_runs import params, run_api_refresh
    with pytest.raises(ValidationError, match=message):
        run_api_refresh(params(**overrides))


def test_a_scoped_sync_without_prune_keeps_its_stale_routes_and_check_mode_writes_nothing():
    etcd = FakeEtcd(None)
    sync(etcd, "i1", desired(*(A + B)), key_prefix="/r")
    before, scope = dict(etcd.kv), check_scope({"groups": ["ga"]})
    planned = sync(etcd, "i1", desired(item("a3", "ga", "team-a")), key_prefix="/r", scope=scope, check_mode=True,
                   backup=lambda routes: pytest.fail("check mode wrote a backup"))
    assert planned["created"] == ["a3"] and planned["deleted"] == ["a1", "a2"] and etcd.kv == before
    assert "a backup of the scope's routes would be written" in planned["msg"]
    kept = sync(etcd, "i1", desired(item("a3", "ga", "team-a")), key_prefix="/r", scope=scope, prune=False)
    assert kept["created"] == ["a3"] and kept["deleted"] == []
    routes = dict((k, v[0]) for k, v in etcd.kv.items() if k.startswith(P.encode()))
    assert sorted(routes) == sorted((P + i).encode() for i in ("a1", "a2", "a3", "b1"))
    assert json.loads(etcd.kv[b"/r/i1/manifest"][0]) == {"schema": 1, "count": 4, "sha256": sha(routes.items())}


def test_vouch_is_shown_each_planned_prune_with_its_group_and_refuses_before_any_write():
    etcd = FakeEtcd(None)
    sync(etcd, "i1", desired(*(A + B)), key_prefix="/r")
    etcd.kv[(P + "not an id").encode()] = (b"{}", etcd.revision)  # a stray key: no API's route
    before, shown = dict(etcd.kv), []

    def refuse(deletes):
        shown.append(deletes)
        raise ValidationError("alive elsewhere")

    scope = check_scope({"groups": ["ga", "gb"]})
    with pytest.raises(ValidationError, match="alive elsewhere"):
        sync(etcd, "i1", desired(A[0]), key_prefix="/r", scope=scope, vouch=refuse)
    assert etcd.kv == before
    assert shown == [{"a2": ("ga", "team-a"), "b1": ("gb", "team/b")}]
    # Shown nothing when nothing is pruned, nor without a scope (a whole listing is the truth).
    sync(etcd, "i1", desired(*(A + B)), key_prefix="/r", scope=scope, vouch=refuse, prune=False)
    result = sync(etcd, "i1", desired(*A), key_prefix="/r", vouch=refuse)
    assert result["deleted"] == ["/r/i1/apis/not an id", "b1"] and len(shown) == 1


class InterferingEtcd(FakeEtcd):
    """FakeEtcd where another writer changes the route that the second transaction updates, just
    before it: that transaction conflicts and the sync re-plans."""

    def __init__(self):
        FakeEtcd.__init__(self, None)
        self.interfere_at, self.calls, self.changed_key = None, 0, None

    def txn(self, ops, lock=None):
        self.calls += 1
        if self.calls == self.interfere_at and ops[0][0] == 'update':
            self.changed_key = ops[0][1].encode() if isinstance(ops[0][1], str) else ops[0][1]
            self.revision += 1
            self.kv[self.changed_key] = (b'{"by":"another writer"}', self.revision)
        return FakeEtcd.txn(self, ops, lock)


def test_a_backup_is_written_again_after_a_re_plan_with_what_this_sync_replaced():
    etcd = InterferingEtcd()
    old = [item("a1", "ga", "team-a"), item("a2", "ga", "team-a"), item("a3", "ga", "team-a")]
    sync(etcd, "i1", desired(*old), key_prefix="/r")
    original = dict((k, v[0]) for k, v in etcd.kv.items() if k.startswith(P.encode()))
    new = [item(i, "ga", "team-a", "/new") for i in ("a1", "a2", "a3")] + [item("a4", "ga", "team-a")]
    written = []

    def backup(routes, path=None):
        written.append((path, dict(routes)))
        return path or "/backups/one.json"

    etcd.interfere_at = etcd.calls + 2  # this sync's second transaction
    result = sync(etcd, "i1", desired(*new), key_prefix="/r", max_txn_ops=1, backup=backup)
    assert result["backup_file"] == "/backups/one.json" and etcd.changed_key is not None
    assert written[0] == (None, original)
    # Written again to the same file: the other writer's value is what this sync replaced there,
    # and a4, which this sync created before the conflict (if it did), is not in it.
    assert len(written) == 2 and written[1][0] == "/backups/one.json"
    expected = dict(original)
    expected[etcd.changed_key] = b'{"by":"another writer"}'
    assert written[1][1] == expected
    assert sorted(result["updated"]) == ["a1", "a2", "a3"] and result["created"] == ["a4"]


def test_backup_files_never_overwrite_each_other(tmp_path):
    from ansible_collections.apigw.router.plugins.module_utils.sources._export import Backup
    routes = desired(*A)
    same = [Backup(str(tmp_path), "i1", None) for dummy in range(3)]
    paths = set()
    for backup in same:
        paths.add(backup(dict((k.encode(), v) for k, v in routes.items())))
    # Names are unique even when the clock gives the same microsecond.
    assert len(paths) == 3 and all(os.path.getsize(p) > 0 for p in paths)
    stem = os.path.join(str(tmp_path), "i1.all.x")
    for n in range(3):
        assert same[0]._new_file("i1.all.x") == stem + ("-%d" % n if n else "") + ".json"


def test_a_refusal_after_an_applied_plan_says_so():
    etcd = InterferingEtcd()
    old = [item("a1", "ga", "team-a"), item("a2", "ga", "team-a"), item("a3", "ga", "team-a")]
    sync(etcd, "i1", desired(*old), key_prefix="/r")
    calls = []

    def vouch(deletes):  # the first plan passes; the re-plan after the conflict is refused
        calls.append(deletes)
        if len(calls) > 1:
            raise ValidationError("refused, naming it. Nothing was written: moving needs both groups")

    etcd.interfere_at = etcd.calls + 2
    new = [item(i, "ga", "team-a", "/new") for i in ("a1", "a2")]
    with pytest.raises(ValidationError) as caught:
        sync(etcd, "i1", desired(*new), key_prefix="/r", max_txn_ops=1, scope=check_scope({"groups": ["ga"]}),
             vouch=vouch)
    assert "Nothing was written" not in caught.value.msg and "This plan was not carried out" in caught.value.msg
    assert "An earlier plan of this sync had already been applied" in caught.value.msg
    applied = caught.value.details
    assert applied["changed"] and len(applied["updated"]) + len(applied["deleted"]) >= 1


def test_inspect_fails_as_the_sync_would_when_a_prune_is_refused():
    etcd = FakeEtcd(None)
    sync(etcd, "i1", desired(*(A + B)), key_prefix="/r")

    def refuse(deletes):
        raise ValidationError("refused: %s" % sorted(deletes))

    with pytest.raises(ValidationError, match=r"refused: \['a2'\]"):
        inspect(etcd, "i1", "/r", desired=desired(A[0]), scope=check_scope({"groups": ["ga"]}), vouch=refuse)
