// SPDX-License-Identifier: GPL-2.0

#include <linux/netdevice.h>
#include <linux/rcupdate.h>
#include <net/ip_fib.h>

void rust_helper_dev_put(struct net_device *dev)
{
	dev_put(dev);
}

void rust_helper_rcu_read_lock(void)
{
	rcu_read_lock();
}

void rust_helper_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

struct fib_table *rust_helper_fib_get_table(struct net *net, u32 id)
{
	return fib_get_table(net, id);
}
