//! The client over TLS: a server whose certificate comes from a private CA
//! (`tests/fixtures/tls/`) is refused by default, accepted with the CA bundle, and accepted with
//! `insecure_skip_tls_verify`; a bundle that is not PEM is a configuration error.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use infisical_gitops::infisical::{
    ApiError, ClientConfig, ConfigError, Credentials, HttpClient, InfisicalApi, RetryPolicy,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// An HTTPS server on 127.0.0.1:0 answering every request with an empty project list.
/// Returns its URL and the number of requests it answered.
async fn https_server() -> (String, Arc<AtomicUsize>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(fixture("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let answered = Arc::new(AtomicUsize::new(0));
    let counter = answered.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                // a refused handshake ends here
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let body = br#"{"projects":[]}"#;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(body).await;
                let _ = tls.shutdown().await;
                counter.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    (format!("https://127.0.0.1:{port}"), answered)
}

fn config(url: &str) -> ClientConfig {
    let mut config = ClientConfig::new(url, Credentials::access_token("tls-test-token"));
    config.retry = RetryPolicy::none();
    config
}

#[tokio::test]
async fn a_private_ca_is_refused_by_default() {
    let (url, answered) = https_server().await;
    let client = HttpClient::new(config(&url)).unwrap();
    let error = client.list_projects().await.unwrap_err();
    assert!(matches!(error, ApiError::Network { .. }), "{error:?}");
    assert_eq!(answered.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_ca_bundle_makes_it_trusted() {
    let (url, answered) = https_server().await;
    let mut config = config(&url);
    config.ca_bundle = Some(fixture("ca.pem"));
    let client = HttpClient::new(config).unwrap();
    assert!(client.list_projects().await.unwrap().is_empty());
    assert_eq!(answered.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn skipping_verification_accepts_it() {
    let (url, answered) = https_server().await;
    let mut config = config(&url);
    config.insecure_skip_tls_verify = true;
    let client = HttpClient::new(config).unwrap();
    assert!(client.list_projects().await.unwrap().is_empty());
    assert_eq!(answered.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_bundle_without_certificates_is_a_configuration_error() {
    let mut config = config("https://127.0.0.1:1");
    config.ca_bundle = Some(fixture("README.md"));
    assert!(matches!(
        HttpClient::new(config),
        Err(ConfigError::CaBundle { .. })
    ));
    let mut config = self::config("https://127.0.0.1:1");
    config.ca_bundle = Some(fixture("does-not-exist.pem"));
    let error = HttpClient::new(config).unwrap_err();
    assert!(error.to_string().contains("does-not-exist.pem"), "{error}");
}
