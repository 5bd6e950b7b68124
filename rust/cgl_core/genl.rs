// SPDX-License-Identifier: GPL-2.0

//! Generic netlink families for CGL modules.
//!
//! A module describes its family with `static` tables: attribute
//! [`Policy`] entries (enforced by the kernel's own `nla` validation, so bad
//! input is refused with an extack message before a handler runs), [`Op`]s
//! whose handlers implement [`DoIt`] or [`DumpIt`], and [`McGroup`]s. It
//! registers a `static` [`Family`] once and unregisters it on exit.
//!
//! Handlers see a [`Request`] (attributes, extack, reply) or a [`Dump`]
//! (resumable state in `cb->args`, one message per object). Messages are
//! built with [`Writer`]; a message that is not sent is freed.
//!
//! Every family is strict: unknown attributes and trailing data are
//! refused (`resv_start_op` covers every command).

use core::cell::UnsafeCell;
use core::ffi::c_int;
use core::mem::MaybeUninit;
use core::ops::{Deref, DerefMut};
use core::ptr;
use kernel::bindings;
use kernel::c_str;
use kernel::error::to_result;
use kernel::prelude::*;

const NLA_HDRLEN: usize = 4;

/// Payload room of a new message: a record with the largest payload fits
/// with room to spare, and it stays inside one page.
const MSG_PAYLOAD: usize = 3072;

/// "Message too long": the buffer is full. 6.12 has no `code::EMSGSIZE`.
/// `EMSGSIZE`: a message buffer is full.
pub fn emsgsize() -> Error {
    Error::from_errno(-(bindings::EMSGSIZE as c_int))
}

/// Validation genetlink applies to new families (`NL_VALIDATE_STRICT`).
const NL_VALIDATE_STRICT: u32 = bindings::netlink_validation_NL_VALIDATE_TRAILING
    | bindings::netlink_validation_NL_VALIDATE_MAXTYPE
    | bindings::netlink_validation_NL_VALIDATE_UNSPEC
    | bindings::netlink_validation_NL_VALIDATE_STRICT_ATTRS
    | bindings::netlink_validation_NL_VALIDATE_NESTED;

/// One entry of an attribute policy table, indexed by attribute type.
#[repr(transparent)]
pub struct Policy(bindings::nla_policy);

// SAFETY: a policy is read-only data; its pointers point to `'static`
// read-only data.
unsafe impl Sync for Policy {}

/// Bounds of an unsigned attribute, for [`Policy::u32_range`] and
/// [`Policy::u64_range`].
#[repr(transparent)]
pub struct Range(bindings::netlink_range_validation);

// SAFETY: read-only data.
unsafe impl Sync for Range {}

impl Range {
    /// The range `min..=max`.
    pub const fn new(min: u64, max: u64) -> Self {
        Self(bindings::netlink_range_validation { min, max })
    }
}

impl Policy {
    const fn typed(type_: u32, len: u16) -> Self {
        // SAFETY: all-zero is a valid `nla_policy` (NLA_UNSPEC, no checks).
        let mut p: bindings::nla_policy = unsafe { core::mem::zeroed() };
        p.type_ = type_ as u8;
        p.len = len;
        Self(p)
    }

    /// An attribute that input may not carry (output only, or unused).
    pub const fn reject() -> Self {
        Self::typed(bindings::NLA_REJECT, 0)
    }

    /// A `u8` in `min..=max`.
    pub const fn u8_range(min: u8, max: u8) -> Self {
        let mut p = Self::typed(bindings::NLA_U8, 0);
        p.0.validation_type = bindings::nla_policy_validation_NLA_VALIDATE_RANGE as u8;
        p.0.__bindgen_anon_1.__bindgen_anon_1 = bindings::nla_policy__bindgen_ty_1__bindgen_ty_1 {
            min: min as i16,
            max: max as i16,
        };
        p
    }

    /// Any `u32`.
    pub const fn u32() -> Self {
        Self::typed(bindings::NLA_U32, 0)
    }

    /// A `u32` within `range`.
    pub const fn u32_range(range: &'static Range) -> Self {
        let mut p = Self::typed(bindings::NLA_U32, 0);
        p.0.validation_type = bindings::nla_policy_validation_NLA_VALIDATE_RANGE_PTR as u8;
        p.0.__bindgen_anon_1.range = &range.0;
        p
    }

