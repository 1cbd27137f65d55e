//! Starting and stopping a Flux server in-process: the embedding API.
//!
//! [`Server::start`] and [`Server::start_with`] claim the listen address for this process
//! (a second server on an address in use fails with `AddrInUse` instead of sharing the
//! port: `sys::claim_listen_address`), bind one `SO_REUSEPORT` listening socket per core
//! (the first one learns the port when the configuration says 0, the others bind to that
//! port), build the mesh (a ring per ordered pair of cores and an eventfd per
//! core), and spawn one pinned reactor thread per core, each with its own application
//! value. They return once every reactor is running, or with the first error.
//! `Server::start` opens the data dir between binding and spawning, so `bootstrap.json`
//! names the real port; it runs [`FluxApp`] on every core.
//!
//! Voice: unless `Config::voice` is off, each core also gets a listener of its own (no
//! `SO_REUSEPORT`: a voice channel's connections must reach the core that owns it), always
//! TLS, and a UDP socket on the same port number (`bind_voice`). With a fixed main port P
//! core `c` takes `voice_port_base + c` (P + 1 + c by default); with port 0 each core takes
//! an ephemeral TCP port and binds UDP to the same number, trying a fresh port when that
//! number is taken for UDP. The TLS configuration (`crate::certificate`: the configured
//! files, or the data dir's self-signed certificate) is loaded once, here, and shared.
//!
//! [`Server::shutdown`] (also run by `Drop`) is graceful: it raises the shutdown flag and
//! wakes every core; each stops accepting, calls `App::handle_shutdown` (the gateway sends
//! op 7 Reconnect and closes with 4000 there), closes the WebSockets still open with 1001
//! after what is queued, and exits
//! when its connections are gone or `shutdown_grace_ms` has passed. Then the threads are
//! joined.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use crate::app::FluxApp;
use crate::http::Listener;
use crate::reactor::admission::Admission;
use crate::reactor::core::{ListenerSetup, Reactor, Setup};
use crate::reactor::{sys, sys_udp, App, CoreInfo, CoreStats, Stats};
use crate::world::Bootstrap;
use crate::{mesh, Config, IoBackend};

/// Open files kept out of `Limits::connections_max`'s automatic value: the store's WAL and
/// SSTables, attachment files being served, eventfds, rings and listeners.
const OPEN_FILES_RESERVED: usize = 256;

/// A running server. Dropping it shuts it down gracefully.
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    voice_addrs: Vec<SocketAddr>,
    io_backend: IoBackend,
    threads: Vec<JoinHandle<io::Result<()>>>,
    shutdown: Arc<AtomicBool>,
    wake: Arc<[OwnedFd]>,
    stats: Vec<Arc<CoreStats>>,
    remove_data_dir: Option<PathBuf>,
    bootstrap: Option<Bootstrap>,
    /// Held while the server runs: the listen address's lock (`sys::claim_listen_address`).
    _address_claim: OwnedFd,
}

impl Server {
    /// Start Flux: bind, open the data dir (creating the demo world and
    /// `bootstrap.json` on first run, with the real port), and run the Flux application
    /// ([`FluxApp`]: REST and the Discord gateway) on every core.
    pub fn start(config: Config) -> io::Result<Server> {
        let mut opened = None;
        let mut server = Server::start_prepared(config, |config, local_addr, cores| {
            let (shared, bootstrap) = crate::app::prepare(config, local_addr, cores)?;
            opened = Some(bootstrap);
            Ok(move |info: &CoreInfo| FluxApp::new(info, Arc::clone(&shared)))
        })?;
        server.bootstrap = opened;
        Ok(server)
    }

    /// Start a server whose cores each run `make_app(&info)`. The factory is called on
    /// each core's own thread, so the application need not be `Send`. The reactor's own
    /// tests run the built-in [`EchoApp`](crate::reactor::testapp::EchoApp) this way.
    pub fn start_with<A, F>(config: Config, make_app: F) -> io::Result<Server>
    where
        A: App,
        F: Fn(&CoreInfo) -> A + Send + Sync + 'static,
    {
        Server::start_prepared(config, move |_, _, _| Ok(make_app))
    }

