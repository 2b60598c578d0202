//! Captures as WARC 1.1 (ISO 28500): a `warcinfo` record, then per
//! exchange a `request`, a `response` (linked by WARC-Concurrent-To) and a
//! `metadata` record, each with WARC-Block-Digest (and the response with
//! WARC-Payload-Digest), each gzipped as its own member so readers can seek
//! record by record. Records are written here (a version line, named
//! fields, a blank line, the block, two CRLFs — WARC 1.1 §4); the `warc`
//! crate was dropped for its old `uuid` 0.8 and builder that checked
//! nothing this writer does not.

use std::io::Write;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::store::Capture;

/// `sha256:` and the base32 digest, as WARC readers (warcio) expect.
pub fn digest(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        data_encoding::BASE32.encode(&Sha256::digest(bytes))
    )
}

/// A fresh `<urn:uuid:…>` record id (a random version 4 UUID).
fn record_id() -> String {
    format!("<urn:uuid:{}>", uuid::Uuid::new_v4())
}

/// A stored RFC 3339 time; now, should it not parse.
fn parse_time(stored: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(stored)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|_| Utc::now())
}

/// The HTTP/1.1 request as sent (the request line and headers).
fn http_request(capture: &Capture) -> Vec<u8> {
    let url = url::Url::parse(&capture.url).ok();
    let path = url.as_ref().map_or("/".to_string(), |u| {
        let mut p = u.path().to_string();
        if let Some(q) = u.query() {
            p.push('?');
            p.push_str(q);
        }
        p
    });
    let mut out = format!("{} {path} HTTP/1.1\r\n", capture.method);
    let has_host = capture
        .request_headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("host"));
    if !has_host {
        if let Some(host) = url.as_ref().and_then(|u| u.host_str()) {
            let port = url.as_ref().and_then(|u| u.port()).map(|p| format!(":{p}"));
            out.push_str(&format!("Host: {host}{}\r\n", port.unwrap_or_default()));
        }
    }
    for (name, value) in &capture.request_headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// The HTTP response as received: status line, headers, the body's exact
/// bytes. The headers are the ones received; a Content-Encoding the client
/// undid is dropped, since the body stored is the decoded one.
fn http_response(capture: &Capture) -> Vec<u8> {
    let status = capture.status.unwrap_or(200);
    let reason = http_reason(status);
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
    for (name, value) in &capture.response_headers {
        let lower = name.to_ascii_lowercase();
        if lower == "content-encoding" || lower == "transfer-encoding" || lower == "content-length"
        {
            continue;
        }
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", capture.body.len()).as_bytes());
    out.extend_from_slice(&capture.body);
    out
}

fn http_reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        404 => "Not Found",
        410 => "Gone",
        _ => "",
    }
}

/// One WARC record before it is written: its named fields in order, and
/// its block.
struct Record {
    fields: Vec<(&'static str, String)>,
    block: Vec<u8>,
}

impl Record {
    /// A WARC 1.1 record: its type, id, date, content type and block
    /// digest; more fields are added with [`Record::field`].
    fn new(
        kind: &str,
        id: &str,
        date: DateTime<Utc>,
        content_type: &str,
        block: Vec<u8>,
    ) -> Record {
        Record {
            fields: vec![
                ("WARC-Type", kind.to_string()),
                ("WARC-Record-ID", id.to_string()),
                (
                    "WARC-Date",
                    date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ),
                ("Content-Type", content_type.to_string()),
                ("WARC-Block-Digest", digest(&block)),
            ],
            block,
        }
    }

    fn field(mut self, name: &'static str, value: impl Into<String>) -> Record {
        self.fields.push((name, value.into()));
        self
    }

    /// The record's bytes (§4): a field value never holds a line break,
    /// whatever a captured URL or header carried.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = b"WARC/1.1\r\n".to_vec();
        for (name, value) in &self.fields {
            let value: String = value
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", self.block.len()).as_bytes());
        out.extend_from_slice(&self.block);
        out.extend_from_slice(b"\r\n\r\n");
        out
    }
}

/// Appends one record, gzipped on its own.
fn push(out: &mut Vec<u8>, record: Record) -> Result<()> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&record.to_bytes())
        .context("compressing a WARC record")?;
    out.extend_from_slice(&gz.finish().context("compressing a WARC record")?);
    Ok(())
}

/// What the warcinfo record says about the capture.
pub struct WarcInfo<'a> {
    pub filename: &'a str,
    pub operator: &'a str,
}

