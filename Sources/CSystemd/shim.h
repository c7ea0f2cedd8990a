// SPDX-License-Identifier: GPL-2.0-or-later
// Debian's libsystemd (libsystemd-dev): the sd-journal reader API.
#include <systemd/sd-journal.h>
