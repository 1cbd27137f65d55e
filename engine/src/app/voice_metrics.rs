//! The `voice` section of `GET /_flux/metrics`: every core's SFU counters, summed, and
//! each voice member's stats, from the core that owns it.
//!
//! Why a round over the mesh: a member's stats (packets in and out, and the loss and
//! jitter its RTCP receiver reports say it hears) live in the SFU of its guild's owner
//! core, and only that core may read them. So the core that received the request asks
//! every other core (`VoiceReportAsk`), each answers with a copy of its own
//! (`VoiceReportAnswer`), and the answer goes out with the last one. With one core it is
//! answered at once. The rest of the metrics are shared atomics, read when the answer is
//! built.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::{FluxApp, FluxMesh};
use crate::http::Response;
use crate::reactor::{ConnId, HttpAnswer, Outbox};

/// One core's voice numbers, as it sends them to the asking core.
#[derive(Debug, Clone, Default)]
pub struct VoiceReport {
    /// The core's SFU counters.
    pub counters: sfu::Counters,
    /// Live voice connections on the core.
    pub connections: usize,
    /// Members the core's SFU holds (live and dropped-but-resumable connections).
    pub sfu_members: usize,
    /// Each admitted member: who, where, and its SFU stats.
    pub members: Vec<MemberReport>,
}

/// One voice member's stats.
#[derive(Debug, Clone)]
pub struct MemberReport {
    /// The guild.
    pub guild_id: u64,
    /// The voice channel.
    pub channel_id: u64,
    /// The user.
    pub user_id: u64,
    /// Its SSRC.
    pub ssrc: u32,
    /// What the SFU counted, and the member's last receiver report.
    pub stats: sfu::MemberStats,
}

/// Metrics requests waiting for the other cores' voice reports.
#[derive(Debug, Default)]
pub(super) struct PendingReports {
    next: u64,
    waiting: HashMap<u64, Waiting>,
}

#[derive(Debug)]
struct Waiting {
    conn: ConnId,
    report: VoiceReport,
    cores_left: usize,
}

impl FluxApp {
    /// `GET /_flux/metrics` (access already checked): answered now with one core, else
    /// once every other core sent its voice report.
    pub(super) fn answer_metrics(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
    ) -> HttpAnswer {
        let report = self.voice_report();
        if self.cores == 1 {
            return HttpAnswer::Respond(self.metrics_response(&report));
        }
        let number = self.voice_reports.next;
        self.voice_reports.next += 1;
        let waiting = Waiting {
            conn,
            report,
            cores_left: self.cores - 1,
        };
        self.voice_reports.waiting.insert(number, waiting);
        for core in (0..self.cores).filter(|&core| core != self.core) {
            let ask = FluxMesh::VoiceReportAsk {
                reply_core: self.core,
                number,
            };
            out.send_mesh(core, ask);
        }
        HttpAnswer::Later
    }

    /// Another core asked for this core's voice report.
    pub(super) fn send_voice_report(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        reply_core: usize,
        number: u64,
    ) {
        let report = Box::new(self.voice_report());
        out.send_mesh(reply_core, FluxMesh::VoiceReportAnswer { number, report });
    }

    /// A core's report arrived; the last one answers the request.
    pub(super) fn voice_report_arrived(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        number: u64,
        report: VoiceReport,
    ) {
        let Some(waiting) = self.voice_reports.waiting.get_mut(&number) else {
            debug_assert!(false, "a voice report for a request that is not waiting");
            return;
        };
        merge(&mut waiting.report, report);
        waiting.cores_left -= 1;
        if waiting.cores_left > 0 {
            return;
        }
        let waiting = self
            .voice_reports
            .waiting
            .remove(&number)
            .expect("found above");
        let response = self.metrics_response(&waiting.report);
        out.respond(waiting.conn, response);
    }

