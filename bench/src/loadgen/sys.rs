//! The two system calls mio does not offer: a TCP connect from a chosen source address,
//! and a timer finer than epoll's millisecond. All of the load generator's `unsafe` is here.
//!
//! Source addresses: one client IP has about 28 000 ephemeral ports towards one server
//! port, so large runs spread their sockets over 127.0.0.1, 127.0.0.2, … (every 127/8
//! address is local on Linux). mio 1 dropped `TcpSocket`, so the socket is made by hand:
//! non-blocking, `IP_BIND_ADDRESS_NO_PORT` (the port is chosen at connect, per 4-tuple,
//! instead of reserved at bind), `TCP_NODELAY`, bind, connect, then handed to mio.
//!
//! Timer: `mio::Poll::poll` rounds its timeout up to whole milliseconds, which would make
//! every post up to a millisecond late. A `timerfd` armed to the next due post wakes the
//! loop to the microsecond.

use std::io;
use std::mem::size_of;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Starts a non-blocking TCP connect from `source` (port chosen by the kernel) to `dest`.
/// The connect completes later: the stream turns writable, then `take_error` says how it went.
pub fn connect_from(source: Option<Ipv4Addr>, dest: SocketAddr) -> io::Result<mio::net::TcpStream> {
    let SocketAddr::V4(dest) = dest else {
        // IPv6 servers: no source spreading, mio's own connect.
        return mio::net::TcpStream::connect(dest);
    };
    // SAFETY: plain integer arguments; the result is checked below.
    let raw = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a descriptor socket() just returned, owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    set_int_option(&fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)?;
    if let Some(source) = source {
        set_int_option(&fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1)?;
        let local = sockaddr_in(source, 0);
        // SAFETY: `local` is a valid sockaddr_in and the length passed is its size.
        let bound = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const local).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if bound != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let remote = sockaddr_in(*dest.ip(), dest.port());
    // SAFETY: `remote` is a valid sockaddr_in and the length passed is its size.
    let connected = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&raw const remote).cast::<libc::sockaddr>(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if connected != 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(error);
        }
    }
    Ok(mio::net::TcpStream::from_std(std::net::TcpStream::from(fd)))
}

/// A monotonic one-shot timer whose descriptor turns readable when it fires.
#[derive(Debug)]
pub struct TimerFd {
    fd: OwnedFd,
}

impl TimerFd {
    /// A disarmed timer.
    pub fn new() -> io::Result<TimerFd> {
        // SAFETY: plain integer arguments; the result is checked below.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor timerfd_create just returned, owned by nobody else.
        Ok(TimerFd {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        })
    }

    /// Fires once after `delay` (at least a nanosecond: zero would disarm it).
    pub fn arm_after(&self, delay: Duration) -> io::Result<()> {
        let delay = delay.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: delay.as_secs() as libc::time_t,
                tv_nsec: delay.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: `spec` is a valid itimerspec; a null old-value pointer is allowed.
        let result =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if result == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Clears the readable state after the timer fired (no-op if it did not).
    pub fn drain(&self) {
        let mut expirations = 0u64;
        // SAFETY: reads at most 8 bytes into the 8-byte integer; a non-blocking timerfd
        // that has not fired returns EAGAIN, which is fine to ignore.
        unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&raw mut expirations).cast::<libc::c_void>(),
                size_of::<u64>(),
            )
        };
    }

    /// The descriptor, to register with mio.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

fn sockaddr_in(ip: Ipv4Addr, port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(ip.octets()),
        },
        sin_zero: [0; 8],
    }
}

fn set_int_option(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is a live c_int and the length passed is its size.
    let result = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast::<libc::c_void>(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::time::Instant;

    #[test]
    fn a_connect_from_another_loopback_address_arrives_from_it() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let source = Ipv4Addr::new(127, 0, 0, 3);
        let stream = connect_from(Some(source), addr).unwrap();
        let (mut accepted, peer) = listener.accept().unwrap();
        assert_eq!(peer.ip(), std::net::IpAddr::V4(source));
        // Wait for the non-blocking connect to finish, then talk.
        let deadline = Instant::now() + Duration::from_secs(5);
        while stream.peer_addr().is_err() {
            assert!(Instant::now() < deadline, "connect did not complete");
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut std_stream = std::net::TcpStream::from(OwnedFd::from(stream));
        std_stream.set_nonblocking(false).unwrap();
        std_stream.write_all(b"ping").unwrap();
        let mut got = [0u8; 4];
        accepted.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
    }

    #[test]
    fn the_timer_fires_after_its_delay_not_before() {
        let timer = TimerFd::new().unwrap();
        let start = Instant::now();
        timer.arm_after(Duration::from_micros(1500)).unwrap();
        let mut pollfd = libc::pollfd {
            fd: timer.raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, count 1.
        let ready = unsafe { libc::poll(&raw mut pollfd, 1, 1000) };
        assert_eq!(ready, 1);
        assert!(start.elapsed() >= Duration::from_micros(1500));
        timer.drain();
        // SAFETY: as above, no waiting.
        let again = unsafe { libc::poll(&raw mut pollfd, 1, 0) };
        assert_eq!(again, 0, "drained");
    }
}
