//! Connection caps shared by every core of a server: at most `connections_max` open
//! connections in the process and `connections_per_address_max` from one source address.
//!
//! Why shared, and why atomics: a client's connections land on every core (the kernel
//! spreads them by their four-tuple), so a cap counted per core would refuse early on one
//! core and late on another. The counts are plain relaxed atomic counters, the one kind of
//! state the brief lets cores share besides the mesh rings: admitting is one `fetch_add`
//! (undone if it went past the cap), releasing one `fetch_sub`. No lock, no map: source
//! addresses hash (with a per-server random key, so a client cannot aim at another's
//! slot) into a fixed table of counters; two addresses that share a slot share its cap,
//! which with 65,536 slots only makes the cap a little stricter for them.
//!
//! Invariant: a slot's count is the number of admitted, unreleased connections whose
//! address hashes there; `open` is the number of admitted, unreleased connections. Each
//! never exceeds its cap except transiently, by the racing admissions that undo
//! themselves at once.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// Counter slots for source addresses.
const ADDRESS_SLOTS: usize = 1 << 16;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The process holds `connections_max` connections.
    ProcessFull,
    /// This source address holds `connections_per_address_max` connections.
    AddressFull,
}

/// An admitted connection's place in the counts; give it back with `Admission::release`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admitted {
    slot: u32,
}

/// The caps and counts of one server.
#[derive(Debug)]
pub(crate) struct Admission {
    connections_max: usize,
    per_address_max: u32,
    open: AtomicUsize,
    per_address: Box<[AtomicU32]>,
    keys: RandomState,
}

impl Admission {
    /// `0` for either cap means no cap.
    pub(crate) fn new(connections_max: usize, per_address_max: usize) -> Admission {
        Admission {
            connections_max: if connections_max == 0 {
                usize::MAX
            } else {
                connections_max
            },
            per_address_max: u32::try_from(per_address_max)
                .ok()
                .filter(|&max| max > 0)
                .unwrap_or(u32::MAX),
            open: AtomicUsize::new(0),
            per_address: (0..ADDRESS_SLOTS).map(|_| AtomicU32::new(0)).collect(),
            keys: RandomState::new(),
        }
    }

    /// Counts a new connection from `address`, or says which cap it would pass.
    pub(crate) fn admit(&self, address: IpAddr) -> Result<Admitted, Refusal> {
        if self.open.fetch_add(1, Ordering::Relaxed) >= self.connections_max {
            self.open.fetch_sub(1, Ordering::Relaxed);
            return Err(Refusal::ProcessFull);
        }
        let slot = (self.keys.hash_one(address) as usize % ADDRESS_SLOTS) as u32;
        let count = &self.per_address[slot as usize];
        if count.fetch_add(1, Ordering::Relaxed) >= self.per_address_max {
            count.fetch_sub(1, Ordering::Relaxed);
            self.open.fetch_sub(1, Ordering::Relaxed);
            return Err(Refusal::AddressFull);
        }
        Ok(Admitted { slot })
    }

    /// The connection `admitted` was for is gone.
    pub(crate) fn release(&self, admitted: Admitted) {
        let before = self.per_address[admitted.slot as usize].fetch_sub(1, Ordering::Relaxed);
        assert!(
            before > 0,
            "an address slot released more often than admitted"
        );
        let before = self.open.fetch_sub(1, Ordering::Relaxed);
        assert!(before > 0, "a connection released more often than admitted");
    }

    /// Connections admitted and not released.
    #[cfg(test)]
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
    }

    #[test]
    fn each_cap_refuses_past_its_value_and_release_makes_room() {
        let admission = Admission::new(5, 3);
        let a: Vec<Admitted> = (0..3).map(|_| admission.admit(ip(1)).unwrap()).collect();
        assert_eq!(admission.admit(ip(1)), Err(Refusal::AddressFull));
        let b: Vec<Admitted> = (0..2).map(|_| admission.admit(ip(2)).unwrap()).collect();
        assert_eq!(admission.admit(ip(3)), Err(Refusal::ProcessFull));
        assert_eq!(admission.open(), 5);
        admission.release(a[0]);
        assert!(admission.admit(ip(1)).is_ok());
        for admitted in a[1..].iter().chain(&b) {
            admission.release(*admitted);
        }
        assert_eq!(admission.open(), 1);
    }

    #[test]
    fn zero_means_no_cap() {
        let admission = Admission::new(0, 0);
        for _ in 0..10_000 {
            admission.admit(ip(9)).unwrap();
        }
        assert_eq!(admission.open(), 10_000);
    }

    /// Threads racing to admit and release never hold more than a cap at once, and every
    /// count returns to zero.
    #[test]
    fn racing_cores_never_pass_a_cap() {
        let admission = Arc::new(Admission::new(64, 16));
        let peak = Arc::new(AtomicUsize::new(0));
        let held = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let (admission, peak, held) = (admission.clone(), peak.clone(), held.clone());
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    for round in 0..20_000u32 {
                        if round % 3 == 2 {
                            if let Some(admitted) = mine.pop() {
                                held.fetch_sub(1, Ordering::SeqCst);
                                admission.release(admitted);
                            }
                        } else if let Ok(admitted) = admission.admit(ip(t as u8 % 2)) {
                            let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(now, Ordering::SeqCst);
                            mine.push(admitted);
                        }
                    }
                    for admitted in mine {
                        held.fetch_sub(1, Ordering::SeqCst);
                        admission.release(admitted);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        // Two addresses, 16 each: at most 32 at once (the process cap of 64 never binds).
        assert!(peak.load(Ordering::SeqCst) <= 32, "{peak:?}");
        assert_eq!(admission.open(), 0);
        assert!(admission
            .per_address
            .iter()
            .all(|count| count.load(Ordering::Relaxed) == 0));
    }
}
