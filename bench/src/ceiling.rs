//! The kernel's own ceiling for gateway fan-out: how many WebSocket dispatches per second
//! one thread can push through loopback TCP when it does nothing but `writev`, at the
//! same frames-per-write a server achieves. Readers of the `fanout` table compare a
//! server's events/s with this number to see how much of the kernel's budget it leaves.
//!
//! Method, per frames-per-write k (default 1, 8, 32) and per run:
//! - S loopback TCP connections (default 1000), set up fresh for each run.
//! - One sender thread, pinned to `sender_cpu`, owns the server ends (TCP_NODELAY, as a
//!   gateway sets them) and writes k pre-built, unmasked WebSocket text frames of about
//!   `frame_bytes` (a MESSAGE_CREATE is ~1000) with one `writev` per connection, round
//!   robin, until `seconds` have passed. Blocking sockets: a full socket stalls the
//!   sender, which is the kernel's backpressure, not a skipped write.
//! - Reader threads, one per `reader_cpus` entry and pinned there, each drain a share of
//!   the client ends through level-triggered epoll with 256 KiB reads, and count bytes.
//! - The sender then shuts down its write sides; a run ends when every reader has read
//!   to EOF, so the frames read must equal the frames written (the report carries both).
//! - Rate = frames read / (first write → last EOF). The table shows the median over
//!   `runs` runs. The checksum is the total number of frames read.
//!
//! What it leaves out, so it is a ceiling and not a server: no JSON, no per-session `s`,
//! no event loop on the sending side, no reading of client frames, no compression.
//!
//! Bounds: every run stops by itself. The sender stops at `seconds`; a reader that sees
//! no EOF within `READER_GRACE` after that gives up, and the mismatch shows in the report.

mod sys;

use std::fmt::Write as _;
use std::io::{IoSlice, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// What `run_ceiling` measures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CeilingOptions {
    /// Loopback connections the sender writes to, round robin.
    pub sessions: usize,
    /// Frames per `writev`, one table row each.
    pub frames_per_write: Vec<usize>,
    /// Bytes per WebSocket frame, header included (approximately; see the report).
    pub frame_bytes: usize,
    /// How long the sender writes, per run.
    pub seconds: f64,
    /// Runs per row; the row shows the median.
    pub runs: usize,
    /// CPU the sender thread is pinned to; `None` leaves it to the scheduler.
    pub sender_cpu: Option<usize>,
    /// One reader thread per entry, pinned there; empty means one unpinned reader.
    pub reader_cpus: Vec<usize>,
}

impl CeilingOptions {
    /// A run small enough for the test suite: proves the machinery, measures nothing.
    pub fn tiny() -> Self {
        CeilingOptions {
            sessions: 16,
            frames_per_write: vec![1, 8],
            frame_bytes: 1000,
            seconds: 0.05,
            runs: 1,
            sender_cpu: None,
            reader_cpus: Vec::new(),
        }
    }
}

/// The full measurement: 1000 sessions, k = 1, 8, 32, 1000-byte frames, 3 runs of 2 s.
/// The CPUs are the caller's to choose.
impl Default for CeilingOptions {
    fn default() -> Self {
        CeilingOptions {
            sessions: 1000,
            frames_per_write: vec![1, 8, 32],
            frame_bytes: 1000,
            seconds: 2.0,
            runs: 3,
            sender_cpu: None,
            reader_cpus: Vec::new(),
        }
    }
}

/// What `run_ceiling` measured.
#[derive(Debug, Clone)]
pub struct CeilingReport {
    /// One row per frames-per-write, in the order asked for.
    pub rows: Vec<CeilingRow>,
    /// The actual frame size, header included.
    pub frame_bytes: usize,
    /// Frames read, over every run of every row.
    pub checksum: u64,
}

/// One frames-per-write setting, medians over the runs plus the totals behind them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CeilingRow {
    pub frames_per_write: usize,
    /// Median frames delivered per second.
    pub frames_per_s: f64,
    /// Median megabytes (10^6) delivered per second.
    pub mb_per_s: f64,
    /// Frames per second of each run, in run order, so a reader sees the spread.
    pub frames_per_s_runs: Vec<f64>,
    /// Frames the sender wrote, over all runs.
    pub frames_written: u64,
    /// Frames the readers read, over all runs; equal to `frames_written` unless a run
    /// failed (then `error` says why).
    pub frames_read: u64,
    /// `writev` calls, over all runs.
    pub writes: u64,
    /// The first failure, if a run failed.
    pub error: Option<String>,
}

