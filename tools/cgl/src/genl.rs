// SPDX-License-Identifier: GPL-2.0

//! Generic netlink plumbing shared by every cgl-ctl subcommand.
//!
//! [`GenlSocket`] wraps one `NETLINK_GENERIC` socket (with extended ACKs
//! enabled): it resolves families and multicast groups through `nlctrl`,
//! sends requests and dumps and collects their replies, and receives
//! multicast notifications, telling the caller when the receive queue
//! overran (`ENOBUFS`) so it can re-read what it missed.
//!
//! `neli` does the socket system calls and parses the netlink envelope
//! (`NLMSG_ERROR` with its extended-ACK attributes, `NLMSG_DONE`); the
//! generic netlink header and the attributes are coded here, in
//! [`AttrMap`], so every subcommand sees its messages as plain maps of
//! attribute number to bytes with typed getters.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Cursor};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use neli::consts::nl::{NlmF, NlmsgerrAttr};
use neli::consts::socket::{Msg, NlFamily};
use neli::nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder};
use neli::socket::NlSocket;
use neli::types::{Buffer, GenlBuffer};
use neli::utils::Groups;
use neli::{FromBytes, ToBytes};

/// Id of the generic netlink controller family (`GENL_ID_CTRL`).
pub const GENL_ID_CTRL: u16 = libc::GENL_ID_CTRL as u16;
/// Size of a family name buffer, NUL included (`GENL_NAMSIZ`).
const GENL_NAMSIZ: usize = 16;
/// `CTRL_CMD_GETFAMILY`.
const CTRL_CMD_GETFAMILY: u8 = libc::CTRL_CMD_GETFAMILY as u8;
/// Version of the `nlctrl` protocol spoken.
const CTRL_VERSION: u8 = 2;
/// `CTRL_ATTR_FAMILY_ID` (u16).
const CTRL_ATTR_FAMILY_ID: u16 = libc::CTRL_ATTR_FAMILY_ID as u16;
/// `CTRL_ATTR_FAMILY_NAME` (string).
const CTRL_ATTR_FAMILY_NAME: u16 = libc::CTRL_ATTR_FAMILY_NAME as u16;
/// `CTRL_ATTR_VERSION` (u32).
const CTRL_ATTR_VERSION: u16 = libc::CTRL_ATTR_VERSION as u16;
/// `CTRL_ATTR_MCAST_GROUPS` (nested array).
const CTRL_ATTR_MCAST_GROUPS: u16 = libc::CTRL_ATTR_MCAST_GROUPS as u16;
/// `CTRL_ATTR_MCAST_GRP_NAME` (string).
const CTRL_ATTR_MCAST_GRP_NAME: u16 = libc::CTRL_ATTR_MCAST_GRP_NAME as u16;
/// `CTRL_ATTR_MCAST_GRP_ID` (u32).
const CTRL_ATTR_MCAST_GRP_ID: u16 = libc::CTRL_ATTR_MCAST_GRP_ID as u16;

/// `NLMSG_ERROR`.
const NLMSG_ERROR: u16 = libc::NLMSG_ERROR as u16;
/// `NLMSG_DONE`.
const NLMSG_DONE: u16 = libc::NLMSG_DONE as u16;
/// First message type that is not netlink control (`NLMSG_MIN_TYPE`).
const NLMSG_MIN_TYPE: u16 = libc::NLMSG_MIN_TYPE as u16;
/// Size of `struct nlmsghdr`.
const NLMSG_HDRLEN: usize = 16;
/// Size of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;
/// Size of `struct nlattr`.
const NLA_HDRLEN: usize = 4;
/// Bits of `nla_type` that are the type (no `NLA_F_NESTED`,
/// `NLA_F_NET_BYTEORDER`).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Bit of `nla_type` marking a nest (`NLA_F_NESTED`); strict validation
/// (the default of new generic netlink families) requires it on nests.
pub const NLA_F_NESTED: u16 = 0x8000;
/// Largest attribute, header included: `nla_len` is a u16.
pub const NLA_MAX_LEN: usize = u16::MAX as usize;

/// Receive buffer: larger than any skb a dump or multicast sends, and than
/// the error answer to a request of [`RawMsg`] size, which echoes the whole
/// request (up to one 64 KiB nest and a few attributes) and its extack.
const RECV_BUF: usize = 128 * 1024;
/// How long a request waits for the kernel's answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors of the netlink plumbing.
#[derive(Debug)]
pub enum Error {
    /// The kernel refused a request: errno and its extended ACK.
    Kernel {
        /// Positive errno.
        errno: i32,
        /// `NLMSGERR_ATTR_MSG`, if the kernel gave one.
        msg: Option<String>,
        /// `NLMSGERR_ATTR_OFFS`: offset of the offending attribute in the
        /// request, if the kernel gave one.
        offset: Option<u32>,
    },
    /// A socket system call failed.
    Io(io::Error),
    /// The kernel sent something this tool cannot parse.
    Malformed(String),
    /// The kernel did not answer a request in time.
    Timeout,
}

/// Result of the netlink plumbing.
pub type Result<T> = std::result::Result<T, Error>;

/// The text of `errno`, without Rust's " (os error N)" suffix.
pub fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Kernel { errno, msg, offset } => {
                write!(f, "kernel refused: {}", strerror(*errno))?;
                match (msg, offset) {
                    (Some(m), _) => write!(f, ": {m}"),
                    (None, Some(o)) => write!(f, " (attribute at offset {o} of the request)"),
                    (None, None) => Ok(()),
                }
            }
            Error::Io(e) => write!(f, "netlink: {e}"),
            Error::Malformed(m) => write!(f, "malformed netlink message: {m}"),
            Error::Timeout => write!(f, "netlink: no answer from the kernel"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// Rounds `len` up to the netlink alignment of 4 bytes.
pub fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// A list of netlink attributes: decoded from a message, or built for a
/// request.
///
/// Attributes keep their order; a getter returns the last one of its type,
/// as the kernel's `nla_parse` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttrMap {
    attrs: Vec<(u16, Vec<u8>)>,
}

