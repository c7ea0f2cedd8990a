#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""sv-bind.py svcrack|svwar [sipvicious options...]

Runs the packaged sipvicious 0.3.3 svcrack/svwar unchanged, except that the documented
`-b/--bindingip` option is honoured: svcrack.main() and svwar.main() parse `-b` but never
pass it to the scanner class, so the socket always binds to 0.0.0.0 and the kernel picks
the interface's primary address. To attack from the lab's extra addresses (198.18.1.x,
scenario p) the parsed value is passed through by wrapping the class constructor.
Refuses any address outside the lab's 198.18.0.0/15 and 2001:2::/48.
"""
import sys

sys.path.insert(0, '/usr/share/sipvicious')

tool = sys.argv[1] if len(sys.argv) > 1 else ''
if tool not in ('svcrack', 'svwar'):
    sys.exit(__doc__)
sys.argv = [tool] + sys.argv[2:]

bind = ''
for i, a in enumerate(sys.argv):
    if a in ('-b', '--bindingip') and i + 1 < len(sys.argv):
        bind = sys.argv[i + 1]
    elif a.startswith('--bindingip='):
        bind = a.split('=', 1)[1]
if not (bind.startswith('198.18.') or bind.startswith('198.19.') or bind.lower().startswith('2001:2:')):
    sys.exit('sv-bind.py: -b must be a lab address (198.18.0.0/15 or 2001:2::/48)')

if tool == 'svcrack':
    from sipvicious import svcrack as mod
    cls = mod.ASipOfRedWine
else:
    from sipvicious import svwar as mod
    cls = mod.TakeASip

_orig_init = cls.__init__


def _init(self, *a, **kw):
    kw['bindingip'] = bind
    _orig_init(self, *a, **kw)


cls.__init__ = _init
sys.exit(mod.main())
