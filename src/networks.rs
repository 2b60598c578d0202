//! Seller networks: the accounts one operator runs, across marketplaces.
//!
//! Sellers (target, name) are the nodes. Two sellers are linked when both
//! show one exact value — an email address, a phone number in E.164, a
//! messenger handle, a shop's own domain, the print of one of their own
//! photos (`matching::contacts`) — and the links are grouped transitively
//! (A and B share an email, B and C a phone: one network), by union-find.
//! Exactness is the point: a number one digit apart, the same mailbox at
//! another domain, a similar shop name are other values and link nothing.
//!
//! A value shown by more sellers than `[networks] boilerplate` (a
//! marketplace's support address, a courier's number, a placeholder photo)
//! links nobody: it is boilerplate, reported as such.
//!
//! [`refresh`] runs after every judging pass: the values of the listings
//! that pass judged are stored by then (only changed listings are read),
//! and the grouping is recomputed from the stored values — a pass over them
//! and a union-find, milliseconds for a store of 100,000 listings.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::config::Brand;
use crate::matching::contacts::{photo_groups, ContactKind};
use crate::matching::verdict::{Listed, SellerList};
use crate::store::{ListingId, SellerFigures, Shown, ShownOn, Store};

/// A seller account: its marketplace (target) and name there.
pub type Seller = (String, String);

/// Two or more accounts showing one value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub kind: ContactKind,
    pub value: String,
    /// The sellers that show it, and the listings where each does.
    pub shown_by: BTreeMap<Seller, Vec<ListingId>>,
}

/// One operator's accounts and what links them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    pub members: BTreeSet<Seller>,
    pub links: Vec<Link>,
}

/// Every network, and the values too common to link anyone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grouping {
    /// Largest first.
    pub networks: Vec<Network>,
    /// (kind, value, how many sellers show it).
    pub boilerplate: Vec<(ContactKind, String, usize)>,
}

/// Groups sellers by the values they share (`shown` sorted by kind and
/// value, as the store reads them); a value shown by more than
/// `boilerplate` sellers links none of them. Photos are one value when
/// their prints are within a few bits ([`photo_groups`]: one photo
/// uploaded again or resized); every other kind only when equal.
pub fn group(shown: &[Shown], boilerplate: usize) -> Grouping {
    let photos = photo_groups(
        shown
            .iter()
            .filter(|s| s.kind == ContactKind::Photo)
            .map(|s| s.value.as_str()),
    );
    if photos.iter().any(|(value, group)| value != group) {
        let mut merged: Vec<Shown> = shown.to_vec();
        for s in merged.iter_mut().filter(|s| s.kind == ContactKind::Photo) {
            if let Some(group) = photos.get(&s.value) {
                s.value.clone_from(group);
            }
        }
        merged.sort_by(|a, b| (a.kind, &a.value).cmp(&(b.kind, &b.value)));
        return group_exact(&merged, boilerplate);
    }
    group_exact(shown, boilerplate)
}

