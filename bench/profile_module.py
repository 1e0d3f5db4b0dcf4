# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Run an Ansible module file directly under cProfile, in every thread, and save the stats.

    python bench/profile_module.py [--cpu] OUT.pstats path/to/module.py ARGS.json

``python -m cProfile`` sees only the main thread, while the fleet form does its work in a
thread pool: here every thread started after this point gets its own profiler (through
``threading.setprofile``) and the stats of all of them are merged into one file. Times
summed over threads are thread-seconds: a thread blocked in ``recv`` counts its wait.
With ``--cpu`` the profilers count each thread's CPU time (``time.thread_time``) instead
of wall time: waiting (network, locks, the GIL) then costs nothing and the sums show where
the CPU goes. The module prints its JSON result on stdout as usual.
"""

from __future__ import absolute_import, division, print_function

import cProfile
import pstats
import runpy
import sys
import threading
import time

PROFILERS = []
TIMER = []
_LOCK = threading.Lock()


def _start_thread_profiler(*_args):
    # Called for the first profile event of a new thread: replace this hook by a real profiler.
    profiler = cProfile.Profile(*TIMER)
    with _LOCK:
        PROFILERS.append(profiler)
    profiler.enable()


def main():
    argv = sys.argv[1:]
    if argv and argv[0] == '--cpu':
        TIMER.append(time.thread_time)
        argv = argv[1:]
    out, module, args = argv
    sys.argv = [module, args]
    if TIMER:
        threading.setprofile(_start_thread_profiler)
    main_profiler = cProfile.Profile(*TIMER)
    code = 0
    main_profiler.enable()
    try:
        runpy.run_path(module, run_name='__main__')
    except SystemExit as exc:  # exit_json / fail_json
        code = exc.code
    finally:
        main_profiler.disable()
        threading.setprofile(None)
        stats = pstats.Stats(main_profiler)
        for profiler in PROFILERS:
            profiler.create_stats()
            stats.add(profiler)
        stats.dump_stats(out)
    return code


if __name__ == '__main__':
    sys.exit(main())
