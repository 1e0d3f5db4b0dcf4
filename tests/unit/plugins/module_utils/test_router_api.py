# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ListApisV2 paging: a listing is used only when it adds up.

The fake gateway below pages by offset over a list it holds, as ListApisV2 does, and
changes that list between pages the way a busy instance does; the expected outcomes are
worked out by hand from that list, not with the code under test.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.apigw.router.plugins.module_utils.apig import _router_api
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError, IncompleteListingError
from ansible_collections.apigw.router.plugins.module_utils.apig._router_api import RouterApi


def apis(n, start=0):
    return [{"id": "a%04d" % i} for i in range(start, start + n)]


class Gateway(object):
    """ListApisV2 over ``self.apis``. ``faults`` are callables run for each request, in order,
    one per request (``None`` for none): ``fault(gateway, offset, limit)`` returns the page or
    None for the normal one, and may change ``gateway.apis`` (after the page was cut)."""

    def __init__(self, items, faults=()):
        self.apis = list(items)
        self.faults = list(faults)
        self.requests = []

    # the ApigClient surface RouterApi uses: call(...).json(what)
    def call(self, method, segments, what, project_id, query=None, not_found=None):
        assert (method, segments[0], segments[3], segments[5]) == ("GET", "v2", "instances", "apis")
        offset, limit = query["offset"], query["limit"]
        self.requests.append(offset)
        fault = self.faults.pop(0) if self.faults else None
        page = {"total": len(self.apis), "size": len(self.apis[offset:offset + limit]),
                "apis": self.apis[offset:offset + limit]}
        if fault is not None:
            changed = fault(self, offset, limit, page)
            if isinstance(changed, Raw):
                return Answer(changed.body)
            page = changed or page
        return Answer(page)


class Raw(object):
    """A fault's answer body sent as it is, even when it is not a page (None, a list)."""

    def __init__(self, body):
        self.body = body


class Answer(object):
    def __init__(self, body):
        self.body = body

    def json(self, what):
        return self.body


# -- faults, as a busy instance or a broken gateway produces them --------------------------

def delete_first(gateway, offset, limit, page):
    gateway.apis = gateway.apis[1:]   # after this page: the next pages shift by one


def replace_first(gateway, offset, limit, page):
    # One API deleted in front, another created behind: the total stays, the next pages shift by one.
    gateway.apis = gateway.apis[1:] + [{"id": "new%d" % len(gateway.requests)}]


def add_first(gateway, offset, limit, page):
    gateway.apis = [{"id": "new%d" % len(gateway.requests)}] + gateway.apis


def truncate_at(n):
    def fault(gateway, offset, limit, page):
        kept = gateway.apis[:n][offset:offset + limit]
        return {"total": len(gateway.apis), "size": len(kept), "apis": kept}
    return fault


def repeat_previous(gateway, offset, limit, page):
    if offset:
        items = [gateway.apis[offset - 1]] + page["apis"][1:]
        return dict(page, apis=items)
    return None


def without_total(gateway, offset, limit, page):
    return {"apis": page["apis"], "size": page["size"]}


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def list_all(gateway, **kwargs):
    sleeps = Sleeps()
    result = RouterApi(gateway, "p1").list_apis("inst-1", sleep=sleeps, **kwargs)
    return result, sleeps


# -- complete listings -----------------------------------------------------------------

@pytest.mark.parametrize("count, offsets", [
    (0, [0]),
    (1, [0]),
    (500, [0]),                       # exactly one full page: offset reaches total, no empty page asked
    # Several pages: the next listing confirms the ids (see test_a_shift_that_keeps_the_total...).
    (1000, [0, 500] * 2),
    (1234, [0, 500, 1000] * 2),
])
def test_a_complete_listing_is_taken_once_or_confirmed_once(count, offsets):
    gateway = Gateway(apis(count))
    result, sleeps = list_all(gateway)
    assert result == apis(count)
    assert gateway.requests == offsets and sleeps == []


def test_size_is_not_trusted_for_the_offset():
    # A page whose size disagrees with its items: the offset advances by the items received.
    gateway = Gateway(apis(1234), [lambda g, o, l, page: dict(page, size=499)])
    result, _sleeps = list_all(gateway)
    assert result == apis(1234) and gateway.requests == [0, 500, 1000] * 2


# -- listings that never add up: fail after 3 listings, naming what did not add up -------

def test_truncated_listing_fails_after_three_listings():
    gateway = Gateway(apis(1234), [truncate_at(600)] * 9)
    with pytest.raises(IncompleteListingError) as caught:
        list_all(gateway)
    error = caught.value
    # each listing: 0..499, 500..599, then an empty page at 600
    assert gateway.requests == [0, 500, 600] * 3
    assert error.listings == [{"totals": [1234, 1234, 1234], "collected": 600, "unique": 600,
                               "duplicates": []}] * 3
    assert error.details == {"listings": error.listings}
    assert error.msg.startswith("ListApisV2 of instance inst-1 did not add up in 3 listing(s), so it is not "
                                "used as a source and nothing was written: listing 1: 600 API(s) collected "
                                "for a total of 1234 (the pages ended early); listing 2: ")


def test_pauses_between_listings_are_short_and_growing():
    sleeps = Sleeps()
    with pytest.raises(IncompleteListingError):
        RouterApi(Gateway(apis(10), [truncate_at(5)] * 10), "p1").list_apis("inst-1", sleep=sleeps)
    assert sleeps == [1.0, 2.0]  # the defaults: LISTINGS = 3, LISTING_PAUSE = 1.0


