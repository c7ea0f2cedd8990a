// SPDX-License-Identifier: GPL-2.0-or-later
// Debian's libnftables (libnftables-dev). Linking it makes the binary GPL-2.
#include <nftables/libnftables.h>
