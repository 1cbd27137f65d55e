//! Benchmark suite `lsm`: the Flux message store on the chat-history workload, with fjall
//! and RocksDB side by side in the same run (`--features peers`, or `fjall-peer` /
//! `rocksdb-peer` alone: RocksDB is C++ and takes long to compile).
//!
//! Workload: N messages of 200 bytes spread over 10k channels, ids shaped like Snowflakes
//! spanning 100 days (so ten 10-day buckets close during the run), appended in group
//! commits of 1000 messages; every engine fdatasyncs once per group before the group
//! counts as durable. Measured:
//!
//! - (a) durable inserts/s, and for Flux the append-to-durable latency of a group;
//! - (b) latest-50 history read latency (p50/p99), cached (just written, warmed once) and
//!   cold (after closing the store, `echo 3 > /proc/sys/vm/drop_caches` when permitted,
//!   and reopening: fresh maps and no memtable);
//! - (c) write amplification: bytes the process wrote with `write(2)` (`wchar` in
//!   `/proc/self/io`, the same yardstick for all three) over the key+value bytes appended,
//!   plus on-disk size after all background work finished;
//! - (d) reopen time after a clean close with a cold cache.
//!
//! Flux's reactor side is single-threaded as in the engine: the loop appends one group per
//! "tick" and polls; the commit and maintenance threads do the syncing. The peers are
//! driven the way their APIs do durable batches: write the batch with sync, then the next.
//!
//! `LSM_BENCH_MESSAGES` sets N (default 10M at full size); `LSM_BENCH_DIR` the scratch
//! directory (default: the system temp dir).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use lsm::{Error, Options, Page, Store};

use crate::{Report, Size};

const VALUE_BYTES: usize = 200;
const DAY_MS: u64 = 86_400_000;

/// The snowflake crate's bucket formula (10-day buckets of ms since the Discord epoch).
fn bucket_of(id: u64) -> u32 {
    ((id >> 22) / (10 * DAY_MS)) as u32
}

#[derive(Debug, Clone, Copy)]
struct Config {
    messages: u64,
    channels: u64,
    group: u64,
    reads: usize,
    span_days: u64,
    /// Drop the page cache before cold reads (full size only: it syncs the whole machine).
    drop_caches: bool,
}

impl Config {
    fn for_size(size: Size) -> Config {
        match size {
            Size::Tiny => Config {
                messages: 3_000,
                channels: 100,
                group: 100,
                reads: 100,
                span_days: 30,
                drop_caches: false,
            },
            Size::Full => Config {
                messages: std::env::var("LSM_BENCH_MESSAGES")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(10_000_000),
                channels: 10_000,
                group: 1000,
                reads: 10_000,
                span_days: 100,
                drop_caches: true,
            },
        }
    }

    /// Message `i`: its channel, Snowflake-shaped id and value.
    fn message(&self, i: u64, value: &mut [u8; VALUE_BYTES]) -> (u64, u64) {
        let ms = i * self.span_days * DAY_MS / self.messages.max(1);
        let id = (ms << 22) | (i & 0x3F_FFFF);
        let channel = mix(i) % self.channels;
        let mut x = mix(i ^ 0xABCD);
        for chunk in value.chunks_mut(8) {
            x = mix(x);
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        (channel, id)
    }
}

fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// One engine's results.
struct Row {
    engine: &'static str,
    inserts_per_s: f64,
    commit_p50_us: Option<f64>,
    commit_p99_us: Option<f64>,
    cached: Histogram<u64>,
    cold: Histogram<u64>,
    write_amp: f64,
    disk_bytes: u64,
    reopen: Duration,
    cache_dropped: bool,
    checksum: u64,
}

/// Bytes this process has passed to `write(2)` so far.
fn wchar() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("wchar:"))
                .map(str::to_string)
        })
        .and_then(|l| l.split(':').nth(1).and_then(|n| n.trim().parse().ok()))
        .unwrap_or(0)
}

fn drop_page_cache(cfg: &Config) -> bool {
    if !cfg.drop_caches {
        return false;
    }
    // Sync first so that dirty pages can be dropped too.
    let _ = std::process::Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid bounds")
}

