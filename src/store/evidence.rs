//! What evidence needs from the store: the exact HTTP exchanges behind a
//! listing (its page and its images), bytes and all.

use anyhow::{Context, Result};
use rusqlite::OptionalExtension;

use super::db::Db;
use super::{exec, insert_blob, now, one, Store};

/// One HTTP exchange as captured, with the body's exact bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    pub url: String,
    pub method: String,
    pub status: Option<u16>,
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
    /// The IP:port actually connected to.
    pub remote_addr: Option<String>,
    /// RFC 3339 UTC.
    pub started_at: String,
    pub body: Vec<u8>,
}

impl Store {
    /// The exchange `fetch_id` with its body; `None` when it has no stored body.
    pub(super) fn capture(&self, fetch_id: i64) -> Result<Option<Capture>> {
        let row: Option<(Capture, Option<String>)> = one(
            &self.reader(),
            "SELECT url, method, status, request_headers, response_headers, remote_addr,
                        started_at, body_sha256 FROM fetches WHERE id = ?1",
            [fetch_id],
            |r| {
                let request: String = r.get(3)?;
                let response: Option<String> = r.get(4)?;
                Ok((
                    Capture {
                        url: r.get(0)?,
                        method: r.get(1)?,
                        status: r.get::<_, Option<i64>>(2)?.map(|s| s as u16),
                        request_headers: serde_json::from_str(&request).unwrap_or_default(),
                        response_headers: response
                            .and_then(|h| serde_json::from_str(&h).ok())
                            .unwrap_or_default(),
                        remote_addr: r.get(5)?,
                        started_at: r.get(6)?,
                        body: Vec::new(),
                    },
                    r.get(7)?,
                ))
            },
        )
        .optional()
        .with_context(|| format!("reading exchange {fetch_id}"))?;
        let Some((mut capture, Some(sha))) = row else {
            return Ok(None);
        };
        match self.blob(&sha)? {
            Some(body) => {
                capture.body = body;
                Ok(Some(capture))
            }
            None => Ok(None),
        }
    }

    /// The last capture of a listing's page.
    pub fn page_capture(&self, listing_id: i64) -> Result<Option<Capture>> {
        let fetch: Option<Option<i64>> = one(
            &self.reader(),
            "SELECT fetch_id FROM listings WHERE id = ?1",
            [listing_id],
            |r| r.get(0),
        )
        .optional()?;
        match fetch.flatten() {
            Some(id) => self.capture(id),
            None => Ok(None),
        }
    }

    /// The last capture of an image URL.
    pub(crate) fn image_capture(&self, url: &str) -> Result<Option<Capture>> {
        let fetch: Option<Option<i64>> = one(
            &self.reader(),
            "SELECT fetch_id FROM images WHERE url = ?1",
            [url],
            |r| r.get(0),
        )
        .optional()?;
        match fetch.flatten() {
            Some(id) => self.capture(id),
            None => Ok(None),
        }
    }
}

impl Store {
    /// Keeps the screenshot (PNG) of the listing at `url`, replacing an older one.
    pub(crate) fn put_screenshot(&self, url: &str, png: &[u8]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let listing: Option<i64> = one(&tx, "SELECT id FROM listings WHERE url = ?1", [url], |r| {
            r.get(0)
        })
        .optional()?;
        let Some(listing) = listing else {
            anyhow::bail!("no listing is stored at {url}");
        };
        let sha = insert_blob(&Db::Sqlite(&tx), png)?;
        exec(&tx,
            "INSERT INTO screenshots (listing_id, sha256, taken_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (listing_id) DO UPDATE SET sha256 = excluded.sha256, taken_at = excluded.taken_at",
            rusqlite::params![listing, sha, now()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The listing's screenshot and when it was taken.
    pub fn screenshot(&self, listing_id: i64) -> Result<Option<(Vec<u8>, String)>> {
        let row: Option<(String, String)> = one(
            &self.reader(),
            "SELECT sha256, taken_at FROM screenshots WHERE listing_id = ?1",
            [listing_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
        match row {
            Some((sha, at)) => Ok(self.blob(&sha)?.map(|png| (png, at))),
            None => Ok(None),
        }
    }
}
