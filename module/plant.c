// SPDX-License-Identifier: GPL-2.0
/*
 * Deliberate bugs, built only with KTP_PLANT set, so that make check-debug
 * can prove its instruments (KASAN, kmemleak) catch what they should.
 *
 *   KTP_PLANT=uaf   a kmalloc'ed buffer is read and written after kfree:
 *                   KASAN must report a use-after-free in ktp_plant_uaf.
 *   KTP_PLANT=leak  a kmalloc'ed buffer is dropped: kmemleak must report
 *                   an unreferenced object allocated by ktp_plant_leak.
 *
 * Never built by default; see docs/testing.md.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "protocol.h"

#define KTP_PLANT_SIZE	64

static const char ktp_plant_tag[] = "ktp planted leak";

static noinline void ktp_plant_uaf(void)
{
	char *buf;

	buf = kmalloc(KTP_PLANT_SIZE, GFP_KERNEL);
	if (!buf)
		return;
	memset(buf, 0, KTP_PLANT_SIZE);
	kfree(buf);
	/* The object sits in KASAN's quarantine, poisoned: both accesses
	 * below hit freed memory and the first one is reported. They touch
	 * the last byte and write back what they read, as the start of a
	 * freed object holds KASAN's quarantine link: the run goes on, and
	 * must not trip over memory this plant corrupted.
	 */
	WRITE_ONCE(buf[KTP_PLANT_SIZE - 1], READ_ONCE(buf[KTP_PLANT_SIZE - 1]));
}

static noinline void ktp_plant_leak(void)
{
	char *buf;

	buf = kmalloc(KTP_PLANT_SIZE, GFP_KERNEL);
	if (!buf)
		return;
	/* A recognisable payload for kmemleak's hex dump; the only
	 * pointer to it goes out of scope here.
	 */
	strscpy(buf, ktp_plant_tag, KTP_PLANT_SIZE);
	pr_info("planted bug: leaking %d bytes\n", KTP_PLANT_SIZE);
}

/**
 * ktp_plant_bug() - run the bug KTP_PLANT names, once, from module init
 */
void ktp_plant_bug(void)
{
	if (!strcmp(KTP_PLANT, "uaf"))
		ktp_plant_uaf();
	else if (!strcmp(KTP_PLANT, "leak"))
		ktp_plant_leak();
	else
		pr_warn("planted bug: unknown KTP_PLANT '%s'\n", KTP_PLANT);
}
