//! The demo marketplace: three HTTP servers on 127.0.0.1 serving a
//! [`Catalog`].
//!
//! - **shopfront**: plain HTML that needs CSS selectors, `{page}` pagination,
//!   prices written the many ways shops write them, occasional 429s.
//! - **bazaar**: schema.org JSON-LD only (in `@graph`, arrays, offers as
//!   object or array, image as string/array/ImageObject), `rel=next`
//!   pagination, occasional 503s.
//! - **cdn**: the listing photos, on its own host:port, with a few corrupt
//!   images, a decompression bomb and missing files.
//!
//! Each has a robots.txt with disallowed paths that its pages link to. Every
//! request is logged with its arrival time, so tests can check politeness
//! from the server's side.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use url::Url;

use super::catalog::{Catalog, DemoListing, Photo, Site};

/// Listings per search results page, unless [`SiteOptions::page_size`] says.
const PAGE_SIZE: usize = 6;

/// Which server a request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    Shopfront,
    Bazaar,
    Cdn,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub host: Host,
    pub path: String,
    pub at: Instant,
    pub status: u16,
    pub user_agent: String,
}

/// Every request the marketplace received.
#[derive(Debug, Default)]
pub struct RequestLog {
    requests: Mutex<Vec<Request>>,
}

impl RequestLog {
    fn record(&self, request: Request) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request);
    }

    /// A copy of the log so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The most requests `host` received in any window [t, t + 1 s).
    pub fn busiest_second(&self, host: Host) -> usize {
        let mut times: Vec<Instant> = self
            .requests()
            .iter()
            .filter(|r| r.host == host)
            .map(|r| r.at)
            .collect();
        // Logged when answered; slow answers land out of arrival order.
        times.sort();
        let mut busiest = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end].duration_since(times[start]).as_secs_f64() >= 1.0 {
                start += 1;
            }
            busiest = busiest.max(end - start + 1);
        }
        busiest
    }
}

/// How the marketplace behaves.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// Ports for shopfront, bazaar and cdn; 0, or a busy port, means any free port.
    pub ports: [u16; 3],
    /// Serve the broken pages and images, 429s and 503s.
    pub faults: bool,
    /// Serve one pre-drawn JPEG, made unique per URL by a comment segment,
    /// instead of drawing every photo: for benchmarks that measure the
    /// crawler, not the marketplace.
    pub cheap_photos: bool,
    /// Cards per search results page (6 by default; real marketplaces
    /// show 24–60).
    pub page_size: usize,
    /// Keep every drawn photo and serve the same bytes again without
    /// drawing: for benchmarks whose listings share few distinct photos
    /// (`Catalog::relisted`), where drawing would cost more than crawling.
    pub remember_photos: bool,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            ports: [0, 0, 0],
            faults: true,
            cheap_photos: false,
            page_size: PAGE_SIZE,
            remember_photos: false,
        }
    }
}

/// A running demo marketplace. Dropping it stops the servers.
pub struct Marketplace {
    pub shopfront: Url,
    pub bazaar: Url,
    pub cdn: Url,
    pub log: Arc<RequestLog>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    taken_down: Arc<Mutex<std::collections::HashSet<u32>>>,
}

impl Drop for Marketplace {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

struct Shared {
    catalog: Arc<Catalog>,
    cdn: Url,
    log: Arc<RequestLog>,
    faults: bool,
    /// Per listing, what search matches against.
    haystacks: Vec<String>,
    /// The pre-drawn photo of `SiteOptions::cheap_photos`.
    cheap_photo: Option<Vec<u8>>,
    /// Drawn photos by what they show, when `SiteOptions::remember_photos`.
    remembered: Option<Mutex<std::collections::HashMap<String, Bytes>>>,
    page_size: usize,
    listing_hits: AtomicU64,
    first_tries: Mutex<std::collections::HashSet<String>>,
    /// Listings the marketplace took down (after a notice, in tests).
    taken_down: Arc<Mutex<std::collections::HashSet<u32>>>,
}

type AppState = State<(Host, Arc<Shared>)>;

async fn bind(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => Ok(listener),
        Err(_) if port != 0 => tokio::net::TcpListener::bind(("127.0.0.1", 0)).await,
        Err(e) => Err(e),
    }
}

