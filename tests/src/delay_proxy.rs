//! A TCP proxy on 127.0.0.1 that forwards to a local server but holds back
//! every answer for a while: a slow endpoint, for the deadline tests.

use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running proxy; stops when dropped.
pub struct DelayProxy {
    port: u16,
    task: JoinHandle<()>,
}

impl DelayProxy {
    /// Forwards connections to `127.0.0.1:upstream_port`; the upstream's
    /// bytes reach the client `delay` after the connection opened.
    pub async fn start(upstream_port: u16, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, upstream_port, delay));
            }
        });
        Self { port, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

async fn forward(client: TcpStream, upstream_port: u16, delay: Duration) {
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let requests = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut upstream_write).await;
    });
    tokio::time::sleep(delay).await;
    let _ = tokio::io::copy(&mut upstream_read, &mut client_write).await;
    requests.abort();
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
