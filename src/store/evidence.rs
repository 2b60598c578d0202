//! What evidence needs from the store: the exact HTTP exchanges behind a
//! listing (its page and its images), bytes and all.

use anyhow::{Context, Result};

use super::db::args;
use super::{insert_blob, now, Store};

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
        let row: Option<(Capture, Option<String>)> = self
            .read(|db| {
                db.optional(
                    "SELECT url, method, status, request_headers, response_headers, remote_addr,
                            started_at, body_sha256 FROM fetches WHERE id = ?1",
                    args![fetch_id],
                    |r| {
                        let request: String = r.get(3)?;
                        let response: Option<String> = r.get(4)?;
                        Ok((
                            Capture {
                                url: r.get(0)?,
                                method: r.get(1)?,
                                status: r.get::<Option<i64>>(2)?.map(|s| s as u16),
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
            })
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
        let fetch: Option<Option<i64>> = self.read(|db| {
            db.optional(
                "SELECT fetch_id FROM listings WHERE id = ?1",
                args![listing_id],
                |r| r.get(0),
            )
        })?;
        match fetch.flatten() {
            Some(id) => self.capture(id),
            None => Ok(None),
        }
    }

    /// The last capture of an image URL.
    pub(crate) fn image_capture(&self, url: &str) -> Result<Option<Capture>> {
        let fetch: Option<Option<i64>> = self.read(|db| {
            db.optional(
                "SELECT fetch_id FROM images WHERE url = ?1",
                args![url],
                |r| r.get(0),
            )
        })?;
        match fetch.flatten() {
            Some(id) => self.capture(id),
            None => Ok(None),
        }
    }

    /// Keeps the screenshot (PNG) of the listing at `url`, replacing an older one.
    pub(crate) fn put_screenshot(&self, url: &str, png: &[u8]) -> Result<()> {
        self.write(|db| {
            let listing: Option<i64> =
                db.optional("SELECT id FROM listings WHERE url = ?1", args![url], |r| {
                    r.get(0)
                })?;
            let Some(listing) = listing else {
                anyhow::bail!("no listing is stored at {url}");
            };
            let sha = insert_blob(db, png)?;
            db.exec(
                "INSERT INTO screenshots (listing_id, sha256, taken_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (listing_id) DO UPDATE SET sha256 = excluded.sha256, taken_at = excluded.taken_at",
                args![listing, sha, now()],
            )?;
            Ok(())
        })
    }

    /// The listing's screenshot and when it was taken.
    pub fn screenshot(&self, listing_id: i64) -> Result<Option<(Vec<u8>, String)>> {
        let row: Option<(String, String)> = self.read(|db| {
            db.optional(
                "SELECT sha256, taken_at FROM screenshots WHERE listing_id = ?1",
                args![listing_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })?;
        match row {
            Some((sha, at)) => Ok(self.blob(&sha)?.map(|png| (png, at))),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::extract::Listing;
    use crate::store::db::tests::on_both_stores;
    use crate::store::{Exchange, ImageInfo, ItemKind, NewItem};

    #[test]
    fn captures_and_screenshots_read_back_alike_on_both_engines() {
        on_both_stores(|store| {
            let run = store.start_run(&["shop".into()], None, &[]).unwrap();
            let item = |kind, url: &str| NewItem {
                target: "shop".into(),
                kind,
                url: url.into(),
                query: None,
                page: None,
            };
            store
                .add_items(run.id, &[item(ItemKind::Listing, "http://shop/1")])
                .unwrap();
            let page = store.pending_items(run.id).unwrap().pop().unwrap();
            let exchange = |url: &str, body: &[u8]| Exchange {
                url: url.into(),
                method: "GET".into(),
                status: Some(200),
                request_headers: vec![("accept".into(), "*/*".into())],
                response_headers: Some(vec![("server".into(), "shop".into())]),
                remote_addr: Some("127.0.0.1:8080".into()),
                started_at: chrono::Utc::now(),
                body: Some(body.to_vec()),
                ..Exchange::default()
            };
            let listing = Listing {
                title: Some("fake".into()),
                ..Listing::default()
            };
            let image = item(ItemKind::Image, "http://cdn/1.jpg");
            store
                .complete_listing(
                    run.id,
                    &page,
                    &[exchange("http://shop/1", b"<html>1</html>")],
                    &listing,
                    &[image],
                )
                .unwrap();
            let image = store.pending_items(run.id).unwrap().pop().unwrap();
            let jpeg = [0xffu8, 0xd8, 0xff, 0, 1, 2];
            store
                .complete_image(
                    run.id,
                    &image,
                    &[exchange("http://cdn/1.jpg", &jpeg)],
                    &ImageInfo::default(),
                    None,
                )
                .unwrap();

            let id = store.listings(None).unwrap()[0].id.0;
            let capture = store.page_capture(id).unwrap().unwrap();
            assert_eq!(capture.body, b"<html>1</html>");
            assert_eq!(capture.status, Some(200));
            assert_eq!(capture.remote_addr.as_deref(), Some("127.0.0.1:8080"));
            assert_eq!(
                capture.response_headers,
                [("server".to_string(), "shop".to_string())]
            );
            assert_eq!(
                store
                    .image_capture("http://cdn/1.jpg")
                    .unwrap()
                    .unwrap()
                    .body,
                jpeg
            );
            assert_eq!(store.image_capture("http://cdn/none.jpg").unwrap(), None);
            assert_eq!(store.page_capture(9999).unwrap(), None);

            assert_eq!(store.screenshot(id).unwrap(), None);
            store.put_screenshot("http://shop/1", b"png one").unwrap();
            store.put_screenshot("http://shop/1", b"png two").unwrap();
            assert_eq!(store.screenshot(id).unwrap().unwrap().0, b"png two");
            let missing = store
                .put_screenshot("http://shop/none", b"png")
                .unwrap_err();
            assert!(missing
                .to_string()
                .contains("no listing is stored at http://shop/none"));
        });
    }
}
