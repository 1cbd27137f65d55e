//! Crash test: a writer child process appends batches and prints each batch's number only
//! after its ticket is durable; the parent kills it with SIGKILL at a random moment,
//! reopens the store, and checks that
//!
//! - every acknowledged batch is present and intact (puts readable with the exact value,
//!   deletes applied),
//! - every unacknowledged batch is present whole or absent whole, and only a prefix of
//!   them (durability is in ticket order),
//! - nothing else is in the store.
//!
//! Tiny memtables and a bucket function that closes a compaction window every few
//! thousand ids make flushes and compactions run all the time, so kills land inside them
//! too; the report counts kills that left an orphan table (a flush or compaction cut off)
//! or a torn WAL tail.
//!
//! The child is this test binary itself, re-run on `crash_writer_child` with
//! `LSM_CRASH_WRITER=<dir>:<run>` set. The short version runs in `cargo test`; the long one:
//!
//! ```text
//! LSM_CRASH_KILLS=150 cargo test -p lsm --release --test crash_kill_recovery -- --ignored --nocapture
//! ```

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::TempDir;
use lsm::{Error, Options, Page, Store};

const WRITER_ENV: &str = "LSM_CRASH_WRITER";
const CHANNELS: u64 = 8;

fn bucket_of(id: u64) -> u32 {
    (id >> 12) as u32
}

fn options() -> Options {
    Options {
        memtable_bytes_max: 24 << 10,
        imm_memtables_max: 2,
        ..Options::tiny(bucket_of)
    }
}

/// The value stored for message `id`: 200 bytes derived from the id.
fn value(id: u64) -> Vec<u8> {
    (0..200u64)
        .map(|i| (id.wrapping_mul(0x9E37_79B9).wrapping_add(i * 7) >> 3) as u8)
        .collect()
}

fn channel_of(id: u64) -> u64 {
    id % CHANNELS
}