fn group_exact(shown: &[Shown], boilerplate: usize) -> Grouping {
    let mut index: HashMap<Seller, usize> = HashMap::new();
    let mut sellers: Vec<Seller> = Vec::new();
    fn id_of(
        index: &mut HashMap<Seller, usize>,
        sellers: &mut Vec<Seller>,
        seller: &Seller,
    ) -> usize {
        if let Some(&id) = index.get(seller) {
            return id;
        }
        sellers.push(seller.clone());
        index.insert(seller.clone(), sellers.len() - 1);
        sellers.len() - 1
    }
    let mut links: Vec<(Link, usize)> = Vec::new();
    let mut parent: Vec<usize> = Vec::new();
    let mut grouping = Grouping::default();
    for same in shown.chunk_by(|a, b| a.kind == b.kind && a.value == b.value) {
        let mut shown_by: BTreeMap<Seller, Vec<ListingId>> = BTreeMap::new();
        for s in same {
            shown_by
                .entry((s.target.clone(), s.seller.clone()))
                .or_default()
                .push(s.listing);
        }
        if shown_by.len() < 2 {
            continue;
        }
        if shown_by.len() > boilerplate {
            grouping
                .boilerplate
                .push((same[0].kind, same[0].value.clone(), shown_by.len()));
            continue;
        }
        let ids: Vec<usize> = shown_by
            .keys()
            .map(|s| id_of(&mut index, &mut sellers, s))
            .collect();
        parent.resize(sellers.len(), usize::MAX);
        for &id in &ids {
            if parent[id] == usize::MAX {
                parent[id] = id;
            }
        }
        for pair in ids.windows(2) {
            union(&mut parent, pair[0], pair[1]);
        }
        links.push((
            Link {
                kind: same[0].kind,
                value: same[0].value.clone(),
                shown_by,
            },
            ids[0],
        ));
    }
    let mut by_root: HashMap<usize, Network> = HashMap::new();
    for (id, seller) in sellers.iter().enumerate() {
        let root = find(&mut parent, id);
        by_root
            .entry(root)
            .or_insert_with(|| Network {
                members: BTreeSet::new(),
                links: Vec::new(),
            })
            .members
            .insert(seller.clone());
    }
    for (link, member) in links {
        let root = find(&mut parent, member);
        if let Some(network) = by_root.get_mut(&root) {
            network.links.push(link);
        }
    }
    grouping.networks = by_root.into_values().collect();
    grouping.networks.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then_with(|| a.members.cmp(&b.members))
    });
    grouping
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (a, b) = (find(parent, a), find(parent, b));
    if a != b {
        parent[a.max(b)] = a.min(b);
    }
}

/// Groups the store's sellers and records each one's network: what every
/// judging pass ends with.
pub fn refresh(store: &Store, boilerplate: usize) -> Result<Grouping> {
    let grouping = group(&store.shown_by_sellers(ShownOn::First)?, boilerplate);
    let mut groups: HashMap<Seller, usize> = HashMap::new();
    for (n, network) in grouping.networks.iter().enumerate() {
        for member in &network.members {
            groups.insert(member.clone(), n);
        }
    }
    store.record_networks(&groups)?;
    Ok(grouping)
}

/// A network as `knockoff networks` prints it (the JSON is a contract).
#[derive(Debug, Clone, Serialize)]
pub struct NetworkReport {
    pub id: i64,
    pub members: Vec<SellerFigures>,
    pub links: Vec<LinkReport>,
}

/// A link as `knockoff networks` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkReport {
    pub kind: ContactKind,
    pub value: String,
    /// The sellers showing it, as "target/seller".
    pub members: Vec<String>,
    /// The listings where they show it.
    pub listings: Vec<i64>,
}

/// Every network of the store, as its last judging pass numbered them,
/// with each member's figures and every link with the listings that show
/// it. Largest first.
pub fn report(store: &Store, boilerplate: usize) -> Result<Vec<NetworkReport>> {
    let grouping = group(&store.shown_by_sellers(ShownOn::Every)?, boilerplate);
    let numbers: HashMap<Seller, i64> = store
        .network_members()?
        .into_iter()
        .map(|(network, target, name)| ((target, name), network))
        .collect();
    let figures = store.seller_figures()?;
    let mut out = Vec::new();
    for network in grouping.networks {
        // Numbered by the last judging pass; a network it has not seen yet
        // (values recorded since) by 0.
        let id = network
            .members
            .iter()
            .filter_map(|m| numbers.get(m))
            .min()
            .copied()
            .unwrap_or(0);
        let members = network
            .members
            .iter()
            .map(|(target, seller)| {
                figures
                    .get(&(target.clone(), seller.clone()))
                    .cloned()
                    .unwrap_or(SellerFigures {
                        target: target.clone(),
                        seller: seller.clone(),
                        listings: 0,
                        matches: 0,
                        confirmed: 0,
                    })
            })
            .collect();
        let links = network
            .links
            .into_iter()
            .map(|link| LinkReport {
                kind: link.kind,
                value: link.value,
                members: link
                    .shown_by
                    .keys()
                    .map(|(target, seller)| format!("{target}/{seller}"))
                    .collect(),
                listings: link.shown_by.values().flatten().map(|l| l.0).collect(),
            })
            .collect();
        out.push(NetworkReport { id, members, links });
    }
    Ok(out)
}

/// Network `id` as [`report`] gives it; `None` when no network has it.
pub fn network(store: &Store, boilerplate: usize, id: i64) -> Result<Option<NetworkReport>> {
    Ok(report(store, boilerplate)?.into_iter().find(|n| n.id == id))
}

