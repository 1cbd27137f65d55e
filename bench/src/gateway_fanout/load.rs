//! The load generator of the `fanout` suite: S gateway sessions that receive, P publishers
//! that POST, and the clock that times both.
//!
//! Receivers: `receiver_threads` OS threads, each pinned to one client CPU and running a
//! current-thread tokio runtime with its share of the sessions (tokio-tungstenite clients
//! over loopback). A session connects, reads Hello, IDENTIFYs, waits for READY, then
//! heartbeats at the server's interval and times every MESSAGE_CREATE.
//!
//! Publishers: P OS threads, each with one keep-alive HTTP/1.1 connection, posting
//! closed-loop (the next POST leaves when the previous answer arrived) until the run's
//! duration is over. A POST's latency is from just before its write to the end of the
//! answer's body: for Flux that is after the fdatasync that made the message durable.
//!
//! Timing: every message's `content` is `{seq}:{sent_ns}`, `sent_ns` counted from one
//! `Instant` shared by the whole process, so a receiver computes the POST→MESSAGE_CREATE
//! latency without any clock synchronisation. Sessions find `MESSAGE_CREATE` and `content`
//! by substring, not by a JSON parser, so the client does as little work per event as
//! possible and the server is what is measured.
//!
//! Bounds: threads are `receiver_threads + publishers`; every wait has a deadline (connect
//! and IDENTIFY `SETUP_TIMEOUT`, warm-up and drain `DRAIN_TIMEOUT`); a run that misses one
//! returns an error naming it instead of hanging.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

mod cpu;
mod publisher;
mod session;

use cpu::CpuTime;

use publisher::Publisher;

/// How long connecting and identifying every session may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the warm-up message, and the last message after the publishers stop, may take
/// to reach every session.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);
/// Sessions a receiver thread connects at once (bounds the accept backlog we create).
const CONNECTS_IN_FLIGHT: usize = 64;
/// GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT.
const INTENTS: u32 = 1 | (1 << 9) | (1 << 15);

/// The server under load, as the clients see it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where the publishers POST.
    pub http_addr: SocketAddr,
    /// Where the sessions connect (the same address for Flux; the peer has two ports).
    pub ws_addr: SocketAddr,
    /// The channel posted to.
    pub channel_id: String,
    /// `Authorization: Bot …` of the publishers.
    pub publisher_token: String,
    /// One token per session.
    pub session_tokens: Vec<String>,
}

/// How hard to push.
#[derive(Debug, Clone)]
pub struct Load {
    /// Closed-loop publisher threads.
    pub publishers: usize,
    /// How long the publishers post.
    pub duration: Duration,
    /// Threads that run the sessions.
    pub receiver_threads: usize,
    /// CPUs the client threads are pinned to, round robin; empty: not pinned.
    pub client_cpus: Vec<usize>,
}

/// What one run measured.
#[derive(Debug)]
pub struct Measured {
    /// Messages acknowledged (200) during the run.
    pub acked: u64,
    /// How long the publishers posted.
    pub publish_elapsed: Duration,
    /// POST → answer, nanoseconds.
    pub post_ns: Histogram<u64>,
    /// POST → MESSAGE_CREATE at a session, nanoseconds.
    pub delivery_ns: Histogram<u64>,
    /// MESSAGE_CREATE events received (warm-up excluded).
    pub delivered: u64,
    /// `acked × sessions`.
    pub expected: u64,
    /// First POST → last MESSAGE_CREATE.
    pub delivery_elapsed: Duration,
    /// Sum of the sequence numbers delivered (each message counted once per session).
    pub checksum: u64,
    /// Bytes of one MESSAGE_CREATE frame as a session saw it.
    pub event_bytes: usize,
    /// CPU time of the server's threads from the first POST to the end of the drain.
    pub server_cpu: Duration,
    /// CPU time of the load generator's threads over the same window.
    pub client_cpu: Duration,
    /// That window.
    pub cpu_window: Duration,
}

/// State every thread of a run shares.
struct Shared {
    epoch: Instant,
    ready: AtomicUsize,
    warm: AtomicU64,
    delivered: AtomicU64,
    last_delivery_ns: AtomicU64,
    publish_start_ns: AtomicU64,
    checksum: AtomicU64,
    event_bytes: AtomicUsize,
    stop: AtomicBool,
    error: Mutex<Option<String>>,
}