impl AttrMap {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes a run of attributes (as after a `genlmsghdr`). Flag bits of
    /// the type (`NLA_F_NESTED`, `NLA_F_NET_BYTEORDER`) are dropped; bytes
    /// too short to be an attribute header at the end are ignored, like
    /// the kernel does.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut attrs = Vec::new();
        let mut pos = 0;
        while bytes.len() - pos >= NLA_HDRLEN {
            let len = u16::from_ne_bytes([bytes[pos], bytes[pos + 1]]) as usize;
            let ty = u16::from_ne_bytes([bytes[pos + 2], bytes[pos + 3]]) & NLA_TYPE_MASK;
            if len < NLA_HDRLEN || len > bytes.len() - pos {
                return Err(Error::Malformed(format!(
                    "attribute {ty} at offset {pos} has length {len}, {} bytes left",
                    bytes.len() - pos
                )));
            }
            attrs.push((ty, bytes[pos + NLA_HDRLEN..pos + len].to_vec()));
            pos = (pos + align4(len)).min(bytes.len());
        }
        Ok(Self { attrs })
    }

    /// Encodes the attributes, each padded to 4 bytes.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for (ty, data) in &self.attrs {
            let len = u16::try_from(NLA_HDRLEN + data.len()).map_err(|_| {
                Error::Malformed(format!("attribute {ty} too long ({} bytes)", data.len()))
            })?;
            out.extend_from_slice(&len.to_ne_bytes());
            out.extend_from_slice(&ty.to_ne_bytes());
            out.extend_from_slice(data);
            out.resize(align4(out.len()), 0);
        }
        Ok(out)
    }

    /// Appends an attribute of raw bytes.
    pub fn push(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        self.attrs.push((ty, data.to_vec()));
        self
    }

    /// Appends a u8 attribute.
    pub fn push_u8(&mut self, ty: u16, v: u8) -> &mut Self {
        self.push(ty, &[v])
    }

    /// Appends a u16 attribute (host byte order).
    #[allow(dead_code)] // For the subcommands of other families.
    pub fn push_u16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.push(ty, &v.to_ne_bytes())
    }

    /// Appends a u32 attribute (host byte order).
    pub fn push_u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.push(ty, &v.to_ne_bytes())
    }

    /// Appends a u64 attribute (host byte order; the kernel reads it
    /// unaligned, so no pad attribute is needed).
    pub fn push_u64(&mut self, ty: u16, v: u64) -> &mut Self {
        self.push(ty, &v.to_ne_bytes())
    }

    /// Appends a NUL-terminated string attribute.
    pub fn push_str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.push(ty, &v)
    }

    /// Whether there is no attribute.
    #[allow(dead_code)] // For the subcommands of other families.
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty()
    }

    /// The attributes, in order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &[u8])> {
        self.attrs.iter().map(|(t, d)| (*t, d.as_slice()))
    }

    /// Appends a nest of type `ty` (with `NLA_F_NESTED`) holding `inner`.
    pub fn push_nested(&mut self, ty: u16, inner: &AttrMap) -> Result<&mut Self> {
        let data = inner.encode()?;
        if NLA_HDRLEN + data.len() > NLA_MAX_LEN {
            return Err(Error::Malformed(format!(
                "nest {ty} too long ({} bytes)",
                data.len()
            )));
        }
        Ok(self.push(ty | NLA_F_NESTED, &data))
    }

    /// The payload of the last attribute of type `ty` (flag bits such as
    /// `NLA_F_NESTED` aside).
    pub fn get(&self, ty: u16) -> Option<&[u8]> {
        self.attrs
            .iter()
            .rev()
            .find(|(t, _)| *t & NLA_TYPE_MASK == ty)
            .map(|(_, d)| d.as_slice())
    }

    /// Whether an attribute of type `ty` is present.
    #[allow(dead_code)] // For the subcommands of other families.
    pub fn has(&self, ty: u16) -> bool {
        self.get(ty).is_some()
    }

    fn fixed<const N: usize>(&self, ty: u16) -> Result<Option<[u8; N]>> {
        match self.get(ty) {
            None => Ok(None),
            Some(d) => d.try_into().map(Some).map_err(|_| {
                Error::Malformed(format!(
                    "attribute {ty} has {} bytes, expected {N}",
                    d.len()
                ))
            }),
        }
    }

    /// Attribute `ty` as a u8.
    pub fn u8(&self, ty: u16) -> Result<Option<u8>> {
        Ok(self.fixed::<1>(ty)?.map(|b| b[0]))
    }

    /// Attribute `ty` as a u16 (host byte order).
    pub fn u16(&self, ty: u16) -> Result<Option<u16>> {
        Ok(self.fixed(ty)?.map(u16::from_ne_bytes))
    }

    /// Attribute `ty` as a u32 (host byte order).
    pub fn u32(&self, ty: u16) -> Result<Option<u32>> {
        Ok(self.fixed(ty)?.map(u32::from_ne_bytes))
    }

    /// Attribute `ty` as a u64 (host byte order).
    pub fn u64(&self, ty: u16) -> Result<Option<u64>> {
        Ok(self.fixed(ty)?.map(u64::from_ne_bytes))
    }

    /// Attribute `ty` as a string: up to the first NUL, invalid UTF-8
    /// replaced.
    pub fn string(&self, ty: u16) -> Option<String> {
        self.get(ty).map(|d| {
            let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
            String::from_utf8_lossy(&d[..end]).into_owned()
        })
    }

    /// Attribute `ty` decoded as nested attributes.
    pub fn nested(&self, ty: u16) -> Result<Option<AttrMap>> {
        self.get(ty).map(AttrMap::parse).transpose()
    }
}