fn base(addr: SocketAddr) -> Url {
    Url::parse(&format!("http://{addr}/")).expect("a socket address makes a valid URL")
}

impl Marketplace {
    /// Starts the three servers on loopback.
    pub async fn start(
        catalog: Arc<Catalog>,
        options: SiteOptions,
    ) -> std::io::Result<Marketplace> {
        let listeners = [
            bind(options.ports[0]).await?,
            bind(options.ports[1]).await?,
            bind(options.ports[2]).await?,
        ];
        let urls: Vec<Url> = listeners
            .iter()
            .map(|l| l.local_addr().map(base))
            .collect::<Result<_, _>>()?;
        let log = Arc::new(RequestLog::default());
        let cheap_photo = options
            .cheap_photos
            .then(|| {
                catalog
                    .listings
                    .first()
                    .map(|l| catalog.listing_photo(&l.photos[0]))
            })
            .flatten();
        let shared = Arc::new(Shared {
            haystacks: haystacks(&catalog),
            catalog,
            cdn: urls[2].clone(),
            log: log.clone(),
            faults: options.faults,
            cheap_photo,
            remembered: options.remember_photos.then(Default::default),
            page_size: options.page_size.max(1),
            listing_hits: AtomicU64::new(0),
            first_tries: Mutex::new(Default::default()),
            taken_down: Arc::default(),
        });
        let mut tasks = Vec::new();
        for (listener, host) in
            listeners
                .into_iter()
                .zip([Host::Shopfront, Host::Bazaar, Host::Cdn])
        {
            let app = Router::new()
                .fallback(serve)
                .with_state((host, shared.clone()));
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            }));
        }
        Ok(Marketplace {
            shopfront: urls[0].clone(),
            bazaar: urls[1].clone(),
            cdn: urls[2].clone(),
            log,
            tasks,
            taken_down: shared.taken_down.clone(),
        })
    }

    /// Takes listing `id` down, as a marketplace does after a notice: the
    /// shopfront then answers 404, the bazaar a page saying it is gone.
    pub fn take_down(&self, id: u32) {
        self.taken_down
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id);
    }
}

fn is_taken_down(shared: &Shared, id: u32) -> bool {
    shared
        .taken_down
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&id)
}

async fn serve(
    State((host, shared)): AppState,
    uri: Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    let arrived = Instant::now();
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let response = match host {
        Host::Shopfront => shopfront(&shared, uri.path(), &param),
        Host::Bazaar => bazaar(&shared, uri.path(), &param),
        // Drawing and encoding a photo takes milliseconds of CPU: keep it off the async workers.
        Host::Cdn => {
            let (shared, path) = (shared.clone(), uri.path().to_string());
            tokio::task::spawn_blocking(move || cdn(&shared, &path))
                .await
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    };
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    shared.log.record(Request {
        host,
        path,
        at: arrived,
        status: response.status().as_u16(),
        user_agent,
    });
    response
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

fn retry_later(status: StatusCode) -> Response {
    (status, [(header::RETRY_AFTER, "1")], "slow down").into_response()
}

/// Escapes text for HTML.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// What the sites' own search looks at, per listing: title and tags, lowercased.
fn haystacks(catalog: &Catalog) -> Vec<String> {
    catalog
        .listings
        .iter()
        .map(|l| format!("{} {}", l.title, l.tags.join(" ")).to_lowercase())
        .collect()
}

/// Listings of `site` matching `query`: any query word (other than the brand)
/// in the title or the site's tags, like a marketplace's loose search.
fn search<'a>(shared: &'a Shared, site: Site, query: &str) -> Vec<&'a DemoListing> {
    let brand = shared.catalog.brand.to_lowercase();
    let words: Vec<String> = query
        .to_lowercase()
        .split_whitespace()
        .filter(|w| *w != brand && w.len() >= 3)
        .map(str::to_string)
        .collect();
    shared
        .catalog
        .listings
        .iter()
        .zip(&shared.haystacks)
        .filter(|(l, haystack)| {
            l.site == site && words.iter().any(|w| haystack.contains(w.as_str()))
        })
        .map(|(l, _)| l)
        .collect()
}

