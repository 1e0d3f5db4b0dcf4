# Copyright (c) apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sphinx extension for hack/docs.sh: build the docs without the internet, strictly.

antsibull-docs links our pages into Ansible's own docs (``ansible.builtin.copy``,
``common_return_values``, the cache plugin variables of ``ansible-core``) and intersphinx
resolves those links through inventories fetched from docs.ansible.com and docs.python.org.
On a machine that cannot reach them, every such link is a warning, and the build runs with
``-W``. This extension does two things and nothing else:

* each intersphinx inventory that has a local fallback file in ``conf.py`` gets an empty
  stand-in there when the file is missing, so an unreachable site is an info line, not a
  warning (with the internet, the real inventory is still fetched first and wins);
* a ``missing-reference`` handler, run after intersphinx, points the references that belong
  to Ansible's or Python's docs at fixed URLs there: labels of ``ansible.builtin`` plugins,
  a short list of Ansible's reference pages, ``ansible-core``'s configuration variables (read
  from the installed ``ansible-core``), and Python's standard library.

Anything else that does not resolve, in particular a reference to one of this collection's
own plugins, options or return values, is left alone and stays a warning, so the build fails.
"""

import builtins
import os
import re
import sys
import zlib

from docutils import nodes

# Ansible reference labels that antsibull-docs emits, and the page each one is on.
ANSIBLE_LABELS = {
    'action_plugins': 'plugins/action.html',
    'ansible_configuration_settings': 'reference_appendices/config.html',
    'common_return_values': 'reference_appendices/common_return_values.html',
    'playbooks_variables': 'playbook_guide/playbooks_variables.html',
    'playbooks_vault': 'vault_guide/index.html',
}
ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/devel/'
PYTHON_DOCS = 'https://docs.python.org/3/'

# ansible_collections.ansible.builtin.copy_module[__parameter-src]
_BUILTIN_LABEL = re.compile(r'^ansible_collections\.ansible\.builtin\.([a-z0-9_]+_[a-z]+)(?:__([a-z]+-[A-Za-z0-9_./-]+))?$')

_EMPTY_INVENTORY = (
    b'# Sphinx inventory version 2\n'
    b'# Project: offline stand-in (see hack/sphinx_offline_refs.py)\n'
    b'# Version: \n'
    b'# The remainder of this file is compressed using zlib.\n' + zlib.compress(b'')
)


def ansible_config_variables():
    """The environment variables of ansible-core's own configuration (config.html#envvar-*)."""
    try:
        import yaml
        import ansible
    except ImportError:
        return frozenset()
    path = os.path.join(os.path.dirname(ansible.__file__), 'config', 'base.yml')
    with open(path, 'rb') as f:
        defs = yaml.safe_load(f)
    names = set()
    for entry in defs.values():
        for env in (entry or {}).get('env') or []:
            names.add(env['name'])
    return frozenset(names)


def external_url(domain, reftype, target, envvars):
    """The URL in Ansible's or Python's docs for a reference that did not resolve, or None."""
    if domain == 'std' and reftype in ('ref', 'any'):
        page = ANSIBLE_LABELS.get(target)
        if page:
            return ANSIBLE_DOCS + page
        match = _BUILTIN_LABEL.match(target)
        if match:
            url = '%scollections/ansible/builtin/%s.html' % (ANSIBLE_DOCS, match.group(1))
            return url + ('#' + match.group(2) if match.group(2) else '')
    if domain == 'std' and reftype in ('envvar', 'any') and target in envvars:
        return ANSIBLE_DOCS + 'reference_appendices/config.html#envvar-' + target
    if domain == 'py':
        top = target.lstrip('~.').split('.')[0]
        if top in getattr(sys, 'stdlib_module_names', ()):
            return '%slibrary/%s.html#%s' % (PYTHON_DOCS, top, target.lstrip('~.'))
        if hasattr(builtins, top):
            return '%slibrary/functions.html#%s' % (PYTHON_DOCS, top)
    return None


def _write_stand_ins(app, config):
    mapping = getattr(config, 'intersphinx_mapping', None) or {}
    for value in mapping.values():
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            continue
        locations = value[1] if isinstance(value[1], (tuple, list)) else (value[1],)
        files = [loc for loc in locations if loc and '://' not in loc]
        if not files:
            continue
        paths = [os.path.normpath(os.path.join(app.srcdir, loc)) for loc in files]
        if any(os.path.exists(p) for p in paths):
            continue
        with open(paths[0], 'wb') as f:
            f.write(_EMPTY_INVENTORY)


def _missing_reference(app, env, node, contnode):
    url = external_url(node.get('refdomain') or '', node.get('reftype') or '', node.get('reftarget') or '',
                       _ENVVARS.get('names', frozenset()))
    if url is None:
        return None
    ref = nodes.reference('', '', internal=False, refuri=url, reftitle=url)
    ref += contnode
    return ref


_ENVVARS = {}


def _builder_inited(app):
    _ENVVARS['names'] = ansible_config_variables()


def setup(app):
    app.connect('config-inited', _write_stand_ins)
    app.connect('builder-inited', _builder_inited)
    # intersphinx answers at the default priority (500); only what it leaves comes here.
    app.connect('missing-reference', _missing_reference, priority=900)
    return {'version': '1', 'parallel_read_safe': True, 'parallel_write_safe': True}
