//! The eBay Browse API as a target (`kind = "ebay-browse"`).
//!
//! Item summaries (`item_summary/search`, and `search_by_image` with each
//! reference photo — finding listings by their photo) are the search cards
//! of a two-stage crawl; `get_item_by_legacy_id` is the item page, fetched
//! only for the cards the judge picks out. Every call goes through the
//! [`Fetcher`] (the host gate, 429 with Retry-After, retries) and is kept as
//! an exchange, with its `Authorization` header redacted. The OAuth
//! client-credentials token comes from `EBAY_CLIENT_ID` and
//! `EBAY_CLIENT_SECRET` and lives only in memory: never in the workspace,
//! the store, the logs or a bundle.

use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use super::fetch::{ApiRequest, FetchError, FetchFailure, Fetched, Fetcher, Method};
use crate::config::{EbayBrowse, Target};
use crate::extract::{Card, Listing};

/// The environment variables the credentials come from.
pub(crate) const CLIENT_ID: &str = "EBAY_CLIENT_ID";
pub(crate) const CLIENT_SECRET: &str = "EBAY_CLIENT_SECRET";
/// The scope of a client-credentials token for the Browse API.
const SCOPE: &str = "https://api.ebay.com/oauth/api_scope";
/// Headers never recorded in an exchange.
const SECRET: &[&str] = &["Authorization"];

/// The credentials are not in the environment.
#[derive(Debug, thiserror::Error)]
#[error(
    "target `{target}` (kind = \"ebay-browse\") needs {CLIENT_ID} and {CLIENT_SECRET} in the \
     environment (an eBay developer application's keys); they are never read from a file"
)]
pub(crate) struct MissingCredentials {
    pub target: String,
}

/// A token and when it stops working.
struct Token {
    value: String,
    expires: Instant,
}

/// One target's access to the API: its credentials and current token.
pub(crate) struct EbayClient {
    id: String,
    secret: String,
    token: Mutex<Option<Token>>,
}

impl std::fmt::Debug for EbayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EbayClient { .. }")
    }
}

impl EbayClient {
    /// The client of `target`, with credentials from the environment.
    pub(crate) fn from_env(target: &Target) -> Result<EbayClient, MissingCredentials> {
        let read = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        match (read(CLIENT_ID), read(CLIENT_SECRET)) {
            (Some(id), Some(secret)) => Ok(EbayClient {
                id,
                secret,
                token: Mutex::new(None),
            }),
            _ => Err(MissingCredentials {
                target: target.name.clone(),
            }),
        }
    }

    /// Calls the API (`body`: a JSON POST) with a token, getting a new one
    /// when there is none, it expired, or the API answers 401.
    pub async fn call(
        &self,
        fetcher: &Fetcher,
        target: &Target,
        ebay: &EbayBrowse,
        url: &Url,
        body: Option<Vec<u8>>,
    ) -> Result<Fetched, FetchFailure> {
        let mut exchanges = Vec::new();
        // The token goes to the API's own origin only, whatever a response
        // names as its next page.
        if url.origin() != target.base_url.origin() {
            return Err(FetchFailure {
                error: FetchError::BadResponse {
                    url: url.to_string(),
                    detail: format!(
                        "not on the API's origin {}, so it never gets the token",
                        target.base_url.origin().ascii_serialization()
                    ),
                },
                exchanges,
            });
        }
        let mut refused: Option<String> = None;
        loop {
            let token = match self
                .token(fetcher, target, refused.as_deref(), &mut exchanges)
                .await
            {
                Ok(token) => token,
                Err(error) => return Err(FetchFailure { error, exchanges }),
            };
            let mut headers = vec![
                ("Authorization".to_string(), format!("Bearer {token}")),
                (
                    "X-EBAY-C-MARKETPLACE-ID".to_string(),
                    ebay.marketplace.clone(),
                ),
                ("Accept".to_string(), "application/json".to_string()),
            ];
            if body.is_some() {
                headers.push(("Content-Type".to_string(), "application/json".to_string()));
            }
            let request = ApiRequest {
                method: if body.is_some() {
                    Method::Post
                } else {
                    Method::Get
                },
                url: without_fragment(url),
                headers,
                secret: SECRET,
                body: body.clone(),
                keep_body: true,
            };
            match fetcher.send(&target.name, &request).await {
                Ok(mut fetched) => {
                    exchanges.append(&mut fetched.exchanges);
                    fetched.exchanges = exchanges;
                    return Ok(fetched);
                }
                Err(mut failure) => {
                    exchanges.append(&mut failure.exchanges);
                    let expired = matches!(failure.error, FetchError::Status { status: 401, .. });
                    if !expired || refused.is_some() {
                        failure.exchanges = exchanges;
                        return Err(failure);
                    }
                    tracing::info!(target_name = %target.name, "eBay token refused (401); getting a new one");
                    refused = Some(token);
                }
            }
        }
    }

