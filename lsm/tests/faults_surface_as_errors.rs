//! Fault injection on the file layer: a failed write, a short write and a failed fsync,
//! in the WAL, in a flush, in the manifest and in a compaction, each reach the caller as
//! an error, and reopening afterwards finds every acknowledged batch intact.

mod common;

use std::sync::Arc;

use common::{bucket_of, TempDir};
use lsm::fs::{Faults, Fs};
use lsm::{Error, Options, Page, Store, Ticket};

fn options() -> Options {
    Options {
        memtable_bytes_max: 1 << 20,
        ..Options::tiny(bucket_of)
    }
}

/// Appends batch `n` (messages `10n..10n+10` of channel 1) and returns its ticket.
fn append(store: &mut Store, n: u64) -> Result<Ticket, Error> {
    let mut batch = store.batch();
    for id in 10 * n..10 * n + 10 {
        batch.put_message(1, id, format!("message {id}").into_bytes());
    }
    store.append(batch)
}

fn ids(store: &Store) -> Vec<u64> {
    let mut ids: Vec<u64> = store
        .history(1, Page::Latest, 100_000)
        .unwrap()
        .iter()
        .map(|m| m.message_id)
        .collect();
    ids.reverse();
    ids
}

/// Checks that batches `0..acked` are present with their values, and that any later batch
/// is present whole or absent whole.
fn check_recovered(dir: &TempDir, acked: u64) {
    let store = Store::open(dir.path(), options()).unwrap();
    let ids = ids(&store);
    for id in 0..10 * acked {
        assert_eq!(
            store.get_message(1, id).unwrap(),
            Some(format!("message {id}").into_bytes())
        );
    }
    assert_eq!(ids.len() % 10, 0, "a batch is never half-present: {ids:?}");
    assert_eq!(ids, (0..ids.len() as u64).collect::<Vec<_>>());
}

/// A WAL fault on the group commit of batch 3 fails that ticket, poisons the store, and
/// loses nothing acknowledged.
fn wal_fault(arm: impl Fn(&Faults)) {
    let dir = TempDir::new("wal-fault");
    let faults = Arc::new(Faults::for_extension("wal"));
    let mut store =
        Store::open_with_fs(dir.path(), options(), Fs::with_faults(faults.clone())).unwrap();
    for n in 0..3 {
        let ticket = append(&mut store, n).unwrap();
        store.wait_durable(ticket).unwrap();
    }
    arm(&faults);
    let ticket = append(&mut store, 3).unwrap();
    let err = store.wait_durable(ticket).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(faults.fired.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(
        store.durable() < ticket,
        "a failed group commit is never reported durable"
    );
    assert!(matches!(
        store.poll(),
        Err(Error::Io { .. }) | Err(Error::Poisoned)
    ));
    assert_eq!(append(&mut store, 4), Err(Error::Poisoned));
    drop(store);
    check_recovered(&dir, 3);
}

#[test]
fn failed_wal_write_is_an_error() {
    wal_fault(|f| f.fail_write_in(1));
}

#[test]
fn short_wal_write_is_an_error_and_its_tail_is_cut_on_reopen() {
    wal_fault(|f| f.short_write_in(1));
}

#[test]
fn failed_wal_fsync_is_an_error() {
    wal_fault(|f| f.fail_sync_in(1));
}

/// A fault while flushing (table write, table fsync, manifest write) surfaces from `poll`;
/// the data is still in the WAL and comes back on reopen.
fn flush_fault(extension: &'static str, arm: impl Fn(&Faults)) {
    let dir = TempDir::new("flush-fault");
    let faults = Arc::new(Faults::for_extension(extension));
    let mut store =
        Store::open_with_fs(dir.path(), options(), Fs::with_faults(faults.clone())).unwrap();
    for n in 0..5 {
        let ticket = append(&mut store, n).unwrap();
        store.wait_durable(ticket).unwrap();
    }
    arm(&faults);
    store.flush().unwrap();
    let err = store.wait_idle().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(append(&mut store, 5), Err(Error::Poisoned));
    drop(store);
    check_recovered(&dir, 5);
}

#[test]
fn failed_table_write_during_flush_is_an_error() {
    flush_fault("sst", |f| f.fail_write_in(1));
}

#[test]
fn short_table_write_during_flush_is_an_error() {
    flush_fault("sst", |f| f.short_write_in(1));
}

#[test]
fn failed_table_fsync_during_flush_is_an_error() {
    flush_fault("sst", |f| f.fail_sync_in(1));
}

#[test]
fn failed_manifest_fsync_is_an_error() {
    flush_fault("tmp", |f| f.fail_sync_in(1));
}

#[test]
fn failed_compaction_write_is_an_error_and_loses_nothing() {
    let dir = TempDir::new("compaction-fault");
    let faults = Arc::new(Faults::for_extension("sst"));
    let mut store =
        Store::open_with_fs(dir.path(), options(), Fs::with_faults(faults.clone())).unwrap();
    for n in 0..6 {
        let ticket = append(&mut store, n).unwrap();
        store.wait_durable(ticket).unwrap();
        store.flush().unwrap();
        store.wait_idle().unwrap();
    }
    // Delete a few messages so the full compaction has tombstones to purge.
    let mut batch = store.batch();
    batch.delete_message(1, 0);
    let ticket = store.append(batch).unwrap();
    store.wait_durable(ticket).unwrap();
    store.flush().unwrap();
    store.wait_idle().unwrap();
    faults.fail_sync_in(1);
    store.compact(true).unwrap();
    let err = store.wait_idle().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    drop(store);
    let store = Store::open(dir.path(), options()).unwrap();
    let sst_files = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sst")
        })
        .count();
    assert_eq!(
        sst_files,
        store.recovery().tables,
        "no half-made output remains"
    );
    assert_eq!(store.get_message(1, 0).unwrap(), None);
    assert_eq!(ids(&store), (1..60).collect::<Vec<_>>());
}

#[test]
fn full_compaction_reclaims_deleted_space() {
    let dir = TempDir::new("reclaim");
    let mut store = Store::open(dir.path(), options()).unwrap();
    for n in 0..50 {
        append(&mut store, n).unwrap();
    }
    store.wait_idle().unwrap();
    store.flush().unwrap();
    store.wait_idle().unwrap();
    let mut batch = store.batch();
    for id in 0..450 {
        batch.delete_message(1, id);
    }
    store.append(batch).unwrap();
    store.wait_idle().unwrap();
    store.flush().unwrap();
    store.wait_idle().unwrap();
    let before = store.disk_bytes().unwrap();
    store.compact(true).unwrap();
    store.wait_idle().unwrap();
    let after = store.disk_bytes().unwrap();
    assert_eq!(ids(&store), (450..500).collect::<Vec<_>>());
    assert!(
        store.stats().tombstones_purged >= 450,
        "{:?}",
        store.stats()
    );
    assert!(
        after * 3 < before,
        "space not reclaimed: {before} -> {after} bytes"
    );
}