/// One generic netlink message: header fields and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenlMsg {
    /// Family id (`nlmsg_type`).
    pub family: u16,
    /// Command.
    pub cmd: u8,
    /// Family version.
    pub version: u8,
    /// Netlink sequence number (0 for notifications).
    pub seq: u32,
    /// Sender port id (0: the kernel).
    pub pid: u32,
    /// Attributes.
    pub attrs: AttrMap,
}

/// Encodes a generic netlink payload: `genlmsghdr` and attributes.
pub fn encode_genl(cmd: u8, version: u8, attrs: &AttrMap) -> Result<Vec<u8>> {
    let mut v = vec![cmd, version, 0, 0];
    v.extend(attrs.encode()?);
    Ok(v)
}

/// Encodes a whole request message: `nlmsghdr` (through neli),
/// `genlmsghdr` and attributes.
pub fn encode_request(
    family: u16,
    flags: u16,
    seq: u32,
    pid: u32,
    cmd: u8,
    version: u8,
    attrs: &AttrMap,
) -> Result<Vec<u8>> {
    let payload = encode_genl(cmd, version, attrs)?;
    let msg = NlmsghdrBuilder::default()
        .nl_type(family)
        .nl_flags(NlmF::from(flags) | NlmF::REQUEST)
        .nl_seq(seq)
        .nl_pid(pid)
        .nl_payload(NlPayload::Payload(Buffer::from(payload.as_slice())))
        .build()
        .map_err(|e| Error::Malformed(e.to_string()))?;
    let mut cur = Cursor::new(Vec::new());
    msg.to_bytes(&mut cur)
        .map_err(|e| Error::Malformed(e.to_string()))?;
    Ok(cur.into_inner())
}

/// A request built in place: `nlmsghdr` and `genlmsghdr` reserved at the
/// front, attributes appended straight into one reusable buffer. For
/// requests too large or too many to go through [`AttrMap`] (a batch of
/// thousands of routes): no allocation per attribute, and the buffer is
/// kept from one message to the next. [`GenlSocket::request_raw`] fills
/// the `nlmsghdr` in and sends it.
#[derive(Debug, Clone, Default)]
pub struct RawMsg {
    buf: Vec<u8>,
}

impl RawMsg {
    /// An empty message buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a new message of command `cmd`, dropping the previous one
    /// (the allocation is kept).
    pub fn start(&mut self, cmd: u8, version: u8) {
        self.buf.clear();
        self.buf.resize(NLMSG_HDRLEN, 0);
        self.buf.extend_from_slice(&[cmd, version, 0, 0]);
    }

    /// Length of the message so far, `nlmsghdr` included: the offset the
    /// next attribute will have, as the kernel counts `NLMSGERR_ATTR_OFFS`.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no message was started.
    #[allow(dead_code)] // Pairs with len().
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends an attribute of raw bytes (at most `NLA_MAX_LEN - 4`).
    pub fn put(&mut self, ty: u16, data: &[u8]) {
        debug_assert!(NLA_HDRLEN + data.len() <= NLA_MAX_LEN);
        let len = (NLA_HDRLEN + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.buf.resize(align4(self.buf.len()), 0);
    }

    /// Appends a u8 attribute.
    pub fn put_u8(&mut self, ty: u16, v: u8) {
        self.put(ty, &[v]);
    }

    /// Appends a u32 attribute (host byte order).
    pub fn put_u32(&mut self, ty: u16, v: u32) {
        self.put(ty, &v.to_ne_bytes());
    }

    /// Opens a nest of type `ty` (with `NLA_F_NESTED`); returns its offset
    /// for [`RawMsg::nest_end`].
    pub fn nest_start(&mut self, ty: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        at
    }

    /// Closes the nest opened at `at`; an error if it outgrew `nla_len`.
    pub fn nest_end(&mut self, at: usize) -> Result<()> {
        let len = u16::try_from(self.buf.len() - at).map_err(|_| {
            Error::Malformed(format!(
                "nest of {} bytes, at most {NLA_MAX_LEN}",
                self.buf.len() - at
            ))
        })?;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        Ok(())
    }

    /// Fills the `nlmsghdr` in; returns the whole message.
    fn finish(&mut self, family: u16, flags: u16, seq: u32, pid: u32) -> Result<&[u8]> {
        let len = u32::try_from(self.buf.len())
            .map_err(|_| Error::Malformed("message too long".into()))?;
        if self.buf.len() < NLMSG_HDRLEN + GENL_HDRLEN {
            return Err(Error::Malformed("message not started".into()));
        }
        let flags = flags | libc::NLM_F_REQUEST as u16;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[4..6].copy_from_slice(&family.to_ne_bytes());
        self.buf[6..8].copy_from_slice(&flags.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf[12..16].copy_from_slice(&pid.to_ne_bytes());
        Ok(&self.buf)
    }

    /// The message as finished for `family`, `flags`, `seq`, `pid` (for
    /// tests: what [`GenlSocket::request_raw`] sends).
    #[cfg(test)]
    pub fn finished(&mut self, family: u16, flags: u16, seq: u32, pid: u32) -> Vec<u8> {
        self.finish(family, flags, seq, pid).unwrap().to_vec()
    }
}

/// What one netlink message of a datagram is.
#[derive(Debug)]
pub enum Frame {
    /// A generic netlink message.
    Data(GenlMsg),
    /// End of a dump, with the error that ended it, if any.
    Done {
        /// Sequence number of the request.
        seq: u32,
        /// The error the dump failed with.
        error: Option<Error>,
    },
    /// A positive ACK.
    Ack {
        /// Sequence number of the request.
        seq: u32,
    },
    /// An error answer (`NLMSG_ERROR` with a non-zero code).
    Err {
        /// Sequence number of the request.
        seq: u32,
        /// The error, with its extended ACK.
        error: Error,
    },
    /// Anything else (`NLMSG_NOOP`, `NLMSG_OVERRUN`).
    Other,
}

fn kernel_error(code: i32, ext_ack: &GenlBuffer<NlmsgerrAttr, Buffer>) -> Error {
    let mut msg = None;
    let mut offset = None;
    for attr in ext_ack.iter() {
        let data = attr.nla_payload().as_ref();
        match attr.nla_type().nla_type() {
            NlmsgerrAttr::Msg => {
                let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                msg = Some(String::from_utf8_lossy(&data[..end]).into_owned());
            }
            NlmsgerrAttr::Offset => {
                offset = <[u8; 4]>::try_from(data).ok().map(u32::from_ne_bytes);
            }
            _ => {}
        }
    }
    Error::Kernel {
        errno: code.saturating_abs(),
        msg,
        offset,
    }
}

/// Splits a received datagram into its netlink messages and classifies
/// them.
pub fn parse_datagram(buf: &[u8]) -> Result<Vec<Frame>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while buf.len() - pos >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]]) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() - pos {
            return Err(Error::Malformed(format!(
                "message at offset {pos} has length {len}, {} bytes left",
                buf.len() - pos
            )));
        }
        out.push(parse_message(&buf[pos..pos + len])?);
        pos = (pos + align4(len)).min(buf.len());
    }
    Ok(out)
}