    /// The metrics body: the shared counters, the reactors' and `voice`.
    fn metrics_response(&self, voice: &VoiceReport) -> Response {
        let mut reactor = crate::reactor::Stats::default();
        for core in self.reactor_stats.iter() {
            core.add_to(&mut reactor);
        }
        let mut value = self.shared.metrics.to_value_with(Some(&reactor));
        if let Value::Object(object) = &mut value {
            object.insert("voice".into(), voice_json(voice));
        }
        Response::json(200, crate::world::encode(&value))
    }

    /// This core's voice numbers now.
    fn voice_report(&self) -> VoiceReport {
        let (sfu, speakers, connections) = self.voice_gateway.report_parts();
        let members = speakers
            .filter_map(|(guild_id, channel_id, user_id, ssrc, member)| {
                Some(MemberReport {
                    guild_id,
                    channel_id,
                    user_id,
                    ssrc,
                    stats: sfu.member_stats(member)?,
                })
            })
            .collect();
        VoiceReport {
            counters: *sfu.counters(),
            connections,
            sfu_members: sfu.member_count(),
            members,
        }
    }
}

/// Adds `other` to `into`: counters summed, members appended.
fn merge(into: &mut VoiceReport, other: VoiceReport) {
    let (a, b) = (&mut into.counters, other.counters);
    a.datagrams += b.datagrams;
    a.discovery_answered += b.discovery_answered;
    a.discovery_unknown_ssrc += b.discovery_unknown_ssrc;
    a.keepalives += b.keepalives;
    a.rtp_authenticated += b.rtp_authenticated;
    a.rtcp_authenticated += b.rtcp_authenticated;
    a.malformed += b.malformed;
    a.unknown_ssrc += b.unknown_ssrc;
    a.no_crypto += b.no_crypto;
    a.auth_failures += b.auth_failures;
    a.replays += b.replays;
    a.muted_dropped += b.muted_dropped;
    a.forwarded += b.forwarded;
    a.transmit_overflow += b.transmit_overflow;
    a.nonce_exhausted += b.nonce_exhausted;
    a.bad_extensions += b.bad_extensions;
    a.events_dropped += b.events_dropped;
    into.connections += other.connections;
    into.sfu_members += other.sfu_members;
    into.members.extend(other.members);
}

fn voice_json(report: &VoiceReport) -> Value {
    let c = &report.counters;
    let members: Vec<Value> = report
        .members
        .iter()
        .map(|member| {
            let stats = &member.stats;
            let reception = stats.reception.map(|r| {
                json!({
                    "source_ssrc": r.source.0,
                    "fraction_lost": r.loss(),
                    "cumulative_lost": r.cumulative_lost,
                    "jitter_ms": r.jitter_ms(),
                })
            });
            json!({
                "guild_id": member.guild_id.to_string(),
                "channel_id": member.channel_id.to_string(),
                "user_id": member.user_id.to_string(),
                "ssrc": member.ssrc,
                "packets_received": stats.packets_received,
                "packets_forwarded": stats.packets_forwarded,
                "packets_dropped": stats.packets_dropped,
                "packets_delivered": stats.packets_delivered,
                "rtcp_received": stats.rtcp_received,
                "reception": reception,
            })
        })
        .collect();
    json!({
        "connections": report.connections,
        "sfu_members": report.sfu_members,
        "datagrams": c.datagrams,
        "discovery_answered": c.discovery_answered,
        "discovery_unknown_ssrc": c.discovery_unknown_ssrc,
        "rtp_authenticated": c.rtp_authenticated,
        "rtcp_authenticated": c.rtcp_authenticated,
        "forwarded": c.forwarded,
        "malformed": c.malformed,
        "unknown_ssrc": c.unknown_ssrc,
        "no_crypto": c.no_crypto,
        "auth_failures": c.auth_failures,
        "replays": c.replays,
        "muted_dropped": c.muted_dropped,
        "transmit_overflow": c.transmit_overflow,
        "members": members,
    })
}
