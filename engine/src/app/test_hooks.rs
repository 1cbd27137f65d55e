//! `/_flux/test/*`: routes that let tests cause what a real network or a real world
//! would. For tests only: they are served only with `Config::test_hooks`
//! (`flux serve --test-hooks`), off by default, because anyone who can reach the port
//! could use them.
//!
//! - `POST /_flux/test/drop-gateway-connections`: every core aborts every gateway TCP
//!   connection (no close frame, as if the network failed; clients see 1006 and resume).
//!   Answers `{"dropped": N}`, N summed over all cores, once every core has done it.
//! - `POST /_flux/test/dispatch` with `{"guild_id": "…", "t": "NAME", "d": {…}}`: every
//!   core delivers the dispatch to its live and detached sessions in that guild (detached
//!   ones keep it in their replay ring, so a Resume replays it). Answers
//!   `{"delivered": N}` once every core has done it, so a test may resume right after.
//!
//! - `POST /_flux/test/store-faults` with `{"refuse_appends": N, "fail_commits": M}`:
//!   the next N appends to any core's store are refused (500, nothing written) and the
//!   next M are accepted and then fail as a failed fdatasync would (`commit.rs`: 500 once
//!   settled, undone, and every write queued behind them fails too). Answers `{}` at once.
//!
//! - `POST /_flux/test/stall` with `{"ms": N}` (N at most 10,000): the core that reads the
//!   request sleeps N ms before answering `{}`, as a core busy with a long loop turn would
//!   not read its sockets (what arrives meanwhile waits in the kernel). With `"core": C`
//!   (another core), core C sleeps instead, from when it drains its mesh (`FluxMesh::Stall`),
//!   and the answer `{}` comes at once.
//!
//! The first two answer only when every core has reported (`HookDone`): the request waits as
//! `HttpAnswer::Later`. The dispatch is serialised once and its `Arc` shared by every
//! core; real events are serialised once per core.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use super::mesh::HookId;
use super::{FluxApp, FluxMesh};
use crate::gateway::{Dispatch, DispatchScope, Intents};
use crate::http::{Request, Response};
use crate::reactor::{ConnId, HttpAnswer, Outbox};

/// Hooks this core started and is waiting to answer.
#[derive(Debug, Default)]
pub(super) struct PendingHooks {
    next: u64,
    waiting: HashMap<u64, Pending>,
}

#[derive(Debug)]
struct Pending {
    conn: ConnId,
    /// The answer's key: `dropped` or `delivered`.
    key: &'static str,
    count: usize,
    cores_left: usize,
}

#[derive(Deserialize)]
struct DispatchBody {
    guild_id: Snowflake,
    t: String,
    d: Box<serde_json::value::RawValue>,
}

/// A snowflake as a decimal string or a JSON number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Snowflake {
    Text(String),
    Number(u64),
}

