# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a refresh does beyond answering 200: the one place to extend.

Today ``on_refresh`` only summarises; the server records that summary in
GET /_sim/refreshes. The next step (a refresh of ``apis`` writing the instance's
published APIs into a real etcd with the collection's sync engine) replaces its body:
the arguments already carry everything the sync needs, and raising SyncFailed makes
the PUT answer 500 APIG.3500 ("Failed to synchronize data to etcd."), the gateway's
own failure, so the modules' retry path can be tested end to end.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from apig_sim.data import is_published


class SyncFailed(Exception):
    """The refresh could not write the router data; answered as APIG.3500."""


def on_refresh(project_id, instance_id, resource, apis):
    """Called once per accepted refresh PUT, before the 200 goes out (synchronously,
    so a test can check the effect as soon as the PUT returns).

    ``resource`` is one of apis, acls, vpcs, throttles, tenants, signatures, certs;
    ``apis`` is the instance's full API list in ListApisV2 item shape (published and
    not: the sync engine picks the routes itself, as it does from a real ListApisV2).
    Returns a dict of details for the refresh record.
    """
    if resource != "apis":
        return {}
    return {"apis": len(apis), "published": sum(1 for api in apis if is_published(api))}
