//! The UDP system calls of a core's voice socket: bind, and datagrams in and out by the
//! batch (`recvmmsg(2)`, `sendmmsg(2)`), each wrapped in a safe function.
//!
//! Why batches: voice is many small datagrams (an Opus frame every 20 ms per speaker, times
//! every listener the SFU forwards it to). One system call per datagram would cost more than
//! the forwarding itself; one per batch of `DATAGRAM_BATCH` does not.
//!
//! Like `sys.rs` (whose rules it follows: every block is one libc call whose pointers come
//! from live Rust values on the same lines), it keeps no state and never allocates: the
//! message headers and I/O vectors are arrays on the stack, the datagram bytes live in
//! buffers the caller owns and reuses.
//!
//! Invariants:
//! - Nothing here blocks: every call passes `MSG_DONTWAIT`, so the socket's own blocking
//!   mode (io_uring wants blocking descriptors) does not matter.
//! - A slot of `DatagramSlots` holds at most `DATAGRAM_SLOT_BYTES`; a longer datagram is
//!   reported truncated, never overruns its slot.
#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::sys::sockaddr_from;

/// Datagrams one `recvmmsg` or `sendmmsg` call carries at most.
pub(crate) const DATAGRAM_BATCH: usize = 32;

/// Bytes of one receive slot: more than an Ethernet MTU (1,500), so every datagram that
/// crossed the Internet unfragmented fits; a longer one arrives truncated and is dropped.
pub(crate) const DATAGRAM_SLOT_BYTES: usize = 2048;

