//! Plain HTTP requests for what a browser hides: status codes, headers, and bodies of error
//! pages. Redirects are not followed and an error status is a response like any other, so
//! a test sees exactly what the server answered.

use crate::error::{Error, Result};
use crate::timeouts;

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

/// `POST url` with a JSON body.
pub fn post_json(url: &str, body: &serde_json::Value) -> Result<HttpResponse> {
    send("POST", url, Some(body.to_string()))
}

/// Send `method url` with no body and read the whole response.
pub fn request(method: &str, url: &str) -> Result<HttpResponse> {
    send(method, url, None)
}

fn send(method: &str, url: &str, json: Option<String>) -> Result<HttpResponse> {
    let fail = |what: String| Error::new(format!("{method} {url}: {what}"));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(timeouts::http_connect()))
        .timeout_global(Some(timeouts::http_response()))
        .build()
        .into();
    let builder = ureq::http::Request::builder().method(method).uri(url);
    let sent = match json {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(body)
            .map_err(|e| fail(e.to_string()))
            .and_then(|request| agent.run(request).map_err(|e| fail(e.to_string()))),
        None => builder
            .body(())
            .map_err(|e| fail(e.to_string()))
            .and_then(|request| agent.run(request).map_err(|e| fail(e.to_string()))),
    };
    let mut response = sent?;
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).to_string();
            (name.as_str().to_string(), value)
        })
        .collect();
    let body = response
        .body_mut()
        .read_to_vec()
        .map_err(|e| fail(format!("reading the body: {e}")))?;
    Ok(HttpResponse {
        status: response.status().as_u16(),
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}
