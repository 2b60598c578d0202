//! Captures as WARC 1.1 (ISO 28500): a `warcinfo` record, then per
//! exchange a `request`, a `response` (linked by WARC-Concurrent-To) and a
//! `metadata` record, each with WARC-Block-Digest (and the response with
//! WARC-Payload-Digest), each gzipped as its own member so readers can seek
//! record by record. Records are built with the `warc` crate.

use std::io::Write;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use warc::{RecordBuilder, RecordType, WarcHeader, WarcWriter};

use crate::store::Capture;

/// `sha256:` and the base32 digest, as WARC readers (warcio) expect.
pub fn digest(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        data_encoding::BASE32.encode(&Sha256::digest(bytes))
    )
}

fn record_id() -> String {
    warc::Record::<warc::EmptyBody>::generate_record_id()
}

fn date_of(capture: &Capture) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&capture.started_at)
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

/// Appends one record, gzipped on its own.
fn push(out: &mut Vec<u8>, record: RecordBuilder) -> Result<()> {
    let record = record
        .build()
        .map_err(|e| anyhow::anyhow!("building a WARC record: {e}"))?;
    let mut plain = Vec::new();
    WarcWriter::new(&mut plain)
        .write(&record)
        .context("writing a WARC record")?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain)?;
    out.extend_from_slice(&gz.finish()?);
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
        RecordBuilder::default()
            .version("1.1".into())
            .warc_type(RecordType::WarcInfo)
            .warc_id(&info_id)
            .date(Utc::now())
            .header(WarcHeader::Filename, info.filename)
            .header(WarcHeader::ContentType, "application/warc-fields")
            .header(WarcHeader::BlockDigest, digest(&info_body))
            .body(info_body),
    )?;
    for (capture, metadata) in exchanges {
        let date = date_of(capture);
        let request = http_request(capture);
        let request_id = record_id();
        let mut builder = RecordBuilder::default()
            .version("1.1".into())
            .warc_type(RecordType::Request)
            .warc_id(&request_id)
            .date(date)
            .header(WarcHeader::TargetURI, capture.url.as_str())
            .header(WarcHeader::WarcInfoID, info_id.as_str())
            .header(WarcHeader::ContentType, "application/http;msgtype=request")
            .header(WarcHeader::BlockDigest, digest(&request));
        if let Some(ip) = ip_of(capture) {
            builder = builder.header(WarcHeader::IPAddress, ip);
        }
        push(&mut out, builder.body(request))?;

        let response = http_response(capture);
        let response_id = record_id();
        let mut builder = RecordBuilder::default()
            .version("1.1".into())
            .warc_type(RecordType::Response)
            .warc_id(&response_id)
            .date(date)
            .header(WarcHeader::TargetURI, capture.url.as_str())
            .header(WarcHeader::WarcInfoID, info_id.as_str())
            .header(WarcHeader::ConcurrentTo, request_id.as_str())
            .header(WarcHeader::ContentType, "application/http;msgtype=response")
            .header(WarcHeader::BlockDigest, digest(&response))
            .header(WarcHeader::PayloadDigest, digest(&capture.body));
        if let Some(ip) = ip_of(capture) {
            builder = builder.header(WarcHeader::IPAddress, ip);
        }
        push(&mut out, builder.body(response))?;

        let metadata = serde_json::to_vec_pretty(metadata)?;
        push(
            &mut out,
            RecordBuilder::default()
                .version("1.1".into())
                .warc_type(RecordType::Metadata)
                .warc_id(record_id())
                .date(date)
                .header(WarcHeader::TargetURI, capture.url.as_str())
                .header(WarcHeader::WarcInfoID, info_id.as_str())
                .header(WarcHeader::ConcurrentTo, response_id.as_str())
                .header(WarcHeader::ContentType, "application/json")
                .header(WarcHeader::BlockDigest, digest(&metadata))
                .body(metadata),
        )?;
    }
    if let Some(resource) = resource {
        let date = DateTime::parse_from_rfc3339(resource.taken_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now());
        push(
            &mut out,
            RecordBuilder::default()
                .version("1.1".into())
                .warc_type(RecordType::Resource)
                .warc_id(record_id())
                .date(date)
                .header(WarcHeader::TargetURI, resource.uri.as_str())
                .header(WarcHeader::WarcInfoID, info_id.as_str())
                .header(WarcHeader::ContentType, resource.content_type)
                .header(WarcHeader::BlockDigest, digest(resource.body))
                .body(resource.body.to_vec()),
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
