//! Contact details a listing gives away: email addresses (also written to
//! dodge filters: "name at domain dot com", `(at)`, `[at]`, spaced),
//! phone numbers in any national or international spelling and WhatsApp
//! links (normalised to E.164 by libphonenumber's rules, through the
//! `phonenumber` crate), messenger handles (WeChat, Telegram, QQ, Line,
//! Instagram) and the domains of shops outside the marketplace. Each is
//! normalised so that two spellings of one value are equal and two
//! values one character apart are not: what links the accounts of one
//! operator is an exact shared value, never a resemblance.
//!
//! Pure: text in, contacts out.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::words::closed_set;

closed_set! {
    /// What kind of contact a value is.
    pub enum ContactKind("contact kind") {
        Email = "email",
        Phone = "phone",
        /// A messenger handle, its value `service:handle` (`telegram:orvane_deals`).
        Messenger = "messenger",
        /// A shop's own site outside the marketplace (its registrable domain).
        Domain = "domain",
        /// One of the seller's own photos (no reference photo matched it), by
        /// its print ([`photo_contact`]): not read from text.
        Photo = "photo",
    }
}

/// One contact value, normalised.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Contact {
    pub kind: ContactKind,
    pub value: String,
}

/// Where a listing is read: its marketplace's own site (whose domains and
/// addresses are the marketplace's, not the seller's) and the country its
/// phone numbers are written for when they carry no country code.
#[derive(Debug, Clone, Default)]
pub struct ContactContext<'a> {
    /// The marketplace's registrable domain (`ebay.de`).
    pub site: Option<&'a str>,
    /// ISO 3166 code of the country numbers without `+` belong to.
    pub region: Option<&'a str>,
}

/// Most text read from one listing: contacts stand in titles, seller
/// names and descriptions, and a hostile description may be megabytes.
const MAX_TEXT: usize = 50_000;

/// Domains that are places, not a shop: social networks and messengers
/// (their handles are read as such), mail providers, image hosts, link
/// shorteners, the web's plumbing.
const NOT_A_SHOP: &[&str] = &[
    "facebook.com",
    "fb.com",
    "instagram.com",
    "twitter.com",
    "x.com",
    "tiktok.com",
    "youtube.com",
    "youtu.be",
    "pinterest.com",
    "t.me",
    "telegram.me",
    "wa.me",
    "whatsapp.com",
    "line.me",
    "wechat.com",
    "qq.com",
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "163.com",
    "126.com",
    "google.com",
    "bit.ly",
    "tinyurl.com",
    "w3.org",
    "schema.org",
    "example.com",
];

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z0-9][a-z0-9._%+-]{0,63})@([a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+)\b")
        .expect("a valid pattern")
});
/// `(at)`, `[at]`, `{at}`, " at " and their "dot" twins, as filters are
/// dodged.
static AT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\s*[\(\[\{<]\s*at\s*[\)\]\}>]\s*|\s+@\s+|\s*＠\s*").expect("a valid pattern")
});
static DOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\s*[\(\[\{<]\s*dot\s*[\)\]\}>]\s*").expect("a valid pattern")
});
static SPOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z0-9][a-z0-9._-]{0,63})\s+at\s+([a-z0-9-]{1,63}(?:\s+dot\s+[a-z0-9-]{1,63})+)\b")
        .expect("a valid pattern")
});
/// A run that may be a phone number: digits with the separators numbers
/// are written with, optionally after `+` or `00`.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+|\b00)?\(?\d[\d\s().\-/]{6,22}\d").expect("a valid pattern")
});
/// Words that say a number is a phone number.
static PHONE_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\b(?:tel|phone|call|mobile|cell|whats\s*app|wa|viber|contact|text|sms|handy|telefon|téléphone|teléfono)|電話|电话|手机|☎|📞|📱)[^\d+]{0,12}$")
        .expect("a valid pattern")
});
static WHATSAPP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:wa\.me/|whatsapp\.com/send\?phone=|api\.whatsapp\.com/send\?phone=)\+?(\d{7,15})",
    )
    .expect("a valid pattern")
});
static TELEGRAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\bt(?:elegram)?\.me/|\b(?:telegram|tg)\s*(?:id)?\s*(?:[:：]\s*@?|@))([a-z][a-z0-9_]{4,31})\b")
        .expect("a valid pattern")
});
static WECHAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\bwe\s*chat|\bweixin|微信|\bvx|\bwx)\s*(?:id|号)?\s*[:：]\s*([a-z][a-z0-9_-]{5,19})\b")
        .expect("a valid pattern")
});
static QQ: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bqq\s*(?:号|number|no\.?)?\s*[:：]?\s*(\d{5,11})\b").expect("a valid pattern")
});
static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:line\.me/ti/p/~?|\bline\s*(?:id)?\s*[:：]\s*@?)([a-z0-9._-]{3,20})\b")
        .expect("a valid pattern")
});
static INSTAGRAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:instagram\.com/|\b(?:instagram|insta|ig)\s*(?:[:：]\s*@?|@))([a-z0-9._]{2,30})\b",
    )
    .expect("a valid pattern")
});
/// A web address or a bare domain.
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:https?://)?(?:www\.)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})\b",
    )
    .expect("a valid pattern")
});

