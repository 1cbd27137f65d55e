//! Who is speaking, from the RFC 6464 audio level each packet carries.
//!
//! Discord clients tell the gateway when they speak (op 5), but that is the client's
//! claim, sent at the start and end of a talk spurt. The audio-level extension gives the
//! SFU its own per-packet view, so it can show a speaking ring for clients that never send
//! op 5 and stop it when a client goes quiet without saying so.
//!
//! A packet is *loud* when its level is at most `loud_level_max` (-dBov: 0 loudest,
//! 127 silence) and, if this sender has ever set the V bit, V is set in this packet too: a
//! sender that runs a voice-activity detector is trusted to mark its speech, one that
//! never sets V is judged on level alone.
//!
//! Hysteresis, so a single click or a breath does not toggle the ring:
//! - on after `on_after_loud_packets` loud packets in a row (3 = 60 ms of 20 ms frames);
//! - off after `off_after_quiet_packets` quiet packets in a row (10 = 200 ms), or when no
//!   packet at all arrived for `off_after_silence` (a client stops sending during
//!   silence; `Sfu::handle_timeout` drives this).
//!
//! Packets without the extension leave the detector untouched.

use std::time::{Duration, Instant};

use crate::extension::AudioLevel;

/// Thresholds of the speaking detector; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeakingConfig {
    /// Loudest -dBov level that still counts as quiet is `loud_level_max + 1`.
    pub loud_level_max: u8,
    /// Loud packets in a row that turn speaking on.
    pub on_after_loud_packets: u32,
    /// Quiet packets in a row that turn speaking off.
    pub off_after_quiet_packets: u32,
    /// Time without any packet that turns speaking off.
    pub off_after_silence: Duration,
}

impl Default for SpeakingConfig {
    fn default() -> SpeakingConfig {
        SpeakingConfig {
            loud_level_max: 50,
            on_after_loud_packets: 3,
            off_after_quiet_packets: 10,
            off_after_silence: Duration::from_millis(200),
        }
    }
}

/// One sender's speaking state.
///
/// ```
/// use std::time::Instant;
/// use sfu::extension::AudioLevel;
/// use sfu::speaking::{SpeakingConfig, SpeakingDetector};
/// let config = SpeakingConfig::default();
/// let mut detector = SpeakingDetector::default();
/// let loud = AudioLevel { voice_activity: false, level: 20 };
/// let now = Instant::now();
/// assert_eq!(detector.handle_level(loud, now, &config), None);
/// assert_eq!(detector.handle_level(loud, now, &config), None);
/// assert_eq!(detector.handle_level(loud, now, &config), Some(true));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpeakingDetector {
    speaking: bool,
    loud_run: u32,
    quiet_run: u32,
    last_packet: Option<Instant>,
    voice_activity_seen: bool,
}

impl SpeakingDetector {
    /// Whether the sender is speaking now.
    pub fn is_speaking(&self) -> bool {
        self.speaking
    }

    /// Feeds one packet's level. Returns the new state when it changed.
    pub fn handle_level(
        &mut self,
        level: AudioLevel,
        now: Instant,
        config: &SpeakingConfig,
    ) -> Option<bool> {
        self.last_packet = Some(now);
        self.voice_activity_seen |= level.voice_activity;
        let loud = level.level <= config.loud_level_max
            && (level.voice_activity || !self.voice_activity_seen);
        if loud {
            self.quiet_run = 0;
            self.loud_run = self.loud_run.saturating_add(1);
            if !self.speaking && self.loud_run >= config.on_after_loud_packets {
                return self.set(true);
            }
        } else {
            self.loud_run = 0;
            self.quiet_run = self.quiet_run.saturating_add(1);
            if self.speaking && self.quiet_run >= config.off_after_quiet_packets {
                return self.set(false);
            }
        }
        None
    }

    /// When `handle_timeout` may next turn speaking off; `None` while not speaking.
    pub fn deadline(&self, config: &SpeakingConfig) -> Option<Instant> {
        if !self.speaking {
            return None;
        }
        self.last_packet.map(|last| last + config.off_after_silence)
    }

    /// Turns speaking off when no packet arrived for `off_after_silence`. Returns the new
    /// state when it changed.
    pub fn handle_timeout(&mut self, now: Instant, config: &SpeakingConfig) -> Option<bool> {
        match self.deadline(config) {
            Some(deadline) if now >= deadline => self.set(false),
            _ => None,
        }
    }

