//! A plain HTTP/1.1 client over `std::net`, for what a browser hides: status codes, headers,
//! and bodies of error pages. `http://` only (everything in these tests runs on loopback).

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A response, body decoded as UTF-8 (lossily).
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `GET url`.
pub fn get(url: &str) -> Result<HttpResponse> {
    request("GET", url)
}

/// `DELETE url`.
pub fn delete(url: &str) -> Result<HttpResponse> {
    request("DELETE", url)
}

/// Send `method url` with no body and read the whole response.
pub fn request(method: &str, url: &str) -> Result<HttpResponse> {
    let fail = |what: &str| Error::new(format!("{method} {url}: {what}"));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| fail("only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = resolve(authority).map_err(|e| fail(&e))?;
    let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .map_err(|e| fail(&format!("connect: {e}")))?;
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|e| fail(&e.to_string()))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: */*\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .map_err(|e| fail(&format!("send: {e}")))?;
    read_response(&mut stream).map_err(|e| fail(&e))
}

fn resolve(authority: &str) -> std::result::Result<SocketAddr, String> {
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    with_port
        .to_socket_addrs()
        .map_err(|e| format!("resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} has no address"))
}

fn read_response(stream: &mut TcpStream) -> std::result::Result<HttpResponse, String> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if read_more(stream, &mut buf)? == 0 {
            return Err("connection closed before the end of the response head".into());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = buf.split_off(head_end + 4);

    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            if let Some(decoded) = dechunk(&body)? {
                break decoded;
            }
            if read_more(stream, &mut body)? == 0 {
                return Err("connection closed inside a chunked body".into());
            }
        }
    } else if let Some(length) = header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("bad Content-Length {length:?}"))?;
        while body.len() < length {
            if read_more(stream, &mut body)? == 0 {
                return Err(format!(
                    "connection closed after {} of {length} body bytes",
                    body.len()
                ));
            }
        }
        body.truncate(length);
        body
    } else {
        while read_more(stream, &mut body)? > 0 {}
        body
    };
    Ok(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}

fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::result::Result<usize, String> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// The decoded body once `data` holds a complete chunked body; `None` while it does not.
fn dechunk(data: &[u8]) -> std::result::Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_end) = find(&data[at..], b"\r\n") else {
            return Ok(None);
        };
        let size_text = String::from_utf8_lossy(&data[at..at + line_end]).to_string();
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        at += line_end + 2;
        if size == 0 {
            return Ok(Some(out));
        }
        if data.len() < at + size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&data[at..at + size]);
        at += size + 2;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_decoded_once_complete() {
        assert_eq!(dechunk(b"5\r\nhello\r\n").unwrap(), None);
        assert_eq!(
            dechunk(b"5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n").unwrap(),
            Some(b"hello world".to_vec())
        );
        assert!(dechunk(b"zz\r\n").is_err());
    }
}
