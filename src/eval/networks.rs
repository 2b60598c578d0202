//! A labelled marketplace of seller networks (`eval --set networks`):
//! operators running several accounts on two marketplaces, each account
//! giving away some of its operator's contacts — written in the many ways
//! sellers write them to dodge filters — and some sharing a shop photo
//! (re-encoded per upload), so that only exact values, read through every
//! spelling and joined transitively, find them. Beside them the decoys:
//! one-account sellers with contacts of their own, a marketplace's support
//! address and a courier's number on many unrelated accounts
//! (boilerplate), and look-alikes (a phone number one digit off, the same
//! mailbox at another domain, a shop domain one word off, another
//! operator's photo drawn in the same style).
//!
//! The score is pairwise: of all pairs of accounts, those the grouping puts
//! in one network against those one operator runs — precision and recall.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use image::{Rgb, RgbImage};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::matching::contacts::{contacts_in, photo_contact, Contact, ContactContext};
use crate::networks::group;
use crate::photo::read_listing_photo;
use crate::store::{ListingId, Shown};

/// The two marketplaces: a German and a British one (national phone
/// numbers are read against their countries).
const SITES: [(&str, &str, &str); 2] = [
    ("marktplatz", "marktplatz.de", "DE"),
    ("bazaar", "bazaar.co.uk", "GB"),
];

/// One account of the set, with its truth.
#[derive(Debug, Clone)]
pub struct Account {
    /// Which operator runs it; one-account sellers have their own.
    pub operator: usize,
    pub target: &'static str,
    pub name: String,
    /// Each listing's text (title, description) and photo, if any.
    pub listings: Vec<(String, String, Option<Vec<u8>>)>,
}

/// What the grouping found on the set.
#[derive(Debug, Clone, Default)]
pub struct NetworksReport {
    pub seed: u64,
    pub accounts: usize,
    pub listings: usize,
    /// Accounts in operators of two or more.
    pub linked_accounts: usize,
    pub true_pairs: usize,
    pub found_pairs: usize,
    pub right_pairs: usize,
    pub networks_found: usize,
    pub boilerplate: Vec<String>,
    /// Per way of writing a value: (written, read back).
    pub spellings: BTreeMap<&'static str, (usize, usize)>,
}