/// Something knockoff made rather than received (the screenshot): a
/// `resource` record.
pub struct Resource<'a> {
    pub uri: String,
    /// RFC 3339 UTC.
    pub taken_at: &'a str,
    pub content_type: &'a str,
    pub body: &'a [u8],
}

/// A gzipped WARC file of `exchanges`, each with the JSON `metadata` about
/// it (the extraction results for the page, the image check for an
/// image), and `resource` if given.
pub fn write(
    info: &WarcInfo,
    exchanges: &[(&Capture, serde_json::Value)],
    resource: Option<&Resource>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let info_id = record_id();
    let info_body = format!(
        "software: knockoff/{}\r\nformat: WARC File Format 1.1\r\n\
         conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n\
         operator: {}\r\n",
        env!("CARGO_PKG_VERSION"),
        info.operator
    )
    .into_bytes();
    push(
        &mut out,
        Record::new(
            "warcinfo",
            &info_id,
            Utc::now(),
            "application/warc-fields",
            info_body,
        )
        .field("WARC-Filename", info.filename),
    )?;
    // Every other record names what it is about and the warcinfo it belongs to.
    let about = |builder: Record, uri: &str| {
        builder
            .field("WARC-Target-URI", uri)
            .field("WARC-Warcinfo-ID", info_id.as_str())
    };
    for (capture, metadata) in exchanges {
        let date = parse_time(&capture.started_at);
        let uri = capture.url.as_str();
        let with_ip = |builder: Record| match ip_of(capture) {
            Some(ip) => builder.field("WARC-IP-Address", ip),
            None => builder,
        };
        let request_id = record_id();
        let request = http_request(capture);
        push(
            &mut out,
            with_ip(about(
                Record::new(
                    "request",
                    &request_id,
                    date,
                    "application/http;msgtype=request",
                    request,
                ),
                uri,
            )),
        )?;
        let response_id = record_id();
        let response = http_response(capture);
        push(
            &mut out,
            with_ip(about(
                Record::new(
                    "response",
                    &response_id,
                    date,
                    "application/http;msgtype=response",
                    response,
                ),
                uri,
            ))
            .field("WARC-Concurrent-To", request_id.as_str())
            .field("WARC-Payload-Digest", digest(&capture.body)),
        )?;
        let metadata = serde_json::to_vec_pretty(metadata)?;
        push(
            &mut out,
            about(
                Record::new("metadata", &record_id(), date, "application/json", metadata),
                uri,
            )
            .field("WARC-Concurrent-To", response_id.as_str()),
        )?;
    }
    if let Some(resource) = resource {
        let body = resource.body.to_vec();
        let date = parse_time(resource.taken_at);
        push(
            &mut out,
            about(
                Record::new("resource", &record_id(), date, resource.content_type, body),
                &resource.uri,
            ),
        )?;
    }
    Ok(out)
}

/// The IP part of `ip:port`.
fn ip_of(capture: &Capture) -> Option<String> {
    let addr = capture.remote_addr.as_deref()?;
    addr.parse::<std::net::SocketAddr>()
        .map(|a| a.ip().to_string())
        .ok()
        .or_else(|| Some(addr.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_its_version_fields_length_block_and_two_line_ends() {
        let date = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let record = Record::new(
            "metadata",
            "<urn:uuid:x>",
            date,
            "text/plain",
            b"hi".to_vec(),
        )
        .field(
            "WARC-Target-URI",
            "https://shop.example/a\r\nWARC-Type: forged",
        );
        let text = String::from_utf8(record.to_bytes()).unwrap();
        assert_eq!(
            text,
            "WARC/1.1\r\nWARC-Type: metadata\r\nWARC-Record-ID: <urn:uuid:x>\r\n\
             WARC-Date: 2026-12-01T10:00:00Z\r\nContent-Type: text/plain\r\n\
             WARC-Block-Digest: sha256:R5BUGRTER5VZNX4J3WUQDRIXNMIKNWBZMHOTYGWIRNM3FXBSPKSA====\r\n\
             WARC-Target-URI: https://shop.example/a  WARC-Type: forged\r\n\
             Content-Length: 2\r\n\r\nhi\r\n\r\n"
        );
    }

    #[test]
    fn record_ids_are_fresh_uuid_urns() {
        let (a, b) = (record_id(), record_id());
        assert_ne!(a, b);
        assert!(
            a.starts_with("<urn:uuid:") && a.ends_with('>') && a.len() == 47,
            "{a}"
        );
    }
}
