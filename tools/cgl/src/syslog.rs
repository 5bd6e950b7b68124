// SPDX-License-Identifier: GPL-2.0

//! Forwarding records as RFC 5424 syslog messages, over UDP (one datagram
//! per message) or TCP (RFC 6587 octet counting, reconnecting with
//! backoff).

use std::io::{self, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::event::{rfc3339_micros, Record};

/// Facility of every message: local0.
pub const FACILITY_LOCAL0: u8 = 16;
/// Private enterprise number of the structured data id (`cgl@32473`;
/// 32473 is the number RFC 5612 reserves for documentation).
pub const SD_ID: &str = "cgl@32473";
/// APP-NAME of every message.
pub const APP_NAME: &str = "cgl";

/// Escapes an SD-PARAM value: `"`, `\` and `]` get a backslash
/// (RFC 5424, section 6.3.3).
pub fn escape_sd_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A header field (HOSTNAME, MSGID): printable US-ASCII without spaces,
/// at most `max` characters, `-` (the NILVALUE) if empty.
pub fn header_field(s: &str, max: usize) -> String {
    let v: String = s
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .take(max)
        .collect();
    if v.is_empty() {
        "-".into()
    } else {
        v
    }
}

/// PRI of a record: facility local0 and the record's severity.
pub fn pri(severity: u8) -> u8 {
    FACILITY_LOCAL0 * 8 + (severity & 7)
}

/// Formats a record as an RFC 5424 message:
/// `<PRI>1 TIMESTAMP HOSTNAME cgl - SUBSYS [cgl@32473 seq="N" subsys="S"
/// id="N" mono_ns="N"] MSG` (no BOM; no MSG part if the message is empty).
pub fn format_record(r: &Record, hostname: &str) -> String {
    let mut s = format!(
        "<{}>1 {} {} {} - {} [{} seq=\"{}\" subsys=\"{}\" id=\"{}\" mono_ns=\"{}\"]",
        pri(r.severity),
        rfc3339_micros(r.real_ns),
        header_field(hostname, 255),
        APP_NAME,
        header_field(&r.subsys, 32),
        SD_ID,
        r.seq,
        escape_sd_value(&r.subsys),
        r.id,
        r.mono_ns
    );
    if !r.msg.is_empty() {
        s.push(' ');
        s.push_str(&r.msg);
    }
    s
}

/// Formats the report of `n` lost records (severity warning, MSGID
/// `lost`, time `now_ns`).
pub fn format_lost(n: u64, now_ns: u64, hostname: &str) -> String {
    format!(
        "<{}>1 {} {} {} - lost [{} lost=\"{n}\"] {n} records lost (overwritten before read)",
        pri(4),
        rfc3339_micros(now_ns),
        header_field(hostname, 255),
        APP_NAME,
        SD_ID
    )
}

/// RFC 6587 octet-counting framing: `LEN SP MSG`.
pub fn octet_frame(msg: &str) -> Vec<u8> {
    let mut v = format!("{} ", msg.len()).into_bytes();
    v.extend_from_slice(msg.as_bytes());
    v
}

/// Nanoseconds since the epoch, now.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Where to send syslog messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `udp://HOST:PORT`.
    Udp(String),
    /// `tcp://HOST:PORT`.
    Tcp(String),
}

/// Parses `udp://HOST:PORT` or `tcp://HOST:PORT` (IPv6 as `[ADDR]:PORT`).
pub fn parse_target(s: &str) -> Result<Target, String> {
    let (scheme, rest) = s
        .split_once("://")
        .ok_or_else(|| format!("'{s}': expected udp://HOST:PORT or tcp://HOST:PORT"))?;
    let rest = rest.trim_end_matches('/');
    let port_ok = rest
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
    if !port_ok {
        return Err(format!("'{s}': expected HOST:PORT after {scheme}://"));
    }
    match scheme {
        "udp" => Ok(Target::Udp(rest.into())),
        "tcp" => Ok(Target::Tcp(rest.into())),
        _ => Err(format!("'{s}': scheme must be udp or tcp")),
    }
}

/// Longest wait between reconnection attempts.
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// First wait between reconnection attempts.
const BACKOFF_MIN: Duration = Duration::from_millis(100);

/// A connection to a syslog collector.
pub struct Sink {
    target: Target,
    udp: Option<UdpSocket>,
    tcp: Option<TcpStream>,
}

impl Sink {
    /// Opens the sink; a TCP collector that is not up yet is connected
    /// to on the first send.
    pub fn open(target: Target) -> io::Result<Self> {
        let mut sink = Sink {
            target,
            udp: None,
            tcp: None,
        };
        if let Target::Udp(addr) = &sink.target {
            let a = resolve(addr)?;
            let bind = if a.is_ipv6() { "[::]:0" } else { "0.0.0.0:0" };
            let s = UdpSocket::bind(bind)?;
            s.connect(a)?;
            sink.udp = Some(s);
        }
        Ok(sink)
    }

