//! The Flux server engine.
//!
//! `engine` owns everything the low-level crates refuse to touch: cores, sockets and the
//! clock. It will run one pinned reactor per core, parse HTTP and WebSocket with
//! `wsframe`, speak the Discord Gateway v10 and REST API, own guild state per core
//! (`core = (guild_id >> 22) % cores`), store it in `lsm`, and forward voice with `sfu`.
//!
//! Status: the embedding API below is the shape later issues fill in. Today `Config`
//! describes a server and `Config::plan` says what starting it will do.
#![forbid(unsafe_code)]

pub mod gateway;

use std::net::SocketAddr;
use std::path::PathBuf;

/// How to run one Flux server. The defaults are the embedded defaults of `flux serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the store and `bootstrap.json` live.
    pub data_dir: PathBuf,
    /// The HTTP and WebSocket listening address.
    pub listen: SocketAddr,
    /// Reactor threads, one per core; `None` means every core the process may run on.
    pub cores: Option<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./flux-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            cores: None,
        }
    }
}

impl Config {
    /// A human-readable account of what starting this server will do.
    pub fn plan(&self) -> String {
        let cores = match self.cores {
            Some(n) => n.to_string(),
            None => "all".to_string(),
        };
        format!(
            "flux: would serve the Discord gateway and REST API on http://{} with {} reactor \
             core(s), storing data in {}.\nThe gateway is not built yet (see the open issues); \
             nothing was started.",
            self.listen,
            cores,
            self.data_dir.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_match_the_documented_command_line() {
        let config = Config::default();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.data_dir, PathBuf::from("./flux-data"));
        assert!(config.plan().contains("127.0.0.1:8080"));
    }
}