/// xorshift64*: deterministic randomness without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The child: appends forever, printing `SENT` before each append and `ACK` once durable.
#[test]
fn crash_writer_child() {
    let Ok(spec) = std::env::var(WRITER_ENV) else {
        return;
    };
    let (dir, run) = spec.rsplit_once(':').expect("dir:run");
    let run: u64 = run.parse().expect("run number");
    let mut store = Store::open(std::path::Path::new(dir), options()).expect("open");
    let mut rng = Rng(run.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut next_id = run << 20;
    let mut in_flight: Vec<(lsm::Ticket, u64)> = Vec::new();
    let mut last_acked_first: Option<u64> = None;
    for k in 0u64.. {
        let count = 1 + rng.below(24);
        let first = next_id;
        next_id += count;
        let dels: Vec<u64> = match last_acked_first {
            Some(f) if k % 4 == 0 => vec![f, f + 1],
            _ => vec![],
        };
        let dels_text: Vec<String> = dels.iter().map(u64::to_string).collect();
        println!("\nSENT {run} {k} {first} {count} {}", dels_text.join(","));
        let mut batch = store.batch();
        for id in first..first + count {
            batch.put_message(channel_of(id), id, value(id));
        }
        for &id in &dels {
            batch.delete_message(channel_of(id), id);
        }
        let ticket = loop {
            match store.append(batch.clone()) {
                Ok(ticket) => break ticket,
                Err(Error::Stall(_)) => store.wait_idle().expect("wait_idle"),
                Err(err) => panic!("append: {err}"),
            }
        };
        in_flight.push((ticket, k));
        if in_flight.len() >= 4 {
            store.wait_durable(in_flight[0].0).expect("wait_durable");
        }
        store.poll().expect("poll");
        let durable = store.durable();
        in_flight.retain(|&(ticket, batch_k)| {
            if ticket <= durable {
                println!("\nACK {run} {batch_k}");
                false
            } else {
                true
            }
        });
        // Deletes target the newest batch known acknowledged and whole (at least 2 ids).
        if in_flight.is_empty() && count >= 2 {
            last_acked_first = Some(first);
        }
        if k % 50 == 0 {
            let s = store.stats();
            println!("\nSTATS {run} {} {} {}", s.flushes, s.compactions, s.tables);
        }
    }
}

#[derive(Debug)]
struct SentBatch {
    first: u64,
    count: u64,
    dels: Vec<u64>,
    acked: bool,
}

#[derive(Default)]
struct Tally {
    kills: u64,
    acked_batches: u64,
    acked_messages: u64,
    unacked_recovered: u64,
    unacked_lost: u64,
    kills_with_orphan_table: u64,
    kills_with_torn_tail: u64,
    flushes: u64,
    compactions: u64,
}

fn crash_loop(kills: u64, seed: u64) -> Tally {
    let dir = TempDir::new("crash");
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng(seed | 1);
    let mut tally = Tally::default();
    // All batches that are now part of the store's history, in order.
    let mut committed: Vec<SentBatch> = Vec::new();
    for run in 0..kills {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_ENV, format!("{}:{run}", dir.path().display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if line.ends_with('\n') {
                    lines.push(line.trim().to_string());
                }
                line.clear();
            }
            lines
        });
        std::thread::sleep(Duration::from_millis(20 + rng.below(400)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        tally.kills += 1;

        let mut sent: BTreeMap<u64, SentBatch> = BTreeMap::new();
        for line in &lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["SENT", r, k, first, count, rest @ ..] if r.parse() == Ok(run) => {
                    let dels = rest.first().map_or(vec![], |d| {
                        d.split(',').map(|x| x.parse().unwrap()).collect()
                    });
                    let batch = SentBatch {
                        first: first.parse().unwrap(),
                        count: count.parse().unwrap(),
                        dels,
                        acked: false,
                    };
                    sent.insert(k.parse().unwrap(), batch);
                }
                ["ACK", r, k] if r.parse() == Ok(run) => {
                    sent.get_mut(&k.parse().unwrap())
                        .expect("ACK after SENT")
                        .acked = true;
                }
                ["STATS", r, flushes, compactions, _] if r.parse() == Ok(run) => {
                    tally.flushes = tally.flushes.max(flushes.parse().unwrap());
                    tally.compactions = tally.compactions.max(compactions.parse().unwrap());
                }
                _ => {}
            }
        }

        let store = Store::open(dir.path(), options()).expect("reopen after SIGKILL");
        tally.kills_with_orphan_table += u64::from(store.recovery().orphan_tables_removed > 0);
        tally.kills_with_torn_tail += u64::from(store.recovery().wal_bytes_truncated > 0);

        // Acks are in ticket order; unacknowledged batches may be durable only as a prefix.
        // Ids that some batch deletes are left out of the presence check (the exact
        // comparison below covers them).
        let deleted: std::collections::HashSet<u64> =
            sent.values().flat_map(|b| b.dels.iter().copied()).collect();
        let mut absent_seen = false;
        for (k, batch) in sent {
            let present: Vec<bool> = (batch.first..batch.first + batch.count)
                .filter(|id| !deleted.contains(id))
                .map(|id| store.get_message(channel_of(id), id).unwrap().is_some())
                .collect();
            let all = present.iter().all(|&p| p);
            let none = present.iter().all(|&p| !p);
            if batch.acked {
                assert!(
                    all,
                    "run {run} batch {k}: acknowledged batch missing: {present:?}"
                );
                assert!(
                    !absent_seen,
                    "run {run} batch {k}: acknowledged after a lost batch"
                );
                tally.acked_batches += 1;
                tally.acked_messages += batch.count;
                committed.push(batch);
            } else if all && !absent_seen {
                tally.unacked_recovered += 1;
                committed.push(batch);
            } else {
                assert!(none, "run {run} batch {k}: half-present batch: {present:?}");
                absent_seen = true;
                tally.unacked_lost += 1;
            }
        }

        // The store must hold exactly the committed history.
        let mut expected: BTreeMap<u64, ()> = BTreeMap::new();
        for batch in &committed {
            for id in batch.first..batch.first + batch.count {
                expected.insert(id, ());
            }
            for id in &batch.dels {
                expected.remove(id);
            }
        }
        for channel in 0..CHANNELS {
            let page = store.history(channel, Page::Latest, usize::MAX).unwrap();
            let got: Vec<u64> = page.iter().rev().map(|m| m.message_id).collect();
            let want: Vec<u64> = expected
                .keys()
                .copied()
                .filter(|&id| channel_of(id) == channel)
                .collect();
            assert_eq!(
                got.len(),
                want.len(),
                "run {run} channel {channel}: wrong message count"
            );
            assert_eq!(got, want, "run {run} channel {channel}");
            for message in page {
                assert_eq!(
                    message.value,
                    value(message.message_id),
                    "run {run}: damaged value"
                );
            }
        }
        store.close().unwrap();
    }
    tally
}

fn report(tally: &Tally, seed: u64) {
    println!(
        "crash test (seed {seed}): {} kills, {} acknowledged batches ({} messages) all intact, \
         {} unacknowledged batches recovered whole, {} lost whole, 0 half-present; \
         {} kills cut a flush/compaction (orphan table removed), {} left a torn WAL tail; \
         children reported up to {} flushes and {} compactions per run",
        tally.kills,
        tally.acked_batches,
        tally.acked_messages,
        tally.unacked_recovered,
        tally.unacked_lost,
        tally.kills_with_orphan_table,
        tally.kills_with_torn_tail,
        tally.flushes,
        tally.compactions,
    );
}

fn seed() -> u64 {
    std::env::var("LSM_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

#[test]
fn sigkill_never_loses_acknowledged_batches() {
    if std::env::var(WRITER_ENV).is_ok() {
        return;
    }
    let seed = seed();
    let tally = crash_loop(12, seed);
    report(&tally, seed);
    assert!(tally.acked_batches > 0);
}

#[test]
#[ignore = "long: 150 kills by default; see the module docs for the command"]
fn sigkill_never_loses_acknowledged_batches_long() {
    if std::env::var(WRITER_ENV).is_ok() {
        return;
    }
    let kills = std::env::var("LSM_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150);
    let seed = seed();
    let tally = crash_loop(kills, seed);
    report(&tally, seed);
    assert!(tally.acked_batches > 0);
}