/// One seller as `knockoff seller` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SellerProfile {
    pub target: String,
    pub seller: String,
    pub figures: SellerFigures,
    /// What its listings show, each with the listings that show it.
    pub contacts: Vec<(ContactKind, String, Vec<i64>)>,
    /// Its network, when anything links it to another account.
    pub network: Option<NetworkReport>,
    pub listings: Vec<crate::store::StoredListing>,
    pub matches: Vec<crate::store::SellerMatch>,
}

/// A seller's profile; `None` when the store has no listing of it.
pub fn profile(
    store: &Store,
    target: &str,
    seller: &str,
    boilerplate: usize,
) -> Result<Option<SellerProfile>> {
    let listings: Vec<crate::store::StoredListing> = store
        .listings(Some(target))?
        .into_iter()
        .filter(|l| l.listing.seller.as_deref() == Some(seller))
        .collect();
    if listings.is_empty() {
        return Ok(None);
    }
    let mut contacts: BTreeMap<(ContactKind, String), Vec<i64>> = BTreeMap::new();
    for listing in &listings {
        for contact in store.contacts_of(listing.id)? {
            contacts
                .entry((contact.kind, contact.value))
                .or_default()
                .push(listing.id.0);
        }
    }
    for (contact, listing) in store.profile_contacts(target, seller)? {
        let listings = contacts.entry((contact.kind, contact.value)).or_default();
        if !listings.contains(&listing.0) {
            listings.push(listing.0);
        }
    }
    let key = (target.to_string(), seller.to_string());
    let network = report(store, boilerplate)?.into_iter().find(|n| {
        n.members
            .iter()
            .any(|m| m.target == key.0 && m.seller == key.1)
    });
    let figures = store
        .seller_figures()?
        .remove(&key)
        .unwrap_or(SellerFigures {
            target: key.0.clone(),
            seller: key.1.clone(),
            listings: listings.len() as u64,
            matches: 0,
            confirmed: 0,
        });
    Ok(Some(SellerProfile {
        target: key.0,
        seller: key.1,
        figures,
        contacts: contacts
            .into_iter()
            .map(|((kind, value), listings)| (kind, value, listings))
            .collect(),
        network,
        listings,
        matches: store.seller_matches(target, seller)?,
    }))
}

/// The brand's deny and watch lists (`[brand] denied_sellers`,
/// `watched_sellers`), with the networks their accounts are in: a listing
/// is listed when its own account is named, or any account of its network.
#[derive(Debug, Clone, Default)]
pub struct SellerLists {
    /// Deny entries first: a seller on both lists is denied.
    entries: Vec<(SellerList, String)>,
    /// Network → the first listed entry among its accounts.
    networks: HashMap<i64, (SellerList, String)>,
}

impl SellerLists {
    /// The lists of `brand`, with the networks the last judging pass
    /// recorded in `store`.
    pub fn load(brand: &Brand, store: &Store) -> Result<SellerLists> {
        let entries: Vec<(SellerList, String)> = brand
            .denied_sellers
            .iter()
            .map(|e| (SellerList::Deny, e.clone()))
            .chain(
                brand
                    .watched_sellers
                    .iter()
                    .map(|e| (SellerList::Watch, e.clone())),
            )
            .collect();
        let mut networks = HashMap::new();
        if !entries.is_empty() {
            for (network, target, name) in store.network_members()? {
                if let Some(hit) = entries.iter().find(|(_, e)| names(e, &target, &name)) {
                    networks.entry(network).or_insert_with(|| hit.clone());
                }
            }
        }
        Ok(SellerLists { entries, networks })
    }

    /// Whether the seller `(target, seller)`, in `network`, is listed.
    pub fn of(&self, target: &str, seller: Option<&str>, network: Option<i64>) -> Option<Listed> {
        let seller = seller?;
        if let Some((list, entry)) = self.entries.iter().find(|(_, e)| names(e, target, seller)) {
            return Some(Listed {
                list: *list,
                entry: entry.clone(),
                via_network: false,
            });
        }
        let (list, entry) = self.networks.get(&network?)?;
        Some(Listed {
            list: *list,
            entry: entry.clone(),
            via_network: true,
        })
    }
}

