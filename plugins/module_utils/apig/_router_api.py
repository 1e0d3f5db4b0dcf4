# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The APIG calls this collection makes: the router refresh family and ListApisV2."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError, IncompleteListingError

INSTANCE_NOT_FOUND = "the instance does not exist"
LIST_APIS_PAGE = 500  # ListApisV2's largest page
LISTINGS = 3          # listings taken before an instance whose listing never adds up fails
LISTING_PAUSE = 1.0   # seconds before the second listing, twice that before the third
MAX_NAMED = 5         # duplicated ids named in a message
MAX_REPORTED = 100    # ...and in the result


class RouterApi(object):
    """Calls on one project's dedicated instances through an ApigClient."""

    def __init__(self, client, project_id):
        self.client = client
        self.project_id = project_id

    def _router(self, instance_id, resource):
        return ("v1", self.project_id, "apigw", "instances", instance_id, "op-operations", "router", resource)

    def refresh(self, instance_id, resource):
        """PUT …/op-operations/router/<resource>: the gateway rewrites that resource in its ETCD."""
        return self.client.call("PUT", self._router(instance_id, resource),
                                "refresh of %s on instance %s" % (resource, instance_id), self.project_id,
                                not_found=INSTANCE_NOT_FOUND)

    def state(self, instance_id):
        """GET …/op-operations/router/state: progress of the gateway's refresh."""
        what = "router state of instance %s" % instance_id
        answer = self.client.call("GET", self._router(instance_id, "state"), what, self.project_id,
                                  not_found=INSTANCE_NOT_FOUND)
        state = answer.json(what)
        if not isinstance(state, dict):
            raise ApiError("%s: expected a JSON object" % what, status=answer.status,
                           request_id=answer.request_id, attempts=answer.attempts)
        return state

    def list_apis(self, instance_id, page_size=LIST_APIS_PAGE, listings=None, pause=None, sleep=None, group_id=None,
                  api_id=None):
        """Every API of the instance (of its API group ``group_id``, or the one API ``api_id``:
        ListApisV2's own filters, by which its ``total`` counts too), from a ListApisV2 listing
        shown complete.

        ListApisV2 pages by offset: an API created or deleted between two pages shifts the
        others, so that one is listed twice or not at all, and a listing can also stop short
        of its ``total``. A listing counts only when its pages all give the same ``total``
        and the ids collected are unique and exactly that many. Even then, an API deleted in
        front of the offset and another created behind it leave the total as it was while
        the API at the page boundary goes unlisted: so a listing of several pages counts only
        once the next listing finds the same ids (a single page is one answer, in which
        nothing shifts). Listings that fail either test are taken again (``listings`` of
        them in all, ``pause`` seconds before the next, doubled each time), then
        IncompleteListingError says what did not add up. The caller uses the APIs only once
        they are returned whole, so an incomplete listing never prunes.
        """
        listings = LISTINGS if listings is None else listings
        pause = LISTING_PAUSE if pause is None else pause
        sleep = time.sleep if sleep is None else sleep
        failed, unconfirmed, pause_next = [], None, False
        filters = dict(item for item in (("group_id", group_id), ("id", api_id)) if item[1] is not None)
        # At most one listing more than ``listings``: the first complete one of several pages
        # fails nothing yet, it waits for the next one to confirm it.
        for _pass in range(listings + 1):
            if pause_next:
                sleep(pause * 2 ** (len(failed) - 1))
            listing = self._listing(instance_id, page_size, filters)
            problems = listing.problems()
            pause_next = bool(problems)
            if problems:
                failed.append((listing, problems))
            elif len(listing.totals) == 1 or (unconfirmed is not None and not listing.differences(unconfirmed)):
                return listing.apis
            else:
                if unconfirmed is not None:
                    failed.append((unconfirmed, listing.differences(unconfirmed)))
                    pause_next = True
                unconfirmed = listing
            if len(failed) >= listings:
                break
        raise IncompleteListingError(
            "ListApisV2 of instance %s%s did not add up in %d listing(s), so it is not used as a source and "
            "nothing was written: %s" % (instance_id, _filtered_by(filters), len(failed), "; ".join(
                "listing %d: %s" % (n, ", ".join(problems)) for n, (_listing, problems) in enumerate(failed, 1))),
            [listing.summary() for listing, _problems in failed])

    def _listing(self, instance_id, page_size, filters):
        """One pass over the pages, from offset 0 until ``total`` is reached, a page is empty or
        the ``total`` changes (the listing is then known to be incomplete)."""
        path = ("v2", self.project_id, "apigw", "instances", instance_id, "apis")
        listing = Listing()
        offset = 0
        while True:
            what = "ListApisV2 of instance %s%s at offset %d" % (instance_id, _filtered_by(filters), offset)
            page = self.client.call("GET", path, what, self.project_id,
                                    query=dict(filters, offset=offset, limit=page_size),
                                    not_found=INSTANCE_NOT_FOUND).json(what)
            if not isinstance(page, dict) or not isinstance(page.get("apis"), list):
                raise ApiError("%s: the answer has no 'apis' list" % what)
            total = page.get("total")
            if total is None:
                # Without its total a listing cannot be shown complete, and listing again
                # would not bring one: refused at once.
                raise ApiError("%s: the answer has no 'total', so the listing cannot be shown complete and is "
                               "not used as a source: nothing was written (a src file is another way)" % what)
            if isinstance(total, bool) or not isinstance(total, int) or total < 0:
                raise ApiError("%s: 'total' must be a count of APIs, got %r" % (what, total))
            apis = page["apis"]
            listing.add(total, apis)
            offset += len(apis)
            if not apis or offset >= total or total != listing.totals[0]:
                return listing


