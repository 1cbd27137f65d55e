//! A listen address belongs to one server. The cores of one server share the port through
//! `SO_REUSEPORT`, but a second server (another data dir, the same address) must fail with
//! a clear error instead of silently taking half of the connections; so must a server whose
//! address another program holds, even one that set `SO_REUSEPORT` itself. Once the first
//! server stops, the address is free again.

mod support;

use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::Command;

use engine::{Config, Server};

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("an ephemeral port")
}

fn data_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flux-exclusive-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn config_on(listen: SocketAddr, tag: &str) -> Config {
    Config {
        listen,
        cores: Some(2),
        data_dir: data_dir(tag),
        remove_data_dir_on_shutdown: true,
        // Voice ports would be the port + 1 and up, which this test's clients may hold.
        voice: false,
        ..Config::ephemeral()
    }
}

fn gateway_answers(addr: SocketAddr) -> bool {
    let mut client = support::HttpClient::new(addr);
    client.send(b"GET /api/v10/gateway HTTP/1.1\r\nHost: x\r\n\r\n");
    client.read_response().is_some_and(|r| r.status == 200)
}

#[test]
fn a_second_server_on_the_same_address_fails_and_the_first_keeps_serving() {
    let addr = free_port();
    let first = Server::start(config_on(addr, "first")).expect("the first server starts");
    assert_eq!(first.local_addr(), addr);

    let second = Server::start(config_on(addr, "second"));
    let Err(error) = second else {
        panic!("a second server shared {addr}");
    };
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse, "{error}");
    assert!(
        error
            .to_string()
            .contains("another Flux server already listens"),
        "{error}"
    );
    assert!(gateway_answers(addr), "the first server still answers");

    first.shutdown().expect("clean shutdown");
    let again = Server::start(config_on(addr, "again")).expect("the address is free again");
    assert!(gateway_answers(addr));
    again.shutdown().expect("clean shutdown");
}

/// A listening socket with `SO_REUSEPORT`, as another program would open it.
fn foreign_reuseport_listener(addr: SocketAddr) -> OwnedFd {
    let SocketAddr::V4(v4) = addr else {
        unreachable!("127.0.0.1")
    };
    // SAFETY: plain integer arguments; the result is checked and owned at once.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket");
    // SAFETY: `fd` is a socket we just opened and own from here on.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    // SAFETY: `one` outlives the call and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_REUSEPORT,
            (&raw const one).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_REUSEPORT");
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*v4.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: `sin` is a valid sockaddr_in of the size passed.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const sin).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "bind");
    // SAFETY: plain integer arguments on an open socket.
    assert_eq!(unsafe { libc::listen(fd.as_raw_fd(), 16) }, 0, "listen");
    fd
}

#[test]
fn an_address_another_program_listens_on_is_refused_even_with_reuseport() {
    let addr = free_port();
    let foreign = foreign_reuseport_listener(addr);
    let Err(error) = Server::start(config_on(addr, "foreign")) else {
        panic!("Flux joined another program's SO_REUSEPORT group on {addr}");
    };
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse, "{error}");
    assert!(
        error.to_string().contains("in use by another program"),
        "{error}"
    );
    drop(foreign);
}

#[test]
fn the_binary_says_why_it_cannot_listen() {
    let addr = free_port();
    let first = Server::start(config_on(addr, "bin-first")).expect("the first server starts");
    let dir = data_dir("bin-second");
    let output = Command::new(env!("CARGO_BIN_EXE_flux"))
        .args([
            "serve",
            "--no-voice",
            "--listen",
            &addr.to_string(),
            "--data-dir",
        ])
        .arg(&dir)
        .output()
        .expect("the flux binary runs");
    assert!(
        !output.status.success(),
        "a second flux serve on {addr} ran"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("another Flux server already listens on"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    first.shutdown().expect("clean shutdown");
}