/// Every contact in `texts` (a listing's title, seller, description),
/// normalised and each once, in a stable order.
pub fn contacts_in(texts: &[&str], context: &ContactContext<'_>) -> Vec<Contact> {
    let mut found: BTreeSet<Contact> = BTreeSet::new();
    for text in texts {
        let text = cut(text, MAX_TEXT);
        emails(text, context, &mut found);
        phones(text, context, &mut found);
        let handles = messengers(text, &mut found);
        domains(text, context, &handles, &mut found);
    }
    found.into_iter().collect()
}

fn cut(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

fn emails(text: &str, context: &ContactContext<'_>, found: &mut BTreeSet<Contact>) {
    // The dodges undone: "(at)" → "@", "[dot]" → ".", "name at shop dot
    // com" → "name@shop.com".
    let plain = AT.replace_all(text, "@");
    let plain = DOT.replace_all(&plain, ".");
    let plain = SPOKEN.replace_all(&plain, |caps: &regex::Captures<'_>| {
        let domain = caps[2]
            .split_whitespace()
            .filter(|w| !w.eq_ignore_ascii_case("dot"))
            .collect::<Vec<_>>()
            .join(".");
        format!("{}@{domain}", &caps[1])
    });
    for caps in EMAIL.captures_iter(&plain) {
        let local = caps[1].to_lowercase();
        let domain = caps[2].to_lowercase();
        // A real mail domain: a suffix the public suffix list knows.
        if registrable(&domain).is_none() {
            continue;
        }
        // The marketplace's own address (support@ebay.de) is the
        // marketplace's, not the seller's.
        if context
            .site
            .is_some_and(|site| registrable(&domain).as_deref() == Some(site))
        {
            continue;
        }
        found.insert(Contact {
            kind: ContactKind::Email,
            value: format!("{local}@{domain}"),
        });
    }
}

fn phones(text: &str, context: &ContactContext<'_>, found: &mut BTreeSet<Contact>) {
    let region = context.region.and_then(|r| {
        r.to_ascii_uppercase()
            .parse::<phonenumber::country::Id>()
            .ok()
    });
    for caps in WHATSAPP.captures_iter(text) {
        if let Some(number) = e164(&format!("+{}", &caps[1]), None) {
            found.insert(Contact {
                kind: ContactKind::Phone,
                value: number,
            });
        }
    }
    for m in PHONE.find_iter(text) {
        let raw = m.as_str();
        let digits = raw.chars().filter(char::is_ascii_digit).count();
        if !(8..=15).contains(&digits) {
            continue;
        }
        // A number a word calls a phone, or one written internationally:
        // a bare run of digits is more often a model, an order, a price.
        let international = raw.starts_with('+') || raw.starts_with("00");
        let said = PHONE_WORD.is_match(&text[..m.start()]);
        if !international && !said {
            continue;
        }
        let raw = match raw.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => raw.to_string(),
        };
        if let Some(number) = e164(&raw, region) {
            found.insert(Contact {
                kind: ContactKind::Phone,
                value: number,
            });
        }
    }
}

/// A phone number in E.164 (`+4915112345678`) when libphonenumber's rules
/// say it is a valid number.
fn e164(raw: &str, region: Option<phonenumber::country::Id>) -> Option<String> {
    let number = phonenumber::parse(region, raw).ok()?;
    phonenumber::is_valid(&number)
        .then(|| number.format().mode(phonenumber::Mode::E164).to_string())
}

/// The messenger handles in `text`, and where they stand (a handle with a
/// dot, "orvane.tw", is no shop's domain).
fn messengers(text: &str, found: &mut BTreeSet<Contact>) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    for (service, pattern) in [
        ("telegram", &*TELEGRAM),
        ("wechat", &*WECHAT),
        ("qq", &*QQ),
        ("line", &*LINE),
        ("instagram", &*INSTAGRAM),
    ] {
        for caps in pattern.captures_iter(text) {
            let handle = caps[1].trim_end_matches(['.', '_']).to_lowercase();
            if handle.is_empty() {
                continue;
            }
            if let Some(m) = caps.get(1) {
                spans.push(m.range());
            }
            found.insert(Contact {
                kind: ContactKind::Messenger,
                value: format!("{service}:{handle}"),
            });
        }
    }
    spans
}

