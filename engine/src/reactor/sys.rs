//! The system calls the reactor makes directly, each wrapped in a safe function.
//!
//! This file and `backend/uring.rs` are the only places in `engine` with `unsafe`. Every
//! block is one libc call whose pointer arguments come from live Rust references or
//! vectors on the same line; errors come back as `io::Error` from `errno`.
//!
//! Nothing here keeps state: the reactor owns every descriptor as an `OwnedFd` and passes
//! the raw number down only for the duration of a call or an in-flight `Op`.
#![allow(unsafe_code)]

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The listen backlog. The kernel caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: i32 = 4096;

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

fn check_size(result: libc::ssize_t) -> io::Result<usize> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result as usize)
    }
}

/// Take ownership of a descriptor the kernel just returned.
fn own(fd: libc::c_int) -> OwnedFd {
    debug_assert!(fd >= 0);
    // SAFETY: `fd` was returned by a successful socket/accept/eventfd/epoll/signalfd call
    // on the line before the caller's `own`, so it is open and nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A TCP listening socket with `SO_REUSEPORT`, so each core can bind its own to `addr`.
pub(crate) fn listen_reuseport(addr: SocketAddr, nonblocking: bool) -> io::Result<OwnedFd> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    let mut kind = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
    if nonblocking {
        kind |= libc::SOCK_NONBLOCK;
    }
    // SAFETY: plain integer arguments.
    let fd = own(check(unsafe { libc::socket(domain, kind, 0) })?);
    set_int_option(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    set_int_option(&fd, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
    let (storage, len) = sockaddr_from(addr);
    // SAFETY: `storage` is a sockaddr_storage holding a valid sockaddr of `len` bytes.
    check(unsafe { libc::bind(fd.as_raw_fd(), (&raw const storage).cast(), len) })?;
    // SAFETY: plain integer arguments on an open socket.
    check(unsafe { libc::listen(fd.as_raw_fd(), LISTEN_BACKLOG) })?;
    Ok(fd)
}

/// A TCP listening socket of this process alone (no `SO_REUSEPORT`): a core's voice
/// listener, which must receive exactly the connections meant for that core. Binding fails
/// with `AddrInUse` while anyone else holds the port.
pub(crate) fn listen_exclusive(addr: SocketAddr) -> io::Result<OwnedFd> {
    let fd = bind_tcp_exclusive(addr)?;
    // SAFETY: plain integer arguments on an open socket.
    check(unsafe { libc::listen(fd.as_raw_fd(), LISTEN_BACKLOG) })?;
    Ok(fd)
}

/// A blocking TCP socket bound to `addr` with `SO_REUSEADDR` (connections of an earlier
/// run in TIME_WAIT must not keep the port) and without `SO_REUSEPORT`, so the bind fails
/// with `AddrInUse` while anyone else holds the port.
fn bind_tcp_exclusive(addr: SocketAddr) -> io::Result<OwnedFd> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain integer arguments.
    let fd = own(check(unsafe {
        libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0)
    })?);
    set_int_option(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    let (storage, len) = sockaddr_from(addr);
    // SAFETY: `storage` is a sockaddr_storage holding a valid sockaddr of `len` bytes.
    check(unsafe { libc::bind(fd.as_raw_fd(), (&raw const storage).cast(), len) })?;
    Ok(fd)
}

/// Claims `addr` for this process, so that a second server on the same address fails
/// instead of silently sharing the port through `SO_REUSEPORT` (which lets any socket of
/// the same user join the group). Two checks:
/// - a lock: an abstract Unix socket named after the address (per network namespace, like
///   the port; released by the kernel when the process exits, even by SIGKILL), which a
///   second Flux cannot bind while the first holds it, however close their starts are;
/// - a probe, when `probe` is set: binding `addr` without `SO_REUSEPORT` fails while any
///   other program listens there, with or without `SO_REUSEPORT` (retried for up to
///   `PROBE_RETRY_FOR`: a Flux killed a moment ago holds it until the kernel lets go).
///
/// The returned descriptor is the lock: keep it open as long as the server listens.
pub(crate) fn claim_listen_address(addr: SocketAddr, probe: bool) -> io::Result<OwnedFd> {
    let lock = bind_abstract_lock(&format!("flux-listen {addr}")).map_err(|error| {
        if error.kind() == io::ErrorKind::AddrInUse {
            io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("another Flux server already listens on {addr}"),
            )
        } else {
            error
        }
    })?;
    if probe {
        // Our lock is free, so no live Flux holds the address; a process killed a moment
        // ago may still, until the kernel tears down its io_uring instances. Wait for that
        // (briefly) before calling the address another program's.
        let started = std::time::Instant::now();
        loop {
            match probe_bind(addr) {
                Err(error)
                    if error.kind() == io::ErrorKind::AddrInUse
                        && started.elapsed() < PROBE_RETRY_FOR =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(error) if error.kind() == io::ErrorKind::AddrInUse => {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!("{addr} is already in use by another program"),
                    ));
                }
                result => break result?,
            }
        }
    }
    Ok(lock)
}

