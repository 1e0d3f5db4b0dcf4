# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ListApisV2 as the source of a scoped sync: each group of the scope listed by its id, the whole
instance only for an entry it cannot filter by; and DeleteCheck, which stops a prune of a route
whose API is still published (missed by the listing, or moved out of the scope)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.apigw.router.plugins.module_utils.common._errors import (
    ApiError,
    IncompleteListingError,
    ValidationError,
)
from ansible_collections.apigw.router.plugins.module_utils.sources import _api_source
from ansible_collections.apigw.router.plugins.module_utils.sources._api_source import DeleteCheck, _scope_apis
from ansible_collections.apigw.router.plugins.module_utils.sources._scope import Scope

GA, GB, GC, GX = "a" * 32, "b" * 32, "c" * 32, "e" * 32
NAMES = {GA: "team_a", GB: "team_b", GC: "team_c", GX: GA}  # group x is named like group a's id


def api(api_id, group_id, published=True):
    """A ListApisV2 item that build_records accepts (published in RELEASE unless not ``published``)."""
    item = {"id": api_id, "name": "api_" + api_id[:6], "type": 1, "req_protocol": "HTTPS", "req_method": "GET",
            "req_uri": "/%s" % api_id, "match_mode": "NORMAL", "auth_type": "NONE", "backend_type": "MOCK",
            "group_id": group_id, "group_name": NAMES[group_id]}
    if published:
        item.update(run_env_id="DEFAULT_ENVIRONMENT_RELEASE_ID", run_env_name="RELEASE")
    return item


def ident(n):
    return "%032x" % n


class FakeRouterApi(object):
    """RouterApi.list_apis over ``apis`` with ListApisV2's ``group_id`` and ``id`` filters. An
    unknown group id lists nothing, or is refused with ``refuse_status``. ``before`` ({number of
    the listing call: function}) changes the APIs before that call, as a busy instance does.
    ``calls`` records each call's filters."""

    def __init__(self, apis, refuse_status=None, before=None, ignore_filters=False, refuse_code=None):
        self.apis, self.refuse_status, self.before = [dict(item) for item in apis], refuse_status, before or {}
        self.refuse_code = refuse_code
        self.ignore_filters = ignore_filters
        self.calls = []

    def list_apis(self, instance_id, group_id=None, api_id=None):
        assert instance_id == "i1"
        if len(self.calls) in self.before:
            self.before[len(self.calls)](self)
        self.calls.append((group_id, api_id))
        if self.ignore_filters:
            return [dict(item) for item in self.apis]
        if group_id is not None and group_id not in NAMES and self.refuse_status:
            raise ApiError("ListApisV2 refused group_id %s" % group_id, status=self.refuse_status,
                           error_code=self.refuse_code)
        return [dict(item) for item in self.apis
                if group_id in (None, item["group_id"]) and api_id in (None, item["id"])]

    def move(self, api_id, group_id):
        for item in self.apis:
            if item["id"] == api_id:
                item.update(group_id=group_id, group_name=NAMES[group_id])


APIS = [api(ident(1), GA), api(ident(2), GA), api(ident(3), GB), api(ident(4), GC)]


def ids(apis):
    return sorted(item["id"] for item in apis)


def test_each_group_of_the_scope_is_listed_by_its_id_only():
    fake = FakeRouterApi(APIS)
    assert ids(_scope_apis(fake, "i1", Scope([GA, GB]))) == [ident(1), ident(2), ident(3)]
    assert fake.calls == [(GA, None), (GB, None)]  # never the whole instance


@pytest.mark.parametrize("refuse_status", [None, 400])
def test_an_entry_listing_nothing_or_refused_means_a_listing_of_the_whole_instance(refuse_status):
    fake = FakeRouterApi(APIS, refuse_status=refuse_status)
    assert _scope_apis(fake, "i1", Scope([GA, "team_b"])) is None  # a name
    assert _scope_apis(FakeRouterApi(APIS), "i1", Scope([GA, "d" * 32])) is None  # a group without APIs


def test_an_entry_answered_as_an_unknown_group_means_a_listing_of_the_whole_instance():
    fake = FakeRouterApi(APIS, refuse_status=404, refuse_code="APIG.3001")
    assert _scope_apis(fake, "i1", Scope(["team_a"])) is None


@pytest.mark.parametrize("status, code", [(403, None), (404, "APIG.3030")])
def test_other_failures_of_a_group_listing_fail_the_sync(status, code):
    with pytest.raises(ApiError, match="refused group_id team_a"):
        _scope_apis(FakeRouterApi(APIS, refuse_status=status, refuse_code=code), "i1", Scope(["team_a"]))


def test_a_server_that_ignores_the_group_filter_gives_only_that_groups_apis():
    fake = FakeRouterApi(APIS, ignore_filters=True)
    assert ids(_scope_apis(fake, "i1", Scope([GB]))) == [ident(3)]


