//! Time as an input: microseconds on the shell's monotonic clock.
//!
//! The gateway core never reads a clock. The shell passes `now` with every input that can
//! move a deadline, and the core answers with `Output::WakeAt` deadlines in the same units.
//! Tests drive a whole heartbeat timeout by handing in larger numbers.

/// A point in time: microseconds since an arbitrary origin chosen by the shell.
///
/// ```
/// use engine::gateway::Micros;
/// let t = Micros::from_ms(1_500);
/// assert_eq!(t.0, 1_500_000);
/// assert_eq!(t.plus_ms(500), Micros::from_ms(2_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Micros(pub u64);

impl Micros {
    /// The far future: a deadline that never fires.
    pub const NEVER: Micros = Micros(u64::MAX);

    pub const fn from_ms(ms: u64) -> Micros {
        Micros(ms.saturating_mul(1000))
    }

    pub const fn plus_us(self, us: u64) -> Micros {
        Micros(self.0.saturating_add(us))
    }

    pub const fn plus_ms(self, ms: u64) -> Micros {
        self.plus_us(ms.saturating_mul(1000))
    }

    /// Microseconds from `earlier` to `self`, zero if `earlier` is later.
    pub const fn since(self, earlier: Micros) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}