impl Shared {
    fn fail(&self, what: String) {
        let mut error = self.error.lock().unwrap_or_else(|e| e.into_inner());
        error.get_or_insert(what);
    }

    fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

/// Runs one measurement against `target`: connect every session, warm up with one message,
/// publish for `load.duration`, wait until every acknowledged message reached every session.
pub fn run(target: &Target, load: &Load) -> Result<Measured, String> {
    assert!(load.receiver_threads > 0 && load.publishers > 0);
    let sessions = target.session_tokens.len();
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        ready: AtomicUsize::new(0),
        warm: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        last_delivery_ns: AtomicU64::new(0),
        publish_start_ns: AtomicU64::new(0),
        checksum: AtomicU64::new(0),
        event_bytes: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        error: Mutex::new(None),
    });
    let receivers = spawn_receivers(target, load, &shared);
    let outcome = measure(target, load, &shared, sessions);
    shared.stop.store(true, Ordering::Release);
    let mut delivery_ns = new_histogram();
    for receiver in receivers {
        match receiver.join() {
            Ok(histogram) => delivery_ns.add(histogram).expect("same bounds"),
            Err(_) => shared.fail("a receiver thread panicked".into()),
        }
    }
    let (acked, publish_elapsed, post_ns, cpu, cpu_window) = outcome?;
    if let Some(error) = shared.error() {
        return Err(error);
    }
    let last = Duration::from_nanos(shared.last_delivery_ns.load(Ordering::Acquire));
    Ok(Measured {
        acked,
        publish_elapsed,
        post_ns,
        delivery_ns,
        delivered: shared.delivered.load(Ordering::Acquire),
        expected: acked * sessions as u64,
        delivery_elapsed: last.saturating_sub(Duration::from_nanos(
            shared.publish_start_ns.load(Ordering::Acquire),
        )),
        checksum: shared.checksum.load(Ordering::Acquire),
        event_bytes: shared.event_bytes.load(Ordering::Acquire),
        server_cpu: cpu.server,
        client_cpu: cpu.client,
        cpu_window,
    })
}

/// Acknowledged messages, publishing time, POST latencies, CPU time used and its window.
type Phase = (u64, Duration, Histogram<u64>, CpuTime, Duration);

/// The run's phases after the receivers started; any error stops the run.
fn measure(
    target: &Target,
    load: &Load,
    shared: &Arc<Shared>,
    sessions: usize,
) -> Result<Phase, String> {
    wait_until(shared, SETUP_TIMEOUT, "every session to be READY", || {
        shared.ready.load(Ordering::Acquire) >= sessions
    })?;
    // One message that must reach every session before timing starts: proves each
    // session is subscribed to the channel and warms every path once.
    let mut warm_up = Publisher::connect(target)?;
    warm_up.post(target, "w:0:0")?;
    wait_until(
        shared,
        DRAIN_TIMEOUT,
        "the warm-up message to reach every session",
        || shared.warm.load(Ordering::Acquire) >= sessions as u64,
    )?;
    drop(warm_up);

    shared
        .publish_start_ns
        .store(shared.now_ns(), Ordering::Release);
    let cpu_before = CpuTime::sample();
    let window = Instant::now();
    let (acked, publish_elapsed, post_ns) = publish(target, load, shared)?;
    let expected = acked * sessions as u64;
    wait_until(
        shared,
        DRAIN_TIMEOUT,
        "every acknowledged message to reach every session",
        || shared.delivered.load(Ordering::Acquire) >= expected,
    )?;
    let cpu = CpuTime::sample().since(cpu_before);
    Ok((acked, publish_elapsed, post_ns, cpu, window.elapsed()))
}