    /// Bind first, then let `prepare` build the application factory knowing the bound
    /// address (the data dir records the real port) and the core count (guild ownership
    /// depends on it), then start the cores.
    fn start_prepared<A, F, P>(config: Config, prepare: P) -> io::Result<Server>
    where
        A: App,
        F: Fn(&CoreInfo) -> A + Send + Sync + 'static,
        P: FnOnce(&Config, SocketAddr, usize) -> io::Result<F>,
    {
        let cpus = sys::allowed_cpus();
        let cores = config.cores.unwrap_or(cpus.len()).max(1);
        let io_backend = choose_backend(config.io);
        std::fs::create_dir_all(&config.data_dir)?;

        // A fixed port is claimed before binding (and so is refused if taken); an
        // ephemeral one is unused by construction, and claimed once the kernel chose it.
        let fixed_port = config.listen.port() != 0;
        let early_claim = if fixed_port {
            Some(sys::claim_listen_address(config.listen, true)?)
        } else {
            None
        };
        let first = sys::listen_reuseport(config.listen, false)?;
        let local_addr = sys::local_addr(&first)?;
        let address_claim = match early_claim {
            Some(claim) => claim,
            None => sys::claim_listen_address(local_addr, false)?,
        };
        let mut listeners = vec![first];
        for _ in 1..cores {
            listeners.push(sys::listen_reuseport(local_addr, false)?);
        }
        let tls = if config.voice || config.main_tls {
            Some(crate::certificate::server_config(&config)?)
        } else {
            None
        };
        let mut voice = if config.voice {
            bind_voice(&config, local_addr, cores)?
        } else {
            Vec::new()
        };
        let voice_addrs: Vec<SocketAddr> = voice.iter().map(|(_, _, addr)| *addr).collect();
        voice.reverse(); // Taken from the back, core 0 first.
        let make_app = prepare(&config, local_addr, cores)?;
        let wake: Arc<[OwnedFd]> = (0..cores)
            .map(|_| sys::eventfd(false))
            .collect::<io::Result<Vec<_>>>()?
            .into();
        let endpoints =
            mesh::build::<A::Mesh>(cores, config.limits.mesh_ring_len, Arc::clone(&wake));

        let connections_max = match config.limits.connections_max {
            0 => usize::try_from(sys::open_files_limit()?)
                .unwrap_or(usize::MAX)
                .saturating_sub(OPEN_FILES_RESERVED)
                .max(1),
            max => max,
        };
        let admission = Arc::new(Admission::new(
            connections_max,
            config.limits.connections_per_address_max,
        ));
        let config = Arc::new(config);
        let make_app = Arc::new(make_app);
        let shutdown = Arc::new(AtomicBool::new(false));
        let stats: Vec<Arc<CoreStats>> = (0..cores).map(|_| Arc::default()).collect();
        let reactor_stats: Arc<[Arc<CoreStats>]> = stats.clone().into();
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<IoBackend>>();
        let mut threads = Vec::with_capacity(cores);
        for (core, (listener, endpoint)) in listeners.into_iter().zip(endpoints).enumerate() {
            let mut core_listeners = vec![ListenerSetup {
                fd: listener,
                kind: Listener::Main,
                tls: if config.main_tls { tls.clone() } else { None },
            }];
            let mut udp = None;
            if let Some((tcp, socket, _)) = voice.pop() {
                core_listeners.push(ListenerSetup {
                    fd: tcp,
                    kind: Listener::Voice,
                    tls: tls.clone(),
                });
                udp = Some(socket);
            }
            let setup = Setup {
                core,
                cores,
                config: Arc::clone(&config),
                backend: io_backend,
                listeners: core_listeners,
                udp,
                mesh: endpoint,
                stats: Arc::clone(&stats[core]),
                shutdown: Arc::clone(&shutdown),
                admission: Arc::clone(&admission),
            };
            let cpu = (!cpus.is_empty()).then(|| cpus[core % cpus.len()]);
            let make_app = Arc::clone(&make_app);
            let ready = ready_tx.clone();
            let info = CoreInfo {
                core,
                cores,
                config: Arc::clone(&config),
                local_addr,
                voice_addr: voice_addrs.get(core).copied(),
                reactor_stats: Arc::clone(&reactor_stats),
            };
            let thread = std::thread::Builder::new()
                .name(format!("flux-core-{core}"))
                .spawn(move || run_core(setup, cpu, &info, &*make_app, ready))?;
            threads.push(thread);
        }
        drop(ready_tx);
        let mut server = Server {
            local_addr,
            voice_addrs,
            io_backend,
            threads,
            shutdown,
            wake,
            stats,
            remove_data_dir: config
                .remove_data_dir_on_shutdown
                .then(|| config.data_dir.clone()),
            bootstrap: None,
            _address_claim: address_claim,
        };
        for _ in 0..cores {
            match ready_rx.recv() {
                Ok(Ok(IoBackend::Epoll)) => server.io_backend = IoBackend::Epoll,
                Ok(Ok(_)) => {}
                Ok(Err(error)) => return Err(error), // Drop stops the cores that started.
                Err(_) => return Err(io::Error::other("a reactor thread died while starting")),
            }
        }
        Ok(server)
    }

