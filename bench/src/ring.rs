//! Benchmark suite `ring`: messages per second through one SPSC ring between two threads
//! pinned to different cores, for Flux's `ringbuf` and its peers in the same run.
//!
//! Peers: `rtrb` (the closest design: an SPSC ring with cached indices and chunk APIs) and
//! `crossbeam_queue::ArrayQueue` (a bounded MPMC queue, what one reaches for without an
//! SPSC crate). Each moves `u64` messages `0..N` from a producer thread to a consumer
//! thread, single-item (`push`/`pop`) and in batches of 32 where the queue has a batch API
//! (ringbuf `push_iter`/`drain`, rtrb `write_chunk_uninit`/`read_chunk`; ArrayQueue has
//! none). The consumer checks every message arrives in order and sums them; the sum is
//! the checksum.
//!
//! Method: every queue has capacity 1024. Runs of the queues are interleaved (run 1 of
//! each, then run 2 of each, ...) so a noisy neighbour hurts all of them alike; the table
//! shows the median, min and max over the runs and the ratio of ringbuf's median to each
//! peer's. The consumer times from the start barrier to the last message. A side that
//! cannot make progress busy-waits (`spin_loop`), the same policy for every queue; it
//! yields to the OS after 64 failed tries only when the threads could not be pinned to two
//! cores. (Yielding on a pinned core hands it to whatever else is runnable there for a
//! whole time slice, which on a shared machine swamps the number being measured.)

use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::{Report, Size};

/// Slots in every queue under test.
const CAPACITY: usize = 1024;
/// Messages per batch in the batch mode.
const BATCH: usize = 32;
/// Failed tries an unpinned side spins through before it yields to the OS.
const SPINS_BEFORE_YIELD: u32 = 64;

thread_local! {
    /// Whether this thread runs on a core of its own (set by `Cores::pin`).
    static PINNED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs the suite.
pub fn run(size: Size) -> Report {
    let (messages, runs) = match size {
        Size::Tiny => (20_000, 1),
        Size::Full => (10_000_000, 5),
    };
    let cores = Cores::pick();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); CASES.len()];
    let mut checksum = 0u64;
    for _ in 0..runs {
        for (case, durations) in CASES.iter().zip(&mut samples) {
            let (elapsed, sum) = (case.run)(messages, cores);
            assert_eq!(
                sum,
                messages * (messages - 1) / 2,
                "{} lost or reordered",
                case.name
            );
            durations.push(elapsed);
            checksum = checksum.wrapping_add(sum);
        }
    }
    let table = render(messages, runs, cores, &samples);
    Report {
        suite: "ring",
        table,
        checksum,
    }
}

/// One row of the table: a queue in one mode.
struct Case {
    queue: &'static str,
    mode: Mode,
    name: &'static str,
    run: fn(u64, Cores) -> (Duration, u64),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Single,
    Batch,
}

const CASES: [Case; 5] = [
    Case {
        queue: "ringbuf",
        mode: Mode::Single,
        name: "ringbuf single",
        run: flux_single,
    },
    Case {
        queue: "rtrb",
        mode: Mode::Single,
        name: "rtrb single",
        run: rtrb_single,
    },
    Case {
        queue: "ArrayQueue",
        mode: Mode::Single,
        name: "ArrayQueue single",
        run: array_single,
    },
    Case {
        queue: "ringbuf",
        mode: Mode::Batch,
        name: "ringbuf batch",
        run: flux_batch,
    },
    Case {
        queue: "rtrb",
        mode: Mode::Batch,
        name: "rtrb batch",
        run: rtrb_batch,
    },
];

fn flux_single(messages: u64, cores: Cores) -> (Duration, u64) {
    let (producer, consumer) = ringbuf::ring::<u64>(CAPACITY);
    transfer(
        cores,
        (producer, consumer),
        |producer| {
            let mut backoff = Backoff::default();
            for message in 0..messages {
                let mut message = message;
                while let Err(refused) = producer.push(message) {
                    message = refused;
                    backoff.wait();
                }
                backoff.reset();
            }
        },
        |consumer| {
            let mut receiver = Receiver::default();
            let mut backoff = Backoff::default();
            while receiver.next < messages {
                match consumer.pop() {
                    Some(message) => {
                        receiver.accept(message);
                        backoff.reset();
                    }
                    None => backoff.wait(),
                }
            }
            receiver.sum
        },
    )
}