fn wait_until(
    shared: &Shared,
    timeout: Duration,
    what: &str,
    done: impl Fn() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    while !done() {
        if let Some(error) = shared.error() {
            return Err(error);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 100 s at 3 significant figures.
    Histogram::new_with_bounds(1_000, 100_000_000_000, 3).expect("valid bounds")
}

/// Client threads carry the `fanout-` prefix, which is how `cpu.rs` tells them apart.
fn spawn_named<T: Send + 'static>(
    name: String,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::Builder::new()
        .name(name)
        .spawn(work)
        // A benchmark that cannot start its few client threads has nothing to measure.
        .expect("spawning a client thread")
}

fn pin(cpus: &[usize], index: usize) {
    if let Some(&cpu) = cpus.get(index % cpus.len().max(1)) {
        // Best effort: an unpinned client still loads the server, only less predictably.
        let _ = core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
    }
}

// Publishers

fn publish(
    target: &Target,
    load: &Load,
    shared: &Arc<Shared>,
) -> Result<(u64, Duration, Histogram<u64>), String> {
    let next_seq = Arc::new(AtomicU64::new(1));
    let started = Instant::now();
    let deadline = started + load.duration;
    let threads: Vec<_> = (0..load.publishers)
        .map(|index| {
            let target = target.clone();
            let shared = Arc::clone(shared);
            let next_seq = Arc::clone(&next_seq);
            let cpus = load.client_cpus.clone();
            spawn_named(format!("fanout-pub-{index}"), move || {
                pin(&cpus, load_index(index));
                publisher_loop(&target, &shared, &next_seq, deadline)
            })
        })
        .collect();
    let mut post_ns = new_histogram();
    let mut acked = 0;
    let mut first_error = None;
    for thread in threads {
        match thread.join() {
            Ok(Ok((count, histogram))) => {
                acked += count;
                post_ns.add(histogram).expect("same bounds");
            }
            Ok(Err(error)) => first_error = first_error.or(Some(error)),
            Err(_) => first_error = first_error.or(Some("a publisher panicked".into())),
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok((acked, started.elapsed(), post_ns)),
    }
}

/// Publishers start on the client CPUs after the receivers' (a stable, arbitrary offset).
fn load_index(index: usize) -> usize {
    index + 1
}

fn publisher_loop(
    target: &Target,
    shared: &Shared,
    next_seq: &AtomicU64,
    deadline: Instant,
) -> Result<(u64, Histogram<u64>), String> {
    let mut publisher = Publisher::connect(target)?;
    let mut histogram = new_histogram();
    let mut acked = 0;
    while Instant::now() < deadline {
        let seq = next_seq.fetch_add(1, Ordering::Relaxed);
        let sent_ns = shared.now_ns();
        let content = format!("{seq}:{sent_ns}");
        publisher.post(target, &content)?;
        histogram.saturating_record(shared.now_ns() - sent_ns);
        acked += 1;
    }
    Ok((acked, histogram))
}

// Receivers

fn spawn_receivers(
    target: &Target,
    load: &Load,
    shared: &Arc<Shared>,
) -> Vec<std::thread::JoinHandle<Histogram<u64>>> {
    let threads = load
        .receiver_threads
        .min(target.session_tokens.len())
        .max(1);
    (0..threads)
        .map(|index| {
            let tokens: Vec<String> = target
                .session_tokens
                .iter()
                .skip(index)
                .step_by(threads)
                .cloned()
                .collect();
            let ws_addr = target.ws_addr;
            let shared = Arc::clone(shared);
            let cpus = load.client_cpus.clone();
            spawn_named(format!("fanout-recv-{index}"), move || {
                pin(&cpus, index);
                receiver_thread(ws_addr, tokens, &shared)
            })
        })
        .collect()
}

fn receiver_thread(
    ws_addr: SocketAddr,
    tokens: Vec<String>,
    shared: &Arc<Shared>,
) -> Histogram<u64> {
    let histogram = Rc::new(RefCell::new(new_histogram()));
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            shared.fail(format!("tokio runtime: {error}"));
            return new_histogram();
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let connects = Rc::new(tokio::sync::Semaphore::new(CONNECTS_IN_FLIGHT));
        for token in tokens {
            let shared = Arc::clone(shared);
            let histogram = Rc::clone(&histogram);
            let connects = Rc::clone(&connects);
            tokio::task::spawn_local(async move {
                if let Err(error) =
                    session::session(ws_addr, &token, &shared, &histogram, &connects).await
                {
                    if !shared.stop.load(Ordering::Acquire) {
                        shared.fail(error);
                    }
                }
            });
        }
        while !shared.stop.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    // Dropping the LocalSet drops every session, which closes its socket.
    drop(local);
    Rc::try_unwrap(histogram)
        .map(RefCell::into_inner)
        .unwrap_or_else(|shared| shared.borrow().clone())
}
