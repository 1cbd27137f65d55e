//! The file layer: every file operation the store performs, with optional fault injection.
//!
//! All disk writes go through [`Fs`] and [`FsFile`] so that a test can make the Nth write
//! fail, the Nth write stop half way (a short write, as on a full disk), or the Nth fsync
//! fail, and then check that the failure reaches the caller as an [`Error`] and that no
//! acknowledged data is lost. Faults can be aimed at one kind of file by its extension
//! (`"wal"`, `"sst"`, `"manifest"`...).
//!
//! Reads of whole small files (the manifest, WAL segments at recovery) also go through here;
//! table reads go through `mmap.rs`.
//!
//! Invariants:
//! - An injected fault is reported exactly like a real one: `Error::Io` naming the op.
//! - A fault counter fires once, then disarms itself.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::Error;

/// The file system the store uses: the real one, optionally with injected faults.
#[derive(Debug, Clone, Default)]
pub struct Fs {
    faults: Option<Arc<Faults>>,
}

/// Armed faults shared between a test and the store's threads.
///
/// Each counter is a countdown: `0` is disarmed, `n` makes the n-th matching call from now
/// fail (and then disarms).
///
/// ```
/// use std::sync::Arc;
/// use lsm::fs::{Faults, Fs};
/// let faults = Arc::new(Faults::for_extension("wal"));
/// faults.fail_sync_in(1); // the next fdatasync of a .wal file fails
/// let fs = Fs::with_faults(faults.clone());
/// # let _ = fs;
/// ```
#[derive(Debug, Default)]
pub struct Faults {
    extension: Option<&'static str>,
    write_fail_in: AtomicU64,
    write_short_in: AtomicU64,
    sync_fail_in: AtomicU64,
    /// How many faults fired so far.
    pub fired: AtomicU64,
}

/// A file open for writing through [`Fs`].
#[derive(Debug)]
pub struct FsFile {
    file: File,
    path: PathBuf,
    faults: Option<Arc<Faults>>,
}

impl Faults {
    /// Faults that hit files with any extension.
    pub fn any_file() -> Faults {
        Faults::default()
    }

    /// Faults that hit only files whose extension is `extension`.
    pub fn for_extension(extension: &'static str) -> Faults {
        Faults {
            extension: Some(extension),
            ..Faults::default()
        }
    }

    /// The `n`-th next write fails with an I/O error, writing nothing.
    pub fn fail_write_in(&self, n: u64) {
        self.write_fail_in.store(n, Ordering::SeqCst);
    }

    /// The `n`-th next write writes only half its bytes, then fails (a full disk).
    pub fn short_write_in(&self, n: u64) {
        self.write_short_in.store(n, Ordering::SeqCst);
    }

    /// The `n`-th next fsync/fdatasync fails.
    pub fn fail_sync_in(&self, n: u64) {
        self.sync_fail_in.store(n, Ordering::SeqCst);
    }

    fn matches(&self, path: &Path) -> bool {
        match self.extension {
            None => true,
            Some(ext) => path.extension().is_some_and(|e| e == ext),
        }
    }

    /// Counts one call down; true if this call must fail.
    fn trip(&self, counter: &AtomicU64) -> bool {
        let hit = counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n > 0).then(|| n - 1)
            })
            .is_ok_and(|before| before == 1);
        if hit {
            self.fired.fetch_add(1, Ordering::SeqCst);
        }
        hit
    }
}

fn injected(what: &str) -> io::Error {
    io::Error::other(format!("injected fault: {what}"))
}

impl Fs {
    /// The real file system, no faults.
    pub fn real() -> Fs {
        Fs { faults: None }
    }

    /// The real file system with `faults` armed by the caller.
    pub fn with_faults(faults: Arc<Faults>) -> Fs {
        Fs {
            faults: Some(faults),
        }
    }

    /// Creates (or truncates) `path` for writing.
    pub fn create(&self, path: &Path) -> Result<FsFile, Error> {
        let file = File::create(path).map_err(|e| Error::io("create", path, &e))?;
        Ok(FsFile {
            file,
            path: path.to_path_buf(),
            faults: self.faults.clone(),
        })
    }