def test_an_api_deleted_between_pages_every_time():
    gateway = Gateway(apis(1234), [delete_first] * 9)
    with pytest.raises(IncompleteListingError) as caught:
        list_all(gateway)
    # listing 1: page 0 (1234), then the total reads 1233: stopped there, known incomplete
    assert caught.value.listings[0] == {"totals": [1234, 1233], "collected": 1000, "unique": 1000,
                                        "duplicates": []}
    assert "listing 1: the total changed while paging (1234 then 1233: APIs were created or deleted " \
           "meanwhile)" in caught.value.msg
    assert len(caught.value.listings) == 3


def test_an_api_added_between_pages_every_time():
    gateway = Gateway(apis(1234), [add_first] * 9)
    with pytest.raises(IncompleteListingError) as caught:
        list_all(gateway)
    first = caught.value.listings[0]
    # the item at the end of page 1 comes again at the start of page 2
    assert first == {"totals": [1234, 1235], "collected": 1000, "unique": 999, "duplicates": ["a0499"]}
    assert "1 id(s) listed more than once (a0499)" in caught.value.msg


def test_a_duplicated_id_on_two_pages_with_a_steady_total():
    gateway = Gateway(apis(1234), [repeat_previous] * 9)
    with pytest.raises(IncompleteListingError) as caught:
        list_all(gateway)
    # 1234 items collected, as the total says, but a0499 and a0999 twice (a0500 and a1000 never seen)
    assert caught.value.listings == [{"totals": [1234] * 3, "collected": 1234, "unique": 1232,
                                      "duplicates": ["a0499", "a0999"]}] * 3
    assert "listing 3: 2 id(s) listed more than once (a0499, a0999)" in caught.value.msg


def test_many_duplicates_are_named_briefly():
    gateway = Gateway(apis(20) + apis(20), [])
    with pytest.raises(IncompleteListingError) as caught:
        list_all(gateway, listings=1)
    assert "20 id(s) listed more than once (a0000, a0001, a0002, a0003, a0004, ...)" in caught.value.msg
    assert len(caught.value.listings[0]["duplicates"]) == 20


# -- transient faults: the next listing is used, and it is the instance as it is now -------

@pytest.mark.parametrize("faults, expected, listings", [
    ([truncate_at(600)] * 3, apis(1234), 2),
    ([delete_first], apis(1233, start=1), 2),
    ([add_first], [{"id": "new1"}] + apis(1234), 2),
    ([None, repeat_previous], apis(1234), 2),
    ([truncate_at(600)] * 6, apis(1234), 3),   # two bad listings, the third adds up
])
def test_a_transient_fault_clears_on_listing_again(faults, expected, listings):
    gateway = Gateway(apis(1234), faults)
    result, sleeps = list_all(gateway)
    assert result == expected
    assert len(sleeps) == listings - 1
    # and one listing more, that confirms the last (several pages)
    assert gateway.requests.count(0) == listings + 1


def test_a_shift_that_keeps_the_total_is_caught_by_the_confirming_listing():
    gateway = Gateway(apis(1234), [replace_first])
    result, sleeps = list_all(gateway)
    # Listing 1 adds up (1234 unique ids) but never saw a0500, the first item of page 2 after
    # the shift. Listing 2 has it (and new1): they differ, so a third is taken; it agrees.
    first = gateway.requests[:3]
    assert first == [0, 500, 1000] and gateway.requests == [0, 500, 1000] * 3
    assert result == apis(1233, start=1) + [{"id": "new1"}]
    assert {"id": "a0500"} in result and sleeps == [1.0]


def test_an_instance_that_never_holds_still_fails_naming_it():
    gateway = Gateway(apis(1234), [replace_first] * 30)
    with pytest.raises(IncompleteListingError) as caught:
        list_all(gateway)
    error = caught.value
    assert len(error.listings) == 3 and gateway.requests.count(0) == 4
    assert all(listing["collected"] == listing["unique"] == 1234 for listing in error.listings)
    # Listing 1 missed a0500, a1001 (shifts) and new3-new5 (created later); listing 2 no longer
    # had a0000-a0002 (deleted) and missed a0503, a1004 (shifts): five each way.
    assert "listing 1: complete, but the next listing had 5 id(s) that it did not and lacked 5 of its own " \
           "(APIs were created or deleted meanwhile, and pages may have shifted)" in error.msg


# -- answers that cannot be shown complete at all --------------------------------------------

def test_an_answer_without_total_is_refused_at_once():
    gateway = Gateway(apis(3), [without_total] * 9)
    with pytest.raises(ApiError) as caught:
        list_all(gateway)
    assert gateway.requests == [0]  # listing again would not bring a total
    assert caught.value.msg == ("ListApisV2 of instance inst-1 at offset 0: the answer has no 'total', so the "
                                "listing cannot be shown complete and is not used as a source: nothing was "
                                "written (a src file is another way)")


@pytest.mark.parametrize("total", ["1234", -1, True, 12.0])
def test_a_total_that_is_not_a_count_is_refused(total):
    gateway = Gateway(apis(3), [lambda g, o, l, page: dict(page, total=total)])
    with pytest.raises(ApiError, match="at offset 0: 'total' must be a count of APIs, got "):
        list_all(gateway)


@pytest.mark.parametrize("body", [None, [], {"total": 1}, {"total": 1, "apis": {}}])
def test_an_answer_without_an_apis_list_is_refused(body):
    gateway = Gateway(apis(3), [lambda g, o, l, page: Raw(body)])
    with pytest.raises(ApiError, match="at offset 0: the answer has no 'apis' list"):
        list_all(gateway)


def test_the_defaults_are_small():
    assert _router_api.LISTINGS == 3 and _router_api.LISTING_PAUSE == 1.0