    /// Any `u64`.
    pub const fn u64() -> Self {
        Self::typed(bindings::NLA_U64, 0)
    }

    /// A NUL-terminated string of at most `max` bytes before the NUL.
    pub const fn string(max: u16) -> Self {
        Self::typed(bindings::NLA_NUL_STRING, max)
    }

    /// Bytes, at most `max` of them.
    pub const fn binary(max: u16) -> Self {
        Self::typed(bindings::NLA_BINARY, max)
    }

    /// A flag (present or absent, no payload).
    pub const fn flag() -> Self {
        Self::typed(bindings::NLA_FLAG, 0)
    }

    /// An array of nests (any type, each validated against `inner`), as
    /// `NLA_POLICY_NESTED_ARRAY()`; read it with [`Attr::nested`].
    pub const fn nested_array(inner: &'static [Policy]) -> Self {
        let mut p = Self::typed(
            bindings::NLA_NESTED_ARRAY,
            inner.len().saturating_sub(1) as u16,
        );
        p.0.__bindgen_anon_1.nested_policy = inner.as_ptr().cast();
        p
    }
}

/// A multicast group of a family.
#[repr(transparent)]
pub struct McGroup(bindings::genl_multicast_group);

// SAFETY: read-only data.
unsafe impl Sync for McGroup {}

impl McGroup {
    /// A group named `name` (at most 15 bytes) that anyone may join.
    pub const fn new(name: &'static str) -> Self {
        let bytes = name.as_bytes();
        assert!(bytes.len() < bindings::GENL_NAMSIZ as usize);
        // SAFETY: all-zero is a valid group (empty name, no flags).
        let mut g: bindings::genl_multicast_group = unsafe { core::mem::zeroed() };
        let mut i = 0;
        while i < bytes.len() {
            g.name[i] = bytes[i] as _;
            i += 1;
        }
        Self(g)
    }

    /// The same group, which only CAP_NET_ADMIN may join.
    pub const fn admin(mut self) -> Self {
        // GENL_MCAST_CAP_NET_ADMIN is BIT(0), which bindgen cannot see.
        self.0.flags |= 1;
        self
    }
}

/// A command of a family: a `doit` handler, a `dumpit` handler, or both.
#[repr(transparent)]
pub struct Op(bindings::genl_ops);

// SAFETY: read-only data; the function pointers are `'static`.
unsafe impl Sync for Op {}

impl Op {
    /// Command `cmd` with no handler yet.
    pub const fn new(cmd: u8) -> Self {
        // SAFETY: all-zero is a valid `genl_ops` (no handlers, family policy).
        let mut o: bindings::genl_ops = unsafe { core::mem::zeroed() };
        o.cmd = cmd;
        Self(o)
    }

    /// Handles requests without `NLM_F_DUMP` with `H`.
    pub const fn doit<H: DoIt>(mut self) -> Self {
        self.0.doit = Some(doit_callback::<H>);
        self
    }

    /// Handles `NLM_F_DUMP` requests with `H`.
    pub const fn dumpit<H: DumpIt>(mut self) -> Self {
        self.0.dumpit = Some(dumpit_callback::<H>);
        self
    }

    /// Only CAP_NET_ADMIN may run it.
    pub const fn admin(mut self) -> Self {
        self.0.flags |= bindings::GENL_ADMIN_PERM as u8;
        self
    }
}

/// What a family is made of; all of it `'static`.
pub struct FamilySpec {
    /// Family name, at most 15 bytes.
    pub name: &'static CStr,
    /// Protocol version.
    pub version: u32,
    /// Attribute policy, indexed by attribute type; its length is
    /// `maxattr + 1`.
    pub policy: &'static [Policy],
    /// The attribute `nla_put_64bit` pads with.
    pub pad_attr: u16,
    /// Commands.
    pub ops: &'static [Op],
    /// Multicast groups; [`Family::multicast`] takes an index into this.
    pub mcgrps: &'static [McGroup],
}

/// A generic netlink family; a `static` that is registered once.
///
/// `repr(C)`: handlers find the `Family` from the kernel's `genl_family`
/// pointer, which is its first field.
#[repr(C)]
pub struct Family {
    inner: UnsafeCell<MaybeUninit<bindings::genl_family>>,
    pad_attr: UnsafeCell<u16>,
}

