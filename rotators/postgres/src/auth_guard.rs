//! Master logins never hand out the password. PostgreSQL's server chooses
//! the authentication method; a server that asks for the password in
//! cleartext, or as an MD5 hash (crackable offline), would receive the
//! master's credential. tokio-postgres can refuse both only by requiring
//! SCRAM channel binding, which also refuses plain SCRAM and so servers and
//! proxies that do not offer SCRAM-SHA-256-PLUS. This guard instead watches
//! the server's messages under the driver (inside TLS) and ends the session
//! when the server asks for a cleartext password, or for an MD5 one unless
//! the session is TLS whose certificate names the host, before the driver
//! can answer; SCRAM, which never reveals the password, goes through.
//!
//! MD5 inside TLS verified with the host name goes only to the server the
//! name designates, which already holds the hash: RDS and Aurora
//! PostgreSQL 13 and earlier store passwords as MD5 by default, and RDS
//! resets a managed master's password that way.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, TlsConnect, TlsStream};

/// The server asked for the master password in a form that discloses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordDisclosureRefused {
    /// Cleartext: the server would receive the password itself.
    #[error("the server asked for the master password in cleartext; master logins use SCRAM only, which never sends the password (check the server's pg_hba.conf: `scram-sha-256`, not `password`)")]
    Cleartext,
    /// MD5 outside TLS verified with the host name: the hash could reach
    /// another server and be cracked offline.
    #[error("the server asked for the master password as an MD5 hash on a session that is not TLS verified with the host name; master logins answer MD5 only inside TLS whose certificate names the host (the master secret's `ssl`: true or verify-full), SCRAM always: use TLS, or store the master's password as SCRAM (SET password_encryption = 'scram-sha-256', then set the password again)")]
    Md5,
}

/// Reads the server's messages until authentication succeeds: type byte,
/// big-endian length (counting itself), body. Only `R` messages matter;
/// their first four body bytes say what the server asks for.
#[derive(Debug, Default)]
struct AuthWatch {
    head: Vec<u8>,
    skip: usize,
    done: bool,
    allow_md5: bool,
}

impl AuthWatch {
    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), PasswordDisclosureRefused> {
        while !self.done && !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = &bytes[n..];
                continue;
            }
            self.head.push(bytes[0]);
            bytes = &bytes[1..];
            let length =
                |head: &[u8]| u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            match self.head.len() {
                5 if self.head[0] != b'R' => {
                    self.skip = length(&self.head).saturating_sub(4);
                    self.head.clear();
                }
                9 => {
                    let code = u32::from_be_bytes([
                        self.head[5],
                        self.head[6],
                        self.head[7],
                        self.head[8],
                    ]);
                    match code {
                        0 => self.done = true,
                        3 => return Err(PasswordDisclosureRefused::Cleartext),
                        5 if !self.allow_md5 => return Err(PasswordDisclosureRefused::Md5),
                        _ => {}
                    }
                    self.skip = length(&self.head).saturating_sub(8);
                    self.head.clear();
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A stream whose reads fail once the server asks for a disclosing
/// password, so the driver never answers.
pub struct AuthGuard<S> {
    inner: S,
    watch: AuthWatch,
}

impl<S> AuthGuard<S> {
    /// Guards `inner`, a stream on which the startup message is yet to be
    /// sent: no cleartext and no MD5 password.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            watch: AuthWatch::default(),
        }
    }

    /// Guards `inner`, a TLS session whose certificate was verified with
    /// the host name: no cleartext password; MD5 answered.
    pub fn allowing_md5(inner: S) -> Self {
        Self {
            inner,
            watch: AuthWatch {
                allow_md5: true,
                ..AuthWatch::default()
            },
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for AuthGuard<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if let Err(refusal) = this.watch.feed(&buf.filled()[before..]) {
                    buf.set_filled(before);
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        refusal,
                    )));
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AuthGuard<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S: TlsStream + Unpin> TlsStream for AuthGuard<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

/// A TLS connector whose sessions are guarded above TLS, where the
/// server's messages are readable. `verified_name`: the connector checks
/// the certificate against the host name, so MD5 may be answered.
pub struct GuardedTls<T> {
    /// The connector.
    pub tls: T,
    /// Whether the connector verifies the host name.
    pub verified_name: bool,
}

impl<S, T> TlsConnect<S> for GuardedTls<T>
where
    T: TlsConnect<S>,
    T::Future: Send + 'static,
    T::Stream: Unpin,
{
    type Stream = AuthGuard<T::Stream>;
    type Error = T::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Self::Stream, T::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let handshake = self.tls.connect(stream);
        let allow_md5 = self.verified_name;
        Box::pin(async move {
            let stream = handshake.await?;
            Ok(if allow_md5 {
                AuthGuard::allowing_md5(stream)
            } else {
                AuthGuard::new(stream)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn auth(code: u32, extra: &[u8]) -> Vec<u8> {
        let mut body = code.to_be_bytes().to_vec();
        body.extend_from_slice(extra);
        message(b'R', &body)
    }

    /// Feeds `stream` in chunks of `size` bytes.
    fn feed(stream: &[u8], size: usize) -> Result<bool, PasswordDisclosureRefused> {
        let mut watch = AuthWatch::default();
        for chunk in stream.chunks(size) {
            watch.feed(chunk)?;
        }
        Ok(watch.done)
    }

    #[test]
    fn disclosing_requests_are_caught_however_the_bytes_arrive() {
        let notice = message(b'N', b"SNOTICE\0Mhello\0\0");
        for size in [1, 2, 3, 7, 1000] {
            let mut cleartext = notice.clone();
            cleartext.extend(auth(3, &[]));
            assert_eq!(
                feed(&cleartext, size),
                Err(PasswordDisclosureRefused::Cleartext)
            );
            assert_eq!(
                feed(&auth(5, b"salt"), size),
                Err(PasswordDisclosureRefused::Md5)
            );
        }
    }

    /// Inside TLS verified with the host name, MD5 is answered; cleartext
    /// never is.
    #[test]
    fn md5_passes_only_where_allowed() {
        for size in [1, 3, 1000] {
            let mut md5 = auth(5, b"salt");
            md5.extend(auth(0, &[]));
            let mut watch = AuthWatch {
                allow_md5: true,
                ..AuthWatch::default()
            };
            for chunk in md5.chunks(size) {
                watch.feed(chunk).unwrap();
            }
            assert!(watch.done);
            let mut watch = AuthWatch {
                allow_md5: true,
                ..AuthWatch::default()
            };
            let refused = auth(3, &[])
                .chunks(size)
                .try_for_each(|chunk| watch.feed(chunk));
            assert_eq!(refused, Err(PasswordDisclosureRefused::Cleartext));
        }
    }

    #[test]
    fn scram_passes_and_the_watch_stops_after_authentication() {
        for size in [1, 4, 1000] {
            let mut scram = auth(10, b"SCRAM-SHA-256\0\0");
            scram.extend(auth(11, b"r=nonce,s=salt,i=4096"));
            scram.extend(auth(12, b"v=proof"));
            scram.extend(auth(0, &[]));
            // After AuthenticationOk, bytes that look like a request are
            // data, not a request.
            scram.extend(auth(3, &[]));
            assert_eq!(feed(&scram, size), Ok(true));
        }
    }
}