fn domains(
    text: &str,
    context: &ContactContext<'_>,
    handles: &[std::ops::Range<usize>],
    found: &mut BTreeSet<Contact>,
) {
    for caps in DOMAIN.captures_iter(text) {
        let whole = caps.get(0).map_or("", |m| m.as_str());
        let at = caps.get(0).map_or(0, |m| m.start());
        if handles
            .iter()
            .any(|h| h.start < at + whole.len() && at < h.end)
        {
            continue;
        }
        // Part of an email address, or a file name ("photo.jpg").
        if text[..at].ends_with('@') || text[at + whole.len()..].starts_with('@') {
            continue;
        }
        let host = caps[1].to_lowercase();
        let Some(domain) = registrable(&host) else {
            continue;
        };
        let written_as_web =
            whole.contains("://") || whole.to_ascii_lowercase().starts_with("www.");
        // A bare "name.shop" must look like an address, not "e.g" or a
        // sentence missing its space: a known suffix, and a label of 3+.
        if !written_as_web && domain.split('.').next().is_none_or(|label| label.len() < 3) {
            continue;
        }
        if NOT_A_SHOP.contains(&domain.as_str()) || context.site == Some(domain.as_str()) {
            continue;
        }
        found.insert(Contact {
            kind: ContactKind::Domain,
            value: domain,
        });
    }
}

/// A photo as a value two sellers can share: the perceptual hash of the
/// whole photo (a re-encoded or resized copy of one file keeps it; another
/// photo of the same product does not), from its prints.
pub fn photo_contact(prints: &[crate::matching::image::Print]) -> Option<Contact> {
    let whole = prints
        .iter()
        .find(|p| p.region == crate::matching::image::Region::Whole && !p.trimmed)?;
    Some(Contact {
        kind: ContactKind::Photo,
        value: format!("phash:{:016x}", whole.phash),
    })
}

/// Bits two prints of one photo may differ by: uploading it again at
/// another JPEG quality, or a marketplace's resize, flips one or two of
/// the 64. Two different photos of one product on white can be four
/// apart (the demo's accessory shots are), so no more than this.
pub const SAME_PHOTO_BITS: u32 = 2;

fn photo_bits(value: &str) -> Option<u64> {
    u64::from_str_radix(value.strip_prefix("phash:")?, 16).ok()
}

/// Whether two photo values ([`photo_contact`]) are one photo.
pub fn same_photo(a: &str, b: &str) -> bool {
    match (photo_bits(a), photo_bits(b)) {
        (Some(a), Some(b)) => (a ^ b).count_ones() <= SAME_PHOTO_BITS,
        _ => a == b,
    }
}

/// Each photo value mapped to one value standing for every value within
/// [`SAME_PHOTO_BITS`] of it, transitively (the smallest of its group), so
/// that copies of one photo compare equal downstream. Candidates come from
/// five bit-chunk tables (two values within four bits — so within
/// [`SAME_PHOTO_BITS`] — agree on at least one of five chunks), never from
/// all pairs.
pub fn photo_groups<'a>(values: impl IntoIterator<Item = &'a str>) -> HashMap<String, String> {
    let mut distinct: Vec<(&str, u64)> = values
        .into_iter()
        .filter_map(|v| Some((v, photo_bits(v)?)))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut parent: Vec<usize> = (0..distinct.len()).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    const CHUNKS: [(u32, u32); 5] = [(0, 13), (13, 13), (26, 13), (39, 13), (52, 12)];
    for (shift, width) in CHUNKS {
        let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, (_, bits)) in distinct.iter().enumerate() {
            buckets
                .entry((bits >> shift) & ((1 << width) - 1))
                .or_default()
                .push(i);
        }
        for bucket in buckets.values() {
            for (k, &i) in bucket.iter().enumerate() {
                for &j in &bucket[k + 1..] {
                    if (distinct[i].1 ^ distinct[j].1).count_ones() <= SAME_PHOTO_BITS {
                        let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                        parent[a.max(b)] = a.min(b);
                    }
                }
            }
        }
    }
    (0..distinct.len())
        .map(|i| {
            let r = root(&mut parent, i);
            (distinct[i].0.to_string(), distinct[r].0.to_string())
        })
        .collect()
}

