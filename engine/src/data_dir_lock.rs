//! One writer per data dir: an exclusive advisory lock on `<data-dir>/flux.lock`.
//!
//! A running server holds it for its whole life (`app::prepare` takes it, `Shared`
//! keeps it), and `flux admin` takes it before it reads or writes the stores, so the
//! two can never write one lsm store at once (the store has no lock of its own, and two
//! writers would corrupt its log). `flock(2)` locks die with their process, so a server
//! killed with SIGKILL leaves nothing stale behind; the file itself stays and is
//! harmless.
//!
//! Implements: `flock(LOCK_EX | LOCK_NB)`. (`File::try_lock` does the same, but is newer
//! than the workspace's minimum Rust.)

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// The lock file's name in the data dir.
pub const LOCK_FILE: &str = "flux.lock";

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock on `data_dir` (which must exist), or fails at once with
    /// `ErrorKind::WouldBlock` if another process (or another server in this one)
    /// holds it.
    ///
    /// ```
    /// use engine::data_dir_lock::DataDirLock;
    /// let dir = std::env::temp_dir().join(format!("flux-lock-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let held = DataDirLock::acquire(&dir).unwrap();
    /// assert!(DataDirLock::acquire(&dir).is_err());
    /// drop(held);
    /// assert!(DataDirLock::acquire(&dir).is_ok());
    /// ```
    pub fn acquire(data_dir: &Path) -> io::Result<DataDirLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join(LOCK_FILE))?;
        #[allow(unsafe_code)]
        // SAFETY: `flock` reads only its two integer arguments; the fd is open and owned
        // by `file` for the whole call.
        let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(DataDirLock { _file: file })
    }
}

/// Whether `error` (from `acquire`) means someone else holds the lock.
pub fn is_held_elsewhere(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::WouldBlock
}