/// How shops write a price.
pub(crate) fn price_text(amount: f64, currency: &str) -> String {
    let grouped = |value: f64, decimals: usize, thousands: char, decimal: char| {
        let text = format!("{value:.decimals$}");
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let mut out = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push(thousands);
            }
            out.push(c);
        }
        if decimals > 0 {
            out.push(decimal);
            out.push_str(frac);
        }
        out
    };
    match currency {
        "EUR" => format!("{} €", grouped(amount, 2, '.', ',')),
        "GBP" => format!("£{}", grouped(amount, 2, ',', '.')),
        "JPY" => format!("¥{}", grouped(amount, 0, ',', '.')),
        _ => format!("US ${}", grouped(amount, 2, ',', '.')),
    }
}

/// The photo URLs of a listing on the CDN.
pub fn photo_urls(cdn: &Url, listing: &DemoListing) -> Vec<String> {
    (0..listing.photos.len())
        .map(|n| format!("{cdn}img/{}/{n}.jpg", listing.id))
        .collect()
}

fn is_broken(faults: bool, id: u32) -> bool {
    faults && id % 29 == 7
}

fn is_truncated(faults: bool, id: u32) -> bool {
    faults && id % 31 == 5
}

fn shopfront(shared: &Shared, path: &str, param: &dyn Fn(&str) -> Option<String>) -> Response {
    let catalog = &shared.catalog;
    if path == "/robots.txt" {
        return "User-agent: *\nDisallow: /account/\nDisallow: /*?preview=\n\nUser-agent: greedybot\nDisallow: /\n".into_response();
    }
    if path == "/search" {
        let query = param("q").unwrap_or_default();
        let page: usize = param("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1);
        let hits = search(shared, Site::Shopfront, &query);
        let mut cards = String::new();
        if page == 1 && !hits.is_empty() {
            // A sponsored slot behind a path robots.txt disallows.
            cards.push_str(&format!(
                "<div class=\"result sponsored\"><a class=\"title\" href=\"/account/promo/{}\">Sponsored</a></div>\n",
                hits[0].id
            ));
        }
        for listing in hits
            .iter()
            .skip((page - 1) * shared.page_size)
            .take(shared.page_size)
        {
            cards.push_str(&format!(
                "<div class=\"result\"><img src=\"{thumb}\" alt=\"\"><a class=\"title\" href=\"/item/{id}?ref=search&amp;utm_source=shopfront#top\">{title}</a>\
                 <span class=\"price\">{price}</span></div>\n",
                thumb = thumbnail_url(&shared.cdn, listing),
                id = listing.id,
                title = esc(&listing.title),
                price = esc(&price_text(listing.price, &listing.currency)),
            ));
        }
        return html(format!(
            "<!doctype html><html><head><title>Search: {q} - Shopfront</title></head><body>\
             <form action=\"/search\"><input name=\"q\" value=\"{q}\"></form><div class=\"results\">\n{cards}</div>\
             <p class=\"pager\">Page {page}</p></body></html>",
            q = esc(&query)
        ));
    }
    if let Some(name) = path.strip_prefix("/seller/") {
        return seller_page(catalog, name);
    }
    if let Some(id) = path
        .strip_prefix("/item/")
        .and_then(|s| s.parse::<u32>().ok())
    {
        let Some(listing) = catalog.listing(id).filter(|l| l.site == Site::Shopfront) else {
            return not_found();
        };
        if is_taken_down(shared, id) {
            return not_found();
        }
        if is_broken(shared.faults, id) {
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
        let hits = shared.listing_hits.fetch_add(1, Ordering::Relaxed) + 1;
        if shared.faults && hits.is_multiple_of(15) {
            return retry_later(StatusCode::TOO_MANY_REQUESTS);
        }
        let page = shopfront_page(&shared.cdn, listing);
        if is_truncated(shared.faults, id) {
            // The connection "drops" mid-page: the description and gallery never arrive.
            let cut = page.find("<div class=\"gallery\">").unwrap_or(page.len());
            return html(page[..cut].to_string());
        }
        return html(page);
    }
    if path.starts_with("/account/") {
        return html("<p>Your account</p>".into());
    }
    not_found()
}

/// A shopfront seller's profile page: the name, the bio (markup, as the
/// seller wrote it), the number of listings; 404 for a name with none.
fn seller_page(catalog: &Catalog, name: &str) -> Response {
    let name = url::form_urlencoded::parse(format!("n={name}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let listings = catalog
        .listings
        .iter()
        .filter(|l| l.site == Site::Shopfront && l.seller == name)
        .count();
    if listings == 0 {
        return not_found();
    }
    let bio = catalog
        .seller_bios
        .get(&name)
        .map(String::as_str)
        .unwrap_or("Member since 2021.");
    html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{name} | Shopfront</title></head><body>\
         <h1 class=\"seller\">{name}</h1><div class=\"bio\">{bio}</div><p>{listings} listings</p>\
         <footer>Shopfront &copy; 2026 · help: support@shopfront.example</footer></body></html>",
        name = esc(&name),
    ))
}

/// A shopfront listing page: plain HTML, no structured data.
pub fn shopfront_page(cdn: &Url, listing: &DemoListing) -> String {
    let gallery: String = photo_urls(cdn, listing)
        .iter()
        .map(|src| format!("<img src=\"/static/placeholder.gif\" data-src=\"{src}\" alt=\"\">"))
        .collect();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title} | Shopfront</title></head><body>\
         <nav><a href=\"/\">Shopfront</a> &rsaquo; <a href=\"/account/wishlist\">Wishlist</a></nav>\
         <div class=\"product\"><h1 class=\"title\">{title}</h1>\
         <div class=\"buy\"><span class=\"price\" data-currency=\"{currency}\">{price}</span> <button>Add to cart</button></div>\
         <div class=\"seller\">Sold by <a href=\"/seller/{seller}\">{seller}</a></div>\
         <div class=\"gallery\">{gallery}</div>\
         <div id=\"description\"><p>{description}</p></div></div>\
         <footer>Shopfront &copy; 2026</footer></body></html>",
        title = esc(&listing.title),
        currency = listing.currency,
        price = esc(&price_text(listing.price, &listing.currency)),
        seller = esc(&listing.seller),
        description = esc(&listing.description),
    )
}

