//! TLS for the fleet (rustls, ring provider): the coordinator's server configuration from PEM
//! files (`--tls-cert`, `--tls-key`), and a worker's client configuration trusting one CA file
//! (`--ca`); without `--ca` a `wss://` worker trusts the system's roots (jsonrpsee's default).

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::ring::default_provider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::FleetError;

fn tls_error(path: &Path, reason: impl std::fmt::Display) -> FleetError {
    FleetError::Tls { path: path.display().to_string(), reason: reason.to_string() }
}

/// Every certificate in a PEM file (at least one).
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, FleetError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(path, e))?;
    if certs.is_empty() {
        return Err(tls_error(path, "no PEM certificate (-----BEGIN CERTIFICATE-----) in the file"));
    }
    Ok(certs)
}

/// The coordinator's TLS configuration: the certificate chain in `cert` (PEM, the server's own
/// certificate first) and its private key in `key` (PEM: PKCS#8, PKCS#1 or SEC1). The key's
/// bytes never appear in an error.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, FleetError> {
    let chain = certificates(cert)?;
    // The parser's error names the PEM problem, never the key's content.
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| tls_error(key, format!("no usable private key: {e}")))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(cert, e))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| tls_error(cert, format!("the certificate and the key {} do not make a server identity: {e}", key.display())))?;
    Ok(Arc::new(config))
}

/// A worker's TLS configuration trusting only the certificate authorities in `ca` (PEM).
pub fn client_config(ca: &Path) -> Result<rustls::ClientConfig, FleetError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in certificates(ca)? {
        roots.add(cert).map_err(|e| tls_error(ca, e))?;
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(ca, e))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_files_are_clear_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(&empty).unwrap_err().to_string();
        assert!(err.contains("empty.pem") && err.contains("no PEM certificate"), "{err}");
        let err = server_config(&dir.path().join("none.pem"), &empty).unwrap_err().to_string();
        assert!(err.contains("none.pem"), "{err}");
    }
}
