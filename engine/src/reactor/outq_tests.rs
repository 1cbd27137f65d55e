//! Tests of the outbound queue: lanes, partial writes, runs, the byte counts.

use super::*;

fn frame(text: &str, lane: Lane) -> OutFrame {
    OutFrame::new(&text.as_bytes()[..1], Payload::from(&text[1..]), lane)
}

/// What `gather` offers, of which the kernel takes `written`.
fn take_bytes(queue: &mut OutQueue, written: usize) -> Vec<u8> {
    let mut all = Vec::new();
    queue.gather(&mut all, usize::MAX).expect("no file to fail");
    assert_eq!(all.len(), queue.bytes());
    let written = written.min(all.len());
    queue.consume(written);
    all.truncate(written);
    all
}

#[test]
fn priority_goes_first_but_never_splits_a_partial_frame() {
    let mut queue = OutQueue::default();
    queue.push(frame("bulk-one", Lane::Bulk));
    queue.push(frame("bulk-two", Lane::Bulk));
    assert_eq!(take_bytes(&mut queue, 3), b"bul");
    queue.push(frame("ACK", Lane::Priority));
    // The partial bulk frame finishes first, then the ACK jumps the second bulk frame.
    assert_eq!(take_bytes(&mut queue, usize::MAX), b"k-oneACKbulk-two");
    assert!(queue.is_idle());
    assert_eq!(queue.bytes(), 0);
}

#[test]
fn a_partial_priority_frame_finishes_before_bulk() {
    let mut queue = OutQueue::default();
    queue.push(frame("ACK-ONE", Lane::Priority));
    queue.push(frame("bulk", Lane::Bulk));
    assert_eq!(take_bytes(&mut queue, 2), b"AC");
    queue.push(frame("ACK-TWO", Lane::Priority));
    assert_eq!(take_bytes(&mut queue, usize::MAX), b"K-ONEACK-TWObulk");
}

#[test]
fn short_writes_keep_order_and_byte_count() {
    let mut queue = OutQueue::default();
    let frames = ["alpha", "beta", "gamma", "delta"];
    for (i, text) in frames.iter().enumerate() {
        let lane = if i % 2 == 0 {
            Lane::Bulk
        } else {
            Lane::Priority
        };
        queue.push(frame(text, lane));
    }
    let total: usize = frames.iter().map(|f| f.len()).sum();
    assert_eq!(queue.bytes(), total);
    let mut out = Vec::new();
    while !queue.is_idle() {
        out.extend(take_bytes(&mut queue, 2));
        assert_eq!(queue.bytes(), total - out.len());
    }
    assert_eq!(out, b"betadeltaalphagamma");
}

#[test]
fn gather_stops_at_its_limit_and_the_rest_follows() {
    let mut queue = OutQueue::default();
    let shared: Arc<[u8]> = Arc::from(&b"-shared-body"[..]);
    let mut prefix = Prefix::new();
    assert!(prefix.push(b"prefix"));
    for _ in 0..3 {
        queue.push_frame(
            b"H",
            Payload::Spliced {
                prefix,
                shared: Arc::clone(&shared),
            },
            Lane::Bulk,
        );
    }
    queue.push(OutFrame::raw(
        vec![b'x'; INLINE_PAYLOAD_MAX + 1],
        Lane::Bulk,
    ));
    let expected: Vec<u8> = [&b"Hprefix-shared-body"[..]; 3]
        .concat()
        .into_iter()
        .chain(std::iter::repeat_n(b'x', INLINE_PAYLOAD_MAX + 1))
        .collect();
    assert_eq!(queue.bytes(), expected.len());
    let mut sent = Vec::new();
    while !queue.is_idle() {
        let mut chunk = Vec::new();
        queue.gather(&mut chunk, 7).expect("no file to fail");
        assert!(chunk.len() <= 7);
        // The kernel takes only part of each chunk.
        let written = chunk.len().div_ceil(2);
        queue.consume(written);
        sent.extend_from_slice(&chunk[..written]);
    }
    assert_eq!(sent, expected);
}

#[test]
fn a_run_is_one_entry_that_writes_in_order_between_frames() {
    let bodies: Vec<Arc<[u8]>> = vec![Arc::from(&b"{}"[..]), Arc::from(&b"[1]"[..])];
    let run = NumberedRun::new(
        super::super::FrameKind::Text,
        super::super::Lead::None,
        b"s=",
        bodies.iter().map(|body| (&b";"[..], Arc::clone(body))),
    )
    .expect("fits");
    let run = Arc::new(run);
    let mut queue = OutQueue::default();
    queue.push(frame("before", Lane::Bulk));
    queue.push_run(Arc::clone(&run), 99);
    queue.push(frame("after", Lane::Bulk));
    assert_eq!(queue.bulk.frames.len(), 3);
    let run_bytes = [&[0x81, 7][..], b"s=99;{}", &[0x81, 9], b"s=100;[1]"].concat();
    let expected = [&b"before"[..], &run_bytes, b"after"].concat();
    assert_eq!(queue.bytes(), expected.len());
    // Short writes cut the run anywhere; an ACK queued meanwhile waits for the run's end.
    let mut sent = take_bytes(&mut queue, 9);
    queue.push(frame("ACK", Lane::Priority));
    while !queue.is_idle() {
        sent.extend(take_bytes(&mut queue, 4));
    }
    let ack_at = 6 + run_bytes.len();
    assert_eq!(&sent[ack_at..ack_at + 3], b"ACK");
    sent.drain(ack_at..ack_at + 3);
    assert_eq!(sent, expected);
    assert_eq!(Arc::strong_count(&run), 1, "written runs are let go");
}