fn bazaar(shared: &Shared, path: &str, param: &dyn Fn(&str) -> Option<String>) -> Response {
    let catalog = &shared.catalog;
    if path == "/robots.txt" {
        return "User-agent: *\nAllow: /listing/\nDisallow: /private/\nDisallow: /*.json$\n"
            .into_response();
    }
    if path == "/s" {
        let query = param("k").unwrap_or_default();
        let page: usize = param("p").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
        if shared.faults && page == 2 && first_try(shared, &format!("s:{query}:{page}")) {
            return retry_later(StatusCode::SERVICE_UNAVAILABLE);
        }
        let hits = search(shared, Site::Bazaar, &query);
        let mut cards = String::new();
        if page == 1 && !hits.is_empty() {
            cards.push_str(&format!(
                "<li class=\"card\"><a href=\"/private/listing/{}\">Members only</a></li>\n",
                hits[0].id
            ));
        }
        // `app=1`: the same results, linking to the pages built in the browser.
        let app = param("app").is_some();
        for listing in hits
            .iter()
            .skip((page - 1) * shared.page_size)
            .take(shared.page_size)
        {
            let href = if app {
                format!("/app/listing/{}", listing.id)
            } else {
                format!(
                    "/listing/{}-{}?utm_medium=search",
                    listing.id,
                    slug(&listing.title)
                )
            };
            cards.push_str(&format!(
                "<li class=\"card\"><a href=\"{href}\">{}</a></li>\n",
                esc(&listing.title)
            ));
        }
        let next = if page * shared.page_size < hits.len() {
            let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
            format!(
                "<a rel=\"next\" href=\"/s?k={q}&amp;p={}\">Next &raquo;</a>",
                page + 1
            )
        } else {
            String::new()
        };
        return html(format!(
            "<!doctype html><html><head><title>{q} — Bazaar</title></head><body><ul class=\"grid\">\n{cards}</ul>{next}</body></html>",
            q = esc(&query)
        ));
    }
    if let Some(response) = bazaar_app(shared, path) {
        return response;
    }
    if let Some(rest) = path.strip_prefix("/listing/") {
        let Some(id) = rest.split('-').next().and_then(|s| s.parse::<u32>().ok()) else {
            return not_found();
        };
        let Some(listing) = catalog.listing(id).filter(|l| l.site == Site::Bazaar) else {
            return not_found();
        };
        if is_taken_down(shared, id) {
            return html(
                "<!doctype html><html><body><div class=\"listing-gone\">This listing is no longer available.</div></body></html>"
                    .into(),
            );
        }
        if shared.faults && id % 13 == 2 && first_try(shared, &format!("l:{id}")) {
            return retry_later(StatusCode::SERVICE_UNAVAILABLE);
        }
        if is_broken(shared.faults, id) {
            return (StatusCode::BAD_GATEWAY, "bad gateway").into_response();
        }
        return html(bazaar_page(&shared.cdn, listing));
    }
    if path.starts_with("/private/") {
        return html("<p>Members only</p>".into());
    }
    not_found()
}

