//! The WebSocket layer end to end over raw frames: upgrade on any path, text and binary
//! echo (also right behind the handshake, fragmented, or interleaved with a ping), pong
//! for ping, the close handshake from either side, a mesh round trip between cores, the
//! written-bytes report and an abort without a close frame.

mod support;

use support::{start, Received, WsClient};
use wsframe::{FrameHeader, Opcode};

fn echoes_text_and_binary(io: engine::IoBackend) {
    let server = start(io);
    let mut client = WsClient::connect(server.local_addr(), "/?v=10&encoding=json");
    client.send_text("hello");
    assert_eq!(client.recv(), Received::Text("hello".into()));
    client.send_binary(&[0, 1, 2, 255]);
    assert_eq!(client.recv(), Received::Binary(vec![0, 1, 2, 255]));
    let big = "x".repeat(4000); // Needs the 16-bit length form, still under 4096.
    client.send_text(&big);
    assert_eq!(client.recv(), Received::Text(big));
    server.shutdown().unwrap();
}
both_backends!(echoes_text_and_binary, echoes_text_and_binary);

fn fragments_and_pings_are_handled(io: engine::IoBackend) {
    let server = start(io);
    let mut client = WsClient::connect(server.local_addr(), "/");
    let key = [1, 2, 3, 4];
    let mut wire = Vec::new();
    let first = FrameHeader {
        fin: false,
        ..FrameHeader::client(Opcode::Text, 3, key)
    };
    wsframe::encode_frame(&mut wire, &first, b"Hel");
    wsframe::encode_frame(&mut wire, &FrameHeader::client(Opcode::Ping, 2, key), b"hb");
    wsframe::encode_frame(
        &mut wire,
        &FrameHeader::client(Opcode::Continuation, 2, key),
        b"lo",
    );
    client.send_raw(&wire);
    assert_eq!(client.recv(), Received::Pong(b"hb".to_vec()));
    assert_eq!(client.recv(), Received::Text("Hello".into()));
    server.shutdown().unwrap();
}
both_backends!(
    fragments_and_pings_are_handled,
    fragments_and_pings_are_handled
);

fn a_frame_in_the_handshake_segment_is_not_lost(io: engine::IoBackend) {
    let server = start(io);
    let mut stream = support::connect(server.local_addr());
    let mut bytes = format!(
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        support::UPGRADE_KEY
    )
    .into_bytes();
    wsframe::encode_frame(
        &mut bytes,
        &FrameHeader::client(Opcode::Text, 5, [9; 4]),
        b"early",
    );
    std::io::Write::write_all(&mut stream, &bytes).unwrap();
    let mut reply = Vec::new();
    while !reply.ends_with(b"early") {
        let mut chunk = [0u8; 512];
        let n = std::io::Read::read(&mut stream, &mut chunk).unwrap();
        assert!(
            n > 0,
            "server closed before echoing: {:?}",
            String::from_utf8_lossy(&reply)
        );
        reply.extend_from_slice(&chunk[..n]);
    }
    assert!(reply.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    server.shutdown().unwrap();
}
both_backends!(
    a_frame_in_the_handshake_segment_is_not_lost,
    a_frame_in_the_handshake_segment_is_not_lost
);

fn client_close_is_echoed_then_the_connection_ends(io: engine::IoBackend) {
    let server = start(io);
    let mut client = WsClient::connect(server.local_addr(), "/");
    client.send_close(4321);
    assert_eq!(client.recv(), Received::Close(Some(4321), String::new()));
    assert_eq!(client.recv(), Received::Eof);
    server.shutdown().unwrap();
}
both_backends!(
    client_close_is_echoed_then_the_connection_ends,
    client_close_is_echoed_then_the_connection_ends
);

fn server_close_goes_after_queued_frames(io: engine::IoBackend) {
    let server = start(io);
    let mut client = WsClient::connect(server.local_addr(), "/");
    client.send_text("before");
    client.send_text("close");
    assert_eq!(client.recv(), Received::Text("before".into()));
    assert_eq!(client.recv(), Received::Close(Some(1000), "bye".into()));
    client.send_close(1000);
    assert_eq!(client.recv(), Received::Eof);
    server.shutdown().unwrap();
}
both_backends!(
    server_close_goes_after_queued_frames,
    server_close_goes_after_queued_frames
);

fn mesh_round_trip_reaches_every_core(io: engine::IoBackend) {
    let server = support::start_with(io, |config| config.cores = Some(3));
    let mut client = WsClient::connect(server.local_addr(), "/");
    for core in 0..3 {
        client.send_text(&format!("mesh {core}"));
        assert_eq!(
            client.recv(),
            Received::Text(format!("mesh pong from core {core}"))
        );
    }
    server.shutdown().unwrap();
}
both_backends!(
    mesh_round_trip_reaches_every_core,
    mesh_round_trip_reaches_every_core
);

fn frames_queued_in_one_turn_leave_in_one_write(io: engine::IoBackend) {
    let server = support::start_with(io, |config| config.cores = Some(1));
    let mut client = WsClient::connect(server.local_addr(), "/");
    client.send_text("warm-up");
    assert_eq!(client.recv(), Received::Text("warm-up".into()));
    let before = server.stats();
    client.send_text("flood 200 32"); // One callback queues 200 frames.
    for _ in 0..200 {
        assert_eq!(client.recv(), Received::Binary(vec![b'x'; 32]));
    }
    let after = server.stats();
    assert_eq!(after.frames_queued - before.frames_queued, 200);
    // 200 frames of 34 bytes fit any socket buffer: one write, not 200.
    assert_eq!(
        after.write_batches - before.write_batches,
        1,
        "{before:?} -> {after:?}"
    );
    server.shutdown().unwrap();
}
both_backends!(
    frames_queued_in_one_turn_leave_in_one_write,
    frames_queued_in_one_turn_leave_in_one_write
);

fn written_bytes_are_reported_and_abort_sends_no_close_frame(io: engine::IoBackend) {
    let server = start(io);
    let mut ws = WsClient::connect(server.local_addr(), "/");
    ws.send_text("hello");
    assert_eq!(ws.recv(), Received::Text("hello".into()));
    ws.send_text("written");
    let Received::Text(answer) = ws.recv() else {
        panic!("expected the written count")
    };
    let written: usize = answer.strip_prefix("written ").unwrap().parse().unwrap();
    // The 101 response and the 7-byte echo frame have left; the answer itself has not.
    assert!(written >= 7 + "HTTP/1.1 101".len(), "{written}");
    ws.send_text("abort");
    assert_eq!(ws.recv(), Received::Eof, "dropped without a close frame");
}
both_backends!(
    written_bytes_are_reported_and_abort_sends_no_close_frame,
    written_bytes_are_reported_and_abort_sends_no_close_frame
);