impl CeilingReport {
    /// A markdown table of the rows.
    pub fn table(&self) -> String {
        let mut table = String::from(
            "| frames/write | frames/s (median) | runs min–max | MB/s | frames written \
             | frames read |\n|---:|---:|---:|---:|---:|---:|\n",
        );
        for row in &self.rows {
            // Writing to a String cannot fail.
            let _ = writeln!(
                table,
                "| {} | {:.0} | {:.0}–{:.0} | {:.0} | {} | {} |{}",
                row.frames_per_write,
                row.frames_per_s,
                row.frames_per_s_runs
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min),
                row.frames_per_s_runs.iter().copied().fold(0.0, f64::max),
                row.mb_per_s,
                row.frames_written,
                row.frames_read,
                row.error
                    .as_deref()
                    .map(|e| format!(" failed: {e}"))
                    .unwrap_or_default()
            );
        }
        table
    }
}

/// How long readers wait for EOF after the sender stopped before giving up.
const READER_GRACE: Duration = Duration::from_secs(10);
/// Bytes per `read`.
const READ_BUFFER_BYTES: usize = 256 * 1024;
/// Distinct pre-built frames the sender cycles through.
const DISTINCT_FRAMES: usize = 32;
/// Linux's IOV_MAX: the most slices one `writev` takes.
const IOV_MAX: usize = 1024;

/// Runs every row of `options` and reports the medians.
pub fn run_ceiling(options: &CeilingOptions) -> CeilingReport {
    assert!(options.sessions > 0, "at least one session");
    assert!(options.runs > 0, "at least one run");
    assert!(
        options.frame_bytes >= 16,
        "a frame needs room for its header and JSON"
    );
    if let Err(error) = crate::placement::raise_nofile_limit() {
        eprintln!("ceiling: could not raise RLIMIT_NOFILE ({error}); many sessions may fail");
    }
    let frames = build_frames(options.frame_bytes);
    let frame_bytes = frames[0].len();
    let mut rows = Vec::new();
    let mut checksum = 0;
    for &k in &options.frames_per_write {
        assert!(
            (1..=IOV_MAX).contains(&k),
            "frames per write must be 1..={IOV_MAX}"
        );
        let mut row = CeilingRow {
            frames_per_write: k,
            frames_per_s: 0.0,
            mb_per_s: 0.0,
            frames_per_s_runs: Vec::new(),
            frames_written: 0,
            frames_read: 0,
            writes: 0,
            error: None,
        };
        let mut rates = Vec::new();
        for _ in 0..options.runs {
            match run_once(options, k, &frames) {
                Ok(run) => {
                    row.frames_written += run.bytes_written / frame_bytes as u64;
                    row.frames_read += run.bytes_read / frame_bytes as u64;
                    row.writes += run.writes;
                    if run.bytes_read != run.bytes_written && row.error.is_none() {
                        row.error = Some(format!(
                            "read {} bytes of {} written",
                            run.bytes_read, run.bytes_written
                        ));
                    }
                    let bytes_per_s = run.bytes_read as f64 / run.elapsed.as_secs_f64();
                    row.frames_per_s_runs.push(bytes_per_s / frame_bytes as f64);
                    rates.push(bytes_per_s);
                }
                Err(error) => {
                    row.error.get_or_insert(error);
                }
            }
        }
        let bytes_per_s = median(&mut rates);
        row.frames_per_s = bytes_per_s / frame_bytes as f64;
        row.mb_per_s = bytes_per_s / 1e6;
        checksum += row.frames_read;
        rows.push(row);
    }
    CeilingReport {
        rows,
        frame_bytes,
        checksum,
    }
}

/// What one run measured.
struct Run {
    bytes_written: u64,
    bytes_read: u64,
    writes: u64,
    elapsed: Duration,
}

