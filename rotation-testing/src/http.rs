//! The little HTTP/1.1 the tests' servers speak: read one request or
//! response (Content-Length or chunked body), write a response.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// One HTTP message: its first line, headers and body.
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// `METHOD PATH VERSION` or `VERSION STATUS REASON`.
    pub start_line: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Message {
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The request's method and path.
    pub fn method_and_path(&self) -> (&str, &str) {
        let mut parts = self.start_line.split_whitespace();
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
    }

    /// The message with a Content-Length body, as bytes to send.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!("{}\r\n", self.start_line);
        for (name, value) in &self.headers {
            let lower = name.to_ascii_lowercase();
            if lower == "content-length" || lower == "transfer-encoding" {
                continue;
            }
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", self.body.len()));
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// Reads one message; `None` at the end of the stream or on bad framing.
pub async fn read_message<R: AsyncBufRead + Unpin>(reader: &mut R) -> Option<Message> {
    let mut start_line = String::new();
    if reader.read_line(&mut start_line).await.ok()? == 0 {
        return None;
    }
    let mut message = Message {
        start_line: start_line.trim_end().to_owned(),
        ..Message::default()
    };
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().ok()?,
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
        message.headers.push((name, value));
    }
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).await.ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).await.ok()?;
            if size == 0 {
                break;
            }
            message.body.extend_from_slice(&chunk[..size]);
        }
    } else {
        message.body.resize(length, 0);
        reader.read_exact(&mut message.body).await.ok()?;
    }
    Some(message)
}

/// A response with `status` (e.g. `200 OK`), `headers` and `body`.
pub fn response(status: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    Message {
        start_line: format!("HTTP/1.1 {status}"),
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .collect(),
        body: body.to_vec(),
    }
    .to_bytes()
}

/// Sends `request` to `127.0.0.1:port` on a new connection and reads the
/// answer; `None` when the upstream cannot be reached or answers badly.
pub async fn exchange(request: &Message, port: u16) -> Option<Message> {
    let upstream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let mut upstream = tokio::io::BufReader::new(upstream);
    tokio::io::AsyncWriteExt::write_all(upstream.get_mut(), &request.to_bytes())
        .await
        .ok()?;
    read_message(&mut upstream).await
}
