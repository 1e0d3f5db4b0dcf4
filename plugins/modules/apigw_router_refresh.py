#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: apigw_router_refresh
short_description: Refresh the router of Huawei Cloud APIG dedicated instances
version_added: 0.1.0
description:
  - Brings the router of one or many Huawei Cloud API Gateway (APIG) dedicated instances in step with their API
    definitions, in one of two modes.
  - O(mode=api) calls the documented admin endpoint
    C(PUT /v1/{project_id}/apigw/instances/{instance_id}/op-operations/router/{resource}) for each of O(resources); the
    gateway then rewrites its ETCD itself. The credentials need the C(op_svc_apig) role.
  - O(mode=etcd) writes the API resources straight into the gateway's ETCD, idempotently. It reads the routes that are
    there, computes the difference from the source (O(apis), O(src), or the management API's ListApisV2), and writes only
    that difference, in transactions where every write is guarded by the revision it was planned against. A second run
    with the same source changes nothing.
  - Give O(instance_id) for one instance, or O(instances) for a fleet processed with bounded O(concurrency).
author:
  - apigw.router maintainers (@apigw-router)
extends_documentation_fragment:
  - apigw.router.target
  - apigw.router.target.SOURCE
  - apigw.router.target.SCOPE
  - apigw.router.apig_connection
  - apigw.router.apig_connection.modules
  - apigw.router.etcd_connection
  - apigw.router.attributes
  - apigw.router.attributes.CHECK_MODE_FULL
attributes:
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
    support: partial
    details: In O(mode=etcd) the routes before and after, bounded in size for large changes. O(mode=api) has no diff.
requirements:
  - requests
  - etcd-sdk-python (imported as C(pyetcd)) or etcd3, for O(mode=etcd)
  - PyYAML, for a YAML O(src)
options:
  mode:
    description:
      - V(api) calls the gateway's router refresh API; V(etcd) syncs the API resources straight into ETCD.
    type: str
    choices: [api, etcd]
    default: api
  resources:
    description:
      - O(mode=api) only. The router resources to refresh, one PUT each, in this order.
    type: list
    elements: str
    choices: [apis, acls, vpcs, throttles, tenants, signatures, certs]
    default: [apis]
  wait:
    description:
      - O(mode=api) only. After the refresh, poll C(GET .../op-operations/router/state) until its C(status) is no
        longer C(working).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait) before failing.
    type: int
    default: 300
  wait_sleep:
    description:
      - Seconds between two polls with O(wait).
    type: int
    default: 2
  prune:
    description:
      - O(mode=etcd) only. Delete routes that the source no longer has.
    type: bool
    default: true
  allow_empty:
    description:
      - O(mode=etcd) only. A source without any routable API that would delete existing routes fails, unless this is
        V(true). A guard against wiping a router with an empty or mistaken source.
    type: bool
    default: false
  max_txn_ops:
    description:
      - O(mode=etcd) only. Operations per etcd transaction. etcd refuses more than its C(--max-txn-ops) (128 by
        default).
    type: int
    default: 128
  lock_timeout:
    description:
      - O(mode=etcd) only. Seconds to wait for the per-instance lock that keeps two syncs of one instance apart.
    type: float
    default: 30
  backup:
    description:
      - O(mode=etcd) only. Before a sync that changes anything, write the routes as they are (those of O(scope) with
        a scope, else all of the instance's) to a file on the host that runs the module, and return its path as
        RV(backup_file). The file is a ListApisV2 page that O(src) accepts; a sync from it restores etcd byte for
        byte.
      - Taken under the instance's lock, right before the first write; a sync with nothing to write writes no backup.
        A sync that plans again after a conflicting write writes the same file again, so that it keeps the values
        this sync replaced. In check mode no file is written; the message says where one would be.
    type: bool
    default: false
    version_added: 0.3.0
  backup_dir:
    description:
      - The directory of the files O(backup) writes, created (mode 0700) when missing. Each file is named
        C(<instance_id>.<all or groups-DIGEST>.<UTC time>.json) (C(-1), C(-2) added to a name already taken) and
        readable by its owner only.
      - When not set, C(~/.ansible/apigw_router_backups) of the user that runs the module.
    type: path
    version_added: 0.3.0
notes:
  - Every instance's work is bounded in time, so a fleet call is too. In O(mode=api), each request by O(timeout),
    its retries by O(retries) and each wait between them by 30 seconds (or, when the gateway asks for a longer pause
    with C(Retry-After), by 300 seconds), and the wait for the router by O(wait_timeout). In O(mode=etcd), each etcd
    request by O(etcd_timeout) per endpoint, and the wait for the lock by O(lock_timeout).
  - In O(mode=api), check mode sends no request and reports C(changed=true), since a refresh always runs.
  - In O(mode=etcd), check mode reads etcd and reports exactly what a sync would create, update and delete.
  - Secrets (O(auth_token), O(secret_key), O(security_token), O(iam_password), O(etcd_password)) never appear in
    results, messages or diffs.
  - The connection and authentication options may come from C(module_defaults) for C(group/apigw.router.apigw). What
    the mode has no use for is ignored. O(mode=api) ignores the etcd options (O(etcd_endpoints) and the other
    C(etcd_*) options, O(key_prefix)). O(mode=etcd) with O(apis) or O(src) ignores the management API's options
    (O(endpoint), O(region), O(cloud), O(project_id), the authentication, TLS and retry options); it uses them only
    to read ListApisV2. Options of one mode (O(resources), O(wait), O(prune), ...) belong under the module's own name
    in C(module_defaults), not in the group.
  - With O(src), O(source_cache) writes a small cache file on the host that runs the module, in check mode too.
  - The guide "Sharing an instance between pipelines" explains O(scope), O(backup) and restoring from a backup.
seealso:
  - module: apigw.router.apigw_router_info
'''

EXAMPLES = r'''
- name: Refresh the API routes of one instance with an IAM token
  apigw.router.apigw_router_refresh:
    instance_id: 1d2a5f7b0c9e4e0f8a3b6c2d9e8f7a6b
    project_id: 0a1b2c3d4e5f67890a1b2c3d4e5f6789
    region: cn-north-4
    auth_token: "{{ iam_token }}"

- name: Refresh APIs and ACLs with AK/SK signing and wait for the router
  apigw.router.apigw_router_refresh:
    instance_id: "{{ apig_instance_id }}"
    project_id: "{{ apig_project_id }}"
    region: cn-north-4
    access_key: "{{ vault_ak }}"
    secret_key: "{{ vault_sk }}"
    resources: [apis, acls]
    wait: true
    wait_timeout: 120

- name: Write connection and auth once for every apigw.router module
  module_defaults:
    group/apigw.router.apigw:
      region: cn-north-4
      project_id: "{{ apig_project_id }}"
      iam_user: "{{ iam_user }}"
      iam_password: "{{ vault_iam_password }}"
      iam_domain: "{{ iam_domain }}"
  block:
    - name: Refresh a fleet, 32 instances at a time
      apigw.router.apigw_router_refresh:
        instances:
          - instance_id: 1d2a5f7b0c9e4e0f8a3b6c2d9e8f7a6b
          - instance_id: 7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
            region: ap-southeast-1
        concurrency: 32
      register: fleet

    - name: Show the summary
      ansible.builtin.debug:
        var: fleet.summary

- name: Sync the published APIs of a file straight into the gateway's etcd
  apigw.router.apigw_router_refresh:
    mode: etcd
    instance_id: "{{ apig_instance_id }}"
    src: files/apis.json
    etcd_endpoints:
      - https://etcd-1.example.internal:2379
      - https://etcd-2.example.internal:2379
    etcd_ca_cert: /etc/apig/etcd-ca.pem
    etcd_client_cert: /etc/apig/etcd-client.pem
    etcd_client_key: /etc/apig/etcd-client-key.pem
  diff: true

- name: Sync dedicated instances that each have their own etcd cluster
  apigw.router.apigw_router_refresh:
    mode: etcd
    src: files/apis.json
    etcd_endpoints: [https://etcd-shared.example.internal:2379]
    etcd_ca_cert: /etc/apig/etcd-ca.pem
    instances:
      - instance_id: 1d2a5f7b0c9e4e0f8a3b6c2d9e8f7a6b
      - instance_id: 7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29
        etcd_endpoints: [https://etcd-payments.example.internal:2379]
        etcd_user: router
        etcd_password: "{{ vault_payments_etcd_password }}"

- name: Sync only the API group this pipeline owns, with a backup first
  apigw.router.apigw_router_refresh:
    mode: etcd
    instance_id: "{{ apig_instance_id }}"
    src: files/apis.json
    scope:
      groups: [shop]
    backup: true
    etcd_endpoints: [https://etcd-1.example.internal:2379]
    etcd_ca_cert: /etc/apig/etcd-ca.pem
  register: shop_sync

- name: Roll the group back from that backup
  apigw.router.apigw_router_refresh:
    mode: etcd
    instance_id: "{{ apig_instance_id }}"
    src: "{{ shop_sync.backup_file }}"
    scope:
      groups: [shop]
    etcd_endpoints: [https://etcd-1.example.internal:2379]
    etcd_ca_cert: /etc/apig/etcd-ca.pem
  when: shop_sync.backup_file is defined

- name: Refresh instances of two regions; each project ID is looked up from its region
  apigw.router.apigw_router_refresh:
    region: cn-north-4
    auth_token: "{{ iam_token }}"
    instances:
      - instance_id: 1d2a5f7b0c9e4e0f8a3b6c2d9e8f7a6b
      - instance_id: 5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b
        region: eu-west-101
'''

RETURN = r'''
msg:
  description: What happened, in one line.
  returned: always
  type: str
instance_id:
  description: The instance this result is about.
  returned: single instance
  type: str
  sample: 1d2a5f7b0c9e4e0f8a3b6c2d9e8f7a6b
status:
  description: The last HTTP status of the refresh; -1 when no HTTP answer came (or in check mode).
  returned: O(mode=api), single instance; in O(mode=etcd) too when reading ListApisV2 failed
  type: int
  sample: 200
error_code:
  description: The gateway's error code, for example C(APIG.3500).
  returned: O(mode=api), single instance; in O(mode=etcd) too when reading ListApisV2 failed
  type: str
  sample: APIG.1005
error_msg:
  description: The gateway's error message.
  returned: O(mode=api), single instance; in O(mode=etcd) too when reading ListApisV2 failed
  type: str
request_id:
  description: The gateway's request ID of the last answer (from the body or the C(X-Request-Id) header).
  returned: O(mode=api), single instance; in O(mode=etcd) too when reading ListApisV2 failed
  type: str
attempts:
  description: HTTP attempts made for the refresh requests, retries included (state polls are not counted).
  returned: O(mode=api), single instance; in O(mode=etcd) too when reading ListApisV2 failed
  type: int
  sample: 1
resources:
  description: The resources that were refreshed, in order.
  returned: O(mode=api), single instance
  type: list
  elements: str
  sample: [apis, acls]
state:
  description: The last answer of C(GET .../router/state) with O(wait).
  returned: O(mode=api) with O(wait), single instance
  type: dict
  sample: {"request_id": "1fdcb2e4", "processing": "Finished", "status": "finished", "finished": ["PROJECT", "API"]}
created:
  description: IDs of the APIs whose route was created, sorted.
  returned: O(mode=etcd), single instance
  type: list
  elements: str
updated:
  description: IDs of the APIs whose route was rewritten, sorted.
  returned: O(mode=etcd), single instance
  type: list
  elements: str
deleted:
  description:
    - IDs of the APIs whose route was deleted, sorted.
    - A deleted stray key whose name is not an API id is given as its whole key; bytes of it that are not UTF-8 are
      escaped with Python's C(backslashreplace) (C(\xff)), as in the diff.
  returned: O(mode=etcd), single instance
  type: list
  elements: str
unchanged:
  description: How many routes were already right.
  returned: O(mode=etcd), single instance
  type: int
revision:
  description: The etcd revision after the last write, or the current one when nothing was written.
  returned: O(mode=etcd), single instance
  type: int
manifest:
  description: The instance's manifest, C({"schema", "count", "sha256"}).
  returned: O(mode=etcd), single instance
  type: dict
  sample: {"schema": 1, "count": 42, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
listings:
  description:
    - When the source is ListApisV2 and its listing of the instance never added up (see O(apis)), one item per
      listing taken - C(totals) (the C(total) of each page), C(collected) (APIs received), C(unique) (distinct ids)
      and C(duplicates) (ids received more than once, at most 100). Nothing was written.
  returned: failure, O(mode=etcd), single instance, when the ListApisV2 listing did not add up
  type: list
  elements: dict
  sample: [{"totals": [1234, 1234, 1234], "collected": 600, "unique": 600, "duplicates": []}]
lock_holder:
  description:
    - Who held the instance's etcd lock (the value of its lock key) when the sync gave up waiting for it after
      O(lock_timeout), or that took it over after this sync lost it mid-way (its lease lapsed); null when that
      could not be read.
  returned: failure, O(mode=etcd), when the lock was not obtained or was lost
  type: str
conflict_keys:
  description: The etcd keys whose guarded writes still conflicted (someone else kept changing them) when the sync gave
    up re-planning.
  returned: failure, O(mode=etcd), when guarded writes kept conflicting
  type: list
  elements: str
would_delete:
  description: How many routes a source without any routable API would have deleted; see O(allow_empty).
  returned: failure, O(mode=etcd), when the source is empty and O(allow_empty=false)
  type: int
problems:
  description: What is wrong with O(apis) or O(src), one line per problem naming the item (at most 50).
  returned: failure, when the API resources were refused (nothing was written)
  type: list
  elements: str
  sample: ["apis[3] (id a1): req_uri must start with /"]
problem_count:
  description: How many problems were found in O(apis) or O(src), all of them (RV(problems) lists at most 50).
  returned: failure, when the API resources were refused (nothing was written)
  type: int
etcd_endpoints:
  description:
    - The etcd endpoints the sync used, without any user information of the URLs.
    - In a fleet, each of RV(results) has its instance's own.
  returned: O(mode=etcd), single instance, also when it failed
  type: list
  elements: str
  sample: ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]
etcd_endpoints_from:
  description:
    - Where RV(etcd_endpoints) came from. V(option) is O(etcd_endpoints) or the instance's
      O(instances[].etcd_endpoints); V(env) is the environment variable E(ETCDCTL_ENDPOINTS) of the host that runs
      the module; V(default) is V(http://127.0.0.1:2379).
  returned: O(mode=etcd), single instance, also when it failed
  type: str
  choices: [option, env, default]
  sample: env
results:
  description: One result per instance, in input order, each with C(instance_id), C(changed), C(failed), C(msg) and
    the keys of its mode above.
  returned: with O(instances)
  type: list
  elements: dict
backup_file:
  description: The file O(backup) wrote the routes to before the sync changed them (a source for O(src)).
  returned: O(mode=etcd) with O(backup), single instance, when the sync wrote anything (also when a later write failed)
  type: str
  sample: /home/deploy/.ansible/apigw_router_backups/1d2a5f7b0c9e4e0f8a3b6c2d9e8f7a6b.all.20261203T141502.123456Z.json
conflicts:
  description:
    - IDs of the source's APIs that etcd holds under a group outside O(scope), or of routes of the scope whose APIs
      ListApisV2 lists in a group outside it (moved out of the scope; at most 20). Nothing was written.
  returned: failure, O(mode=etcd) with O(scope), when the source claims another group's API or an API moved out of
    the scope
  type: list
  elements: str
missed:
  description:
    - IDs of published APIs of O(scope) that ListApisV2, listing the scope's groups one after another, did not list
      (they moved between two of its groups meanwhile), found when the sync asked for the APIs it was about to prune
      (at most 100). Nothing was written; the next run lists them where they now are.
  returned: failure, O(mode=etcd) with O(scope) and ListApisV2 as the source
  type: list
  elements: str
  version_added: 0.3.0
listed_twice:
  description:
    - IDs that ListApisV2 listed in two groups of O(scope) in every round of listings taken (APIs kept moving
      between them while they were listed; at most 100). Nothing was written.
  returned: failure, O(mode=etcd) with O(scope) and ListApisV2 as the source
  type: list
  elements: str
  version_added: 0.3.0
outside_scope:
  description: IDs of the source's APIs whose group is not in O(scope) (at most 20). Nothing was written.
  returned: failure, O(mode=etcd) with O(scope), when the source holds APIs outside it
  type: list
  elements: str
summary:
  description: Counts over RV(results).
  returned: with O(instances)
  type: dict
  sample: {"total": 100, "changed": 97, "unchanged": 1, "failed": 2}
'''

from ansible_collections.apigw.router.plugins.module_utils.common import _argspec as spec
from ansible_collections.apigw.router.plugins.module_utils.common._module import ApigwRouterModule


def main():
    module = ApigwRouterModule(*spec.REFRESH_OPTIONS, **spec.REFRESH_CONSTRAINTS)
    # Only the chosen mode's run is imported: AnsiballZ ships both, and compiles what is imported on every run.
    if module.params['mode'] == 'etcd':
        from ansible_collections.apigw.router.plugins.module_utils.runs._etcd_mode import run_etcd_sync as run
    else:
        from ansible_collections.apigw.router.plugins.module_utils.runs._api_mode import run_api_refresh as run
    module.execute(run)


if __name__ == '__main__':
    main()
