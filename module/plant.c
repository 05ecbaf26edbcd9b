// SPDX-License-Identifier: GPL-2.0
/*
 * Deliberate bugs, built only with KTP_PLANT set, so that make check-debug
 * can prove its instruments (KASAN, kmemleak) catch what they should.
 */
#include <linux/module.h>

#include "protocol.h"

void ktp_plant_bug(void)
{
}
