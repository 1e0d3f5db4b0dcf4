# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: apig_instances
short_description: Dedicated API Gateway (APIG) instances of Huawei Cloud as inventory hosts
version_added: 0.2.0
description:
  - Lists the dedicated APIG instances of one or more regions with C(ListInstancesV2) and makes each one a host,
    with C(apigw_*) host variables that the modules and the P(apigw.router.fleet_refresh#role) role take.
  - Project ids are given per region or looked up once per region with IAM C(GET /v3/projects?name=<region>).
  - Every host is in the group C(apig_instances) and in one group per region, C(apig_<region>) with C(-) as C(_)
    (for example C(apig_cn_north_4)).
  - Host variables C(apigw_instance_id), C(apigw_instance_name), C(apigw_project_id), C(apigw_region),
    C(apigw_endpoint), C(apigw_status), C(apigw_spec), C(apigw_eip_address), C(apigw_enterprise_project_id),
    C(apigw_create_time) (ISO 8601, UTC) and C(apigw_loadbalancer_provider); with O(include_details) also
    C(apigw_ingress_ip), C(apigw_vpc_id), C(apigw_subnet_id), C(apigw_available_zone_ids) (a list) and
    C(apigw_instance_version). Values that come from the API are marked unsafe, so they are never templated.
  - A region that answers with no instances gives a warning; credentials without the C(apig:instance:list)
    permission get an empty list too, since the API does not answer 403 for it.
  - The configuration file name must end with C(apig_instances.yml) or C(apig_instances.yaml).
author:
  - apigw.router maintainers (@apigw-router)
extends_documentation_fragment:
  - apigw.router.apig_connection
  - apigw.router.apig_connection.plugins
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; this is what makes a YAML file its configuration.
    type: str
    required: true
    choices: [apigw.router.apig_instances, apig_instances]
  regions:
    description:
      - The regions to list. Each item is a region name such as V(cn-north-4), or a dict with the region's O(regions[].name)
        and, for private or non-standard endpoints, any of O(regions[].endpoint), O(regions[].iam_endpoint) and
        O(regions[].project_id).
    type: list
    elements: raw
    required: true
    suboptions:
      name:
        description: The region id.
        type: str
        required: true
      endpoint:
        description:
          - Base URL of the region's APIG management API. Default C(https://apig.<name>.<cloud>).
          - A URL with credentials (C(https://user:password@host)) is refused, shown as C(https://***@host); use the
            authentication options instead.
        type: str
      iam_endpoint:
        description:
          - IAM endpoint that looks up the region's project id. Default O(iam_endpoint), else
            C(https://iam.<name>.<cloud>).
        type: str
      project_id:
        description: The project id; when not given it is looked up with IAM C(GET /v3/projects?name=<name>).
        type: str
  iam_endpoint:
    description:
      - IAM endpoint for the IAM password method (its tokens) and for the project id look-ups of regions without their
        own O(regions[].iam_endpoint), for example C(https://iam.myhuaweicloud.com).
      - Default C(https://iam.<region>.<cloud>) of each region; the IAM password method logs in at the first region's.
      - A URL with credentials is refused as for O(regions[].endpoint). With the IAM password method, a plain
        C(http://) URL to a host other than loopback gives a warning, since O(iam_password) would travel unencrypted.
    type: str
  statuses:
    description:
      - The instance statuses to keep, for example V(Running), V(Frozen), V(Unhealthy); V([all]) keeps every status.
      - One status is passed to the API; several are filtered after listing, since the API takes one.
    type: list
    elements: str
    default: [Running]
  hostnames:
    description:
      - What names the hosts, in order of preference; V(id) (the instance id) or V(instance_name).
      - Instance names need not be unique; two instances with the same name are an error.
      - A name from the API must be a plain host name (letters of any script, digits, C(_), C(.) and C(-), starting
        with a letter, digit or C(_)), must not be Ansible's localhost (C(localhost), C(127.0.0.1), C(::1) or any
        loopback address) and must not be a host or group that an inventory source parsed before this one already
        has. Otherwise the instance is named by its instance id, with a warning naming the instance; when the id is
        taken too, the instance is left out with a warning. So no discovered instance gets
        C(ansible_connection) or C(ansible_python_interpreter) on the controller's localhost or on another source's
        host. Sources parsed after this one are not checked, so list this plugin's file last.
    type: list
    elements: str
    default: [id]
  include_filters:
    description:
      - Keep only the instances that match one of these filters. Each filter is a dict of host variable names
        (the C(apigw_) prefix may be left out) to a shell-style pattern or a list of them; it matches when every
        variable matches one of its patterns.
    type: list
    elements: dict
    default: []
  exclude_filters:
    description: Drop the instances that match one of these filters (same form as O(include_filters)).
    type: list
    elements: dict
    default: []
  include_details:
    description:
      - Also call C(ShowDetailsOfInstanceV2) for every instance, for the C(apigw_ingress_ip), C(apigw_vpc_id),
        C(apigw_subnet_id), C(apigw_available_zone_ids) and C(apigw_instance_version) host variables.
      - One extra request per instance, made O(details_concurrency) at a time.
    type: bool
    default: false
  details_concurrency:
    description: How many C(ShowDetailsOfInstanceV2) requests run at the same time.
    type: int
    default: 8
  local_connection:
    description:
      - Give every host C(ansible_connection=local). An APIG instance is not an SSH host; its tasks call the
        management API from the controller.
      - Such hosts also get C(ansible_python_interpreter) set to the Python that runs Ansible, as Ansible's
        implicit C(localhost) does, so that the modules run on the Python that has this collection's requirements.
        To use another interpreter, set it with O(compose), in C(host_vars), or as an extra variable.
    type: bool
    default: true
notes:
  - Uses the same authentication classes, HTTP client, request signer and retry policy as the collection's modules.
  - With O(cache) on, a second run within O(cache_timeout) sends no request at all. The cache is keyed on the
    configuration file's path, so after editing the file run with C(--flush-cache) to see the change at once.
'''

EXAMPLES = r'''
# inventory/prod.apig_instances.yml
plugin: apigw.router.apig_instances
regions:
  - cn-north-4
  - name: ap-southeast-1
    project_id: 0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e
# credentials from HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK
statuses: [Running]
exclude_filters:
  - instance_name: "sandbox-*"
keyed_groups:
  - key: apigw_spec
    prefix: spec
compose:
  apigw_etcd_endpoints: "['https://etcd.' ~ apigw_region ~ '.example:2379']"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/apig_instances

# Every status, hosts named by instance name, with the details call:
# plugin: apigw.router.apig_instances
# regions: [cn-north-4]
# statuses: [all]
# hostnames: [instance_name, id]
# include_details: true
'''

import re
import sys

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.apigw.router.plugins.module_utils.apig._auth import selected_method
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApigwRouterError, MissingLibraryError
from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import HttpTransport
from ansible_collections.apigw.router.plugins.plugin_utils._instances_api import (
    Discovery, HostFilter, check_hostnames, check_statuses, checked_host_name, hostvars, resolve_regions,
    strip_internal)
from ansible_collections.apigw.router.plugins.module_utils.common._retry import RetryPolicy
from ansible_collections.apigw.router.plugins.module_utils.common._secrets import plaintext_password_warnings
from ansible_collections.apigw.router.plugins.module_utils.common._validation import HTTP_SETTING_RANGES, check_range

display = Display()

AUTH_OPTIONS = ("auth_token", "access_key", "secret_key", "security_token", "iam_endpoint", "iam_user",
                "iam_password", "iam_domain")
MAX_DETAILS_CONCURRENCY = 64
ALL_GROUP = "apig_instances"
SHORT_NAME = "apig_instances"


def region_group(region):
    return "apig_" + re.sub(r"[^A-Za-z0-9_]", "_", region)


# ansible-core 2.19 and later never template a value an inventory plugin sets, unless the
# plugin declares itself trusted_by_default (this one does not); marking each value unsafe
# there only costs time, which grows with the number of hosts. Earlier versions need the mark.
_MARK_UNSAFE = not hasattr(BaseInventoryPlugin, "trusted_by_default")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "apigw.router.apig_instances"

    def verify_file(self, path):
        """A readable file whose name ends with apig_instances.yml or .yaml."""
        return super(InventoryModule, self).verify_file(path) and \
            path.endswith(("apig_instances.yml", "apig_instances.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path)
        # The documented short name, for configurations read with the plugin enabled by its full name.
        self._redirected_names = list(getattr(self, "_redirected_names", None) or [self.NAME]) + [SHORT_NAME]
        config = self._read_config_data(path)
        try:
            # Ansible ignores unknown keys; a misspelt option silently doing nothing is worse.
            unknown = sorted(str(k) for k in (config or {}) if k not in self._options)
            if unknown:
                raise ApigwRouterError("unknown option%s %s (see ansible-doc -t inventory %s)"
                                       % ("s" if len(unknown) > 1 else "", ", ".join(unknown), self.NAME))
            settings = self._settings()
            cache_key = self.get_cache_key(path)
            use_cache = self.get_option("cache")
            records = None
            if use_cache and cache:
                try:
                    records = self._cache[cache_key]
                except KeyError:
                    records = None
            if records is None:
                records = self._discover(settings)
                if use_cache:
                    self._cache[cache_key] = records
            self._populate(records, settings)
        except ApigwRouterError as exc:
            # Our errors name the item, region, status and error code, never a secret.
            raise AnsibleParserError("apig_instances (%s): %s" % (path, exc.msg))

    # -- options ------------------------------------------------------------------------------

    def _settings(self):
        """Every option checked offline, before any request."""
        for name, low, high in HTTP_SETTING_RANGES + (("details_concurrency", 1, MAX_DETAILS_CONCURRENCY),):
            check_range(name, self.get_option(name), low, high)
        regions = resolve_regions(self.get_option("regions"), self.get_option("cloud"),
                                  self.get_option("iam_endpoint"))
        params = dict((name, self.get_option(name)) for name in AUTH_OPTIONS)
        # The IAM password method logs in at iam_endpoint, else at the first region's IAM.
        params["iam_endpoint"] = params["iam_endpoint"] or regions[0]["iam_endpoint"]
        params["region"] = regions[0]["name"]
        method = selected_method(params)
        for warning in plaintext_password_warnings(params, etcd=False):
            display.warning("apig_instances: " + warning)
        return {
            "regions": regions,
            "auth_params": params,
            "auth_method": method,
            "statuses": check_statuses(self.get_option("statuses")),
            "hostnames": check_hostnames(self.get_option("hostnames")),
            "filter": HostFilter(self.get_option("include_filters"), self.get_option("exclude_filters")),
        }

    # -- discovery -----------------------------------------------------------------------------

    def _discover(self, settings):
        concurrency = self.get_option("details_concurrency")
        try:
            transport = HttpTransport(validate_certs=self.get_option("validate_certs"),
                                      ca_path=self.get_option("ca_path"), timeout=self.get_option("timeout"),
                                      pool_size=concurrency,
                                      retry_policy=RetryPolicy(self.get_option("retries"),
                                                               self.get_option("retry_delay")))
        except MissingLibraryError as exc:
            raise AnsibleError("apig_instances: %s; install it on the controller (pip install requests)" % exc.msg)
        auth = settings["auth_method"].from_params(settings["auth_params"], transport)
        discovery = Discovery(transport, auth, settings["regions"], statuses=settings["statuses"],
                              include_details=self.get_option("include_details"), concurrency=concurrency,
                              warn=display.warning)
        return strip_internal(discovery.run())

    # -- inventory -------------------------------------------------------------------------------

    def _populate(self, records, settings):
        strict = self.get_option("strict")
        local = self.get_option("local_connection")
        compose, composed_groups, keyed_groups = (self.get_option("compose"), self.get_option("groups"),
                                                  self.get_option("keyed_groups"))
        constructed = bool(compose or composed_groups or keyed_groups)
        # Hosts and groups of the inventory sources parsed before this one (Ansible's all and
        # ungrouped too), and our own group of every host.
        taken = set(self.inventory.hosts) | set(self.inventory.groups) | set([ALL_GROUP])
        self.inventory.add_group(ALL_GROUP)
        named = {}
        for record in records:
            variables = hostvars(record)
            if not settings["filter"].keep(variables):
                continue
            # A name from the API must not take over localhost or a host of another source.
            name, warning = checked_host_name(record, settings["hostnames"], taken)
            if warning:
                display.warning("apig_instances: " + warning)
            if name is None:
                continue
            if name in named:
                raise ApigwRouterError(
                    "instances %s and %s are both named %s (region %s): with hostnames %s each host name must be "
                    "unique; put id first in hostnames"
                    % (named[name], variables["apigw_instance_id"], name, record["region"], settings["hostnames"]))
            named[name] = variables["apigw_instance_id"]
            group = region_group(record["region"])
            self.inventory.add_group(group)
            self.inventory.add_child(ALL_GROUP, group)
            self.inventory.add_host(name, group=ALL_GROUP)
            self.inventory.add_host(name, group=group)
            if local:
                self.inventory.set_variable(name, "ansible_connection", "local")
                # As for the implicit localhost: the modules run on ansible-playbook's own Python,
                # where requests and the etcd client were installed, not on a discovered one.
                self.inventory.set_variable(name, "ansible_python_interpreter", sys.executable)
            for key, value in variables.items():
                # From the API (and the user's own endpoints): never templated.
                self.inventory.set_variable(name, key, wrap_var(value) if _MARK_UNSAFE else value)
            if constructed:
                # Each get_vars() merges every variable of the host: only when something uses them.
                all_vars = self.inventory.get_host(name).get_vars()
                self._set_composite_vars(compose, all_vars, name, strict=strict)
                all_vars = self.inventory.get_host(name).get_vars()
                self._add_host_to_composed_groups(composed_groups, all_vars, name, strict=strict)
                self._add_host_to_keyed_groups(keyed_groups, all_vars, name, strict=strict)