    /// Forgets the run lengths and turns speaking off (the member was muted or moved).
    /// Returns `Some(false)` when it was speaking.
    pub fn reset(&mut self) -> Option<bool> {
        let was = self.speaking;
        *self = SpeakingDetector {
            voice_activity_seen: self.voice_activity_seen,
            ..SpeakingDetector::default()
        };
        was.then_some(false)
    }

    fn set(&mut self, speaking: bool) -> Option<bool> {
        debug_assert_ne!(self.speaking, speaking);
        self.speaking = speaking;
        self.loud_run = 0;
        self.quiet_run = 0;
        Some(speaking)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOUD: AudioLevel = AudioLevel {
        voice_activity: false,
        level: 30,
    };
    const QUIET: AudioLevel = AudioLevel {
        voice_activity: false,
        level: 90,
    };
    const FRAME: Duration = Duration::from_millis(20);

    /// Feeds `levels` 20 ms apart from `start`; returns the index of each change.
    fn run(
        detector: &mut SpeakingDetector,
        start: Instant,
        levels: &[AudioLevel],
    ) -> Vec<(usize, bool)> {
        let config = SpeakingConfig::default();
        levels
            .iter()
            .enumerate()
            .filter_map(|(i, &level)| {
                detector
                    .handle_level(level, start + FRAME * i as u32, &config)
                    .map(|change| (i, change))
            })
            .collect()
    }

    #[test]
    fn hysteresis_on_after_three_loud_off_after_ten_quiet() {
        let mut detector = SpeakingDetector::default();
        let start = Instant::now();
        // Two loud packets, then a quiet one: the run restarts, no change.
        let mut levels = vec![LOUD, LOUD, QUIET, LOUD, LOUD, LOUD];
        // Speaking; 9 quiet packets keep it on, a loud one resets the quiet run.
        levels.extend([QUIET; 9]);
        levels.push(LOUD);
        levels.extend([QUIET; 10]);
        let changes = run(&mut detector, start, &levels);
        assert_eq!(changes, [(5, true), (25, false)]);
        assert!(!detector.is_speaking());
    }

    #[test]
    fn level_boundary_is_inclusive() {
        let config = SpeakingConfig::default();
        let mut detector = SpeakingDetector::default();
        let now = Instant::now();
        let edge = AudioLevel {
            voice_activity: false,
            level: config.loud_level_max,
        };
        let past = AudioLevel {
            voice_activity: false,
            level: config.loud_level_max + 1,
        };
        assert_eq!(run(&mut detector, now, &[past; 5]), []);
        assert_eq!(run(&mut detector, now, &[edge; 3]), [(2, true)]);
    }

    #[test]
    fn voice_activity_flag_is_trusted_once_seen() {
        let mut detector = SpeakingDetector::default();
        let start = Instant::now();
        let voiced = AudioLevel {
            voice_activity: true,
            level: 30,
        };
        // Loud but unvoiced after V was seen: quiet.
        let changes = run(
            &mut detector,
            start,
            &[voiced, LOUD, LOUD, LOUD, voiced, voiced, voiced],
        );
        assert_eq!(changes, [(6, true)]);
    }

    #[test]
    fn silence_timeout_turns_speaking_off() {
        let config = SpeakingConfig::default();
        let mut detector = SpeakingDetector::default();
        let start = Instant::now();
        assert_eq!(run(&mut detector, start, &[LOUD; 3]), [(2, true)]);
        let last = start + FRAME * 2;
        assert_eq!(
            detector.deadline(&config),
            Some(last + Duration::from_millis(200))
        );
        assert_eq!(
            detector.handle_timeout(last + Duration::from_millis(199), &config),
            None
        );
        assert_eq!(
            detector.handle_timeout(last + Duration::from_millis(200), &config),
            Some(false)
        );
        assert_eq!(detector.deadline(&config), None);
        assert_eq!(
            detector.handle_timeout(last + Duration::from_secs(9), &config),
            None
        );
    }

    #[test]
    fn reset_reports_only_a_real_change() {
        let mut detector = SpeakingDetector::default();
        assert_eq!(detector.reset(), None);
        run(&mut detector, Instant::now(), &[LOUD; 3]);
        assert_eq!(detector.reset(), Some(false));
        assert!(!detector.is_speaking());
    }
}