fn run_once(options: &CeilingOptions, k: usize, frames: &[Vec<u8>]) -> Result<Run, String> {
    let (senders, receivers) =
        connect_pairs(options.sessions).map_err(|e| format!("loopback connections: {e}"))?;
    let reader_count = options.reader_cpus.len().max(1);
    let mut shares: Vec<Vec<TcpStream>> = (0..reader_count).map(|_| Vec::new()).collect();
    for (index, stream) in receivers.into_iter().enumerate() {
        shares[index % reader_count].push(stream);
    }
    let sender_done = Arc::new(AtomicBool::new(false));
    // Every reader has registered its sockets before the sender starts the clock.
    let start = Arc::new(Barrier::new(reader_count + 1));
    let readers: Vec<_> = shares
        .into_iter()
        .enumerate()
        .map(|(index, share)| {
            let cpu = options.reader_cpus.get(index).copied();
            let start = Arc::clone(&start);
            let sender_done = Arc::clone(&sender_done);
            std::thread::Builder::new()
                .name(format!("ceiling-reader-{index}"))
                .spawn(move || read_all(share, cpu, &start, &sender_done))
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("reader thread: {e}"))?;
    let duration = Duration::from_secs_f64(options.seconds);
    let sender_cpu = options.sender_cpu;
    let frames = frames.to_vec();
    let sender_start = Arc::clone(&start);
    let sender = std::thread::Builder::new()
        .name("ceiling-sender".into())
        .spawn(move || {
            pin(sender_cpu);
            sender_start.wait();
            write_all_for(senders, &frames, k, duration)
        })
        .map_err(|e| format!("sender thread: {e}"))?;
    let sent = sender.join().map_err(|_| "sender panicked".to_string());
    sender_done.store(true, Ordering::Release);
    let mut bytes_read = 0;
    let mut reader_error = None;
    for reader in readers {
        match reader.join() {
            Ok(Ok(read)) => bytes_read += read,
            Ok(Err(error)) => reader_error = Some(error),
            Err(_) => reader_error = Some("reader panicked".into()),
        }
    }
    let (bytes_written, writes, started) = sent??;
    let elapsed = started.elapsed();
    if let Some(error) = reader_error {
        return Err(error);
    }
    Ok(Run {
        bytes_written,
        bytes_read,
        writes,
        elapsed,
    })
}

/// `n` connected loopback pairs: (server ends, client ends).
fn connect_pairs(n: usize) -> std::io::Result<(Vec<TcpStream>, Vec<TcpStream>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut servers = Vec::with_capacity(n);
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let client = TcpStream::connect(addr)?;
        let (server, _) = listener.accept()?;
        server.set_nodelay(true)?;
        client.set_nonblocking(true)?;
        clients.push(client);
        servers.push(server);
    }
    Ok((servers, clients))
}

/// The sender: k frames per `writev`, round robin, until `duration` has passed; then
/// shuts down every write side. Returns (bytes written, writev calls, start instant).
fn write_all_for(
    streams: Vec<TcpStream>,
    frames: &[Vec<u8>],
    k: usize,
    duration: Duration,
) -> Result<(u64, u64, Instant), String> {
    // k slices that cycle through the distinct frames, as a server's batch would.
    let batch: Vec<IoSlice<'_>> = (0..k)
        .map(|i| IoSlice::new(&frames[i % frames.len()]))
        .collect();
    let batch_bytes: usize = batch.iter().map(|slice| slice.len()).sum();
    let mut slices = batch.clone();
    let mut bytes = 0u64;
    let mut writes = 0u64;
    let started = Instant::now();
    let deadline = started + duration;
    'outer: loop {
        for mut stream in &streams {
            slices.clone_from(&batch);
            let mut remaining = &mut slices[..];
            let mut left = batch_bytes;
            while left > 0 {
                let written = match stream.write_vectored(remaining) {
                    Ok(0) => return Err("a socket accepted no bytes".into()),
                    Ok(written) => written,
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(error) => return Err(format!("writev: {error}")),
                };
                writes += 1;
                left -= written;
                IoSlice::advance_slices(&mut remaining, written);
            }
            bytes += batch_bytes as u64;
            // The clock is read once per connection's batch: cheap next to a writev.
            if Instant::now() >= deadline {
                break 'outer;
            }
        }
    }
    for stream in &streams {
        let _ = stream.shutdown(Shutdown::Write);
    }
    Ok((bytes, writes, started))
}