def _filtered_by(filters):
    """How messages name a filtered listing: `` (group_id=...)``; nothing for the whole instance."""
    return " (%s)" % ", ".join("%s=%s" % item for item in sorted(filters.items())) if filters else ""


class Listing(object):
    """The pages of one ListApisV2 listing, and what keeps it from being complete."""

    def __init__(self):
        self.apis = []
        self.totals = []

    def add(self, total, apis):
        self.totals.append(total)
        self.apis.extend(apis)

    def _ids(self):
        # An item without a string id is refused later by build_records, naming it.
        return [api.get("id") for api in self.apis if isinstance(api, dict) and isinstance(api.get("id"), str)]

    def duplicates(self):
        counts = {}
        for api_id in self._ids():
            counts[api_id] = counts.get(api_id, 0) + 1
        return sorted(api_id for api_id, n in counts.items() if n > 1)

    def problems(self):
        """What does not add up, in words; empty for a complete listing."""
        found = []
        distinct = sorted(set(self.totals), key=self.totals.index)
        if len(distinct) > 1:
            found.append("the total changed while paging (%s: APIs were created or deleted meanwhile)"
                         % " then ".join(str(t) for t in distinct))
        elif len(self.apis) != self.totals[-1]:  # (a changed total ends the listing early: not repeated)
            found.append("%d API(s) collected for a total of %d (%s)" % (
                len(self.apis), self.totals[-1],
                "the pages ended early" if len(self.apis) < self.totals[-1] else "more than the total"))
        duplicates = self.duplicates()
        if duplicates:
            found.append("%d id(s) listed more than once (%s%s)" % (
                len(duplicates), ", ".join(duplicates[:MAX_NAMED]), ", ..." if len(duplicates) > MAX_NAMED else ""))
        return found

    def differences(self, earlier):
        """How this complete listing's ids differ from an ``earlier`` complete one, said of the
        earlier one; empty if they agree."""
        ids, before = set(self._ids()), set(earlier._ids())
        if ids == before:
            return []
        return ["complete, but the next listing had %d id(s) that it did not and lacked %d of its own "
                "(APIs were created or deleted meanwhile, and pages may have shifted)"
                % (len(ids - before), len(before - ids))]

    def summary(self):
        """The listing as a result value: totals of its pages, ids collected, unique ids, duplicates."""
        ids = self._ids()
        return {"totals": list(self.totals), "collected": len(self.apis), "unique": len(set(ids)),
                "duplicates": self.duplicates()[:MAX_REPORTED]}