/// Whether this is the first request for `key` (for one-off faults).
fn first_try(shared: &Shared, key: &str) -> bool {
    shared
        .first_tries
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key.to_string())
}

fn slug(title: &str) -> String {
    let words: Vec<String> = title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.join("-")
}

/// A bazaar listing page: JSON-LD only, its shape varying by listing.
pub fn bazaar_page(cdn: &Url, listing: &DemoListing) -> String {
    let images = photo_urls(cdn, listing);
    // Some pages keep the listing in a script instead, as AliExpress
    // (`window.runParams = {…}` and more code after it) and Next.js shops
    // (a `__NEXT_DATA__` JSON island) do.
    let quoted = |text: &str| serde_json::json!(text).to_string().replace("</", "<\\/");
    let shell = |script: String| {
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Bazaar</title></head>\
             <body><div id=\"app\" data-listing=\"{id}\"></div>{script}</body></html>",
            id = listing.id
        )
    };
    let display = price_text(listing.price, &listing.currency);
    match listing.id % 5 {
        3 => {
            let data = serde_json::json!({"props": {"pageProps": {"listing": {
                "title": listing.title, "description": listing.description,
                "price": {"display": display, "currency": listing.currency},
                "seller": {"name": listing.seller},
                "images": images.iter().map(|u| serde_json::json!({"url": u})).collect::<Vec<_>>(),
            }}}});
            let json = data.to_string().replace("</", "<\\/");
            return shell(format!(
                "<script id=\"__NEXT_DATA__\" type=\"application/json\">{json}</script>"
            ));
        }
        4 => {
            // A JavaScript object literal: unquoted keys, a trailing comma,
            // `!0`, and code after it that holds a closing brace in a string.
            let image_list: Vec<String> = images.iter().map(|u| quoted(u)).collect();
            return shell(format!(
                "<script>var csrf = 'x';\nwindow.runParams = {{data: {{titleModule: {{subject: {title}}}, \
                 priceModule: {{formatedActivityPrice: {price}, currencyCode: {currency}}}, \
                 storeModule: {{storeName: {seller}}}, descriptionModule: {{text: {description}}}, \
                 imageModule: {{imagePathList: [{images}],}}}}, isLogin: !1,}};\n\
                 if (window.track) {{ track(\"}}\"); }}</script>",
                title = quoted(&listing.title),
                price = quoted(&display),
                currency = quoted(&listing.currency),
                seller = quoted(&listing.seller),
                description = quoted(&listing.description),
                images = image_list.join(","),
            ));
        }
        _ => {}
    }
    let image = match listing.id % 3 {
        0 => serde_json::json!(images),
        1 => serde_json::json!(images
            .iter()
            .map(|u| serde_json::json!({"@type": "ImageObject", "url": u}))
            .collect::<Vec<_>>()),
        _ if images.len() == 1 => serde_json::json!(images[0]),
        _ => serde_json::json!(images),
    };
    let price = if listing.id.is_multiple_of(2) {
        serde_json::json!(format!("{:.2}", listing.price))
    } else {
        serde_json::json!(listing.price)
    };
    let offer = serde_json::json!({
        "@type": "Offer", "price": price, "priceCurrency": listing.currency,
        "availability": "https://schema.org/InStock",
        "seller": {"@type": "Organization", "name": listing.seller}
    });
    let offers = if listing.id.is_multiple_of(2) {
        serde_json::json!([offer])
    } else {
        offer
    };
    let product = serde_json::json!({
        "@type": "Product", "name": listing.title, "description": listing.description,
        "image": image, "offers": offers, "sku": format!("BZ{}", listing.id)
    });
    let crumbs = serde_json::json!({"@type": "BreadcrumbList", "itemListElement": []});
    let document = match listing.id % 3 {
        0 => serde_json::json!({"@context": "https://schema.org", "@graph": [crumbs, product]}),
        1 => serde_json::json!([crumbs, product]),
        _ => {
            let mut product = product;
            product["@context"] = serde_json::json!("https://schema.org");
            product
        }
    };
    // "</" inside a script would end it early: escape it as JSON allows.
    let json = document.to_string().replace("</", "<\\/");
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Bazaar</title>\
         <script type=\"application/ld+json\">{json}</script></head>\
         <body><div id=\"app\" data-listing=\"{id}\"><noscript>Enable JavaScript to view this listing.</noscript></div></body></html>",
        id = listing.id
    )
}

