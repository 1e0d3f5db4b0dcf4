#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: apigw_router_info
short_description: Show the router routes of Huawei Cloud APIG instances in etcd, and their drift
version_added: 0.1.0
description:
  - Reads the routes that the router of one or many APIG dedicated instances has in the gateway's etcd.
  - With O(compare=true), compares them with a source taken exactly as M(apigw.router.apigw_router_refresh) takes it in
    its etcd mode (O(apis), O(src), or the management API's ListApisV2) and reports the drift, that is what a sync
    would create, update and delete. With O(fail_on_drift=true) this is a gate for a CI pipeline.
  - Never writes to etcd or to the management API. The one thing it may write is the O(src) cache of
    O(source_cache), a small file on the host that runs the module (in check mode too).
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
  - apigw.router.attributes.READ_ONLY
requirements:
  - etcd-sdk-python (imported as C(pyetcd)) or etcd3
  - requests, when the source is ListApisV2
  - PyYAML, for a YAML O(src)
options:
  records:
    description:
      - Return the route records themselves in RV(routes).
    type: bool
    default: false
  compare:
    description:
      - Compare the routes with a source (O(apis), O(src), or ListApisV2 when neither is given) and report RV(in_sync)
        and RV(drift).
      - Without it, O(apis) and O(src) are not read; giving either then causes a warning.
    type: bool
    default: false
  fail_on_drift:
    description:
      - With O(compare=true), fail when a sync would change anything.
    type: bool
    default: false
  prune:
    description:
      - Count routes that the source no longer has as drift to delete, as a sync with O(prune=true) would.
    type: bool
    default: true
  dest:
    description:
      - Export the routes read (those of O(scope) with a scope) to this file, on the host that runs the module, as a
        ListApisV2 page that O(apigw.router.apigw_router_refresh#module:src) accepts. A sync from it into the same
        instance changes nothing; into an empty instance it writes the same routes, byte for byte.
      - Written (mode 0644, through a temporary file and a rename) only when its content differs, which is then
        reported as C(changed); in check mode never written. One instance only (O(instance_id), or O(instances) of
        one item).
    type: path
    version_added: 0.3.0
notes:
  - Secrets (O(auth_token), O(secret_key), O(security_token), O(iam_password), O(etcd_password)) never appear in
    results or messages.
  - The connection and authentication options may come from C(module_defaults) for C(group/apigw.router.apigw). The
    management API's options (O(endpoint), O(region), O(cloud), O(project_id), the authentication, TLS and retry
    options) are used only to read ListApisV2, that is with O(compare=true) and neither O(apis) nor O(src); otherwise
    they are ignored. The options of M(apigw.router.apigw_router_refresh) alone, such as O(apigw.router.apigw_router_refresh#module:mode)
    and O(apigw.router.apigw_router_refresh#module:resources), are not options of this module; give them to that
    module by name in C(module_defaults), not to the group.
seealso:
  - module: apigw.router.apigw_router_refresh
'''

EXAMPLES = r'''
- name: Count the routes of an instance
  apigw.router.apigw_router_info:
    instance_id: "{{ apig_instance_id }}"
    etcd_endpoints: [http://127.0.0.1:2379]
  register: router

- name: Fail the pipeline when etcd has drifted from the API definitions in git
  apigw.router.apigw_router_info:
    instance_id: "{{ apig_instance_id }}"
    compare: true
    src: apis/{{ apig_instance_id }}.json
    fail_on_drift: true

- name: Compare a fleet with what the management API says
  apigw.router.apigw_router_info:
    instances: "{{ apig_fleet }}"
    compare: true
    project_id: "{{ apig_project_id }}"
    region: cn-north-4
    auth_token: "{{ iam_token }}"
  register: drift

- name: List the drifting instances
  ansible.builtin.debug:
    msg: "{{ drift.results | rejectattr('in_sync') | map(attribute='instance_id') | list }}"

- name: Export the routes of the group this pipeline owns, as a source file
  apigw.router.apigw_router_info:
    instance_id: "{{ apig_instance_id }}"
    scope:
      groups: [shop]
    dest: "{{ playbook_dir }}/shop-apis.json"
    etcd_endpoints: [http://127.0.0.1:2379]
'''

RETURN = r'''
msg:
  description: What was found, in one line.
  returned: always
  type: str
conflicts:
  description: IDs of the source's APIs that etcd holds under a group outside O(scope) (at most 20).
  returned: failure, with O(compare=true) and O(scope), when the source claims another group's API
  type: list
  elements: str
outside_scope:
  description: IDs of the source's APIs whose group is not in O(scope) (at most 20).
  returned: failure, with O(compare=true) and O(scope), when the source holds APIs outside it
  type: list
  elements: str
dest:
  description: The file O(dest) holds the routes in (written, or already holding them).
  returned: with O(dest), single instance, except in check mode
  type: str
  sample: /srv/pipelines/shop/shop-apis.json
uid:
  description: Numeric id of the owner of O(dest).
  returned: with O(dest), single instance, except in check mode (added by Ansible, as for M(ansible.builtin.copy))
  type: int
  sample: 1000
gid:
  description: Numeric id of the group of O(dest).
  returned: with O(dest), single instance, except in check mode (added by Ansible, as for M(ansible.builtin.copy))
  type: int
  sample: 1000
owner:
  description: Owner of O(dest).
  returned: with O(dest), single instance, except in check mode (added by Ansible, as for M(ansible.builtin.copy))
  type: str
  sample: deploy
group:
  description: Group of O(dest).
  returned: with O(dest), single instance, except in check mode (added by Ansible, as for M(ansible.builtin.copy))
  type: str
  sample: deploy
mode:
  description: Permissions of O(dest), in octal.
  returned: with O(dest), single instance, except in check mode (added by Ansible, as for M(ansible.builtin.copy))
  type: str
  sample: 0644
size:
  description: Size of O(dest) in bytes.
  returned: with O(dest), single instance, except in check mode (added by Ansible, as for M(ansible.builtin.copy))
  type: int
  sample: 48213
state:
  description: V(file), as for M(ansible.builtin.copy).
  returned: with O(dest), single instance, except in check mode (added by Ansible, as for M(ansible.builtin.copy))
  type: str
  sample: file
instance_id:
  description: The instance this result is about.
  returned: single instance
  type: str
  sample: 1d2a5f7b0c9e4e0f8a3b6c2d9e8f7a6b
count:
  description: Number of routes of the instance in etcd (of O(scope) with a scope).
  returned: single instance
  type: int
manifest:
  description: The instance's manifest as stored, or null when there is none.
  returned: single instance
  type: dict
revision:
  description: The etcd revision the routes were read at.
  returned: single instance
  type: int
routes:
  description:
    - The route records, sorted by API id.
    - A value that is not a route record is given as a dict with C(key), C(invalid=true) and its first 256 bytes as
      C(value); bytes of the key that are not UTF-8 are escaped with Python's C(backslashreplace) (C(\xff)).
  returned: single instance, with O(records=true)
  type: list
  elements: dict
in_sync:
  description: Whether a sync from the source would change nothing.
  returned: single instance, with O(compare=true)
  type: bool
manifest_in_sync:
  description:
    - Whether the stored manifest is the one a sync from the source would leave, that is whether it describes the
      routes as they would be after the sync. V(false) with an empty RV(drift) means that only the manifest is missing
      or stale, which a sync repairs.
  returned: single instance, with O(compare=true)
  type: bool
drift:
  description:
    - API ids that a sync would create, update and delete; a stray key whose name is not an API id is given as its
      whole key, escaped as in RV(routes).
  returned: single instance, with O(compare=true)
  type: dict
  sample: {"create": ["a1"], "update": [], "delete": ["z9"]}
listings:
  description:
    - When the source is ListApisV2 and its listing of the instance never added up (see O(apis)), one item per
      listing taken - C(totals) (the C(total) of each page), C(collected) (APIs received), C(unique) (distinct ids)
      and C(duplicates) (ids received more than once, at most 100). The task reports no RV(in_sync) and no RV(drift).
  returned: failure, single instance, with O(compare=true), when the ListApisV2 listing did not add up
  type: list
  elements: dict
  sample: [{"totals": [1234, 1234, 1234], "collected": 600, "unique": 600, "duplicates": []}]
status:
  description: The HTTP status of the management API's last answer; -1 when no answer came.
  returned: failure, with O(compare=true) when reading ListApisV2 failed
  type: int
  sample: 403
error_code:
  description: The gateway's error code, when it gave one.
  returned: failure, with O(compare=true) when reading ListApisV2 failed
  type: str
error_msg:
  description: The gateway's error message, when it gave one.
  returned: failure, with O(compare=true) when reading ListApisV2 failed
  type: str
request_id:
  description: The gateway's request ID of the last answer, when it gave one.
  returned: failure, with O(compare=true) when reading ListApisV2 failed
  type: str
attempts:
  description: HTTP attempts made for the failing request (retries included).
  returned: failure, with O(compare=true) when reading ListApisV2 failed
  type: int
problems:
  description: What is wrong with O(apis) or O(src), one line per problem naming the item (at most 50).
  returned: failure, with O(compare=true), when the API resources were refused
  type: list
  elements: str
  sample: ["apis[3] (id a1): req_uri must start with /"]
problem_count:
  description: How many problems were found in O(apis) or O(src), all of them (RV(problems) lists at most 50).
  returned: failure, with O(compare=true), when the API resources were refused
  type: int
etcd_endpoints:
  description:
    - The etcd endpoints the routes were read from, without any user information of the URLs.
    - In a fleet, each of RV(results) has its instance's own.
  returned: single instance, also when it failed
  type: list
  elements: str
  sample: ["https://10.0.0.11:2379", "https://10.0.0.12:2379"]
etcd_endpoints_from:
  description:
    - Where RV(etcd_endpoints) came from. V(option) is O(etcd_endpoints) or the instance's
      O(instances[].etcd_endpoints); V(env) is the environment variable E(ETCDCTL_ENDPOINTS) of the host that runs
      the module; V(default) is V(http://127.0.0.1:2379).
  returned: single instance, also when it failed
  type: str
  choices: [option, env, default]
  sample: env
results:
  description: One result per instance, in input order, each with C(instance_id) and the keys above.
  returned: with O(instances)
  type: list
  elements: dict
summary:
  description: Counts over RV(results).
  returned: with O(instances)
  type: dict
'''

from ansible_collections.apigw.router.plugins.module_utils.common import _argspec as spec
from ansible_collections.apigw.router.plugins.module_utils.common._module import ApigwRouterModule
from ansible_collections.apigw.router.plugins.module_utils.runs._info import run_info


def main():
    module = ApigwRouterModule(
        spec.TARGET, spec.APIG_CONNECTION, spec.ETCD_CONNECTION, spec.SOURCE, spec.SCOPE,
        dict(records=dict(type='bool', default=False),
             dest=dict(type='path'),
             compare=dict(type='bool', default=False),
             fail_on_drift=dict(type='bool', default=False),
             prune=dict(type='bool', default=True)),
        mutually_exclusive=spec.TARGET_MUTUALLY_EXCLUSIVE + spec.SOURCE_MUTUALLY_EXCLUSIVE,
        required_one_of=spec.TARGET_REQUIRED_ONE_OF,
    )
    module.execute(run_info)


if __name__ == '__main__':
    main()
