// SPDX-License-Identifier: GPL-2.0
/*
 * KTP congestion control: a registry of algorithms, chosen per socket with
 * KTP_CONGESTION or per netns with net.ktp.congestion_control, and NewReno
 * (RFC 5681, RFC 6582), the reference every other one is measured by.
 *
 * The registry is a list under ktp_cong_lock for writers and RCU for
 * lookups; an algorithm's module is pinned while a socket uses it.
 */
#include <linux/module.h>
#include <linux/rculist.h>
#include <linux/string.h>

#include "protocol.h"

static DEFINE_SPINLOCK(ktp_cong_lock);	/* protects ktp_cong_list writes */
static LIST_HEAD(ktp_cong_list);

static struct ktp_congestion_ops *ktp_ca_find(const char *name)
{
	struct ktp_congestion_ops *ca;

	list_for_each_entry_rcu(ca, &ktp_cong_list, list) {
		if (!strcmp(ca->name, name))
			return ca;
	}
	return NULL;
}

/**
 * ktp_register_congestion_control - make an algorithm available
 * @ca: the algorithm; ssthresh and cong_avoid are required
 *
 * Return: 0, -EINVAL if incomplete, -EEXIST if the name is taken.
 */
int ktp_register_congestion_control(struct ktp_congestion_ops *ca)
{
	int err = 0;

	if (!ca->ssthresh || !ca->cong_avoid)
		return -EINVAL;
	spin_lock(&ktp_cong_lock);
	if (ktp_ca_find(ca->name))
		err = -EEXIST;
	else
		list_add_tail_rcu(&ca->list, &ktp_cong_list);
	spin_unlock(&ktp_cong_lock);
	return err;
}

/**
 * ktp_unregister_congestion_control - withdraw an algorithm
 * @ca: the algorithm; no socket may use it any more (module refcount)
 */
void ktp_unregister_congestion_control(struct ktp_congestion_ops *ca)
{
	spin_lock(&ktp_cong_lock);
	list_del_rcu(&ca->list);
	spin_unlock(&ktp_cong_lock);
	synchronize_rcu();
}

static void ktp_ca_release(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (!kp->ca_ops)
		return;
	if (kp->ca_ops->release)
		kp->ca_ops->release(sk);
	module_put(kp->ca_ops->owner);
	kp->ca_ops = NULL;
}

/**
 * ktp_set_congestion_control - switch a socket to the algorithm @name
 * @sk: the socket, owned by the caller
 * @name: the algorithm's name
 *
 * Return: 0, or -ENOENT if no such algorithm is registered.
 */
int ktp_set_congestion_control(struct sock *sk, const char *name)
{
	struct ktp_sock *kp = ktp_sk(sk);
	struct ktp_congestion_ops *ca;

	rcu_read_lock();
	ca = ktp_ca_find(name);
	if (ca && !try_module_get(ca->owner))
		ca = NULL;
	rcu_read_unlock();
	if (!ca)
		return -ENOENT;

	ktp_ca_release(sk);
	kp->ca_ops = ca;
	memset(kp->ca_priv, 0, sizeof(kp->ca_priv));
	if (ca->init)
		ca->init(sk);
	return 0;
}

/**
 * ktp_init_congestion_control - give a new socket the netns default
 * @sk: the socket
 *
 * Falls back to NewReno, which cannot go away, if the default cannot be
 * had.
 */
void ktp_init_congestion_control(struct sock *sk)
{
	struct ktp_net *kn = ktp_pernet(sock_net(sk));
	char name[KTP_CA_NAME_MAX];

	ktp_sk(sk)->ca_ops = NULL;
	spin_lock_bh(&kn->ca_lock);
	strscpy(name, kn->congestion_control, sizeof(name));
	spin_unlock_bh(&kn->ca_lock);
	if (ktp_set_congestion_control(sk, name))
		ktp_set_congestion_control(sk, "reno");
}

/**
 * ktp_inherit_congestion_control - a child takes its listener's algorithm
 * @sk: the new connection, whose ca fields were copied from the listener
 */
void ktp_inherit_congestion_control(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (!kp->ca_ops || !try_module_get(kp->ca_ops->owner)) {
		ktp_init_congestion_control(sk);
		return;
	}
	memset(kp->ca_priv, 0, sizeof(kp->ca_priv));
	if (kp->ca_ops->init)
		kp->ca_ops->init(sk);
}

/**
 * ktp_reinit_congestion_control - the same algorithm, its state afresh,
 * for a socket that connects again (connect(AF_UNSPEC), as
 * tcp_disconnect())
 * @sk: the socket, owned by the caller
 */
void ktp_reinit_congestion_control(struct sock *sk)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (!kp->ca_ops)
		return;
	if (kp->ca_ops->release)
		kp->ca_ops->release(sk);
	memset(kp->ca_priv, 0, sizeof(kp->ca_priv));
	if (kp->ca_ops->init)
		kp->ca_ops->init(sk);
}

/**
 * ktp_cleanup_congestion_control - the socket is going away
 * @sk: the socket
 */
void ktp_cleanup_congestion_control(struct sock *sk)
{
	ktp_ca_release(sk);
}

/**
 * ktp_ca_available - the names of all registered algorithms
 * @buf: where to write them, space separated
 * @len: its size
 */
void ktp_ca_available(char *buf, size_t len)
{
	struct ktp_congestion_ops *ca;
	size_t off = 0;

	*buf = '\0';
	rcu_read_lock();
	list_for_each_entry_rcu(ca, &ktp_cong_list, list)
		off += scnprintf(buf + off, len - off, "%s%s", off ? " " : "",
				 ca->name);
	rcu_read_unlock();
}

/**
 * ktp_ca_known - is @name a registered algorithm?
 * @name: the name
 *
 * Return: true if it is.
 */
bool ktp_ca_known(const char *name)
{
	bool known;

	rcu_read_lock();
	known = ktp_ca_find(name);
	rcu_read_unlock();
	return known;
}

/* NewReno: halve on loss (RFC 5681 (4)), slow start below ssthresh, one
 * segment per window of ACKs above (3.1).
 */
static u32 ktp_reno_ssthresh(struct sock *sk)
{
	return max(ktp_sk(sk)->packets_out / 2, 2U);
}

/**
 * ktp_reno_cong_avoid - slow start and additive increase
 * @sk: the socket
 * @acked: segments newly acknowledged
 *
 * Shared by algorithms that do what NewReno does below ssthresh.
 */
void ktp_reno_cong_avoid(struct sock *sk, u32 acked)
{
	struct ktp_sock *kp = ktp_sk(sk);

	if (kp->snd_cwnd < kp->snd_ssthresh) {
		kp->snd_cwnd += acked;
		return;
	}
	kp->cwnd_cnt += acked;
	if (kp->cwnd_cnt >= kp->snd_cwnd) {
		kp->cwnd_cnt -= kp->snd_cwnd;
		kp->snd_cwnd++;
	}
}

static struct ktp_congestion_ops ktp_reno = {
	.name		= "reno",
	.owner		= NULL,		/* built in: struct ktp_congestion_ops */
	.ssthresh	= ktp_reno_ssthresh,
	.cong_avoid	= ktp_reno_cong_avoid,
};

int ktp_cong_init(void)
{
	int err;

	err = ktp_register_congestion_control(&ktp_reno);
	if (err)
		return err;
	err = ktp_cubic_register();
	if (err)
		ktp_unregister_congestion_control(&ktp_reno);
	return err;
}

void ktp_cong_exit(void)
{
	ktp_cubic_unregister();
	ktp_unregister_congestion_control(&ktp_reno);
}
