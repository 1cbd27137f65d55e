//! The real discord.py 2.7.1, unmodified, against the `flux` binary: it reaches
//! `on_ready` with the demo guild and its channels, survives a server-side drop of its TCP
//! connection by RESUMING (not re-identifying), and closes cleanly. Once per I/O backend.
//!
//! The script is `clients/python/discordpy_ready_resume.py`; how the interpreter is found
//! (and why a missing one fails under CI) is in `support/real_clients.rs`.

mod support;

use support::real_clients::{
    assert_ready_then_resumed, interpreter, run_client, FluxProcess, Runtime,
};

fn discordpy_reaches_ready_and_resumes(io: &str) {
    let Some(python) = interpreter(Runtime::Python, "discordpy_ready_resume") else {
        return;
    };
    let server = FluxProcess::spawn(io, "discordpy");
    let run = run_client(&python, "python/discordpy_ready_resume.py", &server);
    assert_ready_then_resumed(&run, &server);
}

#[test]
fn discordpy_ready_resume_epoll() {
    discordpy_reaches_ready_and_resumes("epoll");
}

#[test]
fn discordpy_ready_resume_io_uring() {
    discordpy_reaches_ready_and_resumes("uring");
}