/// Classifies one netlink message of exactly `nlmsg_len` bytes.
fn parse_message(bytes: &[u8]) -> Result<Frame> {
    let ty = u16::from_ne_bytes([bytes[4], bytes[5]]);
    let mut cur = Cursor::new(bytes);
    let msg = match Nlmsghdr::<u16, Buffer>::from_bytes(&mut cur) {
        Ok(m) => m,
        Err(e) => {
            // neli expects the request echoed whole in an error; should
            // the kernel have capped it, still report the errno.
            if ty == NLMSG_ERROR && bytes.len() >= NLMSG_HDRLEN + 4 {
                let seq = u32::from_ne_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
                let code = i32::from_ne_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
                if code != 0 {
                    return Ok(Frame::Err {
                        seq,
                        error: kernel_error(code, &GenlBuffer::new()),
                    });
                }
                return Ok(Frame::Ack { seq });
            }
            return Err(Error::Malformed(e.to_string()));
        }
    };
    let seq = *msg.nl_seq();
    let pid = *msg.nl_pid();
    Ok(match msg.nl_payload() {
        NlPayload::Ack(_) => Frame::Ack { seq },
        NlPayload::Err(e) => Frame::Err {
            seq,
            error: kernel_error(*e.error(), e.ext_ack()),
        },
        NlPayload::DumpExtAck(e) => Frame::Done {
            seq,
            error: (*e.error() != 0).then(|| kernel_error(*e.error(), e.ext_ack())),
        },
        NlPayload::Empty => {
            if ty == NLMSG_DONE {
                Frame::Done { seq, error: None }
            } else {
                Frame::Other
            }
        }
        NlPayload::Payload(p) => {
            let p = p.as_ref();
            if ty == NLMSG_DONE {
                let code = <[u8; 4]>::try_from(p.get(..4).unwrap_or(&[0; 4]))
                    .map(i32::from_ne_bytes)
                    .unwrap_or(0);
                Frame::Done {
                    seq,
                    error: (code != 0).then(|| kernel_error(code, &GenlBuffer::new())),
                }
            } else if ty < NLMSG_MIN_TYPE {
                Frame::Other
            } else {
                if p.len() < GENL_HDRLEN {
                    return Err(Error::Malformed(format!(
                        "generic netlink message of {} bytes",
                        p.len()
                    )));
                }
                Frame::Data(GenlMsg {
                    family: ty,
                    cmd: p[0],
                    version: p[1],
                    seq,
                    pid,
                    attrs: AttrMap::parse(&p[GENL_HDRLEN..])?,
                })
            }
        }
    })
}

/// A multicast group of a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McastGroup {
    /// Group name.
    pub name: String,
    /// Group id, for [`GenlSocket::subscribe`].
    pub id: u32,
}

/// A generic netlink family, as `nlctrl` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// Family name.
    pub name: String,
    /// Family id: the `nlmsg_type` of its messages.
    pub id: u16,
    /// Family version.
    pub version: u32,
    /// Multicast groups.
    pub groups: Vec<McastGroup>,
}

impl Family {
    /// Decodes an `nlctrl` `CTRL_CMD_NEWFAMILY` message.
    pub fn from_attrs(a: &AttrMap) -> Result<Self> {
        let id = a
            .u16(CTRL_ATTR_FAMILY_ID)?
            .ok_or_else(|| Error::Malformed("nlctrl reply without a family id".into()))?;
        let mut groups = Vec::new();
        if let Some(list) = a.nested(CTRL_ATTR_MCAST_GROUPS)? {
            for (_, g) in list.iter() {
                let g = AttrMap::parse(g)?;
                if let (Some(name), Some(id)) = (
                    g.string(CTRL_ATTR_MCAST_GRP_NAME),
                    g.u32(CTRL_ATTR_MCAST_GRP_ID)?,
                ) {
                    groups.push(McastGroup { name, id });
                }
            }
        }
        Ok(Family {
            name: a.string(CTRL_ATTR_FAMILY_NAME).unwrap_or_default(),
            id,
            version: a.u32(CTRL_ATTR_VERSION)?.unwrap_or(0),
            groups,
        })
    }