    /// Opens an existing `path` for reading and writing (used to truncate a torn WAL tail).
    pub fn open_rw(&self, path: &Path) -> Result<FsFile, Error> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("open", path, &e))?;
        Ok(FsFile {
            file,
            path: path.to_path_buf(),
            faults: self.faults.clone(),
        })
    }

    /// Opens `path` read-only (tables, before mapping them).
    pub fn open_read(&self, path: &Path) -> Result<File, Error> {
        File::open(path).map_err(|e| Error::io("open", path, &e))
    }

    /// Reads the whole of `path`.
    pub fn read_all(&self, path: &Path) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut out))
            .map_err(|e| Error::io("read", path, &e))?;
        Ok(out)
    }

    /// Atomically renames `from` to `to` (the manifest commit point).
    pub fn rename(&self, from: &Path, to: &Path) -> Result<(), Error> {
        fs::rename(from, to).map_err(|e| Error::io("rename", to, &e))
    }

    /// Removes `path`; a missing file is not an error.
    pub fn remove(&self, path: &Path) -> Result<(), Error> {
        match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io("remove", path, &e)),
            _ => Ok(()),
        }
    }

    /// Creates `dir` and its parents.
    pub fn create_dir_all(&self, dir: &Path) -> Result<(), Error> {
        fs::create_dir_all(dir).map_err(|e| Error::io("mkdir", dir, &e))
    }

    /// Makes renames, creations and removals inside `dir` durable.
    pub fn sync_dir(&self, dir: &Path) -> Result<(), Error> {
        if let Some(faults) = &self.faults {
            if faults.extension.is_none() && faults.trip(&faults.sync_fail_in) {
                return Err(Error::io("fsync", dir, &injected("fsync of directory")));
            }
        }
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io("fsync", dir, &e))
    }

    /// The names of the files in `dir`.
    pub fn list(&self, dir: &Path) -> Result<Vec<String>, Error> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| Error::io("readdir", dir, &e))? {
            let entry = entry.map_err(|e| Error::io("readdir", dir, &e))?;
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Total bytes of the files in `dir` (not recursive).
    pub fn dir_bytes(&self, dir: &Path) -> Result<u64, Error> {
        let mut total = 0;
        for name in self.list(dir)? {
            let path = dir.join(name);
            total += fs::metadata(&path)
                .map_err(|e| Error::io("stat", &path, &e))?
                .len();
        }
        Ok(total)
    }
}

impl FsFile {
    /// Writes all of `bytes` at the current position.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if let Some(faults) = self.faults.as_deref().filter(|f| f.matches(&self.path)) {
            if faults.trip(&faults.write_fail_in) {
                return Err(Error::io("write", &self.path, &injected("failed write")));
            }
            if faults.trip(&faults.write_short_in) {
                let half = &bytes[..bytes.len() / 2];
                self.file
                    .write_all(half)
                    .map_err(|e| Error::io("write", &self.path, &e))?;
                let err = io::Error::new(io::ErrorKind::StorageFull, "injected fault: short write");
                return Err(Error::io("write", &self.path, &err));
            }
        }
        self.file
            .write_all(bytes)
            .map_err(|e| Error::io("write", &self.path, &e))
    }

    /// `fdatasync`: the written bytes (and the length) are durable when this returns Ok.
    pub fn sync_data(&mut self) -> Result<(), Error> {
        if let Some(faults) = self.faults.as_deref().filter(|f| f.matches(&self.path)) {
            if faults.trip(&faults.sync_fail_in) {
                return Err(Error::io(
                    "fdatasync",
                    &self.path,
                    &injected("failed fdatasync"),
                ));
            }
        }
        self.file
            .sync_data()
            .map_err(|e| Error::io("fdatasync", &self.path, &e))
    }

    /// Truncates the file to `len` bytes and makes that durable.
    pub fn truncate(&mut self, len: u64) -> Result<(), Error> {
        self.file
            .set_len(len)
            .map_err(|e| Error::io("truncate", &self.path, &e))?;
        self.sync_data()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdown_fires_once_on_the_nth_call() {
        let faults = Faults::any_file();
        faults.fail_sync_in(3);
        let hits: Vec<bool> = (0..5).map(|_| faults.trip(&faults.sync_fail_in)).collect();
        assert_eq!(hits, [false, false, true, false, false]);
        assert_eq!(faults.fired.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn extension_filter() {
        let faults = Faults::for_extension("wal");
        assert!(faults.matches(Path::new("/x/000001.wal")));
        assert!(!faults.matches(Path::new("/x/000001.sst")));
        assert!(Faults::any_file().matches(Path::new("/x/MANIFEST")));
    }
}