// SAFETY: the family is written only by `register`, before the kernel can
// see it, and by `unregister`, after the kernel stopped using it; between
// the two it is read-only for Rust and protected by genetlink for C.
unsafe impl Sync for Family {}

impl Family {
    /// An unregistered family.
    pub const fn new() -> Self {
        Self {
            inner: UnsafeCell::new(MaybeUninit::zeroed()),
            pad_attr: UnsafeCell::new(0),
        }
    }

    fn as_ptr(&self) -> *mut bindings::genl_family {
        self.inner.get().cast()
    }

    fn pad(&self) -> u16 {
        // SAFETY: written only by `register`, before any handler runs.
        unsafe { *self.pad_attr.get() }
    }

    /// Registers the family. `module` is the owning module (`None` for
    /// built-in code); it is pinned while a dump is in progress.
    ///
    /// # Safety
    ///
    /// Must not race with another `register` or `unregister` of the same
    /// family, and must not be called while it is registered.
    pub unsafe fn register(
        &'static self,
        spec: &'static FamilySpec,
        module: Option<&'static ThisModule>,
    ) -> Result {
        let name = spec.name.as_bytes();
        if name.len() >= bindings::GENL_NAMSIZ as usize
            || spec.policy.is_empty()
            || spec.ops.len() > u8::MAX as usize
            || spec.mcgrps.len() > u8::MAX as usize
        {
            return Err(EINVAL);
        }
        let max_cmd = spec.ops.iter().map(|o| o.0.cmd).max().unwrap_or(0);
        // SAFETY: the caller guarantees nothing else uses the family now.
        let f = unsafe { &mut *self.as_ptr() };
        // SAFETY: all-zero is the unregistered state.
        *f = unsafe { core::mem::zeroed() };
        for (d, s) in f.name.iter_mut().zip(name) {
            *d = *s as _;
        }
        f.version = spec.version;
        f.maxattr = (spec.policy.len() - 1) as u32;
        f.policy = spec.policy.as_ptr().cast();
        f.ops = spec.ops.as_ptr().cast();
        f.n_ops = spec.ops.len() as u8;
        f.mcgrps = spec.mcgrps.as_ptr().cast();
        f.n_mcgrps = spec.mcgrps.len() as u8;
        f.resv_start_op = max_cmd.saturating_add(1);
        f.set_parallel_ops(1);
        f.module = module.map_or(ptr::null_mut(), |m| m.as_ptr());
        // SAFETY: as above.
        unsafe { *self.pad_attr.get() = spec.pad_attr };
        // SAFETY: the family is fully initialised and `'static`.
        to_result(unsafe { bindings::genl_register_family(f) })
    }

    /// Unregisters the family.
    ///
    /// # Safety
    ///
    /// The family must be registered, and this must not race with
    /// `register`.
    pub unsafe fn unregister(&'static self) {
        // SAFETY: the caller guarantees the family is registered.
        unsafe { bindings::genl_unregister_family(self.as_ptr()) };
    }

    /// Registers the family and returns a guard that unregisters it when
    /// dropped (kept in a module's state, dropped at module exit).
    ///
    /// # Safety
    ///
    /// As [`Family::register`]; the guard is the only one for this family.
    pub unsafe fn registration(
        &'static self,
        spec: &'static FamilySpec,
        module: Option<&'static ThisModule>,
    ) -> Result<Registration> {
        // SAFETY: the caller's contract.
        unsafe { self.register(spec, module)? };
        Ok(Registration(self))
    }

    /// A notification, command `cmd`, for [`Family::multicast`]. May sleep.
    pub fn new_event(&'static self, cmd: u8) -> Result<Message> {
        Message::new(self, 0, 0, cmd)
    }

    /// Whether anyone listens on multicast group `group` in the initial
    /// network namespace.
    pub fn has_listeners(&'static self, group: u32) -> bool {
        // SAFETY: the family is registered (it made a message) and
        // `init_net` lives for ever.
        unsafe {
            bindings::genl_has_listeners(
                self.as_ptr(),
                ptr::addr_of_mut!(bindings::init_net),
                group,
            )
        }
    }

