# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # Which instances a module works on: one, or a fleet.
    DOCUMENTATION = r'''
options:
  instance_id:
    description:
      - ID of the APIG dedicated instance.
      - Exactly one of O(instance_id) and O(instances) is required.
    type: str
  instances:
    description:
      - A fleet of instances, processed at most O(concurrency) at once. One failure does not stop the others; the task
        fails when any instance failed, and returns RV(ignore:results) for all of them.
      - Each item may override, for its instance, the options of the same name of the module; what it leaves out is
        taken from them. All items are checked before the first request or write, and an error names the item, as in
        C(instances[3].region).
      - Items that share the same etcd connection (O(instances[].etcd_endpoints), the TLS files, the user and the
        password) share one etcd client; each distinct connection has its own.
    type: list
    elements: dict
    # An item's options override the module's options of the same name, one line each.
    suboptions:
      instance_id:
        description: ID of the instance.
        type: str
        required: true
      project_id:
        description:
          - Overrides O(project_id) for this instance.
          - When neither is given, the project of the instance's region is looked up (see O(region)).
        type: str
      endpoint: {description: Overrides O(endpoint) for this instance., type: str}
      region: {description: Overrides O(region) for this instance., type: str}
      cloud: {description: Overrides O(cloud) for this instance., type: str}
      etcd_endpoints:
        description:
          - Overrides O(etcd_endpoints) for this instance, when its gateway has its own etcd cluster.
          - Etcd mode (and the info module) only, as are the other etcd options of an item.
        type: list
        elements: str
      etcd_ca_cert: {description: Overrides O(etcd_ca_cert) for this instance., type: path}
      etcd_client_cert: {description: Overrides O(etcd_client_cert) for this instance., type: path}
      etcd_client_key: {description: Overrides O(etcd_client_key) for this instance., type: path}
      etcd_user:
        description:
          - Overrides O(etcd_user) for this instance; also in the C(user:password) form, whose password wins over
            O(etcd_password) but not over O(instances[].etcd_password).
        type: str
      etcd_password: {description: Overrides O(etcd_password) for this instance., type: str}
      key_prefix: {description: Overrides O(key_prefix) for this instance., type: str}
      scope:
        description:
          - Overrides O(scope) for this instance (etcd mode and the info module).
        type: dict
        version_added: 0.3.0
        suboptions:
          groups:
            description: API group ids or names.
            type: list
            elements: str
            required: true
  project_id:
    description:
      - Project ID of the instances, needed whenever the management API is called.
      - If not set, the environment variable E(HUAWEICLOUD_SDK_PROJECT_ID) is used; without it, the project of
        O(region) is looked up with IAM, once per region (see O(region)).
    type: str
  concurrency:
    description:
      - With O(instances), how many instances are processed at once (1 to 256).
    type: int
    default: 16
'''

    # The API groups a run owns on a shared instance: etcd mode and the info module.
    SCOPE = r'''
options:
  scope:
    description:
      - The API groups this run owns on an instance that several pipelines share (etcd mode of
        M(apigw.router.apigw_router_refresh), and M(apigw.router.apigw_router_info)). A route is in the scope when
        its record's C(group_id) or C(group_name) is one of O(scope.groups).
      - A sync plans, writes and prunes only the routes of the scope; the instance's other routes are never in its
        diff, never written and never deleted. The info module's C(count), C(routes), C(drift) and C(dest) cover the
        scope's routes only; its C(manifest) stays the instance's.
      - A source item (O(apis) or O(src)) outside the scope is refused, naming it, and nothing is written. With
        ListApisV2 as the source, each group of the scope is listed with ListApisV2's C(group_id) filter; when an
        entry lists nothing by id (a group name, which ListApisV2 cannot filter by, or a group without APIs), the
        whole instance is listed once and filtered to the scope.
      - A source API whose id etcd holds under a group outside the scope is refused, naming both groups; moving an
        API between two groups needs both in the scope.
      - With ListApisV2 as the source, a route is pruned only once ListApisV2, asked for its API by id, has no
        published API of that id. One still published outside the scope (moved out of it) is refused, naming both
        groups; one still published in the scope (missed while the groups were listed one after another) fails
        the sync. Nothing is written in either case.
      - The instance manifest keeps covering every route. A sync also keeps a manifest per group of the scope under
        C(<key_prefix>/<instance_id>/groups/), so that a scoped sync with nothing to do proves it in a few small
        reads, without reading the routes.
      - Without it, the run covers the whole instance. O(instances[].scope) overrides it per instance.
    type: dict
    version_added: 0.3.0
    suboptions:
      groups:
        description: API group ids or names (as ListApisV2's C(group_id) and C(group_name) give them).
        type: list
        elements: str
        required: true
'''

    # Where the API resources come from, for an etcd-mode sync or a drift check; the action
    # plugin of each module that takes them finds O(src) on the controller.
    SOURCE = r'''
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the
      controller.
    support: full
    details: The action plugin finds O(src) on the controller and, for a remote host, transfers it.
options:
  apis:
    description:
      - The API resources, in the shape of the C(apis) items of ListApisV2. Only published APIs (with a C(run_env_id))
        become routes.
      - Mutually exclusive with O(src). When neither is given, the module reads each instance's APIs from the management
        API with ListApisV2, paging by 500.
      - A ListApisV2 listing is used only when it adds up - every page gives the same C(total), and the API ids
        received are distinct and exactly that many. One API deleted and another created while the pages are read keep
        the C(total) and still make the later pages skip an API, so a listing of more than one page is used only once
        the next listing finds the same ids (an instance of more than 500 APIs is listed twice). APIs created or deleted
        while the pages are read, or a listing that ends short of its C(total), make it list again, three failed
        listings in all (after 1 and 2 seconds); a listing that still does not add up fails the instance before
        anything is written (and so never deletes the routes it missed), with a message and RV(listings) saying what
        did not add up. An answer without C(total) fails at once.
    type: list
    elements: raw
  src:
    description:
      - A JSON or YAML file holding a list of API resources, or a ListApisV2 answer (C({"total":..., "apis":[...]})).
        A name ending in C(.json) is read as JSON, one ending in C(.yml) or C(.yaml) as YAML; any other is read as
        JSON, and if that fails, as YAML.
      - The file is on the controller and is found as M(ansible.builtin.copy) finds its O(ansible.builtin.copy#module:src)
        - a relative path is searched for in the role's C(files/) directory, then beside the role's tasks, then in
        C(files/) beside the playbook and in the playbook's directory. A missing file fails the task with the places
        searched.
      - When the module runs on the controller (C(connection=local), the usual case), it reads the file where it was
        found. On another host, the file is copied into the task's temporary directory there, read, and removed with
        it. The content never travels in the module's arguments, so a large file costs no templating.
      - An absolute path that does not exist on the controller is passed on unchanged and read on the host that runs
        the module; use this for a file that only that host has.
      - A file encrypted with C(ansible-vault) is decrypted on the controller, as M(ansible.builtin.copy) does, with
        the vault secrets of the play (C(--vault-password-file), C(--ask-vault-pass), C(--vault-id)). The module gets
        a decrypted copy in the task's temporary directory, removed with it. Without the secret the task fails before
        the module runs.
    type: path
  source_cache:
    description:
      - With O(src), remember per file content the manifest (route count and digest) it gives each instance. The next
        run with the same file then proves a no-op from that manifest and three small etcd reads, without parsing the
        file or building any route. At 10,000 routes that is most of a no-op's time.
      - The cache is on the host that runs the module, in O(source_cache_dir), else in
        C($XDG_CACHE_HOME/apigw.router/sources) or C(~/.cache/apigw.router/sources), at most 64 files. It holds digests
        and key prefixes, nothing secret. It is written in check mode too, and by
        M(apigw.router.apigw_router_info), since it describes the file and not etcd.
      - It never decides alone. A no-op still needs etcd to hold exactly the remembered manifest, with no key under
        the instance changed since it was written; anything else is compared route by route as without it.
      - A different file content, a collection upgrade that changes how routes are built, or another Python version
        is a miss. A cache that cannot be read or written is ignored.
      - V(false) neither reads nor writes it. O(apis) and the management API are never cached.
    type: bool
    default: true
  source_cache_dir:
    description:
      - The directory of the O(source_cache), an absolute path on the host that runs the module. It is created
        (mode 0700) when missing.
      - Set it where the home directory does not last from one run to the next, as in an AWX or Ansible Automation
        Platform job, whose home is new each run, so the cache would never be hit. Use a directory that outlives the
        job, for example a persistent volume mounted into the execution environment.
      - If not set, the environment variable E(APIGW_ROUTER_SOURCE_CACHE_DIR) is used, and without it the user's cache
        directory as described in O(source_cache).
      - A directory that cannot be created or written is ignored, as any cache that cannot be written.
    type: path
'''