/// How long `claim_listen_address` waits for a dying process to let go of the address.
const PROBE_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(2);

/// Binds `addr` without `SO_REUSEPORT` (then lets go): fails while anyone listens there.
fn probe_bind(addr: SocketAddr) -> io::Result<()> {
    bind_tcp_exclusive(addr).map(drop)
}

/// A Unix socket bound to the abstract name `name` (no file; Linux only).
fn bind_abstract_lock(name: &str) -> io::Result<OwnedFd> {
    // SAFETY: plain integer arguments.
    let fd = own(check(unsafe {
        libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0)
    })?);
    // SAFETY: sockaddr_un is plain old data; all zeroes is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = name.as_bytes();
    // The first byte of `sun_path` stays 0: that makes the name abstract.
    let len = bytes.len().min(addr.sun_path.len() - 1);
    for (slot, &byte) in addr.sun_path[1..=len].iter_mut().zip(bytes) {
        *slot = byte as libc::c_char;
    }
    let addr_len = (std::mem::size_of::<libc::sa_family_t>() + 1 + len) as libc::socklen_t;
    // SAFETY: `addr` is a valid sockaddr_un and `addr_len` covers the family and the name.
    check(unsafe { libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), addr_len) })?;
    Ok(fd)
}

/// The IP address of a connected socket's peer (`None` if the kernel will not say, for
/// example because the peer is already gone).
pub(crate) fn peer_ip(fd: &OwnedFd) -> Option<std::net::IpAddr> {
    // SAFETY: sockaddr_storage is plain old data; all zeroes is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `storage` has room for `len` bytes, and `len` is updated by the kernel.
    let rc = unsafe { libc::getpeername(fd.as_raw_fd(), (&raw mut storage).cast(), &mut len) };
    if rc != 0 {
        return None;
    }
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin: &libc::sockaddr_in = unsafe { &*(&raw const storage).cast() };
            Some(std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)).into())
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6: &libc::sockaddr_in6 = unsafe { &*(&raw const storage).cast() };
            Some(std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr).into())
        }
        _ => None,
    }
}

/// The process's soft limit on open files.
pub(crate) fn open_files_limit() -> io::Result<u64> {
    // SAFETY: rlimit is plain old data; all zeroes is a valid value.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `limit` is a valid rlimit for the kernel to fill.
    check(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) })?;
    Ok(limit.rlim_cur)
}

/// The address a socket is bound to (to learn an ephemeral port).
pub(crate) fn local_addr(fd: &OwnedFd) -> io::Result<SocketAddr> {
    let clone = fd.try_clone()?;
    std::net::TcpListener::from(clone).local_addr()
}

/// Accept one connection from a non-blocking listener (the epoll path).
pub(crate) fn accept(listener: RawFd, nonblocking: bool) -> io::Result<OwnedFd> {
    let mut flags = libc::SOCK_CLOEXEC;
    if nonblocking {
        flags |= libc::SOCK_NONBLOCK;
    }
    // SAFETY: null address pointers are allowed; the peer address is not wanted.
    let fd = check(unsafe {
        libc::accept4(listener, std::ptr::null_mut(), std::ptr::null_mut(), flags)
    })?;
    Ok(own(fd))
}

/// Wrap a descriptor that an io_uring accept completion returned.
pub(crate) fn own_accepted(fd: i32) -> OwnedFd {
    own(fd)
}

/// Turn off Nagle: gateway frames are small and latency matters more than packet count.
pub(crate) fn set_nodelay(fd: &OwnedFd) -> io::Result<()> {
    set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1)
}

/// Shrink the kernel send buffer (tests use it to reach "send buffer full" quickly).
pub(crate) fn set_send_buffer(fd: &OwnedFd, bytes: usize) -> io::Result<()> {
    set_int_option(
        fd,
        libc::SOL_SOCKET,
        libc::SO_SNDBUF,
        bytes.min(i32::MAX as usize) as i32,
    )
}