    /// Id of the multicast group `name`.
    pub fn group(&self, name: &str) -> Option<u32> {
        self.groups.iter().find(|g| g.name == name).map(|g| g.id)
    }
}

/// What [`GenlSocket::recv`] got.
#[derive(Debug)]
pub enum Received {
    /// A notification.
    Msg(GenlMsg),
    /// The receive queue overran: notifications were lost.
    Overrun,
    /// Nothing arrived in time.
    Timeout,
    /// A signal interrupted the wait.
    Interrupted,
}

/// Waits until `fd` is readable; `Ok(false)` on time-out.
fn poll_in(fd: i32, timeout: Option<Duration>) -> io::Result<bool> {
    let ms = match timeout {
        None => -1,
        // Round up, so a short wait does not become a busy loop.
        Some(d) => i32::try_from(d.as_micros().div_ceil(1000)).unwrap_or(i32::MAX),
    };
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid pollfd for the duration of the call.
    let r = unsafe { libc::poll(&mut pfd, 1, ms) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r > 0)
    }
}

/// A generic netlink socket.
pub struct GenlSocket {
    sock: NlSocket,
    pid: u32,
    seq: u32,
    buf: Vec<u8>,
    /// Notifications that arrived while a request waited for its answer.
    pending: VecDeque<GenlMsg>,
    /// Whether the queue overran while a request waited for its answer.
    overrun: bool,
}

impl GenlSocket {
    /// Opens a socket, with extended ACKs on.
    pub fn open() -> Result<Self> {
        let sock = NlSocket::connect(NlFamily::Generic, None, Groups::empty())?;
        sock.block()?;
        sock.enable_ext_ack(true)?;
        let pid = sock.pid()?;
        Ok(Self {
            sock,
            pid,
            seq: 0,
            buf: vec![0; RECV_BUF],
            pending: VecDeque::new(),
            overrun: false,
        })
    }

    /// Asks for a receive buffer of `bytes` (the kernel may cap it).
    pub fn set_recv_buffer(&self, bytes: usize) -> Result<()> {
        Ok(self.sock.set_recv_buffer_size(bytes)?)
    }

