//! The `ebay-browse` target against a local double of the eBay Browse API
//! that replays the real responses in ../shared/realpages (eBay itself is
//! unreachable from here; the code path is the production one).

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use knockoff::store::{Stage, Store};
use serde_json::Value;

use crate::util;

const CLIENT: &str = "test-client";
const SECRET: &str = "test-secret-7f3a";
const TOKEN: &str = "v^1.1#i^1#token-";
/// The item the double's getItem knows: the real getItem response's.
const ITEM: &str = "265708278354";

/// What the double replays and what it saw.
struct Double {
    search: Value,
    item: Value,
    /// The origin it serves on, for the URLs it writes into responses.
    origin: Mutex<String>,
    tokens: AtomicU32,
    /// The first token has expired.
    first_expired: std::sync::atomic::AtomicBool,
    /// Every request: when, method, path and query, Authorization.
    log: Mutex<Vec<(Instant, String, String, String)>>,
    /// Reference photos received by search_by_image, decoded.
    photos: Mutex<Vec<Vec<u8>>>,
    /// A small JPEG for every image URL.
    jpeg: Vec<u8>,
}

impl Double {
    fn requests(&self, path: &str) -> Vec<(Instant, String, String, String)> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|r| r.2.starts_with(path))
            .cloned()
            .collect()
    }

    /// `value` with eBay's image host and the API's own URLs moved here.
    fn localised(&self, value: &Value) -> Value {
        let origin = self.origin.lock().unwrap().clone();
        let text = value
            .to_string()
            .replace("https://i.ebayimg.com/", &format!("{origin}/ebayimg/"))
            .replace("https://api.ebay.com/", &format!("{origin}/"));
        serde_json::from_str(&text).unwrap()
    }
}

fn json(value: Value) -> Response {
    ([("content-type", "application/json")], value.to_string()).into_response()
}