/// A file body goes out in pieces of whatever size the socket takes, between the
/// frames around it, byte for byte; until sent it counts as queued but not as held in
/// memory; a file that shrank under us fails the gather instead of sending short.
#[test]
fn a_file_body_is_read_in_pieces_and_not_held() {
    let path = std::env::temp_dir().join(format!("flux-outq-file-{}", std::process::id()));
    let data: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    std::fs::write(&path, &data).unwrap();
    let mut queue = OutQueue::default();
    queue.push(OutFrame::raw(b"HEAD".to_vec(), Lane::Bulk));
    queue.push_file(crate::http::FileBody::open(&path).unwrap());
    queue.push(OutFrame::raw(b"NEXT".to_vec(), Lane::Bulk));
    assert_eq!(queue.bytes(), 4 + 300_000 + 4);
    assert_eq!(queue.bytes_in_memory(), 8);
    let mut sent = Vec::new();
    for piece in [3, 10_000, 65_536, 1, 200_000, usize::MAX]
        .into_iter()
        .cycle()
    {
        if queue.is_idle() {
            break;
        }
        let mut chunk = Vec::new();
        queue.gather(&mut chunk, piece.min(256 * 1024)).unwrap();
        assert!(chunk.len() <= 256 * 1024);
        queue.consume(chunk.len());
        sent.extend_from_slice(&chunk);
        let held = queue.bytes_in_memory();
        assert!(held <= 8, "{held} bytes held");
    }
    let expected = [&b"HEAD"[..], &data, b"NEXT"].concat();
    assert_eq!(sent, expected);

    let mut queue = OutQueue::default();
    queue.push_file(crate::http::FileBody::open(&path).unwrap());
    std::fs::write(&path, b"short").unwrap();
    let mut chunk = Vec::new();
    assert!(queue.gather(&mut chunk, 1024).is_err());
    assert!(chunk.is_empty());
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn an_entry_stays_small() {
    // A busy core walks every session's queue per wake-up.
    assert!(std::mem::size_of::<Entry>() <= 32);
}

#[test]
fn drop_bulk_keeps_priority_and_partial() {
    let mut queue = OutQueue::default();
    queue.push(frame("bulk-one", Lane::Bulk));
    assert_eq!(take_bytes(&mut queue, 4), b"bulk");
    queue.push(frame("bulk-two", Lane::Bulk));
    queue.push(frame("CLOSE", Lane::Priority));
    assert_eq!(queue.drop_bulk(), 8);
    assert_eq!(take_bytes(&mut queue, usize::MAX), b"-oneCLOSE");
}

#[test]
fn a_queue_adds_at_most_its_cap_to_the_core_backlog() {
    let backlog = CoreBacklog::default();
    let mut small = OutQueue::new(CoreBacklog::clone(&backlog));
    let mut stuck = OutQueue::new(CoreBacklog::clone(&backlog));
    small.push(frame("hello", Lane::Bulk));
    assert_eq!(backlog.get(), 5);
    for _ in 0..100 {
        stuck.push(OutFrame::new(
            b"",
            Payload::Owned(vec![0; 4096]),
            Lane::Bulk,
        ));
    }
    assert_eq!(backlog.get(), 5 + BACKLOG_COUNTED_PER_QUEUE_MAX);
    assert_eq!(take_bytes(&mut small, 2), b"he");
    assert_eq!(backlog.get(), 3 + BACKLOG_COUNTED_PER_QUEUE_MAX);
    assert_eq!(stuck.drop_bulk(), 100 * 4096);
    assert_eq!(backlog.get(), 3);
    drop(small);
    assert_eq!(backlog.get(), 0);
}

#[test]
fn an_emptied_queue_gives_back_a_bursts_capacity() {
    let mut queue = OutQueue::default();
    for _ in 0..LANE_FRAMES_KEPT_MAX * 2 {
        queue.push(frame("burst-frame", Lane::Bulk));
    }
    assert!(queue.bulk.frames.capacity() > LANE_FRAMES_KEPT_MAX);
    take_bytes(&mut queue, usize::MAX);
    assert!(queue.is_idle());
    assert_eq!(queue.bulk.frames.capacity(), 0);
}

#[test]
fn a_lone_frame_takes_one_slot_and_a_second_grows_the_lane() {
    let mut queue = OutQueue::default();
    queue.push(frame("heartbeat-ack", Lane::Bulk));
    assert_eq!(queue.bulk.frames.capacity(), 1);
    take_bytes(&mut queue, usize::MAX);
    assert!(queue.is_idle());
    assert_eq!(
        queue.bulk.frames.capacity(),
        1,
        "kept: at most LANE_FRAMES_KEPT_MAX"
    );
    queue.push(frame("one", Lane::Bulk));
    queue.push(frame("two", Lane::Bulk));
    assert!(queue.bulk.frames.capacity() >= 2);
    assert_eq!(take_bytes(&mut queue, usize::MAX), b"onetwo");
}