    /// Looks family `name` up; `None` if no such family is registered.
    pub fn resolve_family(&mut self, name: &str) -> Result<Option<Family>> {
        // GENL_NAMSIZ includes the NUL; nlctrl refuses longer names.
        if name.len() >= GENL_NAMSIZ {
            return Ok(None);
        }
        let mut attrs = AttrMap::new();
        attrs.push_str(CTRL_ATTR_FAMILY_NAME, name);
        match self.request(GENL_ID_CTRL, CTRL_VERSION, CTRL_CMD_GETFAMILY, &attrs, 0) {
            Ok(replies) => match replies.first() {
                Some(m) => Family::from_attrs(&m.attrs).map(Some),
                None => Ok(None),
            },
            Err(Error::Kernel { errno, .. }) if errno == libc::ENOENT => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every registered generic netlink family.
    pub fn families(&mut self) -> Result<Vec<Family>> {
        self.dump(
            GENL_ID_CTRL,
            CTRL_VERSION,
            CTRL_CMD_GETFAMILY,
            &AttrMap::new(),
        )?
        .iter()
        .map(|m| Family::from_attrs(&m.attrs))
        .collect()
    }

    /// Joins multicast group `group`.
    pub fn subscribe(&mut self, group: u32) -> Result<()> {
        Ok(self
            .sock
            .add_mcast_membership(Groups::new_groups(&[group]))?)
    }

    /// Sends a request and returns its replies. `flags` are extra
    /// `NLM_F_*` flags; with `NLM_F_DUMP` the replies run to `NLMSG_DONE`,
    /// without it an ACK is asked for and awaited.
    pub fn request(
        &mut self,
        family: u16,
        version: u8,
        cmd: u8,
        attrs: &AttrMap,
        flags: u16,
    ) -> Result<Vec<GenlMsg>> {
        let mut out = Vec::new();
        self.request_each::<Error>(family, version, cmd, attrs, flags, |m| {
            out.push(m);
            Ok(())
        })?;
        Ok(out)
    }

    /// A dump request: [`GenlSocket::request`] with `NLM_F_DUMP`.
    pub fn dump(
        &mut self,
        family: u16,
        version: u8,
        cmd: u8,
        attrs: &AttrMap,
    ) -> Result<Vec<GenlMsg>> {
        self.request(family, version, cmd, attrs, libc::NLM_F_DUMP as u16)
    }

    /// Like [`GenlSocket::request`], but hands each reply to `f` as it
    /// arrives (a dump of many records is not held in memory). An error
    /// of `f` stops the request; the rest of its answer is drained on the
    /// next request.
    pub fn request_each<E: From<Error>>(
        &mut self,
        family: u16,
        version: u8,
        cmd: u8,
        attrs: &AttrMap,
        flags: u16,
        f: impl FnMut(GenlMsg) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let (dump, flags) = Self::ack_flags(flags);
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let req = encode_request(family, flags, seq, self.pid, cmd, version, attrs)?;
        self.exchange(&req, seq, dump, f)
    }

    /// Like [`GenlSocket::request_each`], for a message built in place
    /// (the family id, flags, sequence number and port id are filled in
    /// here). `msg` is kept, so its buffer can be reused.
    pub fn request_raw<E: From<Error>>(
        &mut self,
        family: u16,
        msg: &mut RawMsg,
        flags: u16,
        f: impl FnMut(GenlMsg) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let (dump, flags) = Self::ack_flags(flags);
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let pid = self.pid;
        let req = msg.finish(family, flags, seq, pid)?;
        // Sent from the caller's buffer: `exchange` needs `self` mutably,
        // so the message goes out here.
        self.sock
            .send(req, Msg::empty())
            .map_err(|e| E::from(Error::Io(e)))?;
        self.collect(seq, dump, f)
    }

    /// Whether `flags` ask for a dump, and the flags with `NLM_F_ACK` added
    /// to a request that is not one.
    fn ack_flags(flags: u16) -> (bool, u16) {
        let dump = flags & libc::NLM_F_DUMP as u16 != 0;
        if dump {
            (true, flags)
        } else {
            (false, flags | libc::NLM_F_ACK as u16)
        }
    }

    /// Sends `req` (sequence number `seq`) and collects its answer.
    fn exchange<E: From<Error>>(
        &mut self,
        req: &[u8],
        seq: u32,
        dump: bool,
        f: impl FnMut(GenlMsg) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.sock
            .send(req, Msg::empty())
            .map_err(|e| E::from(Error::Io(e)))?;
        self.collect(seq, dump, f)
    }

    /// Collects the answer to request `seq`: replies to `f`, then the ACK
    /// (or `NLMSG_DONE` of a dump) or the error.
    fn collect<E: From<Error>>(
        &mut self,
        seq: u32,
        dump: bool,
        mut f: impl FnMut(GenlMsg) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Timeout.into());
            }
            let frames = match self.recv_frames(Some(left)) {
                Ok(Some(frames)) => frames,
                Ok(None) => continue,
                Err(e) => return Err(e.into()),
            };
            for frame in frames {
                match frame {
                    Frame::Data(m) if m.seq == seq && m.pid == self.pid => f(m)?,
                    // A notification, on a socket that also joined groups.
                    Frame::Data(m) if m.pid == 0 && m.seq == 0 => self.pending.push_back(m),
                    Frame::Err { seq: s, error } if s == seq => return Err(error.into()),
                    Frame::Ack { seq: s } if s == seq && !dump => return Ok(()),
                    Frame::Done { seq: s, error } if s == seq && dump => {
                        return match error {
                            Some(e) => Err(e.into()),
                            None => Ok(()),
                        };
                    }
                    // Answers to an earlier request that was abandoned.
                    _ => {}
                }
            }
        }
    }

    /// Receives one datagram and splits it into frames. `Ok(None)` if
    /// nothing came (time-out, signal) or the queue overran; an overrun is
    /// remembered and reported by the next [`GenlSocket::recv`].
    fn recv_frames(&mut self, timeout: Option<Duration>) -> Result<Option<Vec<Frame>>> {
        match poll_in(self.sock.as_raw_fd(), timeout) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        match self.sock.recv(&mut self.buf[..], Msg::TRUNC) {
            Ok((n, _)) if n > self.buf.len() => Err(Error::Malformed(format!(
                "datagram of {n} bytes truncated to {}",
                self.buf.len()
            ))),
            Ok((n, _)) => parse_datagram(&self.buf[..n]).map(Some),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                self.overrun = true;
                Ok(None)
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR) | Some(libc::EAGAIN)) => {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Receives the next notification of the groups joined, waiting at
    /// most `timeout` (forever if `None`).
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Received> {
        loop {
            if self.overrun {
                self.overrun = false;
                return Ok(Received::Overrun);
            }
            if let Some(m) = self.pending.pop_front() {
                return Ok(Received::Msg(m));
            }
            match poll_in(self.sock.as_raw_fd(), timeout) {
                Ok(false) => return Ok(Received::Timeout),
                Ok(true) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {
                    return Ok(Received::Interrupted)
                }
                Err(e) => return Err(e.into()),
            }
            if let Some(frames) = self.recv_frames(Some(Duration::ZERO))? {
                for frame in frames {
                    if let Frame::Data(m) = frame {
                        if m.pid == 0 {
                            self.pending.push_back(m);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Hand-built attribute: header in host order, payload, padding.
    pub(crate) fn attr(ty: u16, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(data);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    fn nlmsg(ty: u16, flags: u16, seq: u32, pid: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&pid.to_ne_bytes());
        v.extend_from_slice(payload);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn encode_matches_hand_built_bytes() {
        let mut a = AttrMap::new();
        a.push_u8(5, 3)
            .push_u16(6, 0x1234)
            .push_u32(7, 0xdead_beef)
            .push_u64(2, 0x0102_0304_0506_0708)
            .push_str(8, "hi")
            .push(9, &[1, 2, 3, 4, 5]);
        let mut want = Vec::new();
        want.extend(attr(5, &[3]));
        want.extend(attr(6, &0x1234u16.to_ne_bytes()));
        want.extend(attr(7, &0xdead_beefu32.to_ne_bytes()));
        want.extend(attr(2, &0x0102_0304_0506_0708u64.to_ne_bytes()));
        want.extend(attr(8, b"hi\0"));
        want.extend(attr(9, &[1, 2, 3, 4, 5]));
        let got = a.encode().unwrap();
        assert_eq!(got, want);
        assert_eq!(got.len() % 4, 0);
        // u8 attribute: 5 bytes, padded to 8.
        assert_eq!(&got[..8], &[5, 0, 5, 0, 3, 0, 0, 0][..]);
    }

    #[test]
    fn nested_attributes() {
        let mut inner = AttrMap::new();
        inner.push_u8(4, 24);
        let mut a = AttrMap::new();
        a.push_nested(20, &inner).unwrap();
        // The nest carries NLA_F_NESTED on the wire, and is found by its
        // type alone in the list built and in the list parsed.
        assert_eq!(
            a.encode().unwrap(),
            attr(20 | NLA_F_NESTED, &attr(4, &[24]))
        );
        assert_eq!(a.nested(20).unwrap(), Some(inner.clone()));
        let back = AttrMap::parse(&a.encode().unwrap()).unwrap();
        assert_eq!(back.nested(20).unwrap(), Some(inner));
        let mut big = AttrMap::new();
        big.push(1, &[0; NLA_MAX_LEN - 4]);
        assert!(AttrMap::new().push_nested(2, &big).is_err());
    }

    #[test]
    fn decode_hand_built_bytes_and_round_trip() {
        let mut bytes = Vec::new();
        bytes.extend(attr(1, &[0; 0])); // pad attribute, as nla_put_64bit emits
        bytes.extend(attr(2, &42u64.to_ne_bytes()));
        bytes.extend(attr(6 | 0x8000, b"kern\0")); // flag bits are masked
        bytes.extend(attr(7, &9u32.to_ne_bytes()));
        bytes.extend(attr(7, &10u32.to_ne_bytes())); // last one wins
        let m = AttrMap::parse(&bytes).unwrap();
        assert_eq!(m.u64(2).unwrap(), Some(42));
        assert_eq!(m.string(6).as_deref(), Some("kern"));
        assert_eq!(m.u32(7).unwrap(), Some(10));
        assert_eq!(m.u32(99).unwrap(), None);
        assert!(m.u32(2).is_err(), "wrong width must be an error");
        assert!(m.has(1));
        // Re-encoding our own decode gives the same bytes back (flag bits
        // aside).
        let again = AttrMap::parse(&m.encode().unwrap()).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn decode_rejects_bad_length() {
        let mut bytes = attr(2, &42u64.to_ne_bytes());
        bytes[0] = 40; // longer than the buffer
        assert!(AttrMap::parse(&bytes).is_err());
        bytes[0] = 2; // shorter than the header
        assert!(AttrMap::parse(&bytes).is_err());
        // Trailing bytes shorter than a header are ignored.
        let mut ok = attr(5, &[1]);
        ok.extend([0, 0]);
        assert_eq!(AttrMap::parse(&ok).unwrap().u8(5).unwrap(), Some(1));
    }

    #[test]
    fn nested_family_reply() {
        let mut g1 = Vec::new();
        g1.extend(attr(CTRL_ATTR_MCAST_GRP_NAME, b"events\0"));
        g1.extend(attr(CTRL_ATTR_MCAST_GRP_ID, &37u32.to_ne_bytes()));
        let groups = attr(1 | 0x8000, &g1);
        let mut a = Vec::new();
        a.extend(attr(CTRL_ATTR_FAMILY_ID, &28u16.to_ne_bytes()));
        a.extend(attr(CTRL_ATTR_FAMILY_NAME, b"cgl_core\0"));
        a.extend(attr(CTRL_ATTR_VERSION, &1u32.to_ne_bytes()));
        a.extend(attr(CTRL_ATTR_MCAST_GROUPS | 0x8000, &groups));
        let f = Family::from_attrs(&AttrMap::parse(&a).unwrap()).unwrap();
        assert_eq!(f.name, "cgl_core");
        assert_eq!(f.id, 28);
        assert_eq!(f.version, 1);
        assert_eq!(f.group("events"), Some(37));
        assert_eq!(f.group("nope"), None);
    }

    #[test]
    fn request_encoding() {
        let mut a = AttrMap::new();
        a.push_u32(14, 4096);
        let req = encode_request(28, 0x300, 7, 1234, 5, 1, &a).unwrap();
        let mut want = vec![5u8, 1, 0, 0];
        want.extend(attr(14, &4096u32.to_ne_bytes()));
        assert_eq!(req, nlmsg(28, 0x301, 7, 1234, &want));
    }

    #[test]
    fn data_and_done_frames() {
        let mut p = vec![2u8, 1, 0, 0];
        p.extend(attr(2, &5u64.to_ne_bytes()));
        let mut dg = nlmsg(28, 2, 9, 77, &p);
        dg.extend(nlmsg(NLMSG_DONE, 2, 9, 77, &0i32.to_ne_bytes()));
        let frames = parse_datagram(&dg).unwrap();
        assert_eq!(frames.len(), 2);
        match &frames[0] {
            Frame::Data(m) => {
                assert_eq!(
                    (m.family, m.cmd, m.version, m.seq, m.pid),
                    (28, 2, 1, 9, 77)
                );
                assert_eq!(m.attrs.u64(2).unwrap(), Some(5));
            }
            f => panic!("{f:?}"),
        }
        assert!(matches!(
            frames[1],
            Frame::Done {
                seq: 9,
                error: None
            }
        ));
    }

    #[test]
    fn error_with_extack() {
        // NLMSG_ERROR: errno, the request echoed whole, then the extack.
        let req = encode_request(28, 0, 3, 55, 5, 1, AttrMap::new().push_u32(14, 1)).unwrap();
        let mut p = (-libc::EINVAL).to_ne_bytes().to_vec();
        p.extend(&req);
        p.extend(attr(1, b"ring size out of range\0"));
        p.extend(attr(2, &20u32.to_ne_bytes()));
        let dg = nlmsg(NLMSG_ERROR, 0x100, 3, 55, &p);
        let frames = parse_datagram(&dg).unwrap();
        let Frame::Err { seq, error } = &frames[0] else {
            panic!("{frames:?}");
        };
        assert_eq!(*seq, 3);
        match error {
            Error::Kernel { errno, msg, offset } => {
                assert_eq!(*errno, libc::EINVAL);
                assert_eq!(msg.as_deref(), Some("ring size out of range"));
                assert_eq!(*offset, Some(20));
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(
            error.to_string(),
            "kernel refused: Invalid argument: ring size out of range"
        );
    }

    #[test]
    fn error_without_extack_and_ack() {
        let req = encode_request(28, 0, 4, 55, 3, 1, &AttrMap::new()).unwrap();
        let mut p = (-libc::EPERM).to_ne_bytes().to_vec();
        p.extend(&req);
        let mut dg = nlmsg(NLMSG_ERROR, 0, 4, 55, &p);
        // A positive ACK: code 0 and the request header only (capped).
        let mut ack = 0i32.to_ne_bytes().to_vec();
        ack.extend(&req[..16]);
        dg.extend(nlmsg(NLMSG_ERROR, 0x100, 5, 55, &ack));
        let frames = parse_datagram(&dg).unwrap();
        match &frames[0] {
            Frame::Err { error, .. } => {
                assert_eq!(error.to_string(), "kernel refused: Operation not permitted")
            }
            f => panic!("{f:?}"),
        }
        assert!(matches!(frames[1], Frame::Ack { seq: 5 }));
    }

    #[test]
    fn dump_done_with_extack() {
        let mut p = (-libc::ENODEV).to_ne_bytes().to_vec();
        p.extend(attr(1, b"core gone\0"));
        let dg = nlmsg(NLMSG_DONE, 2, 8, 55, &p);
        match &parse_datagram(&dg).unwrap()[0] {
            Frame::Done {
                seq: 8,
                error: Some(Error::Kernel { errno, msg, .. }),
            } => {
                assert_eq!(*errno, libc::ENODEV);
                assert_eq!(msg.as_deref(), Some("core gone"));
            }
            f => panic!("{f:?}"),
        }
    }

    #[test]
    fn truncated_datagram_is_an_error() {
        let mut dg = nlmsg(28, 0, 1, 0, &[1, 1, 0, 0]);
        dg.truncate(18);
        dg[0] = 40;
        assert!(parse_datagram(&dg).is_err());
    }

    /// [`RawMsg`] and [`GenlSocket::request_raw`] against the running
    /// kernel's `nlctrl`: a request and its reply, then a refused request
    /// of nearly 64 KiB, whose error echoes it whole with the extack (more
    /// than 64 KiB to receive), and the socket still in step after it.
    #[test]
    fn live_raw_requests() {
        let Ok(mut sock) = GenlSocket::open() else {
            eprintln!("no netlink socket: skipped");
            return;
        };
        let mut m = RawMsg::new();
        m.start(CTRL_CMD_GETFAMILY, CTRL_VERSION);
        m.put(CTRL_ATTR_FAMILY_NAME, b"nlctrl\0");
        let mut got = Vec::new();
        sock.request_raw::<Error>(GENL_ID_CTRL, &mut m, 0, |r| {
            got.push(r);
            Ok(())
        })
        .unwrap();
        assert_eq!(Family::from_attrs(&got[0].attrs).unwrap().id, GENL_ID_CTRL);

        m.start(CTRL_CMD_GETFAMILY, CTRL_VERSION);
        let mut long = vec![b'x'; NLA_MAX_LEN - 8];
        long.push(0);
        m.put(CTRL_ATTR_FAMILY_NAME, &long);
        assert!(m.len() > 65000);
        match sock.request_raw::<Error>(GENL_ID_CTRL, &mut m, 0, |_| Ok(())) {
            Err(Error::Kernel { errno, msg, offset }) => {
                assert!(errno == libc::EINVAL || errno == libc::ERANGE, "{errno}");
                eprintln!("extack: {msg:?} at {offset:?}");
            }
            r => panic!("{r:?}"),
        }
        assert!(sock.resolve_family("nlctrl").unwrap().is_some());
    }

    /// Against the running kernel's `nlctrl`, where netlink is available
    /// (it is on any Linux host; the test passes vacuously elsewhere).
    #[test]
    fn live_nlctrl() {
        let Ok(mut sock) = GenlSocket::open() else {
            eprintln!("no netlink socket: skipped");
            return;
        };
        let ctrl = sock.resolve_family("nlctrl").unwrap().unwrap();
        assert_eq!(ctrl.id, GENL_ID_CTRL);
        let notify = ctrl.group("notify").unwrap();
        assert_eq!(sock.resolve_family("nosuchfam_cgl").unwrap(), None);
        assert_eq!(sock.resolve_family("name_longer_than_15").unwrap(), None);
        let all = sock.families().unwrap();
        assert!(all
            .iter()
            .any(|f| f.name == "nlctrl" && f.id == GENL_ID_CTRL));
        // A family id of the wrong width: refused by the policy, with an
        // extended ACK message.
        let mut bad = AttrMap::new();
        bad.push_u8(CTRL_ATTR_FAMILY_ID, 1);
        match sock.request(GENL_ID_CTRL, CTRL_VERSION, CTRL_CMD_GETFAMILY, &bad, 0) {
            Err(Error::Kernel { errno, msg, offset }) => {
                assert!(errno == libc::EINVAL || errno == libc::ERANGE, "{errno}");
                eprintln!("extack: {msg:?} at {offset:?}");
            }
            r => panic!("{r:?}"),
        }
        // Still in step after an error.
        assert!(sock.resolve_family("nlctrl").unwrap().is_some());
        let mut mc = GenlSocket::open().unwrap();
        mc.subscribe(notify).unwrap();
        assert!(matches!(
            mc.recv(Some(Duration::from_millis(20))).unwrap(),
            Received::Timeout
        ));
    }
}
