# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The refresh module in mode etcd: write each instance's routes into its gateway's etcd.

In this order, so that nothing is sent before every input is known to be good: the fixed
source (``apis`` or ``src``, built into records once for the whole fleet), the targets, the
management API when the source is ListApisV2, every etcd client; then each instance's sync.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils.common._fleet import counted, run_all, shaped
from ansible_collections.apigw.router.plugins.module_utils.common._validation import check_range
from ansible_collections.apigw.router.plugins.module_utils.etcd._sync import sync
from ansible_collections.apigw.router.plugins.module_utils.runs._etcd_clients import EtcdClients, saying_endpoints
from ansible_collections.apigw.router.plugins.module_utils.runs._etcd_targets import resolve_etcd_targets
from ansible_collections.apigw.router.plugins.module_utils.sources._export import Backup
from ansible_collections.apigw.router.plugins.module_utils.sources._scope import check_source_in_scopes
from ansible_collections.apigw.router.plugins.module_utils.sources._source import fixed_source


def run_etcd_sync(params, check_mode, diff, warn):  # pylint: disable=unused-argument
    check_range("max_txn_ops", params.get("max_txn_ops"), 1, 100000)
    check_range("lock_timeout", params.get("lock_timeout"), 0)
    source = fixed_source(params)
    fleet, targets = resolve_etcd_targets(params, needs_project=source is None)
    if source is not None:
        # Every scope checked before anything is sent: a source item outside an instance's scope
        # fails the run, not that instance after others were written.
        check_source_in_scopes(source, targets, fleet)
    if params.get("backup_dir") and not params.get("backup"):
        warn("backup_dir is ignored without backup: true")
    if source is None:
        # Imported here: a run from apis or src never calls the management API, and AnsiballZ
        # compiles every module it imports on every run (it ships them all the same).
        from ansible_collections.apigw.router.plugins.module_utils.runs._management_api import management_api
        from ansible_collections.apigw.router.plugins.module_utils.sources._api_source import ManagementApiSource
        source = ManagementApiSource(management_api(params, params["concurrency"]))
    clients = EtcdClients(params, targets, fleet)

    def work(target):
        desired = source.routes(target)
        return sync(target["etcd_client"], target["instance_id"], desired,
                    key_prefix=target["key_prefix"], prune=params["prune"], allow_empty=params["allow_empty"],
                    max_txn_ops=params["max_txn_ops"], lock_timeout=params["lock_timeout"],
                    check_mode=check_mode, diff=diff, scope=target["scope"],
                    backup=Backup(params.get("backup_dir"), target["instance_id"], target["scope"])
                    if params.get("backup") else None,
                    # A listing of a scope vouches for the routes a plan would delete (a fixed source does not).
                    vouch=getattr(desired, "vouch", None))

    try:
        results = run_all(targets, work, params["concurrency"])
        return shaped(fleet, saying_endpoints(targets, results), counted("changed"))
    finally:
        clients.close()
        source.save()