    /// Sends `msg` to multicast group `group` (an index into the spec's
    /// `mcgrps`). Having no listener is not an error.
    /// May sleep.
    pub fn multicast(&'static self, msg: Message, group: u32) -> Result {
        let skb = msg.finish();
        // SAFETY: `skb` is a finished message of this family; the call
        // takes ownership of it.
        let ret = unsafe {
            bindings::genlmsg_multicast(self.as_ptr(), skb, 0, group, bindings::GFP_KERNEL)
        };
        if ret == -(bindings::ESRCH as c_int) {
            return Ok(());
        }
        to_result(ret)
    }
}

/// A registered family; unregistered when dropped. See
/// [`Family::registration`].
pub struct Registration(&'static Family);

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: `registration` registered the family and this is its only
        // guard, so it is registered and nothing else unregisters it.
        unsafe { self.0.unregister() };
    }
}

impl Default for Family {
    fn default() -> Self {
        Self::new()
    }
}

/// An attribute of a request, validated by the family's policy.
#[derive(Clone, Copy)]
pub struct Attr<'a>(&'a bindings::nlattr);

impl<'a> Attr<'a> {
    /// The payload.
    pub fn bytes(&self) -> &'a [u8] {
        let len = usize::from(self.0.nla_len).saturating_sub(NLA_HDRLEN);
        let base: *const u8 = (self.0 as *const bindings::nlattr).cast();
        // SAFETY: netlink validated that `nla_len` bytes from the header
        // lie inside the message, which outlives `'a`.
        unsafe { core::slice::from_raw_parts(base.add(NLA_HDRLEN), len) }
    }

    fn array<const N: usize>(&self) -> Result<[u8; N]> {
        self.bytes()
            .get(..N)
            .and_then(|b| b.try_into().ok())
            .ok_or(EINVAL)
    }

    /// The payload as a `u8`.
    pub fn u8(&self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// The payload as a native-endian `u32`.
    pub fn u32(&self) -> Result<u32> {
        Ok(u32::from_ne_bytes(self.array()?))
    }

    /// The payload as a native-endian `u64`.
    pub fn u64(&self) -> Result<u64> {
        Ok(u64::from_ne_bytes(self.array()?))
    }

    /// The payload as UTF-8 text, without the terminating NUL.
    pub fn str(&self) -> Result<&'a str> {
        let b = self.bytes();
        let b = b.split(|&c| c == 0).next().unwrap_or(b);
        core::str::from_utf8(b).map_err(|_| EINVAL)
    }

    /// The attribute type, without the nested/byte-order flags.
    pub fn kind(&self) -> u16 {
        self.0.nla_type & (bindings::NLA_TYPE_MASK as u16)
    }

    /// The attributes nested in this one, in order. The policy validated
    /// their lengths, so the walk stops only at the end (or at anything
    /// malformed, which it skips).
    pub fn nested(&self) -> Nested<'a> {
        Nested(self.bytes())
    }

    /// The attributes nested in this one, indexed by type: entry `t` of
    /// the result is the last attribute of type `t` (types `>= N` are
    /// ignored; the policy rejected them already).
    pub fn parse_nested<const N: usize>(&self) -> [Option<Attr<'a>>; N] {
        let mut out = [const { None }; N];
        for a in self.nested() {
            if let Some(slot) = out.get_mut(usize::from(a.kind())) {
                *slot = Some(a);
            }
        }
        out
    }

    fn as_ptr(&self) -> *const bindings::nlattr {
        self.0
    }
}

/// Iterator over a stream of attributes; see [`Attr::nested`].
pub struct Nested<'a>(&'a [u8]);

impl<'a> Iterator for Nested<'a> {
    type Item = Attr<'a>;

    fn next(&mut self) -> Option<Attr<'a>> {
        let hdr = self.0.get(..NLA_HDRLEN)?;
        let len = usize::from(u16::from_ne_bytes([hdr[0], hdr[1]]));
        if len < NLA_HDRLEN || len > self.0.len() {
            self.0 = &[];
            return None;
        }
        let head = self.0.as_ptr().cast::<bindings::nlattr>();
        let step = (len + 3) & !3;
        self.0 = self.0.get(step..).unwrap_or(&[]);
        // SAFETY: `len` bytes from `head` are inside the message and hold an
        // attribute header; attributes are 4-byte aligned in a message.
        Some(Attr(unsafe { &*head }))
    }
}

