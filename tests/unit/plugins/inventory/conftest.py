# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Inventory plugins read their options through Ansible's config manager, which knows a
plugin's documented options only when the plugin loader loaded it. So the tests load the
plugin as ansible-inventory does: the collection loader over build/dev (a link to this
checkout, made by hack/bootstrap.sh). It must be installed before anything imports
``ansible_collections``, hence here, at collection time.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.plugins.loader import init_plugin_loader

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
init_plugin_loader([os.path.join(ROOT, "build", "dev")])
