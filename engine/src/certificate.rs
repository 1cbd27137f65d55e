//! The server's TLS certificate, and the `rustls::ServerConfig` every TLS connection shares.
//!
//! Two sources, by `Config::tls`:
//! - PEM files the operator gives (`--tls-cert`, `--tls-key`): a certificate chain, leaf
//!   first, and its private key (PKCS#8, PKCS#1 or SEC1);
//! - none: a self-signed certificate for `localhost`, `127.0.0.1` and the listen address,
//!   made with rcgen on the first run and kept in the data dir (`tls/cert.pem`,
//!   `tls/key.pem`, the key readable by its owner only), so later runs present the same
//!   certificate and a client that trusts it once keeps trusting it. Clients trust it by
//!   naming `tls/cert.pem` as a CA file (docs/SECURITY.md shows how).
//!
//! Why one `ServerConfig`: it holds the certificate, the key and the session ticket state;
//! each connection's `rustls::ServerConnection` takes an `Arc` of it (`reactor/tls.rs`).
//!
//! Deliberately left out: reloading a renewed certificate while running (restart the
//! server), client certificates, and ALPN other than `http/1.1` (there is no HTTP/2).

use std::fs;
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::Config;

/// A certificate chain and its private key, as PEM files (`flux serve --tls-cert --tls-key`).
///
/// ```
/// let config = engine::Config {
///     tls: Some(engine::TlsFiles {
///         cert: "/etc/flux/fullchain.pem".into(),
///         key: "/etc/flux/privkey.pem".into(),
///     }),
///     main_tls: true, // REST and the gateway over TLS too, not only voice.
///     ..engine::Config::default()
/// };
/// assert!(config.plan().contains("https://"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key of the leaf certificate.
    pub key: PathBuf,
}

/// Where the self-signed certificate lives in a data dir: `(cert.pem, key.pem)`.
pub fn self_signed_paths(data_dir: &Path) -> (PathBuf, PathBuf) {
    let dir = data_dir.join("tls");
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// The server's TLS configuration: the configured files, or the data dir's self-signed
/// certificate (made now if there is none yet).
pub fn server_config(config: &Config) -> io::Result<Arc<rustls::ServerConfig>> {
    let files = match &config.tls {
        Some(files) => files.clone(),
        None => {
            let (cert, key) = self_signed_paths(&config.data_dir);
            if !(cert.exists() && key.exists()) {
                create_self_signed(&cert, &key, config.listen.ip())?;
            }
            TlsFiles { cert, key }
        }
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| invalid(&files.cert, &error))?;
    if chain.is_empty() {
        return Err(invalid(&files.cert, &"no certificate in it"));
    }
    let key =
        PrivateKeyDer::from_pem_file(&files.key).map_err(|error| invalid(&files.key, &error))?;
    build(chain, key)
}

/// The ring provider's cipher suites and key exchanges. Deprecated upstream only for
/// lacking post-quantum key exchange, which needs the aws-lc-rs provider (a cmake and C
/// build this project does not take on).
#[allow(deprecated)]
pub(crate) fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn build(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> io::Result<Arc<rustls::ServerConfig>> {
    let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("TLS certificate and key do not go together: {error}"),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Make a self-signed certificate for `localhost`, `127.0.0.1` and `listen_ip` and write it
/// (the key first, owner-only, each file complete before it takes its name).
fn create_self_signed(cert_path: &Path, key_path: &Path, listen_ip: IpAddr) -> io::Result<()> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if !listen_ip.is_unspecified() && !names.contains(&listen_ip.to_string()) {
        names.push(listen_ip.to_string());
    }
    let certified = rcgen::generate_simple_self_signed(names).map_err(io::Error::other)?;
    if let Some(dir) = cert_path.parent() {
        fs::create_dir_all(dir)?;
    }
    write_new(
        key_path,
        certified.key_pair.serialize_pem().as_bytes(),
        0o600,
    )?;
    write_new(cert_path, certified.cert.pem().as_bytes(), 0o644)?;
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let temporary = path.with_extension("pem.tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&temporary, path)
}

fn invalid(path: &Path, error: &dyn std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("TLS file {}: {error}", path.display()),
    )
}

/// A fresh self-signed server configuration and its certificate, for unit tests.
#[cfg(test)]
pub(crate) fn self_signed_for_tests() -> (Arc<rustls::ServerConfig>, CertificateDer<'static>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::try_from(certified.key_pair.serialize_der()).expect("key");
    (build(vec![cert.clone()], key).expect("config"), cert)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_self_signed_certificate_is_made_once_and_reused() {
        let config = Config::ephemeral();
        let (cert, key) = self_signed_paths(&config.data_dir);
        server_config(&config).unwrap();
        let first = fs::read(&cert).unwrap();
        let mode = fs::metadata(&key).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        server_config(&config).unwrap();
        assert_eq!(
            fs::read(&cert).unwrap(),
            first,
            "a second run reuses the certificate"
        );
        fs::remove_dir_all(&config.data_dir).unwrap();
    }

    #[test]
    fn files_that_are_not_pem_are_an_error() {
        let mut config = Config::ephemeral();
        fs::create_dir_all(&config.data_dir).unwrap();
        let bogus = config.data_dir.join("bogus.pem");
        fs::write(&bogus, b"not a certificate").unwrap();
        config.tls = Some(TlsFiles {
            cert: bogus.clone(),
            key: bogus,
        });
        let error = server_config(&config).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        fs::remove_dir_all(&config.data_dir).unwrap();
    }
}
