// SPDX-License-Identifier: GPL-2.0

//! Owned socket buffers for the forwarding path ([`super::fwd`]): the
//! small unsafe layer over `struct sk_buff` the forwarding code needs,
//! so that it handles packets as byte slices and values that free
//! themselves.

use core::ptr::NonNull;
use kernel::bindings;
use kernel::prelude::*;

/// Ethernet header length.
pub(crate) const ETH_HLEN: usize = 14;
/// Headroom kept in front of packets this module builds.
const HEADROOM: u32 = 64;
/// Headroom a forwarded packet needs for its new Ethernet header
/// (`ETH_HLEN` rounded up to `HH_DATA_MOD`): asking for more would copy
/// the head of every packet whose sender left less.
const FWD_HEADROOM: u32 = 16;

/// A socket buffer this code owns: freed on drop unless sent.
pub(crate) struct Skb(NonNull<bindings::sk_buff>);

impl Skb {
    /// Takes ownership of `skb`.
    ///
    /// # Safety
    ///
    /// `skb` is a valid socket buffer whose reference the caller hands
    /// over (an rx handler's packet it will report consumed).
    pub(crate) unsafe fn from_raw(skb: *mut bindings::sk_buff) -> Option<Self> {
        NonNull::new(skb).map(Self)
    }

    /// Gives up ownership without freeing.
    pub(crate) fn into_raw(self) -> *mut bindings::sk_buff {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        p
    }

    fn raw(&self) -> *mut bindings::sk_buff {
        self.0.as_ptr()
    }

    /// A new buffer for a packet of up to `len` bytes leaving through
    /// `dev`, with room for the link header; empty.
    pub(crate) fn alloc(dev: *mut bindings::net_device, len: u32) -> Option<Self> {
        // SAFETY: `dev` is a live device (callers hold RCU on a device
        // found bound); GFP_ATOMIC allocation from any context.
        let p = unsafe { bindings::netdev_alloc_skb(dev, len + HEADROOM) };
        let skb = NonNull::new(p).map(Self)?;
        // SAFETY: a fresh skb has `len + HEADROOM` bytes of tailroom.
        unsafe { bindings::skb_reserve(skb.raw(), HEADROOM as i32) };
        Some(skb)
    }

    /// Appends `n` bytes (tailroom permitting) and returns the whole
    /// packet.
    pub(crate) fn put(&mut self, n: u32) -> Option<&mut [u8]> {
        // SAFETY: reads plain fields of an skb we own.
        let (tail, end) = unsafe {
            let s = &*self.raw();
            (s.tail, s.end)
        };
        if end.checked_sub(tail)? < n {
            return None;
        }
        // SAFETY: the tailroom was checked just above.
        unsafe { bindings::skb_put(self.raw(), n) };
        Some(self.data_mut())
    }

    /// Shortens the packet to `n` bytes.
    pub(crate) fn trim(&mut self, n: u32) {
        // SAFETY: an skb we own; `skb_trim` ignores lengths above `len`.
        unsafe { bindings::skb_trim(self.raw(), n) };
    }

    /// Makes the packet one linear buffer, private to us, with headroom
    /// for a link header: after this, [`Skb::data_mut`] may change it.
    pub(crate) fn make_writable(&mut self) -> Result {
        // SAFETY: an skb we own; both may reallocate the data, not the
        // `sk_buff` itself.
        unsafe {
            if bindings::skb_linearize(self.raw()) != 0 {
                return Err(ENOMEM);
            }
            if bindings::skb_cow(self.raw(), FWD_HEADROOM) != 0 {
                return Err(ENOMEM);
            }
        }
        Ok(())
    }

    /// Length of the linear part.
    fn headlen(&self) -> usize {
        // SAFETY: reads plain fields of an skb we own.
        let s = unsafe { &*self.raw() };
        s.len.saturating_sub(s.data_len) as usize
    }

    /// The linear part of the packet, from the network header (received)
    /// or the first byte put.
    pub(crate) fn data(&self) -> &[u8] {
        // SAFETY: `data` has `headlen()` readable bytes while we own the
        // skb; the borrow of `self` keeps it alive and unchanged.
        unsafe { core::slice::from_raw_parts((*self.raw()).data, self.headlen()) }
    }

    /// The linear part, writable: only after [`Skb::make_writable`] or on
    /// a buffer from [`Skb::alloc`].
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; the data is private (callers' contract)
        // and the mutable borrow of `self` makes this the only view.
        unsafe { core::slice::from_raw_parts_mut((*self.raw()).data, self.headlen()) }
    }

    /// The Ethernet header a received packet came with.
    pub(crate) fn eth_header(&self) -> Option<[u8; ETH_HLEN]> {
        // SAFETY: reads plain fields of an skb we own.
        let (head, data, mac) = unsafe {
            let s = &*self.raw();
            (s.head, s.data, bindings::skb_mac_header(self.raw()))
        };
        // The mac header must lie in the headroom, whole, before the data.
        let start = (mac as usize).checked_sub(head as usize)?;
        let end = start.checked_add(ETH_HLEN)?;
        if end > (data as usize).checked_sub(head as usize)? {
            return None;
        }
        let mut h = [0u8; ETH_HLEN];
        // SAFETY: `mac..mac + ETH_HLEN` lies between `head` and `data`
        // (checked above), inside the buffer.
        unsafe { core::ptr::copy_nonoverlapping(mac, h.as_mut_ptr(), ETH_HLEN) };
        Some(h)
    }

    /// The device the packet was received on (or allocated for).
    pub(crate) fn dev(&self) -> *mut bindings::net_device {
        // SAFETY: an skb we own.
        unsafe { bindings::cgl_fib_skb_dev(self.raw()) }
    }

    /// `PACKET_HOST`, `PACKET_BROADCAST`, ...
    pub(crate) fn pkt_type(&self) -> u32 {
        // SAFETY: an skb we own.
        unsafe { bindings::cgl_fib_skb_pkt_type(self.raw()) }
    }

    /// Sends the packet (its data at the network header) out of `dev` to
    /// Ethernet address `dst` with EtherType `proto`.
    ///
    /// # Safety
    ///
    /// `dev` is a live device for the whole call (RCU read side held on a
    /// device found through the RCU device lists).
    pub(crate) unsafe fn xmit(self, dev: *mut bindings::net_device, proto: u16, dst: &[u8; 6]) {
        let skb = self.into_raw();
        // SAFETY: `skb` is ours; `dev` is live (contract). The device's
        // own address is read under the same RCU read side.
        unsafe {
            let be = proto.to_be();
            bindings::cgl_fib_skb_forward(skb, dev, be);
            let len = (*skb).len;
            let src = bindings::cgl_fib_dev_addr(dev);
            if bindings::dev_hard_header(skb, dev, proto, dst.as_ptr().cast(), src.cast(), len) < 0
            {
                bindings::kfree_skb(skb);
                return;
            }
            // Consumes the skb whatever it returns; a drop is counted by
            // the device.
            bindings::dev_queue_xmit(skb);
        }
    }
}

impl Drop for Skb {
    fn drop(&mut self) {
        // SAFETY: we own the skb and nobody else will free it.
        unsafe { bindings::kfree_skb(self.raw()) };
    }
}

// SAFETY: an skb may be freed or sent from any context and CPU.
unsafe impl Send for Skb {}