/// A reader: drains its share through epoll until each socket reaches EOF. Returns the
/// bytes read.
fn read_all(
    mut streams: Vec<TcpStream>,
    cpu: Option<usize>,
    start: &Barrier,
    sender_done: &AtomicBool,
) -> Result<u64, String> {
    pin(cpu);
    let epoll = sys::Epoll::new().map_err(|e| format!("epoll: {e}"));
    let registered = epoll.as_ref().map_err(Clone::clone).and_then(|epoll| {
        streams.iter().enumerate().try_for_each(|(token, stream)| {
            epoll
                .add(stream.as_raw_fd(), token as u64)
                .map_err(|e| format!("epoll add: {e}"))
        })
    });
    // Wait at the barrier even on failure, so the sender is never left waiting.
    start.wait();
    registered?;
    let epoll = epoll?;
    let mut open = vec![true; streams.len()];
    let mut open_count = streams.len();
    let mut events = sys::event_buffer(256);
    let mut buffer = vec![0u8; READ_BUFFER_BYTES];
    let mut bytes = 0u64;
    let mut done_at: Option<Instant> = None;
    while open_count > 0 {
        if done_at.is_none() && sender_done.load(Ordering::Acquire) {
            done_at = Some(Instant::now());
        }
        if done_at.is_some_and(|at| at.elapsed() > READER_GRACE) {
            return Err(format!(
                "{open_count} sockets saw no EOF after the sender stopped"
            ));
        }
        let ready = epoll
            .wait(&mut events, 100)
            .map_err(|e| format!("epoll wait: {e}"))?;
        for event in &events[..ready] {
            let token = event.u64 as usize;
            if !open[token] {
                continue;
            }
            loop {
                match streams[token].read(&mut buffer) {
                    Ok(0) => {
                        let _ = epoll.delete(streams[token].as_raw_fd());
                        open[token] = false;
                        open_count -= 1;
                        break;
                    }
                    Ok(read) => {
                        bytes += read as u64;
                        if read < buffer.len() {
                            break;
                        }
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(error) => return Err(format!("read: {error}")),
                }
            }
        }
    }
    streams.clear();
    Ok(bytes)
}

/// `DISTINCT_FRAMES` unmasked text frames of about `frame_bytes` each, header included,
/// all the same length: a MESSAGE_CREATE-like JSON padded with content.
fn build_frames(frame_bytes: usize) -> Vec<Vec<u8>> {
    // Payloads of 126..=65535 bytes take a 4-byte header, shorter ones 2.
    let header_len = if frame_bytes >= 130 { 4 } else { 2 };
    let payload_len = (frame_bytes - header_len).min(u16::MAX as usize);
    (0..DISTINCT_FRAMES)
        .map(|seq| {
            let mut payload = format!(
                "{{\"op\":0,\"s\":{:06},\"t\":\"MESSAGE_CREATE\",\"d\":{{\"content\":\"",
                seq
            );
            let closing = "\"}}";
            let pad = payload_len.saturating_sub(payload.len() + closing.len());
            payload.extend(std::iter::repeat_n('x', pad));
            payload.push_str(closing);
            let mut frame = Vec::with_capacity(payload.len() + header_len);
            wsframe::encode_message(&mut frame, &wsframe::Message::Text(&payload), None);
            frame
        })
        .collect()
}

fn pin(cpu: Option<usize>) {
    if let Some(id) = cpu {
        if !core_affinity::set_for_current(core_affinity::CoreId { id }) {
            eprintln!("ceiling: could not pin a thread to CPU {id}; running unpinned");
        }
    }
}

/// The median of `values` (the mean of the middle two for an even count); 0 when empty.
fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_asked_size_and_decode() {
        for frame_bytes in [64, 1000, 4096] {
            let frames = build_frames(frame_bytes);
            assert_eq!(frames.len(), DISTINCT_FRAMES);
            for frame in &frames {
                assert_eq!(frame.len(), frame_bytes);
                let mut decoder = wsframe::Decoder::new(wsframe::Config::client());
                let mut input = frame.as_slice();
                assert!(matches!(
                    decoder.decode(&mut input),
                    Ok(Some(wsframe::Message::Text(_)))
                ));
            }
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }
}
