// SPDX-License-Identifier: GPL-2.0

#include <linux/netdevice.h>
#include <linux/rcupdate.h>
#include <net/ip_fib.h>
#include <net/nexthop.h>

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

struct fib_nh_common *rust_helper_fib_info_nhc(struct fib_info *fi, int nhsel)
{
	return fib_info_nhc(fi, nhsel);
}