/// The registrable domain of a host name by the public suffix list, when
/// its suffix is a listed one.
fn registrable(host: &str) -> Option<String> {
    let host = host.trim_end_matches('.');
    let domain = psl::domain(host.as_bytes())?;
    if !domain.suffix().is_known() {
        return None;
    }
    std::str::from_utf8(domain.as_bytes())
        .ok()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(ContactKind, String)> {
        let context = ContactContext {
            site: Some("ebay.de"),
            region: Some("DE"),
        };
        contacts_in(&[text], &context)
            .into_iter()
            .map(|c| (c.kind, c.value))
            .collect()
    }

    fn values(text: &str, kind: ContactKind) -> Vec<String> {
        read(text)
            .into_iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, v)| v)
            .collect()
    }

    #[test]
    fn emails_in_every_dodge_read_as_one() {
        for text in [
            "contact: Orvane.Deals@gmail.com",
            "mail orvane.deals (at) gmail (dot) com for the price",
            "orvane.deals[at]gmail[dot]com",
            "ORVANE.DEALS @ GMAIL.COM",
            "write to orvane.deals at gmail dot com today",
            "<a href=\"mailto:orvane.deals@gmail.com\">mail</a>",
            "orvane.deals＠gmail.com",
        ] {
            assert_eq!(
                values(text, ContactKind::Email),
                ["orvane.deals@gmail.com"],
                "{text}"
            );
        }
        // The same mailbox at another domain is another address; the
        // marketplace's own address is nobody's; prose is no address.
        assert_eq!(
            values("orvane.deals@yahoo.com", ContactKind::Email),
            ["orvane.deals@yahoo.com"]
        );
        assert!(values("questions? support@ebay.de", ContactKind::Email).is_empty());
        assert!(values("available at amazon and in stores", ContactKind::Email).is_empty());
        assert!(values("price@ 12.99", ContactKind::Email).is_empty());
    }

    #[test]
    fn phones_in_every_spelling_read_as_e164() {
        for text in [
            "WhatsApp: +49 151 2345 6789",
            "tel. 0151 23456789",
            "Call 0151/234 567 89",
            "whatsapp 0049 151 23456789",
            "https://wa.me/4915123456789",
            "https://api.whatsapp.com/send?phone=4915123456789&text=hi",
            "Handy: (0151) 234-56789",
        ] {
            assert_eq!(
                values(text, ContactKind::Phone),
                ["+4915123456789"],
                "{text}"
            );
        }
        // One digit apart is another number.
        assert_eq!(
            values("tel +49 151 23456788", ContactKind::Phone),
            ["+4915123456788"]
        );
        // Numbers no word calls a phone, and numbers no rule makes valid.
        assert!(values("Model 015123456789 in stock", ContactKind::Phone).is_empty());
        assert!(values("EAN 4006381333931", ContactKind::Phone).is_empty());
        assert!(values("tel 123", ContactKind::Phone).is_empty());
        assert!(values("phone: +49 000 0000000", ContactKind::Phone).is_empty());
    }

    #[test]
    fn messenger_handles_and_shop_domains() {
        let found = read(
            "Telegram: @Orvane_Outlet · WeChat ID: orvane2024 · QQ: 123456789 · \
             line id: orvane.tw · IG @orvane.replicas · https://t.me/orvane_outlet · \
             order at www.orvane-outlet.shop or cheap-orvane.com, photos on instagram.com/orvane.replicas",
        );
        let messengers: Vec<&str> = found
            .iter()
            .filter(|(k, _)| *k == ContactKind::Messenger)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(
            messengers,
            [
                "instagram:orvane.replicas",
                "line:orvane.tw",
                "qq:123456789",
                "telegram:orvane_outlet",
                "wechat:orvane2024"
            ]
        );
        let domains: Vec<&str> = found
            .iter()
            .filter(|(k, _)| *k == ContactKind::Domain)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(domains, ["cheap-orvane.com", "orvane-outlet.shop"]);
    }

    #[test]
    fn ordinary_listings_give_nothing_away() {
        for text in [
            "Orvane Tidewatch 40mm, Modell 2024, 100% original, 1.299,00 EUR, Versand 4,99",
            "Size 10.5 US / 44 EU. e.g. great gift. Ships in 2-3 days. Ref. 12345678",
            "See more on ebay.de and our other listings",
            "Image: photo_01.jpg, 1200x1200",
        ] {
            assert!(read(text).is_empty(), "{text}: {:?}", read(text));
        }
    }
}
