# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Project ids from region names, as Huawei's SDKs find them: IAM KeystoneListProjects.

Every region has a system project named after it; ``GET /v3/projects?name=<region>``
must find exactly one. The request is sent without a project: AK/SK signs it without
X-Project-Id (as the SDK does) and IAM password auth uses a domain-scoped token.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading

from urllib.parse import quote, urlencode

from ansible_collections.apigw.router.plugins.module_utils.apig._endpoints import check_region
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError, ValidationError
from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import check_http_url
from ansible_collections.apigw.router.plugins.module_utils.common._validation import check_identifier


class ProjectLookup(object):
    """Looks up each (IAM endpoint, region) once, however many threads ask at the same time."""

    def __init__(self, transport, auth):
        self._transport = transport
        self._auth = auth
        self._ids = {}
        self._locks = {}
        self._lock = threading.Lock()

    def of(self, target):
        """A run's target (see runs/_targets.py) with its project id: its own, else its region's."""
        if target["project_id"]:
            return target
        return dict(target, project_id=self.project_id(target["region"], target["iam_endpoint"]))

    def project_id(self, region, iam_endpoint):
        check_region(region)
        iam = check_http_url("iam_endpoint", iam_endpoint)
        key = (iam, region)
        with self._lock:
            if key in self._ids:
                return self._ids[key]
            # One lock per key: a fleet asks for many regions at once, and only the
            # threads asking for the same region need to wait for one another.
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._ids:
                    return self._ids[key]
            found = self._fetch(region, iam)
            with self._lock:
                self._ids[key] = found
            return found

    def _fetch(self, region, iam):
        url = "%s/v3/projects?%s" % (iam, urlencode([("name", region)], quote_via=quote))
        what = "project id of region %s (IAM %s)" % (region, iam)
        answer = self._transport.send("GET", url, what, auth=self._auth, project_id=None)
        data = answer.json(what)
        projects = data.get("projects") if isinstance(data, dict) else None
        if not isinstance(projects, list):
            raise ApiError("%s: IAM answered without a projects list" % what, status=answer.status,
                           request_id=answer.request_id, attempts=answer.attempts)
        # IAM filters by name already; check again so a proxy that ignores the query
        # cannot make us pick another region's project.
        matches = [p for p in projects if isinstance(p, dict) and p.get("name") == region and p.get("id")]
        if len(matches) != 1:
            raise ValidationError(
                "region %s: IAM %s lists %d projects named %s, need exactly one (%s); give project_id "
                "for this region" % (region, iam, len(matches), region,
                                     "check the region name and that the credentials may list projects "
                                     "(iam:projects:list)" if not matches else
                                     "ids %s" % ", ".join(sorted(str(p["id"]) for p in matches))))
        # The id goes into request paths and etcd keys: hold it to the same rule as a given one.
        return check_identifier("project id of region %s from IAM" % region, str(matches[0]["id"]))