/// # Safety
///
/// `attrs` is NULL or an array of `maxattr + 1` entries, each NULL or a
/// validated attribute, living for `'a`.
unsafe fn attr_at<'a>(
    attrs: *mut *mut bindings::nlattr,
    maxattr: u32,
    id: u16,
) -> Option<Attr<'a>> {
    if attrs.is_null() || u32::from(id) > maxattr {
        return None;
    }
    // SAFETY: `id <= maxattr`, inside the array, per the function's contract.
    let a = unsafe { *attrs.add(usize::from(id)) };
    // SAFETY: a non-NULL entry is a validated attribute living for `'a`.
    (!a.is_null()).then(|| Attr(unsafe { &*a }))
}

/// Attribute writer over a message being built.
pub struct Writer {
    skb: *mut bindings::sk_buff,
    pad: u16,
}

impl Writer {
    fn put(&mut self, t: u16, data: &[u8]) -> Result {
        let len = c_int::try_from(data.len()).map_err(|_| emsgsize())?;
        // SAFETY: `skb` is a message being built, owned by the caller;
        // `data` is readable for `len` bytes.
        to_result(unsafe { bindings::nla_put(self.skb, t.into(), len, data.as_ptr().cast()) })
    }

    /// Adds a `u8` attribute.
    pub fn put_u8(&mut self, t: u16, v: u8) -> Result {
        self.put(t, &[v])
    }

    /// Adds a `u32` attribute.
    pub fn put_u32(&mut self, t: u16, v: u32) -> Result {
        self.put(t, &v.to_ne_bytes())
    }

    /// Adds a `u64` attribute, 64-bit aligned with the family's pad attribute.
    pub fn put_u64(&mut self, t: u16, v: u64) -> Result {
        let b = v.to_ne_bytes();
        // SAFETY: as in `put`.
        to_result(unsafe {
            bindings::nla_put_64bit(self.skb, t.into(), 8, b.as_ptr().cast(), self.pad.into())
        })
    }

    /// Adds a NUL-terminated string attribute.
    pub fn put_str(&mut self, t: u16, s: &str) -> Result {
        let len = c_int::try_from(s.len() + 1).map_err(|_| emsgsize())?;
        // SAFETY: as in `put`; `nla_reserve` returns room for `len` bytes
        // or NULL.
        let a = unsafe { bindings::nla_reserve(self.skb, t.into(), len) };
        if a.is_null() {
            return Err(emsgsize());
        }
        // SAFETY: the attribute has `s.len() + 1` bytes of payload after its
        // header.
        unsafe {
            let data = a.cast::<u8>().add(NLA_HDRLEN);
            ptr::copy_nonoverlapping(s.as_ptr(), data, s.len());
            *data.add(s.len()) = 0;
        }
        Ok(())
    }

    /// Adds a binary attribute.
    pub fn put_bytes(&mut self, t: u16, b: &[u8]) -> Result {
        self.put(t, b)
    }

    /// Adds a nested attribute `t` holding what `f` writes. On an error
    /// the message is left part-written: callers drop or cancel it.
    pub fn nest(&mut self, t: u16, f: impl FnOnce(&mut Writer) -> Result) -> Result {
        let flag = bindings::NLA_F_NESTED as u16;
        // SAFETY: `skb` is a message being built; `nla_reserve` returns an
        // attribute header with no payload yet, or NULL.
        let start = unsafe { bindings::nla_reserve(self.skb, (t | flag).into(), 0) };
        if start.is_null() {
            return Err(emsgsize());
        }
        f(self)?;
        // SAFETY: `start` lies in the linear data of `skb`, before its
        // tail, which only grew since.
        unsafe {
            let tail = (*self.skb).head.add((*self.skb).tail as usize);
            let len =
                u16::try_from(tail.offset_from(start.cast::<u8>())).map_err(|_| emsgsize())?;
            (*start).nla_len = len;
        }
        Ok(())
    }
}

/// A message being built; freed unless it is sent.
pub struct Message {
    w: Writer,
    hdr: *mut core::ffi::c_void,
}