/// The bazaar's pages built in the browser: `/app/listing/ID` is an empty
/// shell whose script asks `/api/listing/ID` (JSON) and writes the listing
/// into the page; it also asks for a web font and a tracking pixel (which a
/// renderer need not fetch).
fn bazaar_app(shared: &Shared, path: &str) -> Option<Response> {
    if path == "/static/listing.js" {
        let script = "fetch('/api/listing/' + document.body.dataset.listing)\
             .then(r => r.json()).then(l => {\
               const h = document.createElement('h1'); h.className = 'title'; h.textContent = l.title;\
               const p = document.createElement('span'); p.className = 'price'; p.textContent = l.price;\
               p.dataset.currency = l.currency;\
               const s = document.createElement('a'); s.className = 'seller'; s.textContent = l.seller;\
               const d = document.createElement('p'); d.id = 'description'; d.textContent = l.description;\
               const g = document.createElement('div'); g.className = 'gallery';\
               for (const src of l.images) { const i = document.createElement('img'); i.dataset.src = src; g.appendChild(i); }\
               document.getElementById('app').replaceChildren(h, p, s, d, g);\
             });";
        return Some(([(header::CONTENT_TYPE, "text/javascript")], script).into_response());
    }
    if path == "/static/brand.woff2" || path == "/pixel.gif" {
        return Some(not_found());
    }
    let listing_of = |id: Option<&str>| {
        id.and_then(|id| id.parse::<u32>().ok())
            .and_then(|id| shared.catalog.listing(id))
            .filter(|l| l.site == Site::Bazaar)
    };
    if let Some(rest) = path.strip_prefix("/api/listing/") {
        let Some(listing) = listing_of(Some(rest)) else {
            return Some(not_found());
        };
        let body = serde_json::json!({
            "title": listing.title,
            "price": price_text(listing.price, &listing.currency),
            "currency": listing.currency,
            "seller": listing.seller,
            "description": listing.description,
            "images": photo_urls(&shared.cdn, listing),
        });
        return Some(
            (
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response(),
        );
    }
    let id = path.strip_prefix("/app/listing/")?;
    let Some(listing) = listing_of(Some(id)) else {
        return Some(not_found());
    };
    Some(html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Bazaar</title>\
         <style>@font-face {{ font-family: Brand; src: url(/static/brand.woff2); }} body {{ font-family: Brand; }}</style>\
         <script src=\"/static/listing.js\" defer></script></head>\
         <body data-listing=\"{}\"><div id=\"app\">Loading…</div><img src=\"/pixel.gif\" alt=\"\"></body></html>",
        listing.id
    )))
}

/// A listing's search card thumbnail on the CDN.
pub fn thumbnail_url(cdn: &Url, listing: &DemoListing) -> String {
    format!("{cdn}thumb/{}.jpg", listing.id)
}