    /// The address the server listens on (with the real port if 0 was configured).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Each core's voice address, core 0 first: its own TLS listener and UDP socket, on
    /// one port (`CoreInfo::voice_addr`). Empty when voice is off (`Config::voice`).
    pub fn voice_addrs(&self) -> &[SocketAddr] {
        &self.voice_addrs
    }

    /// The I/O backend the reactors run on (epoll if any core had to fall back).
    pub fn io_backend(&self) -> IoBackend {
        self.io_backend
    }

    /// What `bootstrap.json` says (base URL, gateway URL, demo guild and bot tokens);
    /// `None` for a server started with [`Server::start_with`].
    pub fn bootstrap(&self) -> Option<&Bootstrap> {
        self.bootstrap.as_ref()
    }

    /// How many reactor cores run.
    pub fn cores(&self) -> usize {
        self.stats.len()
    }

    /// Counters summed over cores.
    pub fn stats(&self) -> Stats {
        let mut total = Stats::default();
        for core in &self.stats {
            core.add_to(&mut total);
        }
        total
    }

    /// Shut down gracefully and wait for every core; returns the first core's error.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> io::Result<()> {
        self.shutdown
            .store(true, std::sync::atomic::Ordering::Release);
        for fd in self.wake.iter() {
            sys::eventfd_signal(fd.as_raw_fd());
        }
        let mut result = Ok(());
        for thread in self.threads.drain(..) {
            let outcome = thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a reactor panicked")));
            if let Err(error) = outcome {
                eprintln!("flux: reactor stopped with an error: {error}");
                if result.is_ok() {
                    result = Err(error);
                }
            }
        }
        if let Some(dir) = self.remove_data_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        result
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Block SIGTERM and SIGINT and wait for either, for a binary that embeds a server.
///
/// Create it **before** [`Server::start`], so the reactor threads inherit the blocked
/// mask and the signal is left for [`TerminationSignals::wait`]:
///
/// ```no_run
/// let signals = engine::TerminationSignals::block()?;
/// let server = engine::Server::start(engine::Config::default())?;
/// let signal = signals.wait()?;
/// eprintln!("signal {signal}: shutting down");
/// server.shutdown()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct TerminationSignals {
    fd: OwnedFd,
}

impl TerminationSignals {
    /// Block SIGTERM and SIGINT for this thread and the threads it starts later.
    pub fn block() -> io::Result<TerminationSignals> {
        Ok(TerminationSignals {
            fd: sys::block_termination_signals()?,
        })
    }

    /// Wait for SIGTERM or SIGINT; returns the signal number.
    pub fn wait(&self) -> io::Result<i32> {
        sys::wait_signal(&self.fd)
    }
}