impl NetworksReport {
    pub fn precision(&self) -> f64 {
        ratio(self.right_pairs, self.found_pairs)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.right_pairs, self.true_pairs)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// An operator's values: what its accounts may show.
struct Operator {
    email: (String, String),
    phone: String,
    telegram: String,
    wechat: String,
    instagram: String,
    domain: String,
    photo: RgbImage,
}

/// A German or British mobile number libphonenumber accepts, in E.164.
fn phone(rng: &mut ChaCha8Rng, country: &str) -> String {
    loop {
        let candidate = match country {
            "DE" => format!("+49151{:08}", rng.random_range(0..100_000_000u32)),
            _ => format!(
                "+447{}{:08}",
                rng.random_range(4..10u8),
                rng.random_range(0..100_000_000u32)
            ),
        };
        let Ok(number) = phonenumber::parse(None, &candidate) else {
            continue;
        };
        if phonenumber::is_valid(&number) {
            return candidate;
        }
    }
}

/// A shop photo in one operator's style: blocks of colour on a backdrop.
fn shop_photo(rng: &mut ChaCha8Rng) -> RgbImage {
    let mut img = RgbImage::from_pixel(320, 320, Rgb([rng.random(), rng.random(), rng.random()]));
    for _ in 0..6 {
        let (x0, y0) = (rng.random_range(0..260u32), rng.random_range(0..260u32));
        let (w, h) = (rng.random_range(30..120u32), rng.random_range(30..120u32));
        let colour = Rgb([rng.random(), rng.random(), rng.random()]);
        for y in y0..(y0 + h).min(320) {
            for x in x0..(x0 + w).min(320) {
                img.put_pixel(x, y, colour);
            }
        }
    }
    img
}

/// One way of writing each kind of value.
fn write_email(rng: &mut ChaCha8Rng, (local, domain): &(String, String)) -> (&'static str, String) {
    let (name, host) = domain.split_once('.').unwrap_or((domain, "com"));
    let ways: [(&str, String); 6] = [
        ("email plain", format!("Contact: {local}@{domain}")),
        (
            "email (at)(dot)",
            format!("mail {local} (at) {name} (dot) {host}"),
        ),
        ("email [at][dot]", format!("{local}[at]{name}[dot]{host}")),
        (
            "email spoken",
            format!("write to {local} at {name} dot {host}"),
        ),
        (
            "email upper case",
            format!("E-MAIL: {}@{}", local.to_uppercase(), domain.to_uppercase()),
        ),
        (
            "email mailto",
            format!("<a href=\"mailto:{local}@{domain}\">mail us</a>"),
        ),
    ];
    let (way, text) = ways.choose(rng).cloned().unwrap_or_default();
    (way, text)
}

fn write_phone(rng: &mut ChaCha8Rng, e164: &str, country: &str) -> (&'static str, String) {
    let digits = &e164[1..];
    let (code, home) = if digits.starts_with("49") {
        ("49", "DE")
    } else {
        ("44", "GB")
    };
    let national = format!("0{}", &digits[code.len()..]);
    let (a, b) = national.split_at(4);
    let mut ways: Vec<(&str, String)> = vec![
        (
            "phone international spaced",
            format!("WhatsApp: +{code} {} {}", &a[1..], b),
        ),
        (
            "phone 00 prefix",
            format!("call/text 00{code} {}{b}", &a[1..]),
        ),
        ("phone wa.me link", format!("https://wa.me/{digits}")),
        ("phone emoji", format!("📞 +{code}-{}-{b}", &a[1..])),
    ];
    // National spellings only on a marketplace of the number's country.
    if home == country {
        ways.push(("phone national", format!("Tel. {a} {b}")));
        ways.push((
            "phone brackets and dashes",
            format!("Handy: ({a}) {}-{}", &b[..3], &b[3..]),
        ));
    }
    let (way, text) = ways.choose(rng).cloned().unwrap_or_default();
    (way, text)
}

fn write_messenger(rng: &mut ChaCha8Rng, operator: &Operator) -> (&'static str, String) {
    let ways: [(&str, String); 6] = [
        ("telegram @", format!("Telegram: @{}", operator.telegram)),
        ("telegram link", format!("t.me/{}", operator.telegram)),
        ("wechat id", format!("WeChat ID: {}", operator.wechat)),
        ("wechat 微信", format!("微信: {}", operator.wechat)),
        ("instagram @", format!("IG @{}", operator.instagram)),
        (
            "instagram link",
            format!("instagram.com/{}", operator.instagram),
        ),
    ];
    let (way, text) = ways.choose(rng).cloned().unwrap_or_default();
    (way, text)
}

/// Generates the set: `operators` operators of 2–4 accounts, as many
/// one-account sellers, and the decoys.
pub fn generate(
    seed: u64,
    operators: usize,
) -> (Vec<Account>, BTreeMap<&'static str, (usize, usize)>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut accounts: Vec<Account> = Vec::new();
    let mut spellings: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    let mut written: Vec<(usize, &'static str, Contact)> = Vec::new();
    let name_words = [
        "luxe", "outlet", "deals", "style", "trend", "shop", "store", "mart", "direct", "hub",
    ];
    let name = |rng: &mut ChaCha8Rng, n: usize| {
        format!(
            "{}{}{n}",
            name_words.choose(rng).copied().unwrap_or("shop"),
            name_words.choose(rng).copied().unwrap_or("deals")
        )
    };
    let title = |rng: &mut ChaCha8Rng| {
        let items = [
            "Orvane Tidewatch",
            "Orvane Lumen Shades",
            "Orvane Drift Hoodie",
            "Orvane Trail Cap",
        ];
        format!(
            "{} {}",
            items.choose(rng).copied().unwrap_or("Orvane"),
            ["AAA", "1:1", "new", "top quality"]
                .choose(rng)
                .copied()
                .unwrap_or("")
        )
    };
    let all_operators: Vec<Operator> = (0..operators * 2)
        .map(|o| Operator {
            email: (
                format!(
                    "{}.{o}",
                    ["orvane", "luxdeal", "topwatch", "brandhub"]
                        .choose(&mut rng)
                        .copied()
                        .unwrap_or("x")
                ),
                ["gmail.com", "outlook.com", "yahoo.com", "proton.me"]
                    .choose(&mut rng)
                    .copied()
                    .unwrap_or("gmail.com")
                    .to_string(),
            ),
            phone: phone(&mut rng, if o % 2 == 0 { "DE" } else { "GB" }),
            telegram: format!("orv_deals_{o}"),
            wechat: format!("wx{o}orvane"),
            instagram: format!("orvane.replica.{o}"),
            domain: format!("orvane-outlet-{o}.shop"),
            photo: shop_photo(&mut rng),
        })
        .collect();
    for (o, operator) in all_operators.iter().enumerate() {
        // The first half run several accounts; the rest one each.
        let n_accounts = if o < operators {
            rng.random_range(2..=4)
        } else {
            1
        };
        let mut previous_kind: Option<usize> = None;
        for a in 0..n_accounts {
            let (target, _site, country) = SITES[(o + a) % 2];
            let mut listings = Vec::new();
            // Each account shows one or two of the operator's values; the
            // first it shares with the account before it (so the operator's
            // accounts are one chain), the second at random.
            let kinds: Vec<usize> = match previous_kind {
                Some(k) => vec![k, rng.random_range(0..5)],
                None => vec![rng.random_range(0..5)],
            };
            previous_kind = Some(rng.random_range(0..5));
            let next = previous_kind.unwrap_or(0);
            let mut shown: Vec<usize> = kinds;
            if a + 1 < n_accounts {
                shown.push(next);
            }
            for _ in 0..rng.random_range(1..=2) {
                let mut description = String::from("Brand new, fast shipping. ");
                let mut photo = None;
                for &kind in &shown {
                    let (way, text, value) = match kind {
                        0 => {
                            let (way, text) = write_email(&mut rng, &operator.email);
                            (
                                way,
                                text,
                                Some(Contact {
                                    kind: crate::matching::contacts::ContactKind::Email,
                                    value: format!("{}@{}", operator.email.0, operator.email.1),
                                }),
                            )
                        }
                        1 => {
                            let (way, text) = write_phone(&mut rng, &operator.phone, country);
                            (
                                way,
                                text,
                                Some(Contact {
                                    kind: crate::matching::contacts::ContactKind::Phone,
                                    value: operator.phone.clone(),
                                }),
                            )
                        }
                        2 => {
                            let (way, text) = write_messenger(&mut rng, operator);
                            let value = if way.starts_with("telegram") {
                                format!("telegram:{}", operator.telegram)
                            } else if way.starts_with("wechat") {
                                format!("wechat:{}", operator.wechat)
                            } else {
                                format!("instagram:{}", operator.instagram)
                            };
                            (
                                way,
                                text,
                                Some(Contact {
                                    kind: crate::matching::contacts::ContactKind::Messenger,
                                    value,
                                }),
                            )
                        }
                        3 => (
                            "shop domain",
                            format!("More at www.{}", operator.domain),
                            Some(Contact {
                                kind: crate::matching::contacts::ContactKind::Domain,
                                value: operator.domain.clone(),
                            }),
                        ),
                        _ => {
                            photo = Some(reencoded(&operator.photo, &mut rng));
                            ("shared photo", String::new(), None)
                        }
                    };
                    if !text.is_empty() {
                        description.push_str(&text);
                        description.push(' ');
                    }
                    if let Some(value) = value {
                        written.push((accounts.len(), way, value));
                    }
                }
                listings.push((title(&mut rng), description, photo));
            }
            accounts.push(Account {
                operator: o,
                target,
                name: name(&mut rng, accounts.len()),
                listings,
            });
        }
    }
    // Decoys: boilerplate on many unrelated one-account sellers, and
    // look-alikes of the operators' values.
    let singles: Vec<usize> = (0..accounts.len())
        .filter(|&i| accounts[i].operator >= operators)
        .collect();
    for (k, &i) in singles.iter().enumerate() {
        let operator = &all_operators[k % operators];
        let account = &mut accounts[i];
        let boilerplate = if k % 2 == 0 {
            "Questions? help@marketplace-support.com".to_string()
        } else {
            "Shipped by courier, hotline +44 20 7946 0018".to_string()
        };
        let look_alike = match k % 4 {
            0 => {
                // The same number, one digit off.
                let mut digits: Vec<char> = operator.phone.chars().collect();
                let last = digits.len() - 1;
                digits[last] = if digits[last] == '9' {
                    '0'
                } else {
                    char::from(digits[last] as u8 + 1)
                };
                format!("WhatsApp: {}", digits.into_iter().collect::<String>())
            }
            1 => format!("Contact: {}@mail-{k}.com", operator.email.0),
            2 => format!(
                "More at www.{}",
                operator.domain.replace("outlet", "outlets")
            ),
            _ => String::new(),
        };
        if let Some(listing) = account.listings.first_mut() {
            listing.1.push_str(&format!(" {boilerplate} {look_alike}"));
            if k % 4 == 3 {
                // Another photo in the same style as an operator's.
                listing.2 = Some(reencoded(&shop_photo(&mut rng), &mut rng));
            }
        }
    }
    // Which written values read back.
    for (account, way, value) in written {
        let a = &accounts[account];
        let (_, site, country) = SITES
            .iter()
            .find(|s| s.0 == a.target)
            .copied()
            .unwrap_or(SITES[0]);
        let context = ContactContext {
            site: Some(site),
            region: Some(country),
        };
        let read = a.listings.iter().any(|(title, description, _)| {
            contacts_in(&[title, description], &context).contains(&value)
        });
        let entry = spellings.entry(way).or_default();
        entry.0 += 1;
        entry.1 += usize::from(read);
    }
    (accounts, spellings)
}

/// A photo as one upload stores it: JPEG at the uploader's quality.
fn reencoded(photo: &RgbImage, rng: &mut ChaCha8Rng) -> Vec<u8> {
    crate::demo::draw::jpeg(photo, rng.random_range(70..=95))
}

/// Generates the set and groups it as a judging pass would: each listing's
/// contacts and own-photo print, then the networks.
pub fn evaluate_networks(
    seed: u64,
    operators: usize,
    boilerplate: usize,
) -> Result<NetworksReport> {
    let (accounts, spellings) = generate(seed, operators);
    let mut shown: Vec<Shown> = Vec::new();
    let mut listing_id = 0;
    for account in &accounts {
        let (_, site, country) = SITES
            .iter()
            .find(|s| s.0 == account.target)
            .copied()
            .unwrap_or(SITES[0]);
        let context = ContactContext {
            site: Some(site),
            region: Some(country),
        };
        for (title, description, photo) in &account.listings {
            listing_id += 1;
            let mut contacts = contacts_in(&[title, &account.name, description], &context);
            if let Some(bytes) = photo {
                let photo = read_listing_photo(bytes, u64::MAX, false)?;
                contacts.extend(photo_contact(&photo.prints));
            }
            for contact in contacts {
                shown.push(Shown {
                    kind: contact.kind,
                    value: contact.value,
                    target: account.target.to_string(),
                    seller: account.name.clone(),
                    listing: ListingId(listing_id),
                });
            }
        }
    }
    shown.sort_by(|a, b| (a.kind, &a.value).cmp(&(b.kind, &b.value)));
    let grouping = group(&shown, boilerplate);
    let mut network_of: HashMap<(String, String), usize> = HashMap::new();
    for (n, network) in grouping.networks.iter().enumerate() {
        for member in &network.members {
            network_of.insert(member.clone(), n);
        }
    }
    let mut report = NetworksReport {
        seed,
        accounts: accounts.len(),
        listings: listing_id as usize,
        networks_found: grouping.networks.len(),
        boilerplate: grouping
            .boilerplate
            .iter()
            .map(|(kind, value, n)| format!("{kind} {value} ({n} sellers)"))
            .collect(),
        spellings,
        ..NetworksReport::default()
    };
    let mut per_operator: HashMap<usize, usize> = HashMap::new();
    for a in &accounts {
        *per_operator.entry(a.operator).or_default() += 1;
    }
    report.linked_accounts = accounts
        .iter()
        .filter(|a| per_operator[&a.operator] > 1)
        .count();
    for i in 0..accounts.len() {
        for j in i + 1..accounts.len() {
            let (a, b) = (&accounts[i], &accounts[j]);
            let truly = a.operator == b.operator;
            let key = |x: &Account| (x.target.to_string(), x.name.clone());
            let found = match (network_of.get(&key(a)), network_of.get(&key(b))) {
                (Some(x), Some(y)) => x == y,
                _ => false,
            };
            report.true_pairs += usize::from(truly);
            report.found_pairs += usize::from(found);
            report.right_pairs += usize::from(truly && found);
        }
    }
    Ok(report)
}

/// The report as `eval --set networks` prints it.
pub fn render_networks(report: &NetworksReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "networks set, seed {}: {} accounts ({} run by operators of several), {} listings",
        report.seed, report.accounts, report.linked_accounts, report.listings
    );
    let _ = writeln!(
        out,
        "  pairwise precision {:.3}  recall {:.3}  ({} of {} true pairs found, {} pairs claimed); {} networks",
        report.precision(),
        report.recall(),
        report.right_pairs,
        report.true_pairs,
        report.found_pairs,
        report.networks_found
    );
    for line in &report.boilerplate {
        let _ = writeln!(out, "  boilerplate: {line}");
    }
    out.push_str("  values read back, by how they were written:\n");
    for (way, (written, read)) in &report.spellings {
        let _ = writeln!(out, "    {way:<28} {read}/{written}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_hidden_in_every_spelling_are_found_and_decoys_are_not() {
        let report = evaluate_networks(7, 30, 10).unwrap();
        assert!(report.precision() >= 0.95, "{}", render_networks(&report));
        assert!(report.recall() >= 0.90, "{}", render_networks(&report));
        assert_eq!(report.boilerplate.len(), 2, "{}", render_networks(&report));
    }

    /// The print a photo links by, as the judging pass reads it.
    fn photo_value(bytes: &[u8]) -> String {
        let photo = read_listing_photo(bytes, u64::MAX, false).unwrap();
        photo_contact(&photo.prints).unwrap().value
    }

    #[test]
    fn one_photo_uploaded_again_links_and_another_in_its_style_does_not() {
        use crate::matching::contacts::{same_photo, ContactKind};
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut shown = Vec::new();
        let seller = |s: usize, value: String| Shown {
            kind: ContactKind::Photo,
            value,
            target: "bazaar".into(),
            seller: format!("s{s}"),
            listing: ListingId(s as i64),
        };
        for n in 0..20 {
            let photo = shop_photo(&mut rng);
            let original = photo_value(&crate::demo::draw::jpeg(&photo, 92));
            // Uploaded again at another quality, and shrunk by a marketplace.
            let again = photo_value(&crate::demo::draw::jpeg(&photo, 70));
            let smaller =
                image::imageops::resize(&photo, 240, 240, image::imageops::FilterType::Triangle);
            let shrunk = photo_value(&crate::demo::draw::jpeg(&smaller, 85));
            assert!(same_photo(&again, &original), "{again} {original}");
            assert!(same_photo(&shrunk, &original), "{shrunk} {original}");
            let other = photo_value(&crate::demo::draw::jpeg(&shop_photo(&mut rng), 92));
            assert!(!same_photo(&other, &original), "{other} {original}");
            // Three sellers showing the photo are one network; the fourth,
            // with another photo in the same style, is in none.
            shown.push(seller(4 * n, original));
            shown.push(seller(4 * n + 1, again));
            shown.push(seller(4 * n + 2, shrunk));
            shown.push(seller(4 * n + 3, other));
        }
        shown.sort_by(|a, b| (a.kind, &a.value).cmp(&(b.kind, &b.value)));
        let grouping = group(&shown, 10);
        assert_eq!(grouping.networks.len(), 20);
        for network in &grouping.networks {
            let ids: Vec<usize> = network
                .members
                .iter()
                .map(|(_, s)| s[1..].parse().unwrap())
                .collect();
            assert_eq!(ids.len(), 3, "{ids:?}");
            assert!(
                ids.iter().all(|id| id / 4 == ids[0] / 4 && id % 4 != 3),
                "{ids:?}"
            );
        }
    }
}