impl Message {
    fn new(family: &'static Family, portid: u32, seq: u32, cmd: u8) -> Result<Self> {
        // SAFETY: allocation; NULL on failure.
        let skb = unsafe { bindings::genlmsg_new(MSG_PAYLOAD, bindings::GFP_KERNEL) };
        if skb.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `skb` is a new, empty message; `family` is registered.
        let hdr = unsafe { bindings::genlmsg_put(skb, portid, seq, family.as_ptr(), 0, cmd) };
        if hdr.is_null() {
            // SAFETY: `skb` is ours and not sent.
            unsafe { bindings::nlmsg_free(skb) };
            return Err(emsgsize());
        }
        Ok(Self {
            w: Writer {
                skb,
                pad: family.pad(),
            },
            hdr,
        })
    }

    /// Ends the message and hands its `sk_buff` to the caller.
    fn finish(self) -> *mut bindings::sk_buff {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `hdr` is the header `genlmsg_put` returned for `skb`.
        unsafe { bindings::genlmsg_end(this.w.skb, this.hdr) };
        this.w.skb
    }
}

impl Deref for Message {
    type Target = Writer;
    fn deref(&self) -> &Writer {
        &self.w
    }
}

impl DerefMut for Message {
    fn deref_mut(&mut self) -> &mut Writer {
        &mut self.w
    }
}

impl Drop for Message {
    fn drop(&mut self) {
        // SAFETY: the message was not sent, so the skb is still ours.
        unsafe { bindings::nlmsg_free(self.w.skb) };
    }
}

/// A request to a `doit` handler.
pub struct Request<'a> {
    info: &'a mut bindings::genl_info,
}

impl Request<'_> {
    fn maxattr(&self) -> u32 {
        // SAFETY: `family` is the registered family handling the request.
        unsafe { (*self.info.family).maxattr }
    }

    /// Attribute `id`, if the request carries it.
    pub fn attr(&self, id: u16) -> Option<Attr<'_>> {
        // SAFETY: genetlink parsed `attrs` against the family's policy with
        // `maxattr + 1` entries; they live as long as the request.
        unsafe { attr_at(self.info.attrs, self.maxattr(), id) }
    }

    /// Attribute `id`, or an extack "missing attribute" error.
    pub fn require(&self, id: u16) -> Result<Attr<'_>> {
        if self.attr(id).is_none() {
            if !self.info.extack.is_null() {
                // SAFETY: `extack` is valid for the request.
                let ext = unsafe { &mut *self.info.extack };
                ext._msg = c_str!("missing attribute").as_char_ptr();
                ext.miss_type = id;
            }
            return Err(EINVAL);
        }
        self.attr(id).ok_or(EINVAL)
    }

    /// Sets the extack message (and the offending attribute) the error
    /// reply will carry. Returns `err` for convenience.
    pub fn fail(&self, err: Error, msg: &'static CStr, attr: Option<u16>) -> Error {
        let bad = attr
            .and_then(|id| self.attr(id))
            .map_or(ptr::null(), |a| a.as_ptr());
        if !self.info.extack.is_null() {
            // SAFETY: `extack` is valid for the request; the message is
            // `'static`.
            let ext = unsafe { &mut *self.info.extack };
            ext._msg = msg.as_char_ptr();
            ext.bad_attr = bad;
        }
        err
    }

    /// [`Request::fail`] with a formatted message (at most 79 bytes; the
    /// rest is cut), for messages that name a value, such as the index of
    /// the failing entry of a batch.
    pub fn fail_fmt(&self, err: Error, msg: core::fmt::Arguments<'_>, attr: Option<u16>) -> Error {
        let bad = attr
            .and_then(|id| self.attr(id))
            .map_or(ptr::null(), |a| a.as_ptr());
        if self.info.extack.is_null() {
            return err;
        }
        // SAFETY: `extack` is valid for the request.
        let ext = unsafe { &mut *self.info.extack };
        let mut w = MsgBuf {
            buf: &mut ext._msg_buf,
            len: 0,
        };
        let _ = core::fmt::Write::write_fmt(&mut w, msg);
        let end = w.len.min(ext._msg_buf.len().saturating_sub(1));
        if let Some(b) = ext._msg_buf.get_mut(end) {
            *b = 0;
        }
        ext._msg = ext._msg_buf.as_ptr();
        ext.bad_attr = bad;
        err
    }

    /// A reply to this request, command `cmd`.
    pub fn new_reply(&self, cmd: u8) -> Result<Message> {
        // SAFETY: `family` is a `Family` (the only way to register one),
        // `'static`, and `genl_family` is its first bytes.
        let family: &'static Family = unsafe { &*self.info.family.cast::<Family>() };
        Message::new(family, self.info.snd_portid, self.info.snd_seq, cmd)
    }

    /// Sends `msg` to the requester.
    pub fn reply(&mut self, msg: Message) -> Result {
        let skb = msg.finish();
        // SAFETY: `skb` is a finished message; the call takes it.
        to_result(unsafe { bindings::genlmsg_reply(skb, self.info) })
    }
}

