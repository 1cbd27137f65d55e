//! A client that breaks the WebSocket protocol is closed with the right code; another
//! client on the same server keeps working.

mod support;

use support::{start, Received, WsClient};

fn check_offender(io: engine::IoBackend, bad: &[u8], code: u16) {
    let server = start(io);
    let mut good = WsClient::connect(server.local_addr(), "/");
    let mut bad_client = WsClient::connect(server.local_addr(), "/");
    good.send_text("one");
    assert_eq!(good.recv(), Received::Text("one".into()));
    bad_client.send_raw(bad);
    assert_eq!(
        bad_client.recv(),
        Received::Close(Some(code), String::new())
    );
    assert_eq!(bad_client.recv(), Received::Eof);
    good.send_text("two");
    assert_eq!(good.recv(), Received::Text("two".into()));
    assert_eq!(server.stats().protocol_error_closes, 1);
    server.shutdown().unwrap();
}

fn unmasked_frame_is_1002(io: engine::IoBackend) {
    check_offender(io, &[0x81, 0x02, b'h', b'i'], 1002);
}
both_backends!(unmasked_frame_is_1002, unmasked_frame_is_1002);

fn reserved_opcode_is_1002(io: engine::IoBackend) {
    check_offender(io, &[0x83, 0x80, 1, 2, 3, 4], 1002);
}
both_backends!(reserved_opcode_is_1002, reserved_opcode_is_1002);

fn invalid_utf8_is_1007(io: engine::IoBackend) {
    let key = [7, 7, 7, 7];
    let mut frame = Vec::new();
    let header = wsframe::FrameHeader::client(wsframe::Opcode::Text, 2, key);
    wsframe::encode_frame(&mut frame, &header, &[0xC3, 0x28]);
    check_offender(io, &frame, 1007);
}
both_backends!(invalid_utf8_is_1007, invalid_utf8_is_1007);

fn message_over_4096_bytes_is_1009_by_default(io: engine::IoBackend) {
    let key = [1, 1, 1, 1];
    let mut frame = Vec::new();
    let payload = vec![b'a'; 4097];
    let header = wsframe::FrameHeader::client(wsframe::Opcode::Text, payload.len(), key);
    wsframe::encode_frame(&mut frame, &header, &payload);
    check_offender(io, &frame, 1009);
}
both_backends!(
    message_over_4096_bytes_is_1009_by_default,
    message_over_4096_bytes_is_1009_by_default
);