fn cdn(shared: &Shared, path: &str) -> Response {
    if let Some(id) = path
        .strip_prefix("/thumb/")
        .and_then(|f| f.strip_suffix(".jpg"))
        .and_then(|id| id.parse::<u32>().ok())
    {
        let Some(photo) = shared.catalog.listing(id).and_then(|l| l.photos.first()) else {
            return not_found();
        };
        let body = match &shared.cheap_photo {
            Some(photo) => unique_copy(photo, path).into(),
            None => drawn(shared, photo, true),
        };
        return ([(header::CONTENT_TYPE, "image/jpeg")], Body::from(body)).into_response();
    }
    let Some(rest) = path.strip_prefix("/img/") else {
        return not_found();
    };
    let mut parts = rest.split('/');
    let (Some(id), Some(file)) = (
        parts.next().and_then(|s| s.parse::<u32>().ok()),
        parts.next(),
    ) else {
        return not_found();
    };
    let Some(n) = file
        .strip_suffix(".jpg")
        .and_then(|s| s.parse::<usize>().ok())
    else {
        return not_found();
    };
    let Some(listing) = shared.catalog.listing(id) else {
        return not_found();
    };
    let Some(photo) = listing.photos.get(n) else {
        return not_found();
    };
    let body: Bytes = if shared.faults && id % 23 == 3 && n == 0 {
        corrupt_jpeg().into()
    } else if shared.faults && id % 41 == 9 && n == 0 {
        decompression_bomb_png().into()
    } else if shared.faults && id % 37 == 11 {
        return not_found();
    } else if let Some(photo) = &shared.cheap_photo {
        unique_copy(photo, path).into()
    } else {
        drawn(shared, photo, false)
    };
    ([(header::CONTENT_TYPE, "image/jpeg")], Body::from(body)).into_response()
}

/// A listing photo (or its search card thumbnail) drawn, or served again
/// from memory when the marketplace remembers its photos.
fn drawn(shared: &Shared, photo: &Photo, thumbnail: bool) -> Bytes {
    let draw = || -> Bytes {
        match thumbnail {
            true => shared.catalog.listing_thumbnail(photo).into(),
            false => shared.catalog.listing_photo(photo).into(),
        }
    };
    let Some(remembered) = &shared.remembered else {
        return draw();
    };
    let key = format!("{thumbnail} {photo:?}");
    if let Some(bytes) = remembered
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
    {
        return bytes.clone();
    }
    let bytes = draw();
    remembered
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, bytes.clone());
    bytes
}

/// `jpeg` with a comment segment naming `path` after its SOI marker, so every
/// URL has its own bytes (and digest) without drawing a new photo.
fn unique_copy(jpeg: &[u8], path: &str) -> Vec<u8> {
    let comment = path.as_bytes();
    let mut out = Vec::with_capacity(jpeg.len() + comment.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(comment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// JPEG magic bytes followed by garbage.
pub fn corrupt_jpeg() -> Vec<u8> {
    let mut bytes = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    bytes.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    bytes
}

/// A small PNG whose header claims 30000×30000 pixels: decoding it would
/// need 2.7 GB.
pub fn decompression_bomb_png() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(kind);
        out.extend(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend(crc.sum().to_be_bytes());
    }
    let side: u32 = 30_000;
    let mut ihdr = Vec::new();
    ihdr.extend(side.to_be_bytes());
    ihdr.extend(side.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; side as usize * 3 + 1];
    for _ in 0..200 {
        encoder
            .write_all(&row)
            .expect("writing to memory cannot fail");
    }
    let idat = encoder.finish().expect("writing to memory cannot fail");
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_written_like_shops_write_them() {
        assert_eq!(price_text(1299.99, "USD"), "US $1,299.99");
        assert_eq!(price_text(1299.99, "EUR"), "1.299,99 €");
        assert_eq!(price_text(1299.0, "JPY"), "¥1,299");
        assert_eq!(price_text(12.0, "GBP"), "£12.00");
        for (amount, currency) in [
            (1299.99, "USD"),
            (23.5, "EUR"),
            (3299.0, "JPY"),
            (12.0, "GBP"),
        ] {
            let parsed = crate::extract::parse_price(&price_text(amount, currency)).unwrap();
            assert_eq!(
                (parsed.amount, parsed.currency.as_deref()),
                (amount, Some(currency))
            );
        }
    }

    #[test]
    fn bomb_is_small_and_refused_from_its_header() {
        let bomb = decompression_bomb_png();
        assert!(bomb.len() < 200_000, "{} bytes", bomb.len());
        let refused = crate::photo::inspect(&bomb, 40_000_000).unwrap_err();
        assert!(matches!(
            refused,
            crate::photo::PhotoError::TooManyPixels { width: 30_000, .. }
        ));
        assert!(crate::photo::inspect(&corrupt_jpeg(), 40_000_000).is_err());
    }
}
