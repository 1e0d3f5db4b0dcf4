# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Authentication as the gateway does it: IAM tokens, static tokens, AK/SK signatures.

Signatures are verified with the collection's own signer (plugins/module_utils/apig/_signer.py),
so the simulator and the modules cannot drift apart silently; the integration tests
sign with Huawei's official SDK, which keeps both honest.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import hashlib
import hmac
import importlib
import os
import secrets
import sys
import tempfile
import threading
import time

from apig_sim.errors import ApigError, IamError

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_MODULE_UTILS = "ansible_collections.apigw.router.plugins.module_utils."


def import_signer():
    return import_collection_module("apig._signer")


def import_collection_module(name):
    """Import one of the collection's module_utils, making ``ansible_collections.apigw.router`` importable.

    Tried in order: as installed/on sys.path already; via the repo's build/dev tree
    (hack/bootstrap.sh links build/dev/ansible_collections/apigw/router to the repo);
    via the same link made in a temporary directory.
    """
    module = _MODULE_UTILS + name
    try:
        return importlib.import_module(module)
    except ImportError:
        pass
    dev = os.path.join(_REPO_ROOT, "build", "dev")
    if not os.path.isdir(os.path.join(dev, "ansible_collections", "apigw", "router", "plugins")):
        dev = tempfile.mkdtemp(prefix="apig_sim_collections_")
        os.makedirs(os.path.join(dev, "ansible_collections", "apigw"))
        os.symlink(_REPO_ROOT, os.path.join(dev, "ansible_collections", "apigw", "router"))
    sys.path.insert(0, dev)
    importlib.invalidate_caches()
    # A failed attempt may have cached an incomplete namespace package.
    for name in list(sys.modules):
        if name == "ansible_collections" or name.startswith("ansible_collections.apigw"):
            del sys.modules[name]
    return importlib.import_module(module)


class Identity:
    """Who made a request, as far as authorisation and the log are concerned.

    ``kind`` is token / aksk; ``label`` is the user name, static token name or AK
    (never a secret); ``project`` is the token's scope (None: unscoped) and
    ``projects`` the projects the credential may use (None: all).
    """

    def __init__(self, kind, label, roles, projects, project=None, scoped=True, can_list_instances=True):
        self.kind = kind
        self.label = label
        self.roles = roles
        self.projects = projects
        self.project = project
        self.scoped = scoped
        self.can_list_instances = can_list_instances