fn set_int_option(fd: &OwnedFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` is a live i32 and the length passed is its size.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// `shutdown(2)`. Also wakes any read, write or accept in flight on the socket in either
/// backend, which is how the reactor cancels a connection's operations.
pub(crate) fn shutdown(fd: RawFd, how: libc::c_int) {
    // SAFETY: plain integer arguments. Errors (ENOTCONN after a reset) mean the socket is
    // already as shut as we want it.
    unsafe { libc::shutdown(fd, how) };
}

/// `read(2)` into the spare capacity of `buf`, extending its length by what was read.
pub(crate) fn read_into(fd: RawFd, buf: &mut Vec<u8>) -> io::Result<usize> {
    let spare = buf.spare_capacity_mut();
    // SAFETY: `spare` is writable memory of `spare.len()` bytes owned by `buf`.
    let n = check_size(unsafe { libc::read(fd, spare.as_mut_ptr().cast(), spare.len()) })?;
    let len = buf.len() + n;
    debug_assert!(len <= buf.capacity());
    // SAFETY: the kernel initialised `n` bytes after the old length.
    unsafe { buf.set_len(len) };
    Ok(n)
}

/// `recv(2)` with `MSG_DONTWAIT` into `buf`'s spare capacity: never blocks, even on a
/// blocking socket (the io_uring backend's descriptors are blocking).
pub(crate) fn recv_into(fd: RawFd, buf: &mut Vec<u8>) -> io::Result<usize> {
    let spare = buf.spare_capacity_mut();
    // SAFETY: `spare` is writable memory of `spare.len()` bytes owned by `buf`.
    let n = check_size(unsafe {
        libc::recv(
            fd,
            spare.as_mut_ptr().cast(),
            spare.len(),
            libc::MSG_DONTWAIT,
        )
    })?;
    let len = buf.len() + n;
    debug_assert!(len <= buf.capacity());
    // SAFETY: the kernel initialised `n` bytes after the old length.
    unsafe { buf.set_len(len) };
    Ok(n)
}

/// `send(2)` with `MSG_DONTWAIT` (never blocks, even on the io_uring backend's blocking
/// descriptors) and `MSG_NOSIGNAL` (a peer that went away gives `EPIPE` instead of killing
/// the process with SIGPIPE).
pub(crate) fn send_bytes(fd: RawFd, bytes: &[u8]) -> io::Result<usize> {
    // SAFETY: `bytes` is a live slice of `bytes.len()` readable bytes for the whole call.
    check_size(unsafe {
        libc::send(
            fd,
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    })
}

/// An eventfd, used to wake a core (mesh messages, shutdown).
pub(crate) fn eventfd(nonblocking: bool) -> io::Result<OwnedFd> {
    let mut flags = libc::EFD_CLOEXEC;
    if nonblocking {
        flags |= libc::EFD_NONBLOCK;
    }
    // SAFETY: plain integer arguments.
    Ok(own(check(unsafe { libc::eventfd(0, flags) })?))
}

/// Add one to an eventfd's counter, waking whoever waits on it.
pub(crate) fn eventfd_signal(fd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes the 8 bytes of a live u64. The only possible failure is EAGAIN when
    // the counter is near u64::MAX, and then the reader is already due to wake.
    unsafe { libc::write(fd, (&raw const one).cast(), size_of::<u64>()) };
}

/// Whether `fd` is ready now for `events` (`POLLIN` or `POLLOUT`; `poll(2)` with a zero
/// timeout), never blocking. A hang-up or error counts as ready: the next call reports it.
pub(crate) fn poll_ready(fd: RawFd, events: libc::c_short) -> io::Result<bool> {
    let mut pollfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one live, initialised pollfd, count 1, no waiting.
    let n = check(unsafe { libc::poll(&raw mut pollfd, 1, 0) })?;
    Ok(n > 0 && pollfd.revents & (events | libc::POLLHUP | libc::POLLERR) != 0)
}

/// The CPUs this process may run on, in ascending order.
pub(crate) fn allowed_cpus() -> Vec<usize> {
    let mut set = MaybeUninit::<libc::cpu_set_t>::zeroed();
    // SAFETY: `set` is a zeroed cpu_set_t of the size passed.
    let result =
        unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), set.as_mut_ptr()) };
    if result != 0 {
        return Vec::new();
    }
    // SAFETY: sched_getaffinity succeeded, so the set is initialised.
    let set = unsafe { set.assume_init() };
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, the bound CPU_ISSET requires.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect()
}

/// Pin the calling thread to one CPU.
pub(crate) fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cpu number out of range",
        ));
    }
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET's bound was checked above.
    let result = unsafe {
        let mut set = MaybeUninit::<libc::cpu_set_t>::zeroed().assume_init();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set)
    };
    check(result).map(drop)
}

// --- epoll -----------------------------------------------------------------------------

pub(crate) fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: plain integer argument.
    Ok(own(check(unsafe {
        libc::epoll_create1(libc::EPOLL_CLOEXEC)
    })?))
}

/// Register `fd` for edge-triggered readiness, tagged with its own number.
pub(crate) fn epoll_add(epoll: &OwnedFd, fd: RawFd, events: u32) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events,
        u64: fd as u64,
    };
    // SAFETY: `event` is a live epoll_event.
    check(unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) })
        .map(drop)
}

/// Wait for readiness; fills `events` and returns how many are valid.
pub(crate) fn epoll_wait(
    epoll: &OwnedFd,
    events: &mut [libc::epoll_event],
    timeout_ms: i32,
) -> io::Result<usize> {
    let max = events.len().min(i32::MAX as usize) as i32;
    // SAFETY: `events` is a live, writable slice of `max` epoll_events.
    let n = unsafe { libc::epoll_wait(epoll.as_raw_fd(), events.as_mut_ptr(), max, timeout_ms) };
    match check(n) {
        Ok(n) => Ok(n as usize),
        Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(0),
        Err(error) => Err(error),
    }
}

// --- termination signals ---------------------------------------------------------------

/// Block SIGTERM and SIGINT in the calling thread (threads spawned later inherit the mask)
/// and return a signalfd that becomes readable when one arrives.
pub(crate) fn block_termination_signals() -> io::Result<OwnedFd> {
    // SAFETY: sigemptyset initialises the set; sigaddset/pthread_sigmask/signalfd get
    // pointers to that live, initialised set.
    unsafe {
        let mut set = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        let result = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if result != 0 {
            return Err(io::Error::from_raw_os_error(result));
        }
        Ok(own(check(libc::signalfd(-1, &set, libc::SFD_CLOEXEC))?))
    }
}

/// Block until the signalfd reports a signal; returns its number.
pub(crate) fn wait_signal(signal_fd: &OwnedFd) -> io::Result<i32> {
    loop {
        let mut info = MaybeUninit::<libc::signalfd_siginfo>::zeroed();
        let size = size_of::<libc::signalfd_siginfo>();
        // SAFETY: `info` is writable memory of `size` bytes.
        let n = unsafe { libc::read(signal_fd.as_raw_fd(), info.as_mut_ptr().cast(), size) };
        match check_size(n) {
            // SAFETY: a full-size read initialised the struct.
            Ok(n) if n == size => return Ok(unsafe { info.assume_init() }.ssi_signo as i32),
            Ok(_) => return Err(io::Error::other("short read from signalfd")),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
    }
}

// --- helpers ---------------------------------------------------------------------------

pub(super) fn sockaddr_from(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in>().write(sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in6>().write(sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// Set or clear `O_NONBLOCK` (epoll wants non-blocking descriptors, io_uring blocking).
pub(crate) fn set_nonblocking(fd: &OwnedFd, nonblocking: bool) -> io::Result<()> {
    // SAFETY: fcntl with integer arguments on an open descriptor.
    let flags = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let wanted = if nonblocking {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if wanted != flags {
        // SAFETY: as above.
        check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, wanted) })?;
    }
    Ok(())
}

/// Bytes the C allocator holds free in its arenas (glibc `mallinfo2().fordblks`), or
/// `None` where the allocator cannot say. Walks the arenas' free lists: call it seldom.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn heap_free_bytes() -> Option<usize> {
    // SAFETY: `mallinfo2` takes no arguments and returns a plain struct by value.
    let info = unsafe { libc::mallinfo2() };
    Some(info.fordblks)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn heap_free_bytes() -> Option<usize> {
    None
}

/// Hands the whole free pages inside the C allocator's arenas back to the kernel (glibc
/// `malloc_trim(0)`); a no-op elsewhere.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn heap_trim() {
    // SAFETY: `malloc_trim` takes a byte count and touches only the allocator's own state,
    // under its own locks.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn heap_trim() {}