    /// Sends one message. Over TCP, a failed connection or write is
    /// retried with backoff until it succeeds or `stop` is set (then
    /// `Ok(false)`: the message was not sent).
    pub fn send(&mut self, msg: &str, stop: &AtomicBool) -> io::Result<bool> {
        match &self.target {
            Target::Udp(_) => {
                if let Some(s) = &self.udp {
                    // A collector that is down makes the next send fail
                    // with ECONNREFUSED; syslog over UDP is lossy anyway.
                    match s.send(msg.as_bytes()) {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(true)
            }
            Target::Tcp(addr) => {
                let addr = addr.clone();
                let frame = octet_frame(msg);
                let mut backoff = BACKOFF_MIN;
                let mut warned = false;
                loop {
                    if self.tcp.is_none() {
                        match resolve(&addr)
                            .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(5)))
                        {
                            Ok(s) => {
                                let _ = s.set_nodelay(true);
                                let _ = s.set_write_timeout(Some(Duration::from_secs(10)));
                                if warned {
                                    eprintln!("cgl-ctl: syslog collector {addr}: reconnected");
                                }
                                self.tcp = Some(s);
                            }
                            Err(e) => {
                                if !warned {
                                    eprintln!("cgl-ctl: syslog collector {addr}: {e}; retrying");
                                    warned = true;
                                }
                            }
                        }
                    }
                    if let Some(s) = &mut self.tcp {
                        match s.write_all(&frame).and_then(|_| s.flush()) {
                            Ok(()) => return Ok(true),
                            Err(e) => {
                                self.tcp = None;
                                if !warned {
                                    eprintln!(
                                        "cgl-ctl: syslog collector {addr}: {e}; reconnecting"
                                    );
                                    warned = true;
                                }
                            }
                        }
                    }
                    if !sleep_unless(backoff, stop) {
                        return Ok(false);
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }
}

/// Sleeps `d` in short steps; `false` if `stop` got set.
fn sleep_unless(d: Duration, stop: &AtomicBool) -> bool {
    let step = Duration::from_millis(50);
    let mut left = d;
    while !left.is_zero() {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let s = left.min(step);
        std::thread::sleep(s);
        left -= s;
    }
    !stop.load(Ordering::Relaxed)
}

fn resolve(addr: &str) -> io::Result<std::net::SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{addr}: no address found")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    fn rec() -> Record {
        Record {
            seq: 42,
            mono_ns: 123_456_789,
            real_ns: 1_700_000_000_123_456_789,
            severity: 3,
            subsys: "fib".into(),
            id: 7,
            msg: "route flap on eth0".into(),
            payload: None,
        }
    }

    #[test]
    fn rfc5424_record() {
        assert_eq!(
            format_record(&rec(), "node1"),
            "<131>1 2023-11-14T22:13:20.123456Z node1 cgl - fib \
             [cgl@32473 seq=\"42\" subsys=\"fib\" id=\"7\" mono_ns=\"123456789\"] \
             route flap on eth0"
        );
    }

    #[test]
    fn pri_per_severity() {
        assert_eq!(pri(0), 128);
        assert_eq!(pri(7), 135);
        let mut r = rec();
        r.severity = 6;
        assert!(format_record(&r, "h").starts_with("<134>1 "));
    }

    #[test]
    fn sd_escaping_and_header_fields() {
        assert_eq!(escape_sd_value(r#"a"b\c]d"#), r#"a\"b\\c\]d"#);
        assert_eq!(escape_sd_value("plain [x]"), "plain [x\\]");
        let mut r = rec();
        r.subsys = "we]ird \"s\"".into();
        r.msg = String::new();
        let s = format_record(&r, "my host");
        assert_eq!(
            s,
            "<131>1 2023-11-14T22:13:20.123456Z my_host cgl - we]ird_\"s\" \
             [cgl@32473 seq=\"42\" subsys=\"we\\]ird \\\"s\\\"\" id=\"7\" mono_ns=\"123456789\"]"
        );
        assert_eq!(header_field("", 32), "-");
        assert_eq!(header_field(&"x".repeat(40), 32).len(), 32);
    }

    #[test]
    fn lost_message() {
        assert_eq!(
            format_lost(3, 0, "h"),
            "<132>1 1970-01-01T00:00:00.000000Z h cgl - lost [cgl@32473 lost=\"3\"] \
             3 records lost (overwritten before read)"
        );
    }

    #[test]
    fn octet_counting() {
        assert_eq!(octet_frame("abc"), b"3 abc".to_vec());
        assert_eq!(octet_frame(""), b"0 ".to_vec());
        // Length counts octets, not characters.
        assert_eq!(octet_frame("é"), "2 é".as_bytes().to_vec());
    }

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("udp://127.0.0.1:514"),
            Ok(Target::Udp("127.0.0.1:514".into()))
        );
        assert_eq!(
            parse_target("tcp://[::1]:6514"),
            Ok(Target::Tcp("[::1]:6514".into()))
        );
        assert!(parse_target("127.0.0.1:514").is_err());
        assert!(parse_target("http://h:1").is_err());
        assert!(parse_target("udp://h").is_err());
        assert!(parse_target("udp://:514").is_err());
    }

    #[test]
    fn tcp_sink_frames_on_loopback() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let stop = AtomicBool::new(false);
        let mut sink = Sink::open(Target::Tcp(addr.to_string())).unwrap();
        assert!(sink.send("hello", &stop).unwrap());
        assert!(sink.send("world!", &stop).unwrap());
        drop(sink);
        let (mut c, _) = l.accept().unwrap();
        let mut got = String::new();
        c.read_to_string(&mut got).unwrap();
        assert_eq!(got, "5 hello6 world!");
    }

    #[test]
    fn udp_sink_one_datagram_per_message() {
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        u.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let stop = AtomicBool::new(false);
        let mut sink = Sink::open(Target::Udp(u.local_addr().unwrap().to_string())).unwrap();
        assert!(sink.send("one", &stop).unwrap());
        assert!(sink.send("two", &stop).unwrap());
        let mut buf = [0u8; 64];
        let n = u.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"one");
        let n = u.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"two");
    }

    #[test]
    fn tcp_sink_gives_up_when_stopped() {
        // A port nobody listens on: bind, note the port, close.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let stop = AtomicBool::new(true);
        let mut sink = Sink::open(Target::Tcp(format!("127.0.0.1:{port}"))).unwrap();
        assert!(!sink.send("x", &stop).unwrap());
    }
}