/// Whether a list entry names the account: `NAME` on any marketplace, or
/// `TARGET/NAME` on one (case and surrounding space ignored, as for
/// authorized sellers).
fn names(entry: &str, target: &str, seller: &str) -> bool {
    let entry = entry.trim();
    let seller = seller.trim();
    entry.eq_ignore_ascii_case(seller)
        || entry
            .split_once('/')
            .is_some_and(|(t, n)| t == target && n.trim().eq_ignore_ascii_case(seller))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seller_lists_name_accounts_and_reach_their_networks() {
        let lists = SellerLists {
            entries: vec![
                (SellerList::Deny, "bazaar/LuxDeals".into()),
                (SellerList::Watch, "kingstar".into()),
                (SellerList::Watch, "luxdeals".into()),
            ],
            networks: HashMap::from([(7, (SellerList::Deny, "bazaar/LuxDeals".into()))]),
        };
        let on = |target, seller, network| lists.of(target, seller, network);
        // By name on one marketplace; denied before watched.
        let denied = on("bazaar", Some(" luxdeals "), None).unwrap();
        assert_eq!((denied.list, denied.via_network), (SellerList::Deny, false));
        // The same name elsewhere is only on the watch list.
        assert_eq!(
            on("shopfront", Some("luxdeals"), None).unwrap().list,
            SellerList::Watch
        );
        // By name anywhere.
        assert!(on("shopfront", Some("KingStar"), None).is_some());
        // Through its network.
        let via = on("shopfront", Some("fresh-account"), Some(7)).unwrap();
        assert_eq!((via.list, via.via_network), (SellerList::Deny, true));
        assert_eq!(via.entry, "bazaar/LuxDeals");
        assert_eq!(on("shopfront", Some("fresh-account"), Some(8)), None);
        assert_eq!(on("shopfront", None, Some(7)), None);
        // A look-alike name is another seller.
        assert_eq!(on("bazaar", Some("luxdeals2"), None), None);
    }

    fn shown(kind: ContactKind, value: &str, target: &str, seller: &str, listing: i64) -> Shown {
        Shown {
            kind,
            value: value.into(),
            target: target.into(),
            seller: seller.into(),
            listing: ListingId(listing),
        }
    }

    fn sorted(mut rows: Vec<Shown>) -> Vec<Shown> {
        rows.sort_by(|a, b| (a.kind, &a.value).cmp(&(b.kind, &b.value)));
        rows
    }

    #[test]
    fn links_are_transitive_and_boilerplate_links_nobody() {
        use ContactKind::*;
        let rows = sorted(vec![
            // A–B share an email, B–C a phone: one network.
            shown(Email, "deals@mail.example", "ebay", "a", 1),
            shown(Email, "deals@mail.example", "amazon", "b", 2),
            shown(Phone, "+4915123456789", "amazon", "b", 3),
            shown(Phone, "+4915123456789", "etsy", "c", 4),
            // D shows a number one digit apart: no link.
            shown(Phone, "+4915123456788", "etsy", "d", 5),
            // A courier's number on five sellers' listings, threshold 4.
            shown(Phone, "+4980012345", "ebay", "a", 6),
            shown(Phone, "+4980012345", "ebay", "e", 7),
            shown(Phone, "+4980012345", "ebay", "f", 8),
            shown(Phone, "+4980012345", "etsy", "d", 9),
            shown(Phone, "+4980012345", "etsy", "g", 10),
            // One seller showing a value twice links nothing.
            shown(Domain, "orvane-outlet.shop", "ebay", "e", 11),
            shown(Domain, "orvane-outlet.shop", "ebay", "e", 12),
        ]);
        let grouping = group(&rows, 4);
        assert_eq!(grouping.networks.len(), 1, "{grouping:#?}");
        let network = &grouping.networks[0];
        let members: Vec<&str> = network.members.iter().map(|(_, s)| s.as_str()).collect();
        // Ordered by (target, name).
        assert_eq!(members, ["b", "a", "c"]);
        assert_eq!(network.links.len(), 2);
        assert_eq!(
            grouping.boilerplate,
            [(Phone, "+4980012345".to_string(), 5)]
        );
    }
}