    /// The current token, or a new one from the OAuth endpoint when there
    /// is none, it expired, or it is the one the API just `refused` (a
    /// call running beside it may have replaced that one already).
    async fn token(
        &self,
        fetcher: &Fetcher,
        target: &Target,
        refused: Option<&str>,
        exchanges: &mut Vec<crate::store::Exchange>,
    ) -> Result<String, FetchError> {
        let mut held = self.token.lock().await;
        if let Some(token) = held.as_ref() {
            if token.expires > Instant::now() && refused != Some(token.value.as_str()) {
                return Ok(token.value.clone());
            }
        }
        let url = target
            .base_url
            .join("/identity/v1/oauth2/token")
            .map_err(|_| FetchError::BadUrl {
                url: target.base_url.to_string(),
            })?;
        let basic = data_encoding::BASE64.encode(format!("{}:{}", self.id, self.secret).as_bytes());
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("scope", SCOPE)
            .finish();
        let request = ApiRequest {
            method: Method::Post,
            url: url.clone(),
            headers: vec![
                ("Authorization".to_string(), format!("Basic {basic}")),
                (
                    "Content-Type".to_string(),
                    "application/x-www-form-urlencoded".to_string(),
                ),
                ("Accept".to_string(), "application/json".to_string()),
            ],
            secret: SECRET,
            body: Some(form.into_bytes()),
            // The response is the token itself: its exchange keeps no body.
            keep_body: false,
        };
        let fetched = match fetcher.send(&target.name, &request).await {
            Ok(fetched) => fetched,
            Err(mut failure) => {
                exchanges.append(&mut failure.exchanges);
                return Err(failure.error);
            }
        };
        exchanges.extend(fetched.exchanges);
        #[derive(Deserialize)]
        struct TokenResponse {
            access_token: String,
            expires_in: Option<u64>,
        }
        let parsed: TokenResponse =
            serde_json::from_slice(&fetched.body).map_err(|e| FetchError::BadResponse {
                url: url.to_string(),
                detail: format!("the token response is not an OAuth token ({e})"),
            })?;
        // A minute's margin, so a token never expires mid-request.
        let lifetime = parsed.expires_in.unwrap_or(7200).saturating_sub(60);
        *held = Some(Token {
            value: parsed.access_token.clone(),
            expires: Instant::now() + super::limiter::clamped_secs(lifetime as f64),
        });
        Ok(parsed.access_token)
    }
}

fn without_fragment(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    url
}

/// The keyword search URL of `query`.
pub(crate) fn search_url(target: &Target, ebay: &EbayBrowse, query: &str) -> Option<Url> {
    let mut url = target
        .base_url
        .join("/buy/browse/v1/item_summary/search")
        .ok()?;
    url.query_pairs_mut()
        .append_pair("q", query)
        .append_pair("limit", &ebay.limit.to_string());
    Some(url)
}