def test_an_api_moved_between_two_groups_of_the_scope_while_listed_is_listed_again():
    # Listed in group a (first call), then moved to group b before b is listed: in both.
    fake = FakeRouterApi(APIS, before={1: lambda f: f.move(ident(1), GB)})
    assert ids(_scope_apis(fake, "i1", Scope([GA, GB]))) == [ident(1), ident(2), ident(3)]
    assert fake.calls == [(GA, None), (GB, None), (GA, None), (GB, None)]


def test_apis_that_keep_moving_fail_the_listing_before_any_write():
    # Back in group a before a is listed, in group b before b is: in both, every round.
    moves = dict((n, (lambda f, n=n: f.move(ident(1), GB if n % 2 else GA))) for n in range(12))
    fake = FakeRouterApi(APIS, before=moves)
    with pytest.raises(IncompleteListingError, match="listed API.s. in two groups of the scope") as caught:
        _scope_apis(fake, "i1", Scope([GA, GB]))
    assert ident(1) in str(caught.value) and caught.value.details["listed_twice"] == [ident(1)]


def test_delete_check_lets_through_ids_that_listapisv2_no_longer_has_or_that_are_unpublished():
    fake = FakeRouterApi(APIS + [api(ident(9), GA, published=False)])
    check = DeleteCheck(fake, "i1", Scope([GA]))
    assert check({ident(8): (GA, "team_a"), ident(9): (GA, "team_a")}) is None
    assert fake.calls == [(None, ident(8)), (None, ident(9))]


def test_delete_check_refuses_an_api_the_scopes_listing_missed():
    fake = FakeRouterApi(APIS)
    with pytest.raises(IncompleteListingError, match="did not list 1 published API") as caught:
        DeleteCheck(fake, "i1", Scope([GA, GB]))({ident(3): (GA, "team_a")})
    assert "API %s: etcd holds it in group %s (team_a), ListApisV2 lists it in group %s (team_b)" % (
        ident(3), GA, GB) in str(caught.value)
    assert caught.value.details["missed"] == [ident(3)] and "listings" not in caught.value.details


def test_delete_check_refuses_an_api_moved_out_of_the_scope_naming_both_groups():
    fake = FakeRouterApi(APIS)
    with pytest.raises(ValidationError, match="moving an API between groups needs both groups in the scope") as caught:
        DeleteCheck(fake, "i1", Scope([GA]))({ident(4): (GA, "team_a")})
    assert "ListApisV2 lists it in group %s (team_c)" % GC in str(caught.value)
    assert caught.value.details["conflicts"] == [ident(4)]


def test_delete_check_asks_each_id_once_across_plans():
    fake = FakeRouterApi(APIS)
    check = DeleteCheck(fake, "i1", Scope([GA]))
    check({ident(7): (GA, "team_a")})
    check({ident(7): (GA, "team_a"), ident(8): (GA, "team_a")})
    assert fake.calls == [(None, ident(7)), (None, ident(8))]


def test_delete_check_of_many_ids_lists_the_whole_instance_once():
    fake = FakeRouterApi(APIS)
    check = DeleteCheck(fake, "i1", Scope([GA]))
    many = dict((ident(100 + n), (GA, "team_a")) for n in range(_api_source.MAX_ASKED_BY_ID + 1))
    check(many)
    check(dict(many, **{ident(5): (GA, "team_a")}))
    assert fake.calls == [(None, None)]
    with pytest.raises(ValidationError, match="lists it in group %s" % GC):
        check({ident(4): (GA, "team_a")})
    assert fake.calls == [(None, None)]


def test_delete_check_with_a_whole_listing_at_hand_asks_nothing():
    fake = FakeRouterApi(APIS)
    listed = _api_source.build_records([api(ident(4), GC), api(ident(9), GA, published=False)])
    check = DeleteCheck(fake, "i1", Scope(["team_a"]), listed=listed)
    check({ident(8): (GA, "team_a")})
    with pytest.raises(ValidationError, match="1 route.s. of the scope .groups: team_a. belong"):
        check({ident(4): (GA, "team_a")})
    assert fake.calls == []


def test_an_entry_that_is_one_groups_id_and_another_groups_name_is_refused_naming_both():
    # The scope names group a by id; group x's name is that same id, so its routes are in the
    # scope too, but ListApisV2's group_id filter only ever lists group a's.
    fake = FakeRouterApi(APIS + [api(ident(6), GX)])
    assert ids(_scope_apis(fake, "i1", Scope([GA]))) == [ident(1), ident(2)]
    with pytest.raises(ValidationError, match="scope entry %s is the id of one API group and the name of another "
                                              "\\(group %s \\(%s\\), of API %s\\)" % (GA, GX, GA, ident(6))) as caught:
        DeleteCheck(fake, "i1", Scope([GA]))({ident(6): (GX, GA)})
    assert caught.value.details["missed"] == [ident(6)]