/// Writes formatted text into an extack's message buffer, cutting what
/// does not fit (one byte is kept for the NUL).
struct MsgBuf<'a, T> {
    buf: &'a mut [T],
    len: usize,
}

impl<T: From<u8>> core::fmt::Write for MsgBuf<'_, T> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.len + 1 >= self.buf.len() {
                break;
            }
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = T::from(b);
            }
            self.len += 1;
        }
        Ok(())
    }
}

/// A `doit` handler.
pub trait DoIt {
    /// Handles one request.
    fn doit(req: &mut Request<'_>) -> Result;
}

/// The `doit` of an [`Op`] handled by `H`.
///
/// # Safety
///
/// Called by genetlink with a valid `info` for the request.
unsafe extern "C" fn doit_callback<H: DoIt>(
    _skb: *mut bindings::sk_buff,
    info: *mut bindings::genl_info,
) -> c_int {
    // SAFETY: genetlink passes a valid `info` for the duration of the call.
    let info = unsafe { &mut *info };
    let mut req = Request { info };
    match H::doit(&mut req) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// One step of a dump: fills the message buffer, resuming from `state()`.
pub struct Dump<'a> {
    skb: *mut bindings::sk_buff,
    cb: &'a mut bindings::netlink_callback,
    family: &'static Family,
}

impl Dump<'_> {
    /// Six words that persist between the steps of one dump (zero at first).
    pub fn state(&mut self) -> &mut [isize; 6] {
        // SAFETY: `args` and `ctx` alias the same plain bytes; any bit
        // pattern is a valid `[long; 6]`.
        unsafe { &mut self.cb.__bindgen_anon_1.args }
    }

    /// Attribute `id` of the dump request.
    pub fn attr(&self, id: u16) -> Option<Attr<'_>> {
        let info = self.cb.data.cast::<bindings::genl_dumpit_info>();
        if info.is_null() {
            return None;
        }
        // SAFETY: genetlink's dump start stores a `genl_dumpit_info` in
        // `data`, with attributes parsed against the family policy.
        unsafe { attr_at((*info).info.attrs, (*(*info).info.family).maxattr, id) }
    }

    /// Starts a message of command `cmd`. `Err(emsgsize())` when the buffer
    /// is full: return `Ok(())` and the dump resumes in a new buffer.
    pub fn begin(&mut self, cmd: u8) -> Result<DumpMsg<'_>> {
        // SAFETY: `cb->skb` is the request; its control block holds the
        // netlink parameters.
        let portid = unsafe {
            (*(*self.cb.skb)
                .cb
                .as_ptr()
                .cast::<bindings::netlink_skb_parms>())
            .portid
        };
        // SAFETY: `cb->nlh` is the request header.
        let seq = unsafe { (*self.cb.nlh).nlmsg_seq };
        // SAFETY: `skb` is the dump buffer; `family` is registered.
        let hdr = unsafe {
            bindings::genlmsg_put(
                self.skb,
                portid,
                seq,
                self.family.as_ptr(),
                bindings::NLM_F_MULTI as c_int,
                cmd,
            )
        };
        if hdr.is_null() {
            return Err(emsgsize());
        }
        Ok(DumpMsg {
            w: Writer {
                skb: self.skb,
                pad: self.family.pad(),
            },
            hdr,
            _dump: core::marker::PhantomData,
        })
    }

    /// Whether nothing has been put in this step's buffer yet.
    pub fn is_empty(&self) -> bool {
        // SAFETY: `skb` is the dump buffer.
        unsafe { (*self.skb).len == 0 }
    }
}

/// One message of a dump; cancelled unless [`DumpMsg::commit`] is called.
pub struct DumpMsg<'a> {
    w: Writer,
    hdr: *mut core::ffi::c_void,
    _dump: core::marker::PhantomData<&'a mut ()>,
}

