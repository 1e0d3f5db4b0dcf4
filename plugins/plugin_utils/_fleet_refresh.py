# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The per-instance work of the role ``fleet_refresh``, done once in Python on the controller.

The role calls these through its filters (``plugins/filter/fleet_refresh.py``): making the
list of instances from inventory hosts, checking the whole list before the first batch, and
turning the results of every batch into the summary, the printed lines and the two reports.
Done as Jinja loops and ``set_fact`` accumulation, each of these cost seconds per thousand
instances; here each is one pass over plain lists.

Every message is worded as the role's tasks always worded it: tests and users match them.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
from xml.sax.saxutils import escape

from ansible_collections.apigw.router.plugins.module_utils.common._validation import IDENTIFIER_RE

IDENTIFIER_RULE = ('must match ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ (a letter or digit, then up to 63 letters, '
                   'digits, _ or -)')

# The keys of a failed result that its JUnit failure lists, in this order.
FAILURE_DETAILS = ('status', 'error_code', 'error_msg', 'request_id', 'attempts')


def as_int(value, default=0):
    """``value | int`` as Jinja's filter does it: '2.0' is 2, anything unreadable is the default."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return default


def as_float(value, default=0.0):
    """``value | float`` as Jinja's filter does it."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def xml_text(value):
    """Escaped for XML text and double-quoted attributes, as Jinja's ``e`` filter escapes."""
    return escape(text(value), {'"': '&#34;', "'": '&#39;'})


def text(value):
    """A value as Jinja's ``~`` writes it (``None`` included)."""
    return value if isinstance(value, str) else str(value)


def is_identifier(value):
    return isinstance(value, str) and IDENTIFIER_RE.match(value) is not None


def more(items, shown):
    """' and N more' when ``items`` has more than ``shown`` entries."""
    return ' and %d more' % (len(items) - shown) if len(items) > shown else ''


# -- the instances of fleet_refresh_hosts -----------------------------------------------------------

def host_instances(hosts, hostvars, mapping):
    """The instances that the hosts' variables describe, and what is wrong with the hosts.

    ``mapping`` is {host variable: instance key}; a variable that is unset, null or empty is
    left out of the instance. Each host's variables are read once (Ansible works out every
    variable of a host when asked for one). Returns a dict with ``instances`` (in the order of
    ``hosts``), ``unknown_hosts`` (not in the inventory) and ``hosts_without_id`` (no
    ``apigw_instance_id``); the instances are meant to be used only when both are empty.
    """
    instances, unknown, without_id = [], [], []
    for host in hosts:
        if host not in hostvars:
            unknown.append(host)
            continue
        host_vars = hostvars[host]
        item = {}
        for name, key in mapping.items():
            if name in host_vars:
                value = host_vars[name]
                if value is not None and not (isinstance(value, str) and value == ''):
                    item[key] = value
        if 'instance_id' not in item:
            without_id.append(host)
        instances.append(item)
    return {'instances': instances, 'unknown_hosts': unknown, 'hosts_without_id': without_id}


def host_problems(unknown_hosts, hosts_without_id):
    """The message of the role's host check, or '' when the hosts are fine."""
    problems = []
    if unknown_hosts:
        problems.append('fleet_refresh_hosts names hosts that are not in the inventory: '
                        + ', '.join(text(h) for h in unknown_hosts[:10]))
    if hosts_without_id:
        problems.append('these hosts of fleet_refresh_hosts have no apigw_instance_id (the apig_instances inventory '
                        'plugin sets it; for other hosts set it in host_vars): '
                        + ', '.join(text(h) for h in hosts_without_id[:10]) + more(hosts_without_id, 10))
    return '; '.join(problems)


# -- the checks before the first batch --------------------------------------------------------------

def instance_ids(fleet):
    """Every item's instance_id as text; a missing or empty one is ''."""
    ids = []
    for item in fleet:
        value = item.get('instance_id') if isinstance(item, dict) else None
        # as ``default('', true)``: any false value counts as missing
        ids.append(text(value) if value else '')
    return ids


def duplicates(ids):
    """The IDs listed more than once, sorted, each once."""
    ordered = sorted(ids)
    found = []
    for previous, current in zip(ordered, ordered[1:]):
        if previous == current and (not found or found[-1] != current):
            found.append(current)
    return found


def fleet_problems(fleet, source, batch_size, concurrency, max_fail_percentage):
    """What the argument spec cannot check: [] when the fleet and the settings are fine."""
    ids = instance_ids(fleet)
    bad_ids = [i for i in ids if not is_identifier(i)]
    bad_projects = [text(item['project_id']) for item in fleet
                    if isinstance(item, dict) and item.get('project_id') is not None]
    bad_projects = [p for p in bad_projects if not is_identifier(p)]
    repeated = duplicates(ids)
    problems = []
    if not fleet:
        problems.append('%s is empty: list at least one instance' % source)
    if bad_ids:
        problems.append('every instance_id %s; these do not: %s%s'
                        % (IDENTIFIER_RULE, ', '.join(json.dumps(i) for i in bad_ids[:5]), more(bad_ids, 5)))
    if bad_projects:
        problems.append('every project_id %s; these do not: %s'
                        % (IDENTIFIER_RULE, ', '.join(json.dumps(p) for p in bad_projects[:5])))
    if repeated:
        problems.append('list each instance once; listed more than once: %s%s'
                        % (', '.join(repeated[:10]), more(repeated, 10)))
    if as_int(batch_size) < 1:
        problems.append('fleet_refresh_batch_size must be at least 1, not %s' % text(batch_size))
    if not 1 <= as_int(concurrency) <= 256:
        problems.append('fleet_refresh_concurrency must be between 1 and 256, not %s' % text(concurrency))
    if not 0 <= as_float(max_fail_percentage) <= 100:
        problems.append('fleet_refresh_max_fail_percentage must be between 0 and 100, not %s'
                        % text(max_fail_percentage))
    return problems


