// SPDX-License-Identifier: GPL-2.0

#include <linux/timekeeping.h>

u64 rust_helper_ktime_get_real_ns(void)
{
	return ktime_get_real_ns();
}

u64 rust_helper_ktime_get_ns(void)
{
	return ktime_get_ns();
}
