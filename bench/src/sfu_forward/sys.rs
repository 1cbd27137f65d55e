//! `recvmmsg` and `sendmmsg` over IPv4 UDP, with their buffers owned and reused. All of the
//! `sfu` suite's `unsafe` is here; each block is one FFI call on buffers this module owns.
//!
//! The headers (`mmsghdr`, `iovec`) hold raw pointers into the buffers, so they are
//! rebuilt right before each call rather than stored: nothing can move a buffer between
//! building and calling.

use std::io;
use std::mem::size_of;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::RawFd;

/// Largest datagram a receive slot holds; voice packets are a few hundred bytes.
pub const SLOT_LEN: usize = 2048;
/// Most messages one `sendmmsg` takes (the kernel's UIO_MAXIOV).
pub const SEND_BATCH_MAX: usize = 1024;

/// Reusable buffers for `recvmmsg`.
pub struct RecvBatch {
    buffers: Vec<u8>,
    addrs: Vec<libc::sockaddr_in>,
    lens: Vec<usize>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
    count: usize,
}

impl RecvBatch {
    /// Room for `slots` datagrams per call.
    pub fn new(slots: usize) -> RecvBatch {
        RecvBatch {
            buffers: vec![0; slots * SLOT_LEN],
            addrs: vec![zero_sockaddr(); slots],
            lens: vec![0; slots],
            iovecs: Vec::with_capacity(slots),
            headers: Vec::with_capacity(slots),
            count: 0,
        }
    }

    /// One `recvmmsg` on `fd` with `flags` (`MSG_WAITFORONE` on a socket with a receive
    /// timeout, or `MSG_DONTWAIT`). Returns how many datagrams arrived; `Ok(0)` when none
    /// did before the timeout or there were none waiting.
    pub fn recv(&mut self, fd: RawFd, flags: libc::c_int) -> io::Result<usize> {
        let slots = self.lens.len();
        self.iovecs.clear();
        self.headers.clear();
        for (slot, chunk) in self.buffers.chunks_exact_mut(SLOT_LEN).enumerate() {
            self.iovecs.push(libc::iovec {
                iov_base: chunk.as_mut_ptr().cast(),
                iov_len: SLOT_LEN,
            });
            debug_assert!(slot < slots);
        }
        for (iovec, addr) in self.iovecs.iter_mut().zip(self.addrs.iter_mut()) {
            // SAFETY: mmsghdr is plain data for which all-zero bytes is a valid value.
            let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
            header.msg_hdr.msg_name = (addr as *mut libc::sockaddr_in).cast();
            header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            header.msg_hdr.msg_iov = iovec;
            header.msg_hdr.msg_iovlen = 1;
            self.headers.push(header);
        }
        // SAFETY: `headers` holds `slots` valid mmsghdr, each pointing at its own
        // sockaddr_in and iovec, which point at SLOT_LEN writable bytes; all of them live
        // in `self` and are not touched until the call returns.
        let received = unsafe {
            libc::recvmmsg(
                fd,
                self.headers.as_mut_ptr(),
                slots as libc::c_uint,
                flags,
                std::ptr::null_mut(),
            )
        };
        if received < 0 {
            self.count = 0;
            let error = io::Error::last_os_error();
            return match error.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(error),
            };
        }
        self.count = received as usize;
        for (len, header) in self.lens.iter_mut().zip(&self.headers).take(self.count) {
            *len = header.msg_len as usize;
        }
        Ok(self.count)
    }

    /// Datagram `index` of the last `recv`: its source and bytes.
    pub fn get(&self, index: usize) -> (SocketAddr, &[u8]) {
        assert!(index < self.count, "datagram {index} of {}", self.count);
        let start = index * SLOT_LEN;
        (
            from_sockaddr(&self.addrs[index]),
            &self.buffers[start..start + self.lens[index].min(SLOT_LEN)],
        )
    }
}

/// Reusable buffers for `sendmmsg`.
pub struct SendBatch {
    addrs: Vec<libc::sockaddr_in>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
}

impl Default for SendBatch {
    fn default() -> SendBatch {
        SendBatch {
            addrs: Vec::with_capacity(SEND_BATCH_MAX),
            iovecs: Vec::with_capacity(SEND_BATCH_MAX),
            headers: Vec::with_capacity(SEND_BATCH_MAX),
        }
    }
}

impl SendBatch {
    /// Sends every datagram of `items` on `fd`, up to 1024 per `sendmmsg`. Returns how
    /// many were sent; a datagram the kernel refuses (a closed port's ICMP error) is
    /// skipped and not counted.
    pub fn send_all<'a>(
        &mut self,
        fd: RawFd,
        items: impl Iterator<Item = (SocketAddr, &'a [u8])>,
    ) -> usize {
        let mut sent = 0;
        let mut items = items.peekable();
        while items.peek().is_some() {
            self.addrs.clear();
            self.iovecs.clear();
            self.headers.clear();
            for (destination, payload) in items.by_ref().take(SEND_BATCH_MAX) {
                self.addrs.push(to_sockaddr(destination));
                self.iovecs.push(libc::iovec {
                    iov_base: payload.as_ptr().cast_mut().cast(),
                    iov_len: payload.len(),
                });
            }
            for (addr, iovec) in self.addrs.iter_mut().zip(self.iovecs.iter_mut()) {
                // SAFETY: mmsghdr is plain data for which all-zero bytes is a valid value.
                let mut header: libc::mmsghdr = unsafe { std::mem::zeroed() };
                header.msg_hdr.msg_name = (addr as *mut libc::sockaddr_in).cast();
                header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
                header.msg_hdr.msg_iov = iovec;
                header.msg_hdr.msg_iovlen = 1;
                self.headers.push(header);
            }
            let mut offset = 0;
            while offset < self.headers.len() {
                let remaining = &mut self.headers[offset..];
                // SAFETY: every header points at its own sockaddr_in and iovec in `self`,
                // and each iovec at a payload borrowed from `items` for this whole call;
                // the kernel only reads them.
                let result = unsafe {
                    libc::sendmmsg(
                        fd,
                        remaining.as_mut_ptr(),
                        remaining.len() as libc::c_uint,
                        0,
                    )
                };
                if result < 0 {
                    let error = io::Error::last_os_error();
                    if error.kind() != io::ErrorKind::Interrupted {
                        offset += 1; // The first message failed: skip it.
                    }
                } else {
                    sent += result as usize;
                    offset += result as usize;
                }
            }
        }
        sent
    }
}

/// Sets SO_RCVBUF and SO_SNDBUF (the kernel caps them at rmem_max/wmem_max); failures are
/// ignored, the defaults only make drops likelier.
pub fn set_buffer_sizes(fd: RawFd, bytes: usize) {
    let value = bytes as libc::c_int;
    for option in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: `value` is a valid c_int and the length passed is its size.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&raw const value).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

fn zero_sockaddr() -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain data for which all-zero bytes is a valid value.
    unsafe { std::mem::zeroed() }
}

fn to_sockaddr(address: SocketAddr) -> libc::sockaddr_in {
    let SocketAddr::V4(v4) = address else {
        panic!("the sfu suite runs on IPv4 loopback only: {address}");
    };
    let mut raw = zero_sockaddr();
    raw.sin_family = libc::AF_INET as libc::sa_family_t;
    raw.sin_port = v4.port().to_be();
    raw.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
    raw
}

fn from_sockaddr(raw: &libc::sockaddr_in) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::from(u32::from_be(raw.sin_addr.s_addr)),
        u16::from_be(raw.sin_port),
    ))
}