# -- after the last batch: summary, printed lines, reports ------------------------------------------

def batch_results(batches):
    """The results of every batch, in order; each batch is the JSON text of its module results."""
    results = []
    for batch in batches:
        results.extend(json.loads(batch) if isinstance(batch, str) else batch)
    return results


def summary(results, fleet_ids):
    """The fact fleet_refresh_summary; the instances after the last result were not started."""
    failed = [r for r in results if r.get('failed')]
    changed = sum(1 for r in results if not r.get('failed') and r.get('changed'))
    skipped = list(fleet_ids[len(results):])
    return {'total': len(fleet_ids), 'changed': changed, 'unchanged': len(results) - len(failed) - changed,
            'failed': len(failed), 'failed_instances': [r.get('instance_id') for r in failed],
            'skipped': len(skipped), 'skipped_instances': skipped}


def failure_line(result):
    """'FAILED <id>: status <s> <error code>: <message>'."""
    line = 'FAILED ' + text(result.get('instance_id'))
    if result.get('status') is not None:
        line += ': status ' + text(result['status'])
    if result.get('error_code'):
        line += ' ' + text(result['error_code'])
    return line + ': ' + text(result.get('msg', 'failed'))


def summary_lines(results, fleet_summary, mode, check_mode, listed_failures, report_dir):
    """The printed summary: a headline, at most ``listed_failures`` failed instances, the reports."""
    lines = ['fleet refresh (%s%s): %d instances, %d changed, %d unchanged, %d failed, %d not started'
             % (mode, ', check mode' if check_mode else '', fleet_summary['total'], fleet_summary['changed'],
                fleet_summary['unchanged'], fleet_summary['failed'], fleet_summary['skipped'])]
    failed = [r for r in results if r.get('failed')]
    lines.extend(failure_line(r) for r in failed[:listed_failures])
    if len(failed) > listed_failures:
        lines.append('... and %d more failed instances' % (len(failed) - listed_failures))
    if report_dir:
        lines.append('reports: %s/fleet_refresh.json, %s/fleet_refresh.junit.xml' % (report_dir, report_dir))
    return lines


def json_report(results, fleet_summary, mode, check_mode, resources, batch_size, max_fail_percentage):
    """fleet_refresh.json, as ``to_nice_json`` writes it."""
    report = {'mode': mode, 'check_mode': bool(check_mode), 'resources': list(resources) if mode == 'api' else [],
              'batch_size': as_int(batch_size), 'max_fail_percentage': as_float(max_fail_percentage),
              'summary': fleet_summary, 'results': results}
    return json.dumps(report, indent=4, sort_keys=True, separators=(',', ': ')) + '\n'


def junit_report(results, fleet_summary, mode, check_mode, max_fail_percentage):
    """fleet_refresh.junit.xml: one testcase per instance in input order, so that CI systems show each
    instance's outcome: a failure (message and details) for a failed instance, skipped for one never
    started."""
    suite = xml_text('fleet_refresh.%s%s' % (mode, '.check' if check_mode else ''))
    counts = 'tests="%d" failures="%d" errors="0" skipped="%d"' % (
        fleet_summary['total'], fleet_summary['failed'], fleet_summary['skipped'])
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<testsuites name="apigw.router.fleet_refresh" %s>' % counts,
             '  <testsuite name="%s" %s>' % (suite, counts)]
    for result in results:
        lines.append('    <testcase classname="%s" name="%s">' % (suite, xml_text(result.get('instance_id'))))
        if result.get('failed'):
            details = ['%s: %s' % (key, text(result[key])) for key in FAILURE_DETAILS if result.get(key) is not None]
            lines.append('      <failure message="%s" type="%s">%s</failure>'
                         % (xml_text(result.get('msg', 'failed')), xml_text(result.get('error_code') or 'failed'),
                            xml_text('\n'.join(details))))
        else:
            lines.append('      <system-out>%s</system-out>' % xml_text(result.get('msg', '')))
        lines.append('    </testcase>')
    not_started = xml_text('not started: more than %s%% of the fleet had failed' % text(max_fail_percentage))
    for instance_id in fleet_summary['skipped_instances']:
        lines.append('    <testcase classname="%s" name="%s">' % (suite, xml_text(instance_id)))
        lines.append('      <skipped message="%s"/>' % not_started)
        lines.append('    </testcase>')
    lines.extend(['  </testsuite>', '</testsuites>'])
    return '\n'.join(lines) + '\n'


def outcome(batches, fleet, mode, check_mode, resources, batch_size, max_fail_percentage, report_dir,
            listed_failures):
    """Everything the role reports after its last batch, from the results of every batch."""
    results = batch_results(batches)
    fleet_summary = summary(results, instance_ids(fleet))
    return {
        'summary': fleet_summary,
        'lines': summary_lines(results, fleet_summary, mode, check_mode, as_int(listed_failures), report_dir),
        'json_report': json_report(results, fleet_summary, mode, check_mode, resources, batch_size,
                                   max_fail_percentage),
        'junit_report': junit_report(results, fleet_summary, mode, check_mode, max_fail_percentage),
    }