/// Each core's voice TCP listener and UDP socket, on one port number, and that address
/// (module doc: the numbering).
fn bind_voice(
    config: &Config,
    main: SocketAddr,
    cores: usize,
) -> io::Result<Vec<(OwnedFd, OwnedFd, SocketAddr)>> {
    let base = match config.voice_port_base {
        Some(base) => Some(base),
        // Asked for port 0: `main` has the kernel's choice, but voice takes its own.
        None if config.listen.port() == 0 => None,
        None => Some(main.port().checked_add(1).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "no voice port above 65535: set the voice port base",
            )
        })?),
    };
    (0..cores)
        .map(|core| match base {
            Some(base) => {
                let port = u16::try_from(usize::from(base) + core).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("voice port {base} + core {core} is past 65535"),
                    )
                })?;
                let addr = SocketAddr::new(main.ip(), port);
                let in_use = |error: io::Error| {
                    io::Error::new(
                        error.kind(),
                        format!("voice port {addr} for core {core}: {error}"),
                    )
                };
                // A Flux killed a moment ago may hold the port until the kernel tears down
                // its io_uring instances: wait for that briefly, as for the main address.
                let started = std::time::Instant::now();
                loop {
                    let bound = sys::listen_exclusive(addr)
                        .and_then(|tcp| Ok((tcp, sys_udp::bind_udp(addr)?, addr)));
                    match bound {
                        Err(error)
                            if error.kind() == io::ErrorKind::AddrInUse
                                && started.elapsed() < VOICE_BIND_RETRY_FOR =>
                        {
                            std::thread::sleep(std::time::Duration::from_millis(50));
                        }
                        result => break result.map_err(in_use),
                    }
                }
            }
            None => bind_voice_ephemeral(main.ip()),
        })
        .collect()
}

/// How long `bind_voice` waits for a fixed voice port that is in use.
const VOICE_BIND_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(2);

/// An ephemeral TCP port, and UDP on the same number (another port when UDP's is taken).
fn bind_voice_ephemeral(ip: std::net::IpAddr) -> io::Result<(OwnedFd, OwnedFd, SocketAddr)> {
    const ATTEMPTS: usize = 8;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let tcp = sys::listen_exclusive(SocketAddr::new(ip, 0))?;
        let addr = sys::local_addr(&tcp)?;
        match sys_udp::bind_udp(addr) {
            Ok(udp) => return Ok((tcp, udp, addr)),
            Err(error) if error.kind() == io::ErrorKind::AddrInUse && attempt < ATTEMPTS => {}
            Err(error) => return Err(error),
        }
    }
}

fn choose_backend(requested: IoBackend) -> IoBackend {
    match requested {
        IoBackend::Epoll => IoBackend::Epoll,
        IoBackend::Uring => match crate::reactor::io_uring_available() {
            Ok(()) => IoBackend::Uring,
            Err(error) => {
                eprintln!("flux: {}", crate::reactor::fallback_message(&error));
                IoBackend::Epoll
            }
        },
    }
}

fn run_core<A: App>(
    setup: Setup<A::Mesh>,
    cpu: Option<usize>,
    info: &CoreInfo,
    make_app: &(dyn Fn(&CoreInfo) -> A + Send + Sync),
    ready: mpsc::Sender<io::Result<IoBackend>>,
) -> io::Result<()> {
    if let Some(cpu) = cpu {
        if let Err(error) = sys::pin_current_thread(cpu) {
            eprintln!(
                "flux: core {}: could not pin to CPU {cpu} ({error}); running unpinned",
                info.core
            );
        }
    }
    let app = make_app(info);
    let reactor = match Reactor::new(setup, app) {
        Ok(reactor) => reactor,
        Err(error) => {
            let _ = ready.send(Err(io::Error::new(error.kind(), error.to_string())));
            return Err(error);
        }
    };
    let _ = ready.send(Ok(reactor.backend_kind()));
    drop(ready);
    reactor.run()
}
