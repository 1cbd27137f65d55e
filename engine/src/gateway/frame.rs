//! Encoding our payloads: dispatch framing by splicing, and the fixed server messages.
//!
//! A dispatch is framed as `{"op":0,"s":N,"t":"NAME","d":` + the shared `d` bytes + `}`:
//! the event is never re-serialised per session. The other server messages are tiny and
//! built from constants.
//!
//! Invariants: every function here returns one JSON object that `serde_json` parses to the
//! same value it would have produced itself (tested byte for byte).

use std::cell::OnceCell;
use std::sync::Arc;

use super::compress::{deflated_tail, CompressionConfig};
use super::dispatch::Dispatch;
use super::intents::Intents;
use super::payload::GatewayShard;
use super::replay::RunEvents;
use crate::reactor::{FrameKind, Lead, NumberedRun};

/// An upper bound on the bytes a dispatch frame adds around `name` and `d`
/// (`{"op":0,"s":` + 20 digits + `,"t":"` + `","d":` + `}`).
pub const DISPATCH_FRAME_OVERHEAD_MAX: usize = 12 + 20 + 6 + 6 + 1;

/// Appends `{"op":0,"s":<seq>,"t":"<name>","d":` to `out`.
pub fn encode_dispatch_prefix(out: &mut Vec<u8>, seq: u64, name: &str) {
    let mut digits = [0; 20];
    for piece in dispatch_prefix_pieces(seq, name, &mut digits) {
        out.extend_from_slice(piece);
    }
}

