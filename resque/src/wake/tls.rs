//! TLS (`rediss://`) for the pollable sockets: the server's certificate is
//! checked against the system's roots, as the client's own connection
//! does, or not at all with `#insecure`. A custom root store or client
//! certificate given to `redis` directly is not known here: such a
//! connection is not opened, and the loop polls.
//!
//! Polling a TLS socket is sound because its readers always read until the
//! socket would block: rustls then holds no decrypted bytes that the
//! socket's readiness would not show.

use std::net::TcpStream;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme, StreamOwned,
};

/// A TLS stream over TCP.
pub(super) type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// Wraps a connected (blocking) TCP stream in TLS for `host`; the handshake
/// happens with the first write.
pub(super) fn wrap(stream: TcpStream, host: &str, insecure: bool) -> std::io::Result<TlsStream> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?;
    let config = match insecure {
        true => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth(),
        false => {
            let mut roots = RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            if native.certs.is_empty() {
                if let Some(e) = native.errors.into_iter().next() {
                    return Err(std::io::Error::other(e));
                }
            }
            roots.add_parsable_certificates(native.certs);
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    let name = ServerName::try_from(host.to_string()).map_err(std::io::Error::other)?;
    let conn = ClientConnection::new(Arc::new(config), name).map_err(std::io::Error::other)?;
    Ok(StreamOwned::new(conn, stream))
}

/// `#insecure`: any certificate is taken (as the client's connection does).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