class Authenticator:
    def __init__(self, config, signer=None, clock=time.time):
        self.config = config
        self.signer = signer or import_signer()
        self.clock = clock
        self._lock = threading.Lock()
        self._issued = {}      # token -> (Identity, expires_at epoch)
        self._keys = dict((k.label, k) for k in config.keys)
        self._static = dict((t.secret, t) for t in config.tokens)

    # --- IAM: POST /v3/auth/tokens ------------------------------------------------------

    def issue_token(self, body):
        """Check an IAM password-auth body; return (token, response body, user label).

        Raises IamError with IAM's status and wording.
        """
        try:
            ident = body["auth"]["identity"]
            if "password" not in ident.get("methods", []):
                raise KeyError("methods")
            user = ident["password"]["user"]
            name, password = user["name"], user["password"]
            domain = user.get("domain", {}).get("name")
        except (KeyError, TypeError, AttributeError):
            raise IamError(400, "The request body is invalid.")
        if not all(isinstance(v, str) for v in (name, password)) or not isinstance(domain, str):
            raise IamError(400, "The request body is invalid.")
        found = None
        for cred in self.config.users:
            # Compare every user's password in constant time; match name and domain.
            ok = hmac.compare_digest(cred.secret.encode("utf-8"), password.encode("utf-8"))
            if cred.label == name and cred.domain == domain and ok:
                found = cred
        if found is None:
            raise IamError(401, "The username or password is wrong.")

        scope = body["auth"].get("scope") or {}
        project_scope = scope.get("project") if isinstance(scope, dict) else None
        domain_scope = scope.get("domain") if isinstance(scope, dict) else None
        project_id = None
        if isinstance(domain_scope, dict) and domain_scope.get("name") != domain \
                and domain_scope.get("id") != _pseudo_id("domain", domain):
            # IAM: a token scoped to a domain the user does not belong to.
            raise IamError(401, "The request you have made requires authentication.")
        if isinstance(project_scope, dict):
            project_id = self._project_id(project_scope)
            if project_id is None or (found.projects is not None and project_id not in found.projects):
                # IAM: the user has no role in that project.
                raise IamError(401, "The request you have made requires authentication.")
        token = "MIIsim" + secrets.token_urlsafe(96)
        now = self.clock()
        expires = now + self.config.settings["token_ttl"]
        identity = Identity("token", name, list(found.roles),
                            [project_id] if project_id else [], project=project_id,
                            scoped=project_id is not None, can_list_instances=found.can_list_instances)
        with self._lock:
            self._issued[token] = (identity, expires)
        answer = {"token": {
            "methods": ["password"],
            "expires_at": _iso(expires),
            "issued_at": _iso(now),
            "user": {"name": name, "id": _pseudo_id("user", domain, name),
                     "domain": {"name": domain, "id": _pseudo_id("domain", domain)}},
            "roles": [{"name": r, "id": _pseudo_id("role", r)} for r in found.roles],
        }}
        if project_id:
            answer["token"]["project"] = {
                "id": project_id, "name": self.config.projects[project_id]["name"],
                "domain": {"name": domain, "id": _pseudo_id("domain", domain)}}
        elif isinstance(domain_scope, dict):
            answer["token"]["domain"] = {"name": domain, "id": _pseudo_id("domain", domain)}
        return token, answer, name

    def _project_id(self, scope):
        if isinstance(scope.get("id"), str) and scope["id"] in self.config.projects:
            return scope["id"]
        if isinstance(scope.get("name"), str):
            for pid, project in self.config.projects.items():
                if project["name"] == scope["name"]:
                    return pid
        return None

    # --- APIG: every /v1 and /v2 request -------------------------------------------------

    def authenticate(self, method, raw_path, raw_query, headers, body, seen=None):
        """The Identity behind a request, or ApigError 401.

        ``headers`` maps lower-cased names to values as received. ``raw_path`` and
        ``raw_query`` are exactly as on the request line: the signer decodes them the
        way the SDK does before it canonicalises. ``seen`` (a dict) receives ``auth``
        (the kind tried) and ``principal`` (the AK or name, never a secret) as soon as
        they are known, so the log shows who failed too.
        """
        seen = {} if seen is None else seen
        token = headers.get("x-auth-token")
        if token:
            seen["auth"] = "token"
            identity = self._token_identity(token)
        elif headers.get("authorization"):
            seen["auth"] = "aksk"
            identity = self._signature_identity(method, raw_path, raw_query, headers, body, seen)
        else:
            raise ApigError("APIG.1000")
        seen["principal"] = identity.label
        return identity

    def _token_identity(self, token):
        now = self.clock()
        with self._lock:
            issued = self._issued.get(token)
        if issued is not None:
            identity, expires = issued
            if now >= expires:
                raise ApigError("APIG.1001")
            return identity
        static = None
        for value, cred in self._static.items():
            if hmac.compare_digest(value.encode("utf-8"), token.encode("utf-8", "replace")):
                static = cred
        if static is None:
            raise ApigError("APIG.1002")
        if static.expires_at is not None and now >= static.expires_at:
            raise ApigError("APIG.1001")
        return Identity("token", static.label, list(static.roles), static.projects,
                        can_list_instances=static.can_list_instances)

    def _signature_identity(self, method, raw_path, raw_query, headers, body, seen):
        signer = self.signer
        try:
            access_key, signed_headers, given = signer.parse_authorization(headers["authorization"])
        except ValueError:
            raise ApigError("APIG.1002")
        seen["principal"] = access_key      # an identifier, not a secret
        key = self._keys.get(access_key)
        if key is None:
            raise ApigError("APIG.1002")
        sdk_date = headers.get("x-sdk-date")
        if not sdk_date or "x-sdk-date" not in signed_headers:
            raise ApigError("APIG.1002", "Incorrect token or token resolution failed: "
                            "X-Sdk-Date is missing or not signed.")
        try:
            stamp = datetime.datetime.strptime(sdk_date, signer.DATE_FORMAT).replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            raise ApigError("APIG.1002", "Incorrect token or token resolution failed: "
                            "X-Sdk-Date is not a UTC time like 20240131T120000Z.")
        skew = self.config.settings["max_clock_skew"]
        if abs(self.clock() - stamp) > skew:
            # No code in APIG's table says "clock skew"; an out-of-date signed request
            # is an expired credential, so APIG.1001 with a message that says why.
            raise ApigError("APIG.1001", "The token has expired: X-Sdk-Date is more than "
                            "%d seconds away from the server time." % skew)
        try:
            canonical = signer.canonical_request(method, raw_path, signer.query_pairs(raw_query),
                                                 headers, signed_headers, body)
            expected = signer.signature(signer.string_to_sign(canonical, sdk_date), key.secret)
        except ValueError:
            # e.g. a signed header that is not in the request
            raise ApigError("APIG.1002")
        if not hmac.compare_digest(expected.encode("ascii"), given.encode("ascii")):
            raise ApigError("APIG.1002")
        # A temporary key is valid only with its security token, and a permanent key
        # only without one.
        sent = headers.get("x-security-token")
        if key.security_token is not None:
            if not sent or not hmac.compare_digest(key.security_token.encode("utf-8"),
                                                   sent.encode("utf-8", "replace")):
                raise ApigError("APIG.1002")
        elif sent:
            raise ApigError("APIG.1002")
        return Identity("aksk", access_key, list(key.roles), key.projects,
                        can_list_instances=key.can_list_instances)


def _iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000000Z")


def _pseudo_id(*parts):
    # Stable ids for the IAM answer; nothing checks them.
    return hashlib.md5(":".join(parts).encode("utf-8")).hexdigest()
