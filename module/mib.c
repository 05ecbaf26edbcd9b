// SPDX-License-Identifier: GPL-2.0
/*
 * KTP counters: per netns, per cpu, summed when read, as the kernel's own
 * SNMP MIBs are; shown one per line in /proc/net/ktp_snmp.
 */
#include <linux/percpu.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "protocol.h"

static const char *const ktp_mib_names[__KTP_MIB_MAX] = {
	[KTP_MIB_ACTIVEOPENS]		= "ActiveOpens",
	[KTP_MIB_PASSIVEOPENS]		= "PassiveOpens",
	[KTP_MIB_ATTEMPTFAILS]		= "AttemptFails",
	[KTP_MIB_ESTABRESETS]		= "EstabResets",
	[KTP_MIB_CURRESTAB]		= "CurrEstab",
	[KTP_MIB_INSEGS]		= "InSegs",
	[KTP_MIB_OUTSEGS]		= "OutSegs",
	[KTP_MIB_RETRANSSEGS]		= "RetransSegs",
	[KTP_MIB_INERRS]		= "InErrs",
	[KTP_MIB_OUTRSTS]		= "OutRsts",
	[KTP_MIB_INCSUMERRORS]		= "InCsumErrors",
	[KTP_MIB_BADHEADER]		= "InBadHeader",
	[KTP_MIB_UNKNOWNBITS]		= "InUnknownBits",
	[KTP_MIB_NOSOCKET]		= "InNoSocket",
	[KTP_MIB_LISTENOVERFLOWS]	= "ListenOverflows",
	[KTP_MIB_LISTENDROPS]		= "ListenDrops",
	[KTP_MIB_OUTOFWINDOW]		= "InOutOfWindow",
	[KTP_MIB_BACKLOGDROP]		= "BacklogDrop",
	[KTP_MIB_CHALLENGEACK]		= "ChallengeACKs",
	[KTP_MIB_INRSTS]		= "InRstAborts",
	[KTP_MIB_TWRECYCLED]		= "TimeWaitEntries",
	[KTP_MIB_TWKILLED]		= "TimeWaitKilled",
	[KTP_MIB_ABORTONDATA]		= "AbortOnData",
	[KTP_MIB_ABORTONLINGER]		= "AbortOnLinger",
	[KTP_MIB_ABORTONTIMEOUT]	= "AbortOnTimeout",
	[KTP_MIB_FINWAIT2TIMEOUT]	= "FinWait2Timeouts",
	[KTP_MIB_DUPDATA]		= "InDupData",
	[KTP_MIB_OFODROP]		= "OfoDrop",
	[KTP_MIB_OFOPRUNED]		= "OfoPruned",
	[KTP_MIB_RCVPRUNED]		= "RcvPruned",
	[KTP_MIB_FILTERDROP]		= "FilterDrop",
	[KTP_MIB_ACKSKIPPEDSEQ]		= "AckSkippedSeq",
	[KTP_MIB_ACKSKIPPEDCHALLENGE]	= "AckSkippedChallenge",
	[KTP_MIB_ACKSKIPPEDTIMEWAIT]	= "AckSkippedTimeWait",
	[KTP_MIB_ACKSKIPPEDSYNRECV]	= "AckSkippedSynRecv",
	[KTP_MIB_ABORTONMEMORY]		= "AbortOnMemory",
	[KTP_MIB_TOOOLDACK]		= "TooOldAck",
	[KTP_MIB_OUTOFWINDOWICMPS]	= "OutOfWindowIcmps",
	[KTP_MIB_ICMPABORTS]		= "IcmpAborts",
	[KTP_MIB_PMTUREDUCED]		= "PmtuReduced",
	[KTP_MIB_SYNCOOKIESSENT]	= "SyncookiesSent",
	[KTP_MIB_SYNCOOKIESRECV]	= "SyncookiesRecv",
	[KTP_MIB_SYNCOOKIESFAILED]	= "SyncookiesFailed",
	[KTP_MIB_TLPPROBES]		= "TLPProbes",
	[KTP_MIB_PAWSESTAB]		= "PAWSEstab",
	[KTP_MIB_ACKSKIPPEDPAWS]	= "AckSkippedPAWS",
	[KTP_MIB_PAWSACTIVE]		= "PAWSActive",
	[KTP_MIB_LOSSUNDO]		= "LossUndo",
	[KTP_MIB_FULLUNDO]		= "FullUndo",
	[KTP_MIB_DSACKUNDO]		= "DSACKUndo",
	[KTP_MIB_SPURIOUSRTOS]		= "SpuriousRTOs",
	[KTP_MIB_DSACKOLDSENT]		= "DSACKOldSent",
	[KTP_MIB_DSACKOFOSENT]		= "DSACKOfoSent",
	[KTP_MIB_DSACKRECV]		= "DSACKRecv",
	[KTP_MIB_TIMEOUTS]		= "Timeouts",
	[KTP_MIB_RECOVERIES]		= "Recoveries",
	[KTP_MIB_LOSTRETRANSMIT]	= "LostRetransmit",
};

int ktp_mib_alloc(struct ktp_net *kn)
{
	kn->mib = alloc_percpu(struct ktp_mib);
	return kn->mib ? 0 : -ENOMEM;
}

void ktp_mib_free(struct ktp_net *kn)
{
	free_percpu(kn->mib);
}

/**
 * ktp_snmp_seq_show - /proc/net/ktp_snmp: the namespace's counters, one
 * per line, name then value
 * @seq: the file
 * @v: unused
 *
 * Return: 0.
 */
int ktp_snmp_seq_show(struct seq_file *seq, void *v)
{
	struct ktp_net *kn = ktp_pernet(seq_file_single_net(seq));
	int i;

	for (i = 1; i < __KTP_MIB_MAX; i++) {
		unsigned long val = 0;
		int cpu;

		for_each_possible_cpu(cpu)
			val += READ_ONCE(per_cpu_ptr(kn->mib, cpu)->mibs[i]);
		seq_printf(seq, "%s %ld\n", ktp_mib_names[i], (long)val);
	}
	return 0;
}