impl FluxApp {
    pub(super) fn handle_test_hook(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        conn: ConnId,
        request: &Request,
        hook: &str,
    ) -> HttpAnswer {
        if request.method != "POST" {
            return HttpAnswer::Respond(Response::error(405, "405: Method Not Allowed", 0));
        }
        match hook {
            "drop-gateway-connections" => {
                let count = self.abort_all_gateway(out);
                let hook = self.start_hook(conn, "dropped", count);
                self.broadcast(out, |hook| FluxMesh::DropGateway { hook }, hook)
            }
            "dispatch" => {
                let body: DispatchBody = match serde_json::from_slice(&request.body) {
                    Ok(body) => body,
                    Err(error) => {
                        return HttpAnswer::Respond(Response::error(
                            400,
                            &format!("body must be {{guild_id, t, d}}: {error}"),
                            50035,
                        ))
                    }
                };
                let guild_id = match body.guild_id {
                    Snowflake::Number(id) => Some(id),
                    Snowflake::Text(text) => text.parse().ok(),
                };
                let name_ok = !body.t.is_empty()
                    && body
                        .t
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
                let Some(guild_id) = guild_id.filter(|_| name_ok) else {
                    return HttpAnswer::Respond(Response::error(
                        400,
                        "guild_id must be a snowflake and t match [A-Z0-9_]+",
                        50035,
                    ));
                };
                let event = Dispatch::new(
                    &body.t,
                    body.d.get().as_bytes().to_vec(),
                    DispatchScope::Guild(guild_id),
                    Intents::empty(),
                );
                let count = self.fan_out(out, guild_id, &event);
                let hook = self.start_hook(conn, "delivered", count);
                self.broadcast(
                    out,
                    |hook| FluxMesh::Dispatch {
                        event: Arc::clone(&event),
                        guild_id,
                        hook,
                    },
                    hook,
                )
            }
            "store-faults" => {
                #[derive(Deserialize)]
                struct Faults {
                    #[serde(default)]
                    refuse_appends: u32,
                    #[serde(default)]
                    fail_commits: u32,
                }
                match serde_json::from_slice::<Faults>(&request.body) {
                    Ok(faults) => {
                        let store_faults = &self.shared.store_faults;
                        store_faults.arm(faults.refuse_appends, faults.fail_commits);
                        HttpAnswer::Respond(Response::json(200, b"{}".to_vec()))
                    }
                    Err(error) => HttpAnswer::Respond(Response::error(
                        400,
                        &format!("body must be {{refuse_appends, fail_commits}}: {error}"),
                        50035,
                    )),
                }
            }
            "stall" => {
                #[derive(Deserialize)]
                struct Stall {
                    ms: u64,
                    core: Option<usize>,
                }
                match serde_json::from_slice::<Stall>(&request.body) {
                    Ok(Stall { ms, .. }) if ms > 10_000 => {
                        HttpAnswer::Respond(Response::error(400, "ms must be at most 10000", 50035))
                    }
                    Ok(Stall {
                        core: Some(core), ..
                    }) if core >= self.cores => {
                        HttpAnswer::Respond(Response::error(400, "no such core", 50035))
                    }
                    Ok(Stall { ms, core }) => {
                        match core {
                            Some(core) if core != self.core => {
                                out.send_mesh(core, FluxMesh::Stall { ms });
                            }
                            _ => std::thread::sleep(std::time::Duration::from_millis(ms)),
                        }
                        HttpAnswer::Respond(Response::json(200, b"{}".to_vec()))
                    }
                    Err(error) => HttpAnswer::Respond(Response::error(
                        400,
                        &format!("body must be {{ms, core?}}: {error}"),
                        50035,
                    )),
                }
            }
            _ => HttpAnswer::Respond(Response::not_found()),
        }
    }

    fn start_hook(&mut self, conn: ConnId, key: &'static str, count: usize) -> HookId {
        let number = self.hooks.next;
        self.hooks.next += 1;
        let pending = Pending {
            conn,
            key,
            count,
            cores_left: self.cores - 1,
        };
        self.hooks.waiting.insert(number, pending);
        HookId {
            core: self.core,
            number,
        }
    }

    /// Send `make(hook)` to every other core; answer now if there is none.
    fn broadcast(
        &mut self,
        out: &mut Outbox<FluxMesh>,
        make: impl Fn(HookId) -> FluxMesh,
        hook: HookId,
    ) -> HttpAnswer {
        for core in (0..self.cores).filter(|&core| core != self.core) {
            out.send_mesh(core, make(hook));
        }
        if self.cores > 1 {
            return HttpAnswer::Later;
        }
        let pending = self
            .hooks
            .waiting
            .remove(&hook.number)
            .expect("just started");
        HttpAnswer::Respond(answer(&pending))
    }

    pub(super) fn hook_done(&mut self, out: &mut Outbox<FluxMesh>, hook: HookId, count: usize) {
        debug_assert_eq!(hook.core, self.core, "HookDone goes to the hook's core");
        let Some(pending) = self.hooks.waiting.get_mut(&hook.number) else {
            debug_assert!(false, "HookDone for an unknown hook");
            return;
        };
        pending.count += count;
        pending.cores_left -= 1;
        if pending.cores_left == 0 {
            let pending = self
                .hooks
                .waiting
                .remove(&hook.number)
                .expect("present: just updated");
            out.respond(pending.conn, answer(&pending));
        }
    }
}

fn answer(pending: &Pending) -> Response {
    let body = format!(r#"{{"{}":{}}}"#, pending.key, pending.count);
    Response::json(200, body.into_bytes())
}
