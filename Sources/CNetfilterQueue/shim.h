// SPDX-License-Identifier: GPL-2.0-or-later
// Debian's libnetfilter-queue (libnetfilter-queue-dev), for the inline admission mode.
#include <stdint.h>
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