/// The search-by-image URL for the reference photo `photo` (its path
/// under `reference-images/`, kept in the fragment, which is never sent:
/// it tells one photo's search from another's in the frontier).
pub(crate) fn image_search_url(target: &Target, ebay: &EbayBrowse, photo: &str) -> Option<Url> {
    let mut url = target
        .base_url
        .join("/buy/browse/v1/item_summary/search_by_image")
        .ok()?;
    url.query_pairs_mut()
        .append_pair("limit", &ebay.limit.to_string());
    url.set_fragment(Some(photo));
    Some(url)
}

/// The reference photo an image search URL is for.
pub(crate) fn searched_photo(url: &Url) -> Option<String> {
    url.path()
        .ends_with("/search_by_image")
        .then(|| url.fragment())
        .flatten()
        .map(percent_decode)
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The JSON body of a search by image.
pub(crate) fn image_search_body(photo: &[u8]) -> Vec<u8> {
    serde_json::json!({ "image": data_encoding::BASE64.encode(photo) })
        .to_string()
        .into_bytes()
}

/// The getItem URL of the listing at `listing_url` (its web page,
/// `…/itm/123456789012`).
pub(crate) fn item_url(target: &Target, listing_url: &str) -> Option<Url> {
    let web = Url::parse(listing_url).ok()?;
    let id = web
        .path_segments()?
        .rfind(|s| !s.is_empty())
        .filter(|s| s.chars().all(|c| c.is_ascii_digit()))?
        .to_string();
    let mut url = target
        .base_url
        .join("/buy/browse/v1/item/get_item_by_legacy_id")
        .ok()?;
    url.query_pairs_mut().append_pair("legacy_item_id", &id);
    Some(url)
}

#[derive(Deserialize)]
struct Amount {
    value: Option<String>,
    currency: Option<String>,
}

#[derive(Deserialize)]
struct Image {
    #[serde(rename = "imageUrl")]
    image_url: Option<String>,
}

#[derive(Deserialize)]
struct Seller {
    username: Option<String>,
}

#[derive(Deserialize)]
struct Summary {
    title: Option<String>,
    price: Option<Amount>,
    image: Option<Image>,
    seller: Option<Seller>,
    #[serde(rename = "itemWebUrl")]
    item_web_url: Option<String>,
}

#[derive(Deserialize)]
struct SearchResponse {
    #[serde(rename = "itemSummaries", default)]
    item_summaries: Vec<Summary>,
    next: Option<String>,
}

/// The listing's web page without tracking parameters: its key.
fn web_url(raw: &str) -> Option<String> {
    let mut url = Url::parse(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    Some(url.to_string())
}

fn amount(price: Option<&Amount>) -> (Option<f64>, Option<String>) {
    let price = price.and_then(|p| {
        let value = p.value.as_deref()?.trim().parse::<f64>().ok()?;
        value.is_finite().then_some((value, p.currency.clone()))
    });
    match price {
        Some((value, currency)) => (Some(value), currency.map(|c| c.to_uppercase())),
        None => (None, None),
    }
}

/// Cleans text from the API as a page's text is cleaned.
fn text(raw: Option<&str>) -> Option<String> {
    raw.map(|t| crate::extract::plain(t, crate::extract::MAX_TITLE_CHARS))
        .filter(|t| !t.is_empty())
}

/// The cards of a search response and the next page's URL.
pub fn summaries(body: &[u8]) -> Result<(Vec<Card>, Option<Url>), serde_json::Error> {
    let response: SearchResponse = serde_json::from_slice(body)?;
    let cards = response
        .item_summaries
        .iter()
        .filter_map(|s| {
            let (price, currency) = amount(s.price.as_ref());
            Some(Card {
                url: web_url(s.item_web_url.as_deref()?)?,
                title: text(s.title.as_deref()),
                price,
                currency,
                seller: text(s.seller.as_ref().and_then(|s| s.username.as_deref())),
                image: s
                    .image
                    .as_ref()
                    .and_then(|i| i.image_url.as_deref())
                    .and_then(web_url_keep_query),
            })
        })
        .collect();
    let next = response.next.and_then(|n| Url::parse(&n).ok());
    Ok((cards, next))
}

/// An absolute http(s) URL as given (image URLs keep their query).
fn web_url_keep_query(raw: &str) -> Option<String> {
    Url::parse(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(String::from)
}

#[derive(Deserialize)]
struct Item {
    title: Option<String>,
    price: Option<Amount>,
    image: Option<Image>,
    #[serde(rename = "additionalImages", default)]
    additional_images: Vec<Image>,
    seller: Option<Seller>,
    #[serde(rename = "shortDescription")]
    short_description: Option<String>,
    description: Option<String>,
}

/// The listing a getItem response describes.
pub fn item(body: &[u8]) -> Result<Listing, serde_json::Error> {
    let item: Item = serde_json::from_slice(body)?;
    let (price, currency) = amount(item.price.as_ref());
    let description = item.short_description.or_else(|| {
        // `description` is the seller's HTML: its text.
        item.description.map(|html| {
            let doc = scraper::Html::parse_fragment(&html);
            doc.root_element().text().collect::<Vec<_>>().join(" ")
        })
    });
    let mut images: Vec<String> = Vec::new();
    for url in std::iter::once(item.image.as_ref())
        .flatten()
        .chain(&item.additional_images)
        .filter_map(|i| i.image_url.as_deref())
        .filter_map(web_url_keep_query)
    {
        if !images.contains(&url) && images.len() < crate::extract::MAX_IMAGES {
            images.push(url);
        }
    }
    Ok(Listing {
        title: text(item.title.as_deref()),
        price,
        currency,
        seller: text(item.seller.as_ref().and_then(|s| s.username.as_deref())),
        description: description
            .map(|d| crate::extract::plain(&d, crate::extract::MAX_DESCRIPTION_CHARS))
            .filter(|d| !d.is_empty()),
        images,
        seller_url: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        let (_dir, config) = crate::config::with_target("kind = \"ebay-browse\"\n");
        config.targets[0].clone()
    }

    #[test]
    fn urls_of_the_api_calls() {
        let target = target();
        assert_eq!(target.base_url.as_str(), "https://api.ebay.com/");
        let crate::config::TargetKind::EbayBrowse(api) = &target.kind else {
            panic!("an ebay-browse target");
        };
        assert_eq!(
            item_url(&target, "https://www.ebay.de/itm/123456789012").unwrap().as_str(),
            "https://api.ebay.com/buy/browse/v1/item/get_item_by_legacy_id?legacy_item_id=123456789012"
        );
        assert_eq!(item_url(&target, "https://www.ebay.de/itm/some-slug"), None);
        let search = search_url(&target, api, "orvane tide&watch").unwrap();
        assert_eq!(search.query(), Some("q=orvane+tide%26watch&limit=50"));
        let photo = "tide watch/front+1 ü.jpg";
        let by_image = image_search_url(&target, api, photo).unwrap();
        assert_eq!(searched_photo(&by_image).as_deref(), Some(photo));
        assert_eq!(searched_photo(&search), None);
    }

    #[test]
    fn responses_that_are_not_what_the_api_documents_are_errors_not_panics() {
        for body in [&b"<html>"[..], b"[]", b"{\"itemSummaries\": 3}", b""] {
            assert!(summaries(body).is_err(), "{body:?}");
        }
        let (cards, next) =
            summaries(br#"{"itemSummaries": [{"title": "x"}, {"itemWebUrl": "javascript:1"}], "next": "no url"}"#)
                .unwrap();
        assert!(cards.is_empty() && next.is_none());
        let listing = item(br#"{"title": " A\u202e B ", "price": {"value": "NaN"}}"#).unwrap();
        assert_eq!(listing.price, None);
        assert!(!listing.title.unwrap().contains('\u{202e}'));
    }
}
