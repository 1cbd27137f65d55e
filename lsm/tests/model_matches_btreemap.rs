//! Model-based test: random puts, deletes, edits, reads, history pages, flushes,
//! compactions and restarts against a `BTreeMap` model; every read must match the model.
//!
//! Memtables are tiny so that flushes, write stalls and compactions happen on their own
//! as well as when the test asks for them.

mod common;

use std::collections::BTreeMap;

use common::{bucket_of, TempDir};
use lsm::{Error, Options, Page, Store};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Write {
    Put { channel: u64, id: u64, len: usize },
    Delete { channel: u64, id: u64 },
    PutMeta { name: u8, len: usize },
    DeleteMeta { name: u8 },
}

#[derive(Debug, Clone)]
enum Step {
    Batch(Vec<Write>),
    Get {
        channel: u64,
        id: u64,
    },
    GetMeta {
        name: u8,
    },
    ScanMeta {
        limit: usize,
    },
    History {
        channel: u64,
        page: u8,
        id: u64,
        limit: usize,
    },
    Flush,
    Compact {
        full: bool,
    },
    Restart,
}

fn write_strategy() -> impl Strategy<Value = Write> {
    prop_oneof![
        6 => (0..4u64, 1..300u64, 0..120usize).prop_map(|(channel, id, len)| Write::Put { channel, id, len }),
        2 => (0..4u64, 1..300u64).prop_map(|(channel, id)| Write::Delete { channel, id }),
        1 => (0..12u8, 0..40usize).prop_map(|(name, len)| Write::PutMeta { name, len }),
        1 => (0..12u8).prop_map(|name| Write::DeleteMeta { name }),
    ]
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        12 => proptest::collection::vec(write_strategy(), 1..6).prop_map(Step::Batch),
        3 => (0..4u64, 1..300u64).prop_map(|(channel, id)| Step::Get { channel, id }),
        1 => (0..12u8).prop_map(|name| Step::GetMeta { name }),
        1 => (1..15usize).prop_map(|limit| Step::ScanMeta { limit }),
        4 => (0..4u64, 0..4u8, 0..320u64, 1..40usize)
            .prop_map(|(channel, page, id, limit)| Step::History { channel, page, id, limit }),
        1 => Just(Step::Flush),
        1 => any::<bool>().prop_map(|full| Step::Compact { full }),
        1 => Just(Step::Restart),
    ]
}

/// A value that names its write, so a misplaced value is visible in a failure.
fn value(seq: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seq * 31 + i) as u8).collect()
}

fn options() -> Options {
    Options {
        memtable_bytes_max: 2048,
        ..Options::tiny(bucket_of)
    }
}

