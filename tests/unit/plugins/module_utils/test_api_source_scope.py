# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ListApisV2 as the source of a scoped sync: asked for the scope's groups by id, and for the
whole instance only when an entry is not a group id (a name)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError
from ansible_collections.apigw.router.plugins.module_utils.sources._api_source import scope_apis
from ansible_collections.apigw.router.plugins.module_utils.sources._scope import Scope

APIS = [{"id": "a1", "group_id": "g-a", "group_name": "team-a"},
        {"id": "a2", "group_id": "g-a", "group_name": "team-a"},
        {"id": "b1", "group_id": "g-b", "group_name": "team-b"},
        {"id": "c1", "group_id": "g-c", "group_name": "team-c"}]


class Listings(object):
    """list_apis of RouterApi over APIS: ``group_id`` filters as ListApisV2 does (an unknown id
    lists nothing, or is refused with ``refuse_status``); ``calls`` records each listing."""

    def __init__(self, refuse_status=None):
        self.calls, self.refuse_status = [], refuse_status

    def list_apis(self, instance_id, group_id=None):
        self.calls.append(group_id)
        if group_id is None:
            return [dict(api) for api in APIS]
        if self.refuse_status and not group_id.startswith("g-"):
            raise ApiError("ListApisV2 refused group_id %s" % group_id, status=self.refuse_status)
        return [dict(api) for api in APIS if api["group_id"] == group_id]


def ids(apis):
    return sorted(api["id"] for api in apis)


def test_group_ids_are_listed_by_ListApisV2s_filter_only():
    api = Listings()
    assert ids(scope_apis(api, "i1", Scope(["g-a", "g-b"]))) == ["a1", "a2", "b1"]
    assert api.calls == ["g-a", "g-b"]  # no listing of the whole instance


@pytest.mark.parametrize("refuse_status", [None, 400])
def test_a_group_name_is_looked_for_in_one_listing_of_the_whole_instance(refuse_status):
    api = Listings(refuse_status)
    assert ids(scope_apis(api, "i1", Scope(["team-b", "team-c", "g-a"]))) == ["a1", "a2", "b1", "c1"]
    assert api.calls == ["g-a", "team-b", "team-c", None]  # Scope sorts its groups


def test_a_group_named_by_id_and_by_name_gives_each_api_once():
    api = Listings()
    assert ids(scope_apis(api, "i1", Scope(["g-a", "team-a"]))) == ["a1", "a2"]


def test_an_empty_group_by_id_costs_a_listing_of_the_whole_instance_and_finds_nothing():
    api = Listings()
    assert scope_apis(api, "i1", Scope(["g-empty"])) == [] and api.calls == ["g-empty", None]


def test_other_failures_of_a_group_listing_fail_the_sync():
    api = Listings(refuse_status=403)
    with pytest.raises(ApiError, match="refused group_id team-a"):
        scope_apis(api, "i1", Scope(["team-a"]))