fn flux_batch(messages: u64, cores: Cores) -> (Duration, u64) {
    let (producer, consumer) = ringbuf::ring::<u64>(CAPACITY);
    transfer(
        cores,
        (producer, consumer),
        |producer| {
            let mut backoff = Backoff::default();
            let mut next = 0;
            while next < messages {
                let end = messages.min(next + BATCH as u64);
                match producer.push_iter(&mut (next..end)) {
                    0 => backoff.wait(),
                    pushed => {
                        next += pushed as u64;
                        backoff.reset();
                    }
                }
            }
        },
        |consumer| {
            let mut receiver = Receiver::default();
            let mut backoff = Backoff::default();
            while receiver.next < messages {
                let batch = consumer.drain(BATCH);
                if batch.len() == 0 {
                    backoff.wait();
                    continue;
                }
                batch.for_each(|message| receiver.accept(message));
                backoff.reset();
            }
            receiver.sum
        },
    )
}

fn rtrb_single(messages: u64, cores: Cores) -> (Duration, u64) {
    transfer(
        cores,
        rtrb::RingBuffer::<u64>::new(CAPACITY),
        |producer| {
            let mut backoff = Backoff::default();
            for message in 0..messages {
                let mut message = message;
                while let Err(rtrb::PushError::Full(refused)) = producer.push(message) {
                    message = refused;
                    backoff.wait();
                }
                backoff.reset();
            }
        },
        |consumer| {
            let mut receiver = Receiver::default();
            let mut backoff = Backoff::default();
            while receiver.next < messages {
                match consumer.pop() {
                    Ok(message) => {
                        receiver.accept(message);
                        backoff.reset();
                    }
                    Err(_) => backoff.wait(),
                }
            }
            receiver.sum
        },
    )
}

fn rtrb_batch(messages: u64, cores: Cores) -> (Duration, u64) {
    use rtrb::chunks::ChunkError::TooFewSlots;
    transfer(
        cores,
        rtrb::RingBuffer::<u64>::new(CAPACITY),
        |producer| {
            let mut backoff = Backoff::default();
            let mut next = 0;
            while next < messages {
                let wanted = messages.min(next + BATCH as u64) - next;
                // rtrb's documented way to push what fits from an iterator.
                let chunk = match producer.write_chunk_uninit(wanted as usize) {
                    Ok(chunk) => chunk,
                    Err(TooFewSlots(0)) => {
                        backoff.wait();
                        continue;
                    }
                    Err(TooFewSlots(free)) => producer
                        .write_chunk_uninit(free)
                        .expect("rtrb said these slots are free"),
                };
                next += chunk.fill_from_iter(next..) as u64;
                backoff.reset();
            }
        },
        |consumer| {
            let mut receiver = Receiver::default();
            let mut backoff = Backoff::default();
            while receiver.next < messages {
                let chunk = match consumer.read_chunk(BATCH) {
                    Ok(chunk) => chunk,
                    Err(TooFewSlots(0)) => {
                        backoff.wait();
                        continue;
                    }
                    Err(TooFewSlots(ready)) => consumer
                        .read_chunk(ready)
                        .expect("rtrb said these slots are ready"),
                };
                let (first, second) = chunk.as_slices();
                first
                    .iter()
                    .chain(second)
                    .for_each(|&message| receiver.accept(message));
                chunk.commit_all();
                backoff.reset();
            }
            receiver.sum
        },
    )
}

fn array_single(messages: u64, cores: Cores) -> (Duration, u64) {
    let queue = crossbeam_queue::ArrayQueue::<u64>::new(CAPACITY);
    transfer(
        cores,
        (&queue, &queue),
        |queue| {
            let mut backoff = Backoff::default();
            for message in 0..messages {
                let mut message = message;
                while let Err(refused) = queue.push(message) {
                    message = refused;
                    backoff.wait();
                }
                backoff.reset();
            }
        },
        |queue| {
            let mut receiver = Receiver::default();
            let mut backoff = Backoff::default();
            while receiver.next < messages {
                match queue.pop() {
                    Some(message) => {
                        receiver.accept(message);
                        backoff.reset();
                    }
                    None => backoff.wait(),
                }
            }
            receiver.sum
        },
    )
}

