//! Shutdown stops accepting, lets the application say goodbye (the test app sends
//! `reconnect`, standing in for gateway op 7), closes WebSockets with 1001, closes idle
//! HTTP connections, and finishes within the grace period even when a client never
//! answers. SIGTERM does the same for the `flux` binary, whose gateway says goodbye with
//! op 7 Reconnect and close 4000.

mod support;

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use support::{start_with, HttpClient, Received, WsClient};

fn shutdown_says_goodbye_and_closes_everything(io: engine::IoBackend) {
    let server = start_with(io, |config| config.limits.shutdown_grace_ms = 3_000);
    let addr = server.local_addr();
    let mut ws = WsClient::connect(addr, "/?v=10");
    let mut idle = HttpClient::new(addr);
    idle.send(b"GET /health HTTP/1.1\r\n\r\n");
    assert_eq!(idle.read_response().unwrap().status, 200);
    let mut silent = WsClient::connect(addr, "/");
    silent.send_text("ready");
    assert_eq!(silent.recv(), Received::Text("ready".into()));

    let started = Instant::now();
    let stopping = std::thread::spawn(move || server.shutdown());
    assert_eq!(ws.recv(), Received::Text("reconnect".into()));
    assert_eq!(
        ws.recv(),
        Received::Close(Some(1001), "server shutting down".into())
    );
    ws.send_close(1001);
    assert_eq!(ws.recv(), Received::Eof);
    assert!(
        idle.read_response().is_none(),
        "an idle keep-alive connection is closed"
    );
    // `silent` never answers the close handshake; shutdown must finish anyway.
    stopping.join().unwrap().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "nothing listens after shutdown"
    );
    drop(silent);
}
both_backends!(
    shutdown_says_goodbye_and_closes_everything,
    shutdown_says_goodbye_and_closes_everything
);

fn drop_shuts_down_and_removes_the_temporary_data_dir(io: engine::IoBackend) {
    let mut data_dir = None;
    let server = start_with(io, |config| data_dir = Some(config.data_dir.clone()));
    let data_dir = data_dir.unwrap();
    assert!(data_dir.is_dir());
    drop(server);
    assert!(!data_dir.exists());
}
both_backends!(
    drop_shuts_down_and_removes_the_temporary_data_dir,
    drop_shuts_down_and_removes_the_temporary_data_dir
);

fn sigterm_stops_the_binary_gracefully(io: engine::IoBackend) {
    let data_dir = std::env::temp_dir().join(format!("flux-sigterm-{}-{io:?}", std::process::id()));
    let io_name = match io {
        engine::IoBackend::Epoll => "epoll",
        engine::IoBackend::Uring => "uring",
    };
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flux"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cores",
            "2",
            "--io",
            io_name,
        ])
        .arg("--data-dir")
        .arg(&data_dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    // Keep reading (the banner goes on with how to connect) so flux never sees EPIPE.
    let drain = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let mut ws = WsClient::connect(addr.parse().unwrap(), "/?v=10&encoding=json");
    let Received::Text(hello) = ws.recv() else {
        panic!("expected Hello")
    };
    assert!(hello.contains(r#""op":10"#), "{hello}");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The gateway's goodbye: op 7 Reconnect, then close 4000 (resumable).
    assert_eq!(ws.recv(), Received::Text(r#"{"op":7,"d":null}"#.into()));
    let Received::Close(code, _) = ws.recv() else {
        panic!("expected a close frame")
    };
    assert_eq!(code, Some(4000));
    ws.send_close(4000);
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "flux did not exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit:?}");
    drain.join().unwrap().unwrap();
    let _ = std::fs::remove_dir_all(data_dir);
}
both_backends!(
    sigterm_stops_the_binary_gracefully,
    sigterm_stops_the_binary_gracefully
);