impl DumpMsg<'_> {
    /// Keeps the message in the dump.
    pub fn commit(self) {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: `hdr` is this message's header in the dump buffer.
        unsafe { bindings::genlmsg_end(this.w.skb, this.hdr) };
    }
}

impl Deref for DumpMsg<'_> {
    type Target = Writer;
    fn deref(&self) -> &Writer {
        &self.w
    }
}

impl DerefMut for DumpMsg<'_> {
    fn deref_mut(&mut self) -> &mut Writer {
        &mut self.w
    }
}

impl Drop for DumpMsg<'_> {
    fn drop(&mut self) {
        // SAFETY: `hdr` is this uncommitted message's header.
        unsafe { bindings::genlmsg_cancel(self.w.skb, self.hdr) };
    }
}

/// A `dumpit` handler.
pub trait DumpIt {
    /// Fills one buffer. Return `Ok(())` when the buffer is full or the
    /// dump is complete: the dump ends after a step that adds nothing.
    fn dumpit(dump: &mut Dump<'_>) -> Result;
}

/// The `dumpit` of an [`Op`] handled by `H`.
///
/// # Safety
///
/// Called by genetlink with the dump buffer and callback of a dump of a
/// family registered through [`Family`].
unsafe extern "C" fn dumpit_callback<H: DumpIt>(
    skb: *mut bindings::sk_buff,
    cb: *mut bindings::netlink_callback,
) -> c_int {
    // SAFETY: genetlink passes valid `skb` and `cb` for the call; the
    // dump's family is registered through `Family`, whose first bytes
    // are the `genl_family`.
    let (cb, family) = unsafe {
        let info = (*cb).data.cast::<bindings::genl_dumpit_info>();
        if info.is_null() {
            return -(bindings::EINVAL as c_int);
        }
        (&mut *cb, &*(*info).info.family.cast::<Family>())
    };
    let mut dump = Dump { skb, cb, family };
    match H::dumpit(&mut dump) {
        // SAFETY: `skb` is the dump buffer.
        Ok(()) => unsafe { (*skb).len as c_int },
        Err(e) if e == emsgsize() && !dump.is_empty() => {
            // SAFETY: as above.
            unsafe { (*skb).len as c_int }
        }
        Err(e) => e.to_errno(),
    }
}

/// Checks a stream of attributes against `policy` the way genetlink
/// checks a request (strictly), with the message the requester would get.
/// For nested attributes, and for tests of a family's policy.
pub fn validate(
    policy: &'static [Policy],
    data: &[u8],
) -> core::result::Result<(), (Error, Option<&'static CStr>)> {
    let len = c_int::try_from(data.len()).map_err(|_| (EINVAL, None))?;
    let maxtype = c_int::try_from(policy.len().saturating_sub(1)).map_err(|_| (EINVAL, None))?;
    // SAFETY: all-zero is an empty extack.
    let mut ext: bindings::netlink_ext_ack = unsafe { core::mem::zeroed() };
    // SAFETY: `data` is readable for `len` bytes; attributes are read only
    // within it (nla_for_each_attr checks every length). `policy` has
    // `maxtype + 1` entries.
    let ret = unsafe {
        bindings::__nla_validate(
            data.as_ptr().cast(),
            len,
            maxtype,
            policy.as_ptr().cast(),
            NL_VALIDATE_STRICT,
            &mut ext,
        )
    };
    if ret == 0 {
        return Ok(());
    }
    let msg = if ext._msg.is_null() {
        None
    } else {
        // SAFETY: extack messages are static NUL-terminated strings.
        Some(unsafe { CStr::from_char_ptr(ext._msg) })
    };
    Err((Error::from_errno(ret), msg))
}

/// Declares `const`s of type `$ty` from uapi enum constants, which bindgen
/// names `<enum>_<CONSTANT>` and types as the enum:
///
/// ```ignore
/// cgl_core::uapi_consts!(u8; CMD_GET = uapi::cgl_hb_cmd_CGL_HB_CMD_GET);
/// ```
#[macro_export]
macro_rules! uapi_consts {
    ($ty:ty; $($name:ident = $val:path),* $(,)?) => {
        $(const $name: $ty = $val as $ty;)*
    };
    (pub(crate) $ty:ty; $($name:ident = $val:path),* $(,)?) => {
        $(pub(crate) const $name: $ty = $val as $ty;)*
    };
}