fn scratch(name: &str) -> PathBuf {
    let root = std::env::var("LSM_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    let dir = root.join(format!("flux-bench-lsm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create bench dir");
    dir
}

/// Reads `reads` latest-50 pages of pseudo-random channels, recording each read's time.
fn measure_reads(
    cfg: &Config,
    seed: u64,
    reads: usize,
    mut read: impl FnMut(u64) -> u64,
) -> (Histogram<u64>, u64) {
    let mut hist = histogram();
    let mut checksum = 0;
    for r in 0..reads {
        let channel = mix(seed ^ r as u64) % cfg.channels;
        let start = Instant::now();
        checksum += read(channel);
        hist.record(start.elapsed().as_nanos().max(1) as u64)
            .expect("in range");
    }
    (hist, checksum)
}

fn flux(cfg: &Config) -> Row {
    let dir = scratch("flux");
    let options = Options::new(bucket_of);
    let wchar_start = wchar();
    let mut store = Store::open(&dir, options).expect("open");
    let mut value = [0u8; VALUE_BYTES];
    let mut commit_latency = histogram();
    let mut in_flight: VecDeque<(u64, Instant)> = VecDeque::new();
    let start = Instant::now();
    let mut i = 0;
    let mut last = None;
    while i < cfg.messages {
        let mut batch = store.batch();
        for _ in 0..cfg.group.min(cfg.messages - i) {
            let (channel, id) = cfg.message(i, &mut value);
            batch.put_message(channel, id, value.to_vec());
            i += 1;
        }
        let ticket = loop {
            match store.append(&mut batch) {
                Ok(ticket) => break ticket,
                // Back-pressure: a reactor would go back to epoll and wait for the wake
                // fd; the bench sleeps briefly and polls.
                Err(Error::Stall(_)) => {
                    std::thread::sleep(Duration::from_micros(50));
                    drain(&mut store, &mut in_flight, &mut commit_latency);
                }
                Err(err) => panic!("append: {err}"),
            }
        };
        in_flight.push_back((ticket.0, Instant::now()));
        last = Some(ticket);
        drain(&mut store, &mut in_flight, &mut commit_latency);
    }
    if let Some(last) = last {
        store.wait_durable(last).expect("durable");
    }
    drain(&mut store, &mut in_flight, &mut commit_latency);
    let elapsed = start.elapsed();

    // Let flush and compaction finish so cached reads measure the read path, not the
    // two-core machine's CPU being shared with the maintenance thread. Then a warm pass
    // over every channel, then the measured cached pass.
    store.wait_idle().expect("idle");
    let read = |store: &Store, channel: u64| -> u64 {
        let page = store.history(channel, Page::Latest, 50).expect("history");
        page.iter().map(|m| m.value.len() as u64 + 1).sum()
    };
    let _ = measure_reads(cfg, 1, cfg.channels as usize, |c| read(&store, c));
    let (cached, sum_cached) = measure_reads(cfg, 2, cfg.reads, |c| read(&store, c));
    let user_bytes = store.stats().user_bytes;
    store.close().expect("close");
    let write_amp = (wchar() - wchar_start) as f64 / user_bytes.max(1) as f64;
    let disk_bytes = dir_bytes(&dir);

    let cache_dropped = drop_page_cache(cfg);
    let reopen_start = Instant::now();
    let store = Store::open(&dir, options).expect("reopen");
    let reopen = reopen_start.elapsed();
    let (cold, sum_cold) = measure_reads(cfg, 3, cfg.reads.min(cfg.channels as usize), |c| {
        read(&store, c)
    });
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Row {
        engine: "flux lsm",
        inserts_per_s: cfg.messages as f64 / elapsed.as_secs_f64(),
        commit_p50_us: Some(commit_latency.value_at_quantile(0.5) as f64 / 1000.0),
        commit_p99_us: Some(commit_latency.value_at_quantile(0.99) as f64 / 1000.0),
        cached,
        cold,
        write_amp,
        disk_bytes,
        reopen,
        cache_dropped,
        checksum: sum_cached + sum_cold + cfg.messages,
    }
}

fn drain(store: &mut Store, in_flight: &mut VecDeque<(u64, Instant)>, hist: &mut Histogram<u64>) {
    if let Some(durable) = store.poll().expect("poll") {
        while in_flight.front().is_some_and(|&(seq, _)| seq <= durable.0) {
            let (_, at) = in_flight.pop_front().expect("checked");
            hist.record(at.elapsed().as_nanos().max(1) as u64)
                .expect("in range");
        }
    }
}

/// Flux's key encoding, reused for the peers so all three store identical keys.
#[cfg(any(feature = "fjall-peer", feature = "rocksdb-peer"))]
fn key(channel: u64, id: u64) -> [u8; lsm::key::MESSAGE_KEY_LEN] {
    lsm::key::MessageKey::new(channel, id, bucket_of).encode()
}

#[cfg(feature = "fjall-peer")]
fn fjall_row(cfg: &Config) -> Row {
    use fjall::{Database, KeyspaceCreateOptions, PersistMode};
    let dir = scratch("fjall");
    let wchar_start = wchar();
    let open = |dir: &Path| {
        let db = Database::builder(dir).open().expect("fjall open");
        let ks = db
            .keyspace("messages", KeyspaceCreateOptions::default)
            .expect("keyspace");
        (db, ks)
    };
    let (db, ks) = open(&dir);
    let mut value = [0u8; VALUE_BYTES];
    let start = Instant::now();
    let mut i = 0;
    let mut user_bytes = 0u64;
    while i < cfg.messages {
        let mut batch = db.batch();
        for _ in 0..cfg.group.min(cfg.messages - i) {
            let (channel, id) = cfg.message(i, &mut value);
            batch.insert(&ks, key(channel, id).to_vec(), value.to_vec());
            user_bytes += (lsm::key::MESSAGE_KEY_LEN + VALUE_BYTES) as u64;
            i += 1;
        }
        batch.commit().expect("fjall commit");
        db.persist(PersistMode::SyncData).expect("fjall persist");
    }
    let elapsed = start.elapsed();
    let read = |ks: &fjall::Keyspace, channel: u64| -> u64 {
        let (lo, hi) = lsm::key::channel_bounds(channel);
        ks.range(lo..=hi)
            .rev()
            .take(50)
            .map(|g| g.into_inner().expect("fjall read").1.len() as u64 + 1)
            .sum()
    };
    let _ = measure_reads(cfg, 1, cfg.channels as usize, |c| read(&ks, c));
    let (cached, sum_cached) = measure_reads(cfg, 2, cfg.reads, |c| read(&ks, c));
    drop(ks);
    drop(db);
    let write_amp = (wchar() - wchar_start) as f64 / user_bytes.max(1) as f64;
    let disk_bytes = dir_bytes(&dir);
    let cache_dropped = drop_page_cache(cfg);
    let reopen_start = Instant::now();
    let (db, ks) = open(&dir);
    let reopen = reopen_start.elapsed();
    let (cold, sum_cold) = measure_reads(cfg, 3, cfg.reads.min(cfg.channels as usize), |c| {
        read(&ks, c)
    });
    drop(ks);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    Row {
        engine: "fjall 3",
        inserts_per_s: cfg.messages as f64 / elapsed.as_secs_f64(),
        commit_p50_us: None,
        commit_p99_us: None,
        cached,
        cold,
        write_amp,
        disk_bytes,
        reopen,
        cache_dropped,
        checksum: sum_cached + sum_cold + cfg.messages,
    }
}

#[cfg(feature = "rocksdb-peer")]
fn rocksdb_row(cfg: &Config) -> Row {
    use rocksdb::{
        DBCompressionType, IteratorMode, Options as RocksOptions, WriteBatch, WriteOptions, DB,
    };
    let dir = scratch("rocksdb");
    let wchar_start = wchar();
    let mut options = RocksOptions::default();
    options.create_if_missing(true);
    options.set_compression_type(DBCompressionType::None);
    let db = DB::open(&options, &dir).expect("rocksdb open");
    let mut sync = WriteOptions::default();
    sync.set_sync(true); // fdatasync of the WAL per write batch
    let mut value = [0u8; VALUE_BYTES];
    let start = Instant::now();
    let mut i = 0;
    let mut user_bytes = 0u64;
    while i < cfg.messages {
        let mut batch = WriteBatch::default();
        for _ in 0..cfg.group.min(cfg.messages - i) {
            let (channel, id) = cfg.message(i, &mut value);
            batch.put(key(channel, id), value);
            user_bytes += (lsm::key::MESSAGE_KEY_LEN + VALUE_BYTES) as u64;
            i += 1;
        }
        db.write_opt(batch, &sync).expect("rocksdb write");
    }
    let elapsed = start.elapsed();
    let read = |db: &DB, channel: u64| -> u64 {
        let (lo, hi) = lsm::key::channel_bounds(channel);
        db.iterator(IteratorMode::From(&hi, rocksdb::Direction::Reverse))
            .map(|r| r.expect("rocksdb read"))
            .take_while(|(k, _)| k.as_ref() >= lo.as_slice())
            .take(50)
            .map(|(_, v)| v.len() as u64 + 1)
            .sum()
    };
    let _ = measure_reads(cfg, 1, cfg.channels as usize, |c| read(&db, c));
    let (cached, sum_cached) = measure_reads(cfg, 2, cfg.reads, |c| read(&db, c));
    drop(db);
    let write_amp = (wchar() - wchar_start) as f64 / user_bytes.max(1) as f64;
    let disk_bytes = dir_bytes(&dir);
    let cache_dropped = drop_page_cache(cfg);
    let reopen_start = Instant::now();
    let db = DB::open(&options, &dir).expect("rocksdb reopen");
    let reopen = reopen_start.elapsed();
    let (cold, sum_cold) = measure_reads(cfg, 3, cfg.reads.min(cfg.channels as usize), |c| {
        read(&db, c)
    });
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    Row {
        engine: "rocksdb 0.25",
        inserts_per_s: cfg.messages as f64 / elapsed.as_secs_f64(),
        commit_p50_us: None,
        commit_p99_us: None,
        cached,
        cold,
        write_amp,
        disk_bytes,
        reopen,
        cache_dropped,
        checksum: sum_cached + sum_cold + cfg.messages,
    }
}

/// Runs the suite.
pub fn run(size: Size) -> Report {
    let cfg = Config::for_size(size);
    #[cfg_attr(
        not(any(feature = "fjall-peer", feature = "rocksdb-peer")),
        allow(unused_mut)
    )]
    let mut rows = vec![flux(&cfg)];
    #[cfg(feature = "fjall-peer")]
    rows.push(fjall_row(&cfg));
    #[cfg(feature = "rocksdb-peer")]
    rows.push(rocksdb_row(&cfg));
    let us = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
    let mut table = format!(
        "{} messages x {} B over {} channels, groups of {}, ids spanning {} days; page cache \
         drop before cold reads: {}\n\n",
        cfg.messages,
        VALUE_BYTES,
        cfg.channels,
        cfg.group,
        cfg.span_days,
        if rows.iter().all(|r| r.cache_dropped) {
            "yes"
        } else {
            "no (cold = reopened store, fresh maps, pages possibly still cached)"
        },
    );
    table.push_str(
        "| engine | durable inserts/s | group ack p50 / p99 (us) | latest-50 cached p50 / p99 (us) \
         | latest-50 cold p50 / p99 (us) | write amp (wchar) | on disk (MiB) | reopen (ms) |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    let mut checksum = 0;
    for row in &rows {
        table.push_str(&format!(
            "| {} | {:.0} | {} / {} | {:.1} / {:.1} | {:.1} / {:.1} | {:.2} | {:.1} | {:.1} |\n",
            row.engine,
            row.inserts_per_s,
            opt(row.commit_p50_us),
            opt(row.commit_p99_us),
            us(&row.cached, 0.5),
            us(&row.cached, 0.99),
            us(&row.cold, 0.5),
            us(&row.cold, 0.99),
            row.write_amp,
            row.disk_bytes as f64 / (1 << 20) as f64,
            row.reopen.as_secs_f64() * 1000.0,
        ));
        checksum += row.checksum;
    }
    if rows.len() > 1 {
        let best_peer = rows[1..]
            .iter()
            .map(|r| r.inserts_per_s)
            .fold(0.0, f64::max);
        table.push_str(&format!(
            "\nflux / best peer durable inserts: {:.2}x\n",
            rows[0].inserts_per_s / best_peer
        ));
    }
    Report {
        suite: "lsm",
        table,
        checksum,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The suite runs at its tiny size in `cargo test`, so it cannot rot.
    #[test]
    fn lsm_suite_runs_tiny() {
        let report = run(Size::Tiny);
        assert_eq!(report.suite, "lsm");
        assert!(report.table.contains("| flux lsm |"), "{}", report.table);
        assert_ne!(report.checksum, 0);
    }
}