/// `{"op":0,"s":<seq>,"t":"<name>","d":` as the pieces to write in order; `digits` holds
/// `seq` in decimal. By hand rather than `write!`: fan-out writes one per session per event.
pub(crate) fn dispatch_prefix_pieces<'a>(
    seq: u64,
    name: &'a str,
    digits: &'a mut [u8; 20],
) -> [&'a [u8]; 5] {
    debug_assert!(name
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'));
    [
        DISPATCH_HEAD,
        crate::reactor::decimal(seq, digits),
        DISPATCH_NAME_OPEN,
        name.as_bytes(),
        DISPATCH_NAME_CLOSE,
    ]
}

/// A dispatch frame's pieces around its `s` and its name.
const DISPATCH_HEAD: &[u8] = br#"{"op":0,"s":"#;
const DISPATCH_NAME_OPEN: &[u8] = br#","t":""#;
const DISPATCH_NAME_CLOSE: &[u8] = br#"","d":"#;

/// A run of dispatches framed once for every session of a core that takes it whole: each
/// session queues it with its own first `s` (`Session::dispatch_run`), and the reactor
/// writes each frame's `{"op":0,"s":N,"t":"NAME","d":` as it sends (`reactor::NumberedRun`).
/// Plain-text sessions get `frames`; spliced zlib-stream sessions get `zlib_frames`, built
/// on first use: the same prefix in a stored block, then the event's deflated `d}`, byte
/// for byte what `Encoder::encode_payload` gives one dispatch.
#[derive(Debug)]
pub struct DispatchRun {
    events: Arc<RunEvents>,
    /// Every event has the first one's scope and intents (a run of one channel's messages
    /// does), so whether a session sees them is asked once, not per event.
    one_audience: bool,
    frames: Arc<NumberedRun>,
    zlib_frames: OnceCell<Option<Arc<NumberedRun>>>,
}

impl DispatchRun {
    /// The run of `events`, in order; `None` for no events, more than `u16::MAX` of them
    /// (a run is a few dozen), or a name too long to frame this way (none today).
    pub fn new(events: Vec<Arc<Dispatch>>) -> Option<DispatchRun> {
        if events.len() > usize::from(u16::MAX) {
            return None;
        }
        let infixes: Vec<Vec<u8>> = events.iter().map(|event| infix(event)).collect();
        let frames = NumberedRun::new(
            FrameKind::Text,
            Lead::None,
            DISPATCH_HEAD,
            infixes
                .iter()
                .zip(&events)
                .map(|(infix, event)| (&infix[..], Arc::clone(event.tail()))),
        )?;
        let one_audience = events.iter().all(|event| event.same_audience(&events[0]));
        Some(DispatchRun {
            one_audience,
            events: RunEvents::new(events),
            frames: Arc::new(frames),
            zlib_frames: OnceCell::new(),
        })
    }

    pub fn events(&self) -> &[Arc<Dispatch>] {
        self.events.events()
    }

    /// Whether every event of the run is visible to a session with `intents` on `shard`.
    pub fn visible_to(&self, intents: Intents, shard: GatewayShard) -> bool {
        let events = self.events();
        if self.one_audience {
            return events[0].visible_to(intents, shard);
        }
        events.iter().all(|event| event.visible_to(intents, shard))
    }

    /// The events as each session's replay ring keeps them: one shared entry.
    pub fn ring_entry(&self) -> &Arc<RunEvents> {
        &self.events
    }

    /// The frames, for the connection's queue.
    pub fn frames(&self) -> &Arc<NumberedRun> {
        &self.frames
    }

    /// The frames of a spliced zlib-stream session (whose stream's header went out with
    /// Hello): each is the dispatch's prefix as a deflate stored block, then the event's
    /// `d}` deflated once per core (`compress::deflated_tail`). Built on the first call,
    /// with that caller's `config` (every session of a server has the same). `None` when
    /// an event's tail could not be deflated (the session then sends event by event, and
    /// its compressor reports the error).
    pub fn zlib_frames(&self, config: &CompressionConfig) -> Option<&Arc<NumberedRun>> {
        self.zlib_frames
            .get_or_init(|| {
                let infixes: Vec<Vec<u8>> = self.events().iter().map(|e| infix(e)).collect();
                let tails = self
                    .events()
                    .iter()
                    .map(|event| deflated_tail(event, config).map(Arc::clone).ok())
                    .collect::<Option<Vec<Arc<[u8]>>>>()?;
                let frames = NumberedRun::new(
                    FrameKind::Binary,
                    Lead::DeflateStored,
                    DISPATCH_HEAD,
                    infixes.iter().map(|infix| &infix[..]).zip(tails),
                )?;
                Some(Arc::new(frames))
            })
            .as_ref()
    }
}

/// A dispatch frame's bytes between its `s` and its `d`: `,"t":"NAME","d":`.
fn infix(event: &Dispatch) -> Vec<u8> {
    [
        DISPATCH_NAME_OPEN,
        event.name().as_bytes(),
        DISPATCH_NAME_CLOSE,
    ]
    .concat()
}

/// Appends a whole dispatch frame to `out`.
///
/// ```
/// let mut out = Vec::new();
/// engine::gateway::encode_dispatch(&mut out, 7, "RESUMED", b"{}");
/// assert_eq!(out, br#"{"op":0,"s":7,"t":"RESUMED","d":{}}"#);
/// ```
pub fn encode_dispatch(out: &mut Vec<u8>, seq: u64, name: &str, d: &[u8]) {
    encode_dispatch_prefix(out, seq, name);
    out.extend_from_slice(d);
    out.push(b'}');
}

/// op 10 Hello.
pub fn encode_hello(heartbeat_interval_ms: u64) -> Vec<u8> {
    format!(r#"{{"op":10,"d":{{"heartbeat_interval":{heartbeat_interval_ms}}}}}"#).into_bytes()
}

/// op 11 Heartbeat ACK.
pub const HEARTBEAT_ACK: &[u8] = br#"{"op":11,"d":null}"#;

/// op 7 Reconnect.
pub const RECONNECT: &[u8] = br#"{"op":7,"d":null}"#;

/// op 9 Invalid Session; `resumable` is its `d`.
pub fn encode_invalid_session(resumable: bool) -> &'static [u8] {
    if resumable {
        br#"{"op":9,"d":true}"#
    } else {
        br#"{"op":9,"d":false}"#
    }
}

/// op 1 Heartbeat sent by the server (asks the client to heartbeat now); `d` is our last
/// sequence number, as Discord sends it.
pub fn encode_heartbeat(seq_last: Option<u64>) -> Vec<u8> {
    match seq_last {
        Some(seq) => format!(r#"{{"op":1,"d":{seq}}}"#).into_bytes(),
        None => br#"{"op":1,"d":null}"#.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::value::RawValue;

    #[derive(Serialize)]
    struct SerdeDispatch<'a> {
        op: u8,
        s: u64,
        t: &'a str,
        d: &'a RawValue,
    }

    /// A run is visible to a session exactly when each of its events is, whether its
    /// events share one audience (asked once) or not.
    #[test]
    fn a_run_is_visible_when_every_event_is() {
        use crate::gateway::{DispatchScope, GatewayShard, Intents};
        let guild = |id: u64| {
            Dispatch::new(
                "MESSAGE_CREATE",
                b"{}".to_vec(),
                DispatchScope::Guild(id),
                Intents::GUILD_MESSAGES,
            )
        };
        let dm = Dispatch::new(
            "MESSAGE_CREATE",
            b"{}".to_vec(),
            DispatchScope::DirectMessage,
            Intents::DIRECT_MESSAGES,
        );
        let shards = [
            GatewayShard { id: 0, count: 2 },
            GatewayShard { id: 1, count: 2 },
        ];
        let intents = [
            Intents::GUILD_MESSAGES,
            Intents::DIRECT_MESSAGES,
            Intents::GUILD_MESSAGES | Intents::DIRECT_MESSAGES,
        ];
        // Guild 1 << 22 is on shard 1 of 2, guild 0 on shard 0.
        let runs = [
            vec![guild(1 << 22), guild(1 << 22)],
            vec![guild(0), guild(1 << 22)],
            vec![guild(0), Arc::clone(&dm)],
            vec![Arc::clone(&dm), Arc::clone(&dm)],
        ];
        for events in runs {
            let run = DispatchRun::new(events.clone()).expect("a run");
            for shard in shards {
                for intents in intents {
                    let each = events.iter().all(|event| event.visible_to(intents, shard));
                    assert_eq!(
                        run.visible_to(intents, shard),
                        each,
                        "{shard:?} {intents:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn fixed_messages_are_what_serde_would_write() {
        let v = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).unwrap();
        assert_eq!(
            v(&encode_hello(41250)),
            serde_json::json!({"op":10,"d":{"heartbeat_interval":41250}})
        );
        assert_eq!(v(HEARTBEAT_ACK), serde_json::json!({"op":11,"d":null}));
        assert_eq!(v(RECONNECT), serde_json::json!({"op":7,"d":null}));
        assert_eq!(
            v(encode_invalid_session(false)),
            serde_json::json!({"op":9,"d":false})
        );
        assert_eq!(
            v(encode_invalid_session(true)),
            serde_json::json!({"op":9,"d":true})
        );
        assert_eq!(
            v(&encode_heartbeat(Some(3))),
            serde_json::json!({"op":1,"d":3})
        );
        assert_eq!(
            v(&encode_heartbeat(None)),
            serde_json::json!({"op":1,"d":null})
        );
    }

    proptest! {
        #[test]
        fn spliced_dispatch_equals_serde_byte_for_byte(
            seq: u64,
            name in "[A-Z_]{1,30}",
            value in any::<Vec<(String, i64)>>(),
        ) {
            let d = serde_json::to_string(&value).unwrap();
            let mut ours = Vec::new();
            encode_dispatch(&mut ours, seq, &name, d.as_bytes());
            let raw = RawValue::from_string(d.clone()).unwrap();
            let theirs = serde_json::to_vec(&SerdeDispatch { op: 0, s: seq, t: &name, d: &raw }).unwrap();
            prop_assert_eq!(&ours, &theirs);
            prop_assert!(ours.len() <= d.len() + name.len() + DISPATCH_FRAME_OVERHEAD_MAX);
        }

        /// A run's frames are the dispatches `encode_dispatch` writes, numbered on.
        #[test]
        fn a_run_frames_each_dispatch_as_encode_dispatch_does(
            first in 0u64..u64::MAX / 2,
            names in proptest::collection::vec("[A-Z_]{1,40}", 1..6),
        ) {
            let events: Vec<Arc<Dispatch>> = names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    Dispatch::new(
                        name,
                        format!("[{i}]").into_bytes(),
                        crate::gateway::DispatchScope::DirectMessage,
                        crate::gateway::Intents::empty(),
                    )
                })
                .collect();
            let run = DispatchRun::new(events).expect("names up to 40 fit");
            for (i, name) in names.iter().enumerate() {
                let mut expected = Vec::new();
                encode_dispatch(&mut expected, first + i as u64, name, format!("[{i}]").as_bytes());
                prop_assert_eq!(run.frames().payload(i, first + i as u64), expected);
            }
        }
    }
}