async fn serve(
    State(double): State<Arc<Double>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let target = uri
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let seen_before = double.requests(&target).len();
    double.log.lock().unwrap().push((
        Instant::now(),
        method.to_string(),
        target.clone(),
        auth.clone(),
    ));
    let path = uri.path();
    let query = uri.query().unwrap_or("");
    if path == "/robots.txt" {
        return "User-agent: *\nAllow: /\n".into_response();
    }
    if let Some(_image) = path.strip_prefix("/ebayimg/") {
        return ([("content-type", "image/jpeg")], double.jpeg.clone()).into_response();
    }
    if path == "/identity/v1/oauth2/token" {
        let basic = format!(
            "Basic {}",
            data_encoding::BASE64.encode(format!("{CLIENT}:{SECRET}").as_bytes())
        );
        let form = String::from_utf8_lossy(&body);
        if method != Method::POST
            || auth != basic
            || !form.contains("grant_type=client_credentials")
        {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let n = double.tokens.fetch_add(1, Ordering::SeqCst) + 1;
        return json(serde_json::json!({
            "access_token": format!("{TOKEN}{n}"),
            "expires_in": 7200,
            "token_type": "Application Access Token"
        }));
    }
    // Every API call needs a token it issued; the first one "expires" at
    // the first keyword search, as tokens do mid-crawl.
    let issued = double.tokens.load(Ordering::SeqCst);
    let valid = auth
        .strip_prefix(&format!("Bearer {TOKEN}"))
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| (1..=issued).contains(&n));
    if path.ends_with("/search") && auth.ends_with("token-1") {
        double.first_expired.store(true, Ordering::SeqCst);
    }
    if !valid || (auth.ends_with("token-1") && double.first_expired.load(Ordering::SeqCst)) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if headers.get("x-ebay-c-marketplace-id").is_none() {
        return StatusCode::BAD_REQUEST.into_response();
    }
    match path {
        "/buy/browse/v1/item_summary/search" if query.contains("offset=3") => {
            if seen_before == 0 {
                return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response();
            }
            // The last page: the item getItem describes, as a summary.
            let item = &double.item;
            let summary = serde_json::json!({
                "itemId": item["itemId"],
                "title": item["title"],
                "price": item["price"],
                "image": item["image"],
                "seller": item["seller"],
                "itemWebUrl": item["itemWebUrl"],
            });
            json(double.localised(&serde_json::json!({
                "total": 4, "offset": 3, "limit": 3, "itemSummaries": [summary]
            })))
        }
        "/buy/browse/v1/item_summary/search" => json(double.localised(&double.search)),
        "/buy/browse/v1/item_summary/search_by_image" if method == Method::POST => {
            let sent: Value = serde_json::from_slice(&body).unwrap_or_default();
            let Some(photo) = sent["image"]
                .as_str()
                .and_then(|b| data_encoding::BASE64.decode(b.as_bytes()).ok())
            else {
                return StatusCode::BAD_REQUEST.into_response();
            };
            double.photos.lock().unwrap().push(photo);
            let mut found = double.search.clone();
            found["itemSummaries"] = Value::Array(vec![double.search["itemSummaries"][1].clone()]);
            found["next"] = Value::Null;
            json(double.localised(&found))
        }
        "/buy/browse/v1/item/get_item_by_legacy_id"
            if query == format!("legacy_item_id={ITEM}") =>
        {
            json(double.localised(&double.item))
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The double, started on loopback with the real responses.
async fn start_double(realpages: &Path) -> (Arc<Double>, url::Url) {
    let search: Value = serde_json::from_str(
        &std::fs::read_to_string(realpages.join("ebay_api-browse-search_gpuagent.json")).unwrap(),
    )
    .unwrap();
    let markdown =
        std::fs::read_to_string(realpages.join("ebay_api-browse-getItem_gpuagent.md")).unwrap();
    let fenced = markdown
        .split("```json")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let item: Value = serde_json::from_str(fenced).unwrap();
    let mut jpeg = Vec::new();
    image::RgbImage::from_pixel(64, 48, image::Rgb([40, 120, 60]))
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let double = Arc::new(Double {
        search,
        item,
        origin: Mutex::default(),
        tokens: AtomicU32::new(0),
        first_expired: Default::default(),
        log: Mutex::default(),
        photos: Mutex::default(),
        jpeg,
    });
    let router = Router::new().fallback(serve).with_state(double.clone());
    let base = util::serve(router, "127.0.0.1").await;
    *double.origin.lock().unwrap() = base.as_str().trim_end_matches('/').to_string();
    (double, base)
}

/// A workspace with one `ebay-browse` target aimed at `base`: a brand
/// (NVIDIA) whose Tesla T4 costs 5,000 USD, and one reference photo.
fn workspace(dir: &Path, base: &url::Url) -> Vec<u8> {
    std::fs::create_dir_all(dir.join("targets")).unwrap();
    std::fs::create_dir_all(dir.join("reference-images/t4")).unwrap();
    std::fs::write(
        dir.join("targets/ebay.toml"),
        format!(
            "kind = \"ebay-browse\"\nbase_url = \"{}\"\n\n[rate]\nrequests_per_second = 4.0\n\n\
             [search]\nqueries = [\"nvidia tesla t4\"]\nmax_pages = 3\n\n[ebay]\nmarketplace = \"EBAY_US\"\n",
            base.as_str().trim_end_matches('/')
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("reference-images/products.toml"),
        "[brand]\nname = \"NVIDIA\"\n\n[[product]]\nid = \"T4\"\nname = \"NVIDIA Tesla T4\"\n\
         keywords = [\"tesla t4\"]\nmsrp = 5000\ncurrency = \"USD\"\nimages = [\"t4/front.jpg\"]\n",
    )
    .unwrap();
    let mut photo = Vec::new();
    image::RgbImage::from_fn(120, 90, |x, y| {
        image::Rgb([(x * 2) as u8, (y * 2) as u8, 90])
    })
    .write_to(
        &mut std::io::Cursor::new(&mut photo),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    std::fs::write(dir.join("reference-images/t4/front.jpg"), &photo).unwrap();
    photo
}

/// Runs the binary in `dir` with `env` as the only eBay credentials.
fn knockoff_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_knockoff"));
    command
        .arg("--workspace")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "knockoff=info")
        .env_remove("EBAY_CLIENT_ID")
        .env_remove("EBAY_CLIENT_SECRET");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browse_api_pages_refreshes_its_token_waits_when_told_and_searches_by_photo() {
    let Some(realpages) = util::realpages() else {
        return;
    };
    let (double, base) = start_double(&realpages).await;
    let dir = tempfile::tempdir().unwrap();
    let photo = workspace(dir.path(), &base);
    let credentials = [("EBAY_CLIENT_ID", CLIENT), ("EBAY_CLIENT_SECRET", SECRET)];
    let path = dir.path().to_path_buf();
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || knockoff_with(&path, &["crawl"], &credentials))
            .await
            .unwrap();
    assert_eq!(code, 0, "{stdout}\n{stderr}");

    // Paging: the first page (after a refused token), then the page its
    // `next` names — asked again after the 429's Retry-After.
    let first = double.requests("/buy/browse/v1/item_summary/search?");
    let pages: Vec<&str> = first.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(pages.len(), 4, "{pages:?}");
    assert_eq!(first[0].3, format!("Bearer {TOKEN}1"), "the first token");
    assert_eq!(
        first[1].3,
        format!("Bearer {TOKEN}2"),
        "refreshed after the 401"
    );
    assert!(pages[2].contains("offset=3") && pages[3].contains("offset=3"));
    assert!(
        first[3].0 - first[2].0 >= Duration::from_millis(950),
        "the 429's Retry-After: 1 was waited out"
    );
    assert_eq!(double.tokens.load(Ordering::SeqCst), 2);

    // Search by image: the reference photo, as sent.
    assert_eq!(*double.photos.lock().unwrap(), vec![photo]);

    // Cards stored from every page; getItem only for the candidate that
    // names the product at 38% of its price.
    let config = knockoff::config::load(dir.path()).unwrap();
    let store = Store::open(&config.db_path()).unwrap();
    let listings = store.listings(None).unwrap();
    assert_eq!(listings.len(), 4, "3 + 1 summaries: {listings:#?}");
    let t4 = listings
        .iter()
        .find(|l| l.url == format!("https://www.ebay.com/itm/{ITEM}"))
        .unwrap();
    assert_eq!(t4.stage, Stage::Item);
    assert_eq!(
        t4.listing.title.as_deref(),
        Some("Lenovo ThinkSystem NVIDIA Tesla T4 16GB PCIe Passive GPU 4X67A14926 (New Sealed)")
    );
    assert_eq!(
        (t4.listing.price, t4.listing.currency.as_deref()),
        (Some(1900.0), Some("USD"))
    );
    assert_eq!(t4.listing.seller.as_deref(), Some("zaadone"));
    assert_eq!(t4.listing.images.len(), 2);
    let first_card = listings
        .iter()
        .find(|l| l.url == "https://www.ebay.com/itm/296057072805")
        .unwrap();
    assert_eq!(
        first_card.listing.title.as_deref(),
        Some("NVIDIA RTX A5000 24GB GDDR6 Graphics Card")
    );
    assert_eq!(first_card.listing.price, Some(1500.0));
    let item_calls = double.requests("/buy/browse/v1/item/");
    assert!(
        item_calls.iter().any(|r| r.2.ends_with(ITEM)),
        "getItem for the candidate: {item_calls:?}"
    );
    assert!(
        item_calls.len() < listings.len(),
        "getItem only for candidates"
    );

    // The exchanges are kept; the credentials and tokens are not, anywhere.
    let searches = store
        .query_strings("SELECT COUNT(*) FROM fetches WHERE url LIKE '%item_summary%' AND body_sha256 IS NOT NULL")
        .unwrap();
    assert!(searches[0].parse::<u32>().unwrap() >= 3, "{searches:?}");
    drop(store);
    for file in std::fs::read_dir(dir.path()).unwrap() {
        let file = file.unwrap().path();
        if file.is_file() {
            let bytes = std::fs::read(&file).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            for secret in [
                SECRET,
                TOKEN,
                &data_encoding::BASE64.encode(format!("{CLIENT}:{SECRET}").as_bytes()),
            ] {
                assert!(
                    !text.contains(secret),
                    "{} holds a credential",
                    file.display()
                );
            }
        }
    }
    for secret in [SECRET, TOKEN] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }
}

#[test]
fn without_credentials_the_crawl_says_which_target_needs_them() {
    let dir = tempfile::tempdir().unwrap();
    let base = url::Url::parse("http://127.0.0.1:9/").unwrap();
    workspace(dir.path(), &base);
    let (code, _, stderr) = knockoff_with(dir.path(), &["crawl"], &[("EBAY_CLIENT_ID", CLIENT)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("target `ebay`") && stderr.contains("EBAY_CLIENT_SECRET"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("knockoff.db").exists() || {
            let config = knockoff::config::load(dir.path()).unwrap();
            Store::open(&config.db_path())
                .unwrap()
                .listings(None)
                .unwrap()
                .is_empty()
        }
    );
}

/// A hostile API: its first search page names a `next` page on another
/// host (which counts every request and the Authorization it carries);
/// with `bad_token`, its token endpoint answers 200 with no token.
async fn hostile_api(bad_token: bool) -> (url::Url, url::Url, util::Hits, Arc<Mutex<Vec<String>>>) {
    let elsewhere_auth: Arc<Mutex<Vec<String>>> = Arc::default();
    let elsewhere = {
        let auth = elsewhere_auth.clone();
        util::serve(
            Router::new().fallback(move |headers: HeaderMap| {
                let auth = auth.clone();
                async move {
                    let sent = headers.get("authorization").and_then(|v| v.to_str().ok());
                    auth.lock().unwrap().push(sent.unwrap_or("").to_string());
                    json(serde_json::json!({"itemSummaries": []}))
                }
            }),
            "127.0.0.1",
        )
        .await
    };
    let hits = util::Hits::default();
    let router = {
        let (hits, elsewhere) = (hits.clone(), elsewhere.clone());
        Router::new().fallback(move |uri: Uri| {
            let (hits, elsewhere) = (hits.clone(), elsewhere.clone());
            async move {
                hits.record(uri.path());
                match uri.path() {
                    "/identity/v1/oauth2/token" if bad_token => json(serde_json::json!({"oops": 1})),
                    "/identity/v1/oauth2/token" => {
                        json(serde_json::json!({"access_token": format!("{TOKEN}x"), "expires_in": 7200}))
                    }
                    "/buy/browse/v1/item_summary/search" => json(serde_json::json!({
                        "itemSummaries": [{
                            "itemId": "v1|1|0", "title": "NVIDIA Tesla T4",
                            "price": {"value": "4900.00", "currency": "USD"},
                            "itemWebUrl": "https://www.ebay.com/itm/1",
                        }],
                        "next": format!("{elsewhere}buy/browse/v1/item_summary/search?offset=50"),
                    })),
                    _ => StatusCode::NOT_FOUND.into_response(),
                }
            }
        })
    };
    let base = util::serve(router, "127.0.0.1").await;
    (base, elsewhere, hits, elsewhere_auth)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_leaves_the_apis_origin_and_a_bad_token_answer_says_so() {
    let credentials = [("EBAY_CLIENT_ID", CLIENT), ("EBAY_CLIENT_SECRET", SECRET)];
    // A `next` page on another host is not followed, and gets no token.
    let (base, other_host, hits, elsewhere) = hostile_api(false).await;
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path(), &base);
    // The guard would let the target reach the other host: only the
    // token's own rule keeps it there.
    util::edit_toml(&dir.path().join("targets/ebay.toml"), |doc| {
        let origin = other_host.as_str().trim_end_matches('/').to_string();
        util::set(
            doc,
            "private_origins",
            [origin].into_iter().collect::<toml_edit::Array>(),
        );
    });
    let path = dir.path().to_path_buf();
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || knockoff_with(&path, &["crawl"], &credentials))
            .await
            .unwrap();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(hits
        .paths()
        .iter()
        .any(|p| p.ends_with("/item_summary/search")));
    assert!(
        elsewhere.lock().unwrap().is_empty(),
        "another host got {:?}",
        elsewhere.lock().unwrap()
    );

    // A 200 without a token is a bad answer, named as one.
    let (base, _, _, _) = hostile_api(true).await;
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path(), &base);
    let path = dir.path().to_path_buf();
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || knockoff_with(&path, &["crawl"], &credentials))
            .await
            .unwrap();
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("bad_response"), "{stdout}");
    assert!(!stdout.contains("http_4xx"), "{stdout}");
    assert!(stderr.contains("not an OAuth token"), "{stderr}");
}