#[derive(Default)]
struct Model {
    messages: BTreeMap<(u64, u64), Vec<u8>>,
    meta: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Model {
    fn history(&self, channel: u64, page: Page, limit: usize) -> Vec<u64> {
        let ids: Vec<u64> = self
            .messages
            .range((channel, 0)..=(channel, u64::MAX))
            .map(|(&(_, id), _)| id)
            .collect();
        let newest_first =
            |it: Vec<u64>, n: usize| -> Vec<u64> { it.into_iter().rev().take(n).collect() };
        match page {
            Page::Latest => newest_first(ids, limit),
            Page::Before(x) => newest_first(ids.into_iter().filter(|&i| i < x).collect(), limit),
            Page::After(x) => {
                let mut v: Vec<u64> = ids.into_iter().filter(|&i| i > x).take(limit).collect();
                v.reverse();
                v
            }
            Page::Around(x) => {
                let older = limit / 2;
                let mut v: Vec<u64> = ids
                    .iter()
                    .copied()
                    .filter(|&i| i >= x)
                    .take(limit - older)
                    .collect();
                v.reverse();
                v.extend(newest_first(
                    ids.into_iter().filter(|&i| i < x).collect(),
                    older,
                ));
                v
            }
        }
    }
}

fn append_retrying(store: &mut Store, batch: lsm::Batch) -> lsm::Ticket {
    loop {
        match store.append(batch.clone()) {
            Ok(ticket) => return ticket,
            Err(Error::Stall(_)) => store.wait_idle().unwrap(),
            Err(err) => panic!("append failed: {err}"),
        }
    }
}

fn run(steps: Vec<Step>) {
    let dir = TempDir::new("model");
    let mut store = Store::open(dir.path(), options()).unwrap();
    let mut model = Model::default();
    for (n, step) in steps.into_iter().enumerate() {
        match step {
            Step::Batch(writes) => {
                let mut batch = store.batch();
                for w in &writes {
                    match *w {
                        Write::Put { channel, id, len } => {
                            batch.put_message(channel, id, value(n, len));
                            model.messages.insert((channel, id), value(n, len));
                        }
                        Write::Delete { channel, id } => {
                            batch.delete_message(channel, id);
                            model.messages.remove(&(channel, id));
                        }
                        Write::PutMeta { name, len } => {
                            batch.put_meta(&[b'm', name], value(n, len));
                            model.meta.insert(vec![b'm', name], value(n, len));
                        }
                        Write::DeleteMeta { name } => {
                            batch.delete_meta(&[b'm', name]);
                            model.meta.remove(&vec![b'm', name]);
                        }
                    }
                }
                let ticket = append_retrying(&mut store, batch);
                store.wait_durable(ticket).unwrap();
            }
            Step::Get { channel, id } => {
                assert_eq!(
                    store.get_message(channel, id).unwrap(),
                    model.messages.get(&(channel, id)).cloned(),
                    "step {n}: get {channel}/{id}"
                );
            }
            Step::GetMeta { name } => {
                assert_eq!(
                    store.get_meta(&[b'm', name]).unwrap(),
                    model.meta.get(&vec![b'm', name]).cloned()
                );
            }
            Step::ScanMeta { limit } => {
                let want: Vec<(Vec<u8>, Vec<u8>)> = model
                    .meta
                    .iter()
                    .take(limit)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(store.scan_meta(b"m", None, limit).unwrap(), want);
                if let Some((first, _)) = want.first() {
                    let after: Vec<_> = model
                        .meta
                        .iter()
                        .skip(1)
                        .take(limit)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    assert_eq!(store.scan_meta(b"m", Some(first), limit).unwrap(), after);
                }
            }
            Step::History {
                channel,
                page,
                id,
                limit,
            } => {
                let page = match page {
                    0 => Page::Latest,
                    1 => Page::Before(id),
                    2 => Page::After(id),
                    _ => Page::Around(id),
                };
                let got = store.history(channel, page, limit).unwrap();
                let want = model.history(channel, page, limit);
                let got_ids: Vec<u64> = got.iter().map(|m| m.message_id).collect();
                assert_eq!(
                    got_ids, want,
                    "step {n}: {page:?} limit {limit} in channel {channel}"
                );
                for message in got {
                    assert_eq!(
                        Some(&message.value),
                        model.messages.get(&(channel, message.message_id))
                    );
                }
            }
            Step::Flush => loop {
                match store.flush() {
                    Err(Error::Stall(_)) => store.wait_idle().unwrap(),
                    other => break other.unwrap(),
                }
            },
            Step::Compact { full } => {
                store.compact(full).unwrap();
                store.wait_idle().unwrap();
            }
            Step::Restart => {
                store.close().unwrap();
                store = Store::open(dir.path(), options()).unwrap();
            }
        }
    }
    // Everything must also survive a final restart and a full compaction.
    store.close().unwrap();
    let mut store = Store::open(dir.path(), options()).unwrap();
    store.compact(true).unwrap();
    store.wait_idle().unwrap();
    for channel in 0..4 {
        let got: Vec<u64> = store
            .history(channel, Page::Latest, 10_000)
            .unwrap()
            .iter()
            .map(|m| m.message_id)
            .collect();
        assert_eq!(got, model.history(channel, Page::Latest, 10_000));
    }
    let stats = store.stats();
    assert!(
        stats.tables <= 1 + usize::from(stats.tables > 0),
        "full compaction left {stats:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_model(steps in proptest::collection::vec(step_strategy(), 1..120)) {
        run(steps);
    }
}

#[test]
fn pages_cross_buckets_and_survive_restart() {
    let dir = TempDir::new("pages");
    let mut store = Store::open(dir.path(), options()).unwrap();
    // A channel that was quiet for a long time: ids 1..=5 then 10_000..=10_005, far apart in
    // buckets (16 ids per bucket), with other channels' messages in between.
    let ids: Vec<u64> = (1..=5).chain(10_000..=10_005).collect();
    for &id in &ids {
        let mut batch = store.batch();
        batch.put_message(7, id, id.to_be_bytes().to_vec());
        batch.put_message(8, id, b"other".to_vec());
        let ticket = store.append(batch).unwrap();
        store.wait_durable(ticket).unwrap();
        if id == 5 {
            store.flush().unwrap();
        }
    }
    let page = |store: &Store, p| -> Vec<u64> {
        store
            .history(7, p, 4)
            .unwrap()
            .iter()
            .map(|m| m.message_id)
            .collect()
    };
    assert_eq!(page(&store, Page::Latest), [10_005, 10_004, 10_003, 10_002]);
    assert_eq!(page(&store, Page::Before(10_002)), [10_001, 10_000, 5, 4]);
    assert_eq!(page(&store, Page::After(4)), [10_002, 10_001, 10_000, 5]);
    assert_eq!(page(&store, Page::Around(10_000)), [10_001, 10_000, 5, 4]);
    store.close().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(page(&store, Page::Before(10_002)), [10_001, 10_000, 5, 4]);
}
