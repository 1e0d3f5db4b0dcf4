# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Route records in the shapes tests want, built by the collection's own ``_routes``.

The module builds records only through ``build_records`` (apis -> {API id: bytes}); tests
also want one instance's keyed routes and the record of a lone resource.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils.sources import _routes


def desired_routes(apis, key_prefix, instance_id):
    """{route key (str): canonical record (bytes)}: ``build_records`` under the instance's prefix."""
    prefix = _routes.routes_prefix(key_prefix, instance_id)
    return dict((prefix + api_id, value) for api_id, value in _routes.build_records(apis).items())


def route_record(api):
    """The route record (a dict) of one API resource, or None when it is unpublished.

    Raises ValidationError as 0.1.0's ``route_record`` did: the resource is named ``api``,
    and the golden corpus holds those messages.
    """
    problems = []
    record = _routes._item(None, api, problems)  # pylint: disable=protected-access
    if problems:
        _routes._raise_problems(problems, "the API resource was")  # pylint: disable=protected-access
    return record