/// A UDP socket bound to `addr` (no `SO_REUSEPORT`: the port is this core's alone).
pub(crate) fn bind_udp(addr: SocketAddr) -> io::Result<OwnedFd> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain integer arguments.
    let fd = unsafe { libc::socket(domain, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by a successful socket call; nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let (storage, len) = sockaddr_from(addr);
    // SAFETY: `storage` is a sockaddr_storage holding a valid sockaddr of `len` bytes.
    let rc = unsafe { libc::bind(fd.as_raw_fd(), (&raw const storage).cast(), len) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// Reused receive buffers: `DATAGRAM_BATCH` slots of `DATAGRAM_SLOT_BYTES`, with the
/// sender and length of what the last `recv_datagrams` put in each.
pub(crate) struct DatagramSlots {
    bytes: Box<[u8]>,
    received: [(usize, Option<SocketAddr>, bool); DATAGRAM_BATCH],
}

impl DatagramSlots {
    pub(crate) fn new() -> DatagramSlots {
        DatagramSlots {
            bytes: vec![0; DATAGRAM_BATCH * DATAGRAM_SLOT_BYTES].into_boxed_slice(),
            received: [(0, None, false); DATAGRAM_BATCH],
        }
    }

    /// Datagram `index` of the last receive: its sender (`None` if the kernel gave an
    /// address family we do not speak), its bytes, and whether it was truncated.
    pub(crate) fn get(&self, index: usize) -> (Option<SocketAddr>, &[u8], bool) {
        let (len, from, truncated) = self.received[index];
        let start = index * DATAGRAM_SLOT_BYTES;
        (from, &self.bytes[start..start + len], truncated)
    }
}

/// Receive up to `DATAGRAM_BATCH` datagrams without blocking into `slots`; returns how
/// many (`WouldBlock` when none is waiting).
pub(crate) fn recv_datagrams(fd: RawFd, slots: &mut DatagramSlots) -> io::Result<usize> {
    // SAFETY: these are plain data; all zeroes is a valid value of each.
    let mut addrs: [libc::sockaddr_storage; DATAGRAM_BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut iovecs: [libc::iovec; DATAGRAM_BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut headers: [libc::mmsghdr; DATAGRAM_BATCH] = unsafe { std::mem::zeroed() };
    for (i, slot) in slots
        .bytes
        .chunks_exact_mut(DATAGRAM_SLOT_BYTES)
        .enumerate()
    {
        iovecs[i] = libc::iovec {
            iov_base: slot.as_mut_ptr().cast(),
            iov_len: slot.len(),
        };
        let header = &mut headers[i].msg_hdr;
        header.msg_name = (&raw mut addrs[i]).cast();
        header.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        header.msg_iov = &raw mut iovecs[i];
        header.msg_iovlen = 1;
    }
    let n = loop {
        // SAFETY: `headers` holds DATAGRAM_BATCH initialised headers whose name and iovec
        // pointers point into `addrs`, `iovecs` and `slots.bytes`, all alive and not
        // otherwise borrowed for the whole call; a null timeout is allowed.
        let rc = unsafe {
            libc::recvmmsg(
                fd,
                headers.as_mut_ptr(),
                DATAGRAM_BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if rc >= 0 {
            break rc as usize;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    };
    for i in 0..n {
        let header = &headers[i];
        let truncated = header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        let len = (header.msg_len as usize).min(DATAGRAM_SLOT_BYTES);
        slots.received[i] = (len, socket_addr(&addrs[i]), truncated);
    }
    Ok(n)
}

/// Send `datagrams` (each `(to, range of bytes)`) without blocking, at most
/// `DATAGRAM_BATCH` of them; returns how many the kernel took, in order. `Err` only when
/// it took none: `WouldBlock` for a full socket buffer, or the first datagram's own error.
pub(crate) fn send_datagrams(
    fd: RawFd,
    bytes: &[u8],
    datagrams: &[(SocketAddr, std::ops::Range<usize>)],
) -> io::Result<usize> {
    let count = datagrams.len().min(DATAGRAM_BATCH);
    // SAFETY: these are plain data; all zeroes is a valid value of each.
    let mut addrs: [libc::sockaddr_storage; DATAGRAM_BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut iovecs: [libc::iovec; DATAGRAM_BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut headers: [libc::mmsghdr; DATAGRAM_BATCH] = unsafe { std::mem::zeroed() };
    for (i, (to, range)) in datagrams[..count].iter().enumerate() {
        let payload = &bytes[range.clone()];
        let (storage, len) = sockaddr_from(*to);
        addrs[i] = storage;
        iovecs[i] = libc::iovec {
            // The kernel only reads through it (sendmmsg).
            iov_base: payload.as_ptr().cast_mut().cast(),
            iov_len: payload.len(),
        };
        let header = &mut headers[i].msg_hdr;
        header.msg_name = (&raw mut addrs[i]).cast();
        header.msg_namelen = len;
        header.msg_iov = &raw mut iovecs[i];
        header.msg_iovlen = 1;
    }
    loop {
        // SAFETY: the first `count` headers are initialised and point into `addrs`,
        // `iovecs` and `bytes`, all alive for the whole call; the kernel writes only the
        // headers' `msg_len`.
        let rc = unsafe {
            libc::sendmmsg(
                fd,
                headers.as_mut_ptr(),
                count as libc::c_uint,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if rc >= 0 {
            return Ok(rc as usize);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// The address in a `sockaddr_storage` the kernel filled (`None` for other families).
fn socket_addr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin: &libc::sockaddr_in = unsafe { &*std::ptr::from_ref(storage).cast() };
            let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(sin.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6: &libc::sockaddr_in6 = unsafe { &*std::ptr::from_ref(storage).cast() };
            let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                ip,
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_goes_out_and_comes_back_with_its_senders() {
        let server = bind_udp("127.0.0.1:0".parse().unwrap()).unwrap();
        let server_addr = std::net::UdpSocket::from(server.try_clone().unwrap())
            .local_addr()
            .unwrap();
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let client_addr = client.local_addr().unwrap();
        let bytes: Vec<u8> = (0..40u8).collect();
        let datagrams: Vec<_> = (0..40).map(|i| (server_addr, i..i + 1)).collect();
        let fd = client.as_raw_fd();
        let mut sent = 0;
        while sent < datagrams.len() {
            sent += send_datagrams(fd, &bytes, &datagrams[sent..]).unwrap();
        }
        let mut slots = DatagramSlots::new();
        let mut got = Vec::new();
        while got.len() < 40 {
            match recv_datagrams(server.as_raw_fd(), &mut slots) {
                Ok(n) => {
                    assert!(n <= DATAGRAM_BATCH);
                    for i in 0..n {
                        let (from, payload, truncated) = slots.get(i);
                        assert_eq!(from, Some(client_addr));
                        assert!(!truncated);
                        got.extend_from_slice(payload);
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(error) => panic!("{error}"),
            }
        }
        assert_eq!(got, bytes);
        assert_eq!(
            recv_datagrams(server.as_raw_fd(), &mut slots)
                .unwrap_err()
                .kind(),
            io::ErrorKind::WouldBlock
        );
    }
}