/// Runs `produce` and `consume` on two threads pinned to different cores, started by one
/// barrier; returns the consumer's time from the barrier to its return, and its result.
///
/// Each half moves into its own thread, so it lives on that thread's stack: left side by
/// side in this frame, the two halves' private fields (cached indices) would share a cache
/// line and every batch would pay for false sharing that a real deployment does not have.
fn transfer<P: Send, C: Send>(
    cores: Cores,
    (producer, consumer): (P, C),
    produce: impl FnOnce(&mut P) + Send,
    consume: impl FnOnce(&mut C) -> u64 + Send,
) -> (Duration, u64) {
    let barrier = &Barrier::new(2);
    std::thread::scope(|scope| {
        let sender = scope.spawn(move || {
            let mut producer = producer;
            cores.pin(0);
            barrier.wait();
            produce(&mut producer);
        });
        let receiver = scope.spawn(move || {
            let mut consumer = consumer;
            cores.pin(1);
            barrier.wait();
            let start = Instant::now();
            let sum = consume(&mut consumer);
            (start.elapsed(), sum)
        });
        sender.join().expect("producer thread panicked");
        receiver.join().expect("consumer thread panicked")
    })
}

/// The consumer's bookkeeping: the order check and the checksum, the same for every queue.
#[derive(Default)]
struct Receiver {
    next: u64,
    sum: u64,
}

impl Receiver {
    #[inline(always)]
    fn accept(&mut self, message: u64) {
        assert_eq!(message, self.next, "message out of order");
        self.next += 1;
        self.sum = self.sum.wrapping_add(message);
    }
}

/// Busy-waits; on an unpinned thread, yields to the OS after a few failed tries, since
/// the other side may need this very core.
struct Backoff {
    failures: u32,
    spins_before_yield: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        let pinned = PINNED.with(|pinned| pinned.get());
        let spins_before_yield = if pinned { u32::MAX } else { SPINS_BEFORE_YIELD };
        Backoff {
            failures: 0,
            spins_before_yield,
        }
    }
}

impl Backoff {
    #[inline(always)]
    fn wait(&mut self) {
        self.failures = self.failures.saturating_add(1);
        if self.failures < self.spins_before_yield {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }

    #[inline(always)]
    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// The two cores the threads run on, or none when the machine has fewer than two.
#[derive(Clone, Copy)]
struct Cores(Option<[core_affinity::CoreId; 2]>);

impl Cores {
    fn pick() -> Self {
        let ids = core_affinity::get_core_ids().unwrap_or_default();
        Cores(match ids.as_slice() {
            [first, second, ..] => Some([*first, *second]),
            _ => None,
        })
    }

    fn pin(self, which: usize) {
        if let Some(ids) = self.0 {
            // Best effort: an unpinned thread still measures something (it then yields
            // when idle), and the table header says which cores were asked for.
            let pinned = core_affinity::set_for_current(ids[which]);
            PINNED.with(|cell| cell.set(pinned));
        }
    }

    fn describe(self) -> String {
        match self.0 {
            Some([producer, consumer]) => {
                format!(
                    "producer pinned to core {}, consumer to core {}",
                    producer.id, consumer.id
                )
            }
            None => "fewer than 2 cores: threads not pinned".to_string(),
        }
    }
}

fn render(messages: u64, runs: usize, cores: Cores, samples: &[Vec<Duration>]) -> String {
    let rate = |duration: Duration| messages as f64 / duration.as_secs_f64();
    let median_rate = |case: usize| rate(median(&samples[case]));
    let mut table = format!(
        "{messages} u64 messages per run, {runs} run(s) per row, capacity {CAPACITY}, \
         batch {BATCH}; {}.\n\n\
         | queue | mode | median Mmsg/s | min | max | ns/msg (median) | ringbuf ÷ this |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
        cores.describe()
    );
    for (index, case) in CASES.iter().enumerate() {
        let durations = &samples[index];
        let slowest = durations.iter().max().copied().unwrap_or_default();
        let fastest = durations.iter().min().copied().unwrap_or_default();
        let flux = CASES
            .iter()
            .position(|other| other.queue == "ringbuf" && other.mode == case.mode)
            .expect("every mode has a ringbuf row");
        let mode = match case.mode {
            Mode::Single => "single".to_string(),
            Mode::Batch => format!("batch {BATCH}"),
        };
        table.push_str(&format!(
            "| {} | {mode} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2}× |\n",
            case.queue,
            median_rate(index) / 1e6,
            rate(slowest) / 1e6,
            rate(fastest) / 1e6,
            median(durations).as_nanos() as f64 / messages as f64,
            median_rate(flux) / median_rate(index),
        ));
    }
    table.push_str("\nArrayQueue has no batch API, so it has no batch row.\n");
    table
}

fn median(durations: &[Duration]) -> Duration {
    let mut sorted = durations.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}
