//! Evidence bundles a third party can verify without knockoff
//! (PRODUCT.md, "Evidence bundle"): `bundle-ID.zip` with `manifest.json`
//! (what, when, from where, every file's SHA-256 and size, the reviewers'
//! decisions), `manifest.sig` (an Ed25519 signature over manifest.json's
//! exact bytes; the public key is in the manifest), `listing.warc.gz` (the
//! exchanges as WARC 1.1), `page.html`, the listing's images, the matched
//! product's reference images, a self-contained `report.html`, and the
//! drafted `notice.txt`.
//!
//! A bundle states the match as it stood when exported (`match_status`),
//! and one for a match nobody confirmed is made only when asked for
//! ([`Review::Unreviewed`]) and marked UNREVIEWED in the manifest, the
//! report and the notice. A bundle that a later decision made stale is
//! never served as current: [`current_bundle`] says so, and a fresh export
//! keeps the old one under `superseded/` with both hashes in the audit log.
//!
//! [`verify`] checks a bundle with nothing but the zip: every hash, no file
//! missing or extra, no path outside the bundle, the signature.

pub mod dossier;
mod report;
pub mod screenshot;
pub mod warc;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::refusal::{Refusal, RefusalKind};
use crate::status::MatchStatus;
use crate::store::{MatchId, Store};

/// The bundle format this code writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// The signing key's file in the workspace.
pub const KEY_FILE: &str = "evidence-signing.key";
/// Largest file a bundle may hold, so a hostile zip cannot exhaust memory.
const MAX_ENTRY_BYTES: u64 = 512 << 20;
/// Largest total a bundle may unpack to.
const MAX_BUNDLE_BYTES: u64 = 2 << 30;
/// Most entries a bundle may hold.
const MAX_ENTRIES: usize = 10_000;
/// Largest manifest read.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// One file of a bundle as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// One decision or note from the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: Option<String>,
}

/// How the manifest is signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureInfo {
    pub algorithm: String,
    /// Hex, 32 bytes.
    pub public_key: String,
    /// The file holding the hex signature over manifest.json's bytes.
    pub file: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub match_id: i64,
    pub product_id: String,
    pub listing_url: String,
    /// When the listing page was captured, RFC 3339 UTC.
    pub captured_at: String,
    pub exported_at: String,
    pub tool: String,
    pub tool_version: String,
    /// Where the page was fetched from: the resolved address.
    pub remote_addr: Option<String>,
    pub decisions: Vec<Decision>,
    /// Every other file in the zip (manifest.sig excepted).
    pub files: Vec<FileEntry>,
    pub signature: SignatureInfo,
    /// The match's status when the bundle was made: pending, confirmed or
    /// dismissed (empty in bundles made before it was recorded).
    #[serde(default)]
    pub match_status: String,
    /// Made for a match no reviewer had confirmed (`--unreviewed`).
    #[serde(default)]
    pub unreviewed: bool,
}

/// Whether a bundle may be made for a match nobody confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    /// Only for a confirmed match (what counsel should receive).
    Confirmed,
    /// For any match, marked UNREVIEWED throughout.
    Unreviewed,
}

/// A bundle was asked for a match no reviewer confirmed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("match {id} is {status}, not confirmed: a bundle would claim what no reviewer decided; confirm it first, or export it with --unreviewed (marked UNREVIEWED)")]
pub struct NotConfirmed {
    pub id: i64,
    pub status: MatchStatus,
}

impl Refusal for NotConfirmed {
    fn kind(&self) -> RefusalKind {
        RefusalKind::Conflict
    }
}

/// A bundle written: where, its SHA-256, and the one it replaced (kept
/// under `superseded/`), if any.
#[derive(Debug, Clone)]
pub struct Exported {
    pub path: PathBuf,
    pub sha256: String,
    pub superseded: Option<(PathBuf, String)>,
}

impl Exported {
    /// The audit log's detail for this export.
    fn audit_detail(&self) -> String {
        let mut detail = format!("{} sha256 {}", self.path.display(), self.sha256);
        if let Some((old, sha)) = &self.superseded {
            detail.push_str(&format!(
                "; superseded bundle sha256 {sha} kept as {}",
                old.display()
            ));
        }
        detail
    }
}

/// The workspace's signing key, created (0600) on first use.
pub fn signing_key(workspace: &Path) -> Result<SigningKey> {
    let path = workspace.join(KEY_FILE);
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the signing key {}", path.display()))?;
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{} is not a hex Ed25519 key (64 hex digits)",
                    path.display()
                )
            })?;
        restrict(&path)?;
        return Ok(SigningKey::from_bytes(&bytes));
    }
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating the signing key {}", path.display()))?;
    writeln!(file, "{}", hex::encode(seed))?;
    restrict(&path)?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Keeps the key readable by its owner only.
fn restrict(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making {} private (0600)", path.display()))?;
    }
    let _ = path;
    Ok(())
}

/// The public key, hex, as `knockoff evidence key` prints it.
pub(crate) fn public_key_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The length and SHA-256 (hex) of what `reader` yields, read in chunks.
fn sha256_of_stream(mut reader: impl std::io::Read) -> std::io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            return Ok((total, hex::encode(hasher.finalize())));
        }
        hasher.update(&chunk[..n]);
        total += n as u64;
    }
}

/// The file name a URL's image gets inside the bundle.
fn image_name(n: usize, bytes: &[u8]) -> String {
    let ext = crate::photo::inspect(bytes, u64::MAX).map_or("bin", |i| i.format.extension());
    format!("images/listing-{}.{ext}", n + 1)
}

/// The audit rows that say what the match is — decisions, notes,
/// escalations, the matcher's changes: a bundle made before one of them is
/// stale. Exports (which come after the bundle they name) and takedown
/// tracking (where the notice stands, not what the listing is) are not.
fn recorded(decisions: impl IntoIterator<Item = Decision>) -> Vec<Decision> {
    decisions
        .into_iter()
        .filter(|d| d.action != EXPORTED && !d.action.starts_with("takedown "))
        .collect()
}

/// The audit action of an export.
const EXPORTED: &str = "evidence exported";

/// The match's audit trail as a bundle holds it.
fn decisions_of(store: &Store, id: MatchId) -> Result<Vec<Decision>> {
    Ok(store
        .audit_log(Some(id))?
        .into_iter()
        .map(|row| Decision {
            at: row.at,
            actor: row.actor,
            action: row.action,
            detail: row.detail.filter(|d| !d.is_empty()),
        })
        .collect())
}

/// `bundle-ID.zip` in `out_dir` when it states match `id` as it stands
/// now (its status and every decision and note since); `None` when there
/// is none, or a later decision made it stale.
pub fn current_bundle(store: &Store, id: MatchId, out_dir: &Path) -> Result<Option<PathBuf>> {
    let path = out_dir.join(format!("bundle-{}.zip", id.0));
    if !path.exists() {
        return Ok(None);
    }
    let entry = store
        .review_entry(id)?
        .ok_or_else(|| crate::store::NoSuchMatch(id.0).refused())?;
    let manifest = match read_manifest(&path) {
        Ok(manifest) => manifest,
        Err(e) => {
            tracing::warn!("{}: {e}; exporting it again", path.display());
            return Ok(None);
        }
    };
    let same_status = manifest.match_status == entry.entry.status.as_str();
    let same_trail = recorded(manifest.decisions) == recorded(decisions_of(store, id)?);
    Ok((same_status && same_trail).then_some(path))
}

/// The manifest of the bundle at `path`, unchecked (for [`current_bundle`]).
fn read_manifest(path: &Path) -> Result<Manifest> {
    let file = std::fs::File::open(path)?;
    let mut zip = zip::ZipArchive::new(file)?;
    let mut bytes = Vec::new();
    zip.by_name("manifest.json")?
        .take(MAX_MANIFEST_BYTES)
        .read_to_end(&mut bytes)?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// The current bundle of match `id` in `out_dir`, exported (and audited
/// as `actor`'s) when there is none or the one there is stale.
pub fn current_or_export(
    config: &Config,
    store: &Store,
    id: MatchId,
    out_dir: &Path,
    actor: &str,
) -> Result<PathBuf> {
    if let Some(path) = current_bundle(store, id, out_dir)? {
        return Ok(path);
    }
    Ok(export_audited(config, store, id, out_dir, Review::Confirmed, actor)?.path)
}

/// [`export`], recorded in the audit log as `actor`'s with the bundle's
/// hash (and the superseded one's).
pub fn export_audited(
    config: &Config,
    store: &Store,
    id: MatchId,
    out_dir: &Path,
    review: Review,
    actor: &str,
) -> Result<Exported> {
    let exported = export(config, store, id, out_dir, review)?;
    store.record_match_event(id, actor, EXPORTED, &exported.audit_detail())?;
    Ok(exported)
}

/// Writes `bundle-ID.zip` for match `id` into `out_dir`. A match that is
/// not confirmed is refused ([`NotConfirmed`]) unless `review` is
/// [`Review::Unreviewed`]. A bundle already there is moved to
/// `out_dir/superseded/` first, never overwritten.
pub fn export(
    config: &Config,
    store: &Store,
    id: MatchId,
    out_dir: &Path,
    review: Review,
) -> Result<Exported> {
    let entry = store
        .review_entry(id)?
        .ok_or_else(|| crate::store::NoSuchMatch(id.0).refused())?;
    let status = entry.entry.status;
    if status != MatchStatus::Confirmed && review == Review::Confirmed {
        return Err(NotConfirmed { id: id.0, status }.refused().into());
    }
    let unreviewed = status != MatchStatus::Confirmed;
    let description = store
        .listing_by_id_or_url(&entry.listing_id.to_string())?
        .and_then(|l| l.listing.description);
    let page = store.page_capture(entry.listing_id)?.ok_or_else(|| {
        anyhow::anyhow!(
            "match {}: the listing page {} has no stored capture",
            id.0,
            entry.entry.listing_url
        )
    })?;
    let product = config
        .catalog
        .products
        .iter()
        .find(|p| p.id == entry.entry.product_id)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "match {}: product {} is no longer in reference-images/products.toml",
                id.0,
                entry.entry.product_id
            )
        })?;
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    files.insert("page.html".into(), page.body.clone());

    let listing_json = serde_json::json!({
        "url": entry.entry.listing_url,
        "target": entry.entry.target,
        "title": entry.entry.title,
        "price": entry.entry.price,
        "currency": entry.entry.currency,
        "seller": entry.entry.seller,
        "description": description,
        "images": entry.images,
        "first_seen": entry.entry.first_seen,
        "last_seen": entry.entry.last_seen,
    });
    let mut images = Vec::new();
    // The listing's photos in the bundle: (number in page order, file).
    let mut listing_photos: Vec<(usize, String)> = Vec::new();
    for (n, url) in entry.images.iter().enumerate() {
        if let Some(capture) = store.image_capture(url)? {
            let name = image_name(n, &capture.body);
            files.insert(name.clone(), capture.body.clone());
            listing_photos.push((n + 1, name.clone()));
            images.push((name, capture));
        }
    }
    for path in &product.images {
        let full = config.workspace.join("reference-images").join(path);
        let bytes = std::fs::read(&full)
            .with_context(|| format!("reading the reference photo {}", full.display()))?;
        files.insert(
            format!("references/{}", path.to_string_lossy().replace('\\', "/")),
            bytes,
        );
    }
    let screenshot = store.screenshot(entry.listing_id)?;
    if let Some((png, _)) = &screenshot {
        files.insert("screenshot.png".into(), png.clone());
    }
    let mut exchanges = vec![(&page, serde_json::json!({ "listing": listing_json }))];
    for (name, capture) in &images {
        exchanges.push((capture, serde_json::json!({ "bundle_file": name })));
    }
    let warc = warc::write(
        &warc::WarcInfo {
            filename: "listing.warc.gz",
            operator: &config.catalog.brand.rights_owner,
        },
        &exchanges,
        screenshot
            .as_ref()
            .map(|(png, taken_at)| warc::Resource {
                uri: format!("urn:knockoff:screenshot:{}", entry.entry.listing_url),
                taken_at,
                content_type: "image/png",
                body: png,
            })
            .as_ref(),
    )?;
    files.insert("listing.warc.gz".into(), warc);

    let decisions = decisions_of(store, id)?;
    let key = signing_key(&config.workspace)?;
    let public_key = public_key_hex(&key);
    let notice = report::notice(config, product, &entry, unreviewed);
    files.insert("notice.txt".into(), notice.clone().into_bytes());
    let report = report::report(&report::ReportInput {
        config,
        product,
        entry: &entry,
        page: &page,
        files: &files,
        listing_photos: &listing_photos,
        decisions: &decisions,
        description: description.as_deref(),
        public_key: &public_key,
        unreviewed,
    });
    files.insert("report.html".into(), report.into_bytes());

    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        match_id: id.0,
        product_id: entry.entry.product_id.clone(),
        listing_url: entry.entry.listing_url.clone(),
        captured_at: page.started_at.clone(),
        exported_at: crate::store::now(),
        tool: "knockoff".into(),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        remote_addr: page.remote_addr.clone(),
        decisions,
        files: file_entries(&files),
        signature: signature_info(public_key),
        match_status: status.as_str().to_string(),
        unreviewed,
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest)?;
    seal(
        &key,
        &out_dir.join(format!("bundle-{}.zip", id.0)),
        &manifest_bytes,
        &files,
    )
}

/// Every file's entry in a manifest.
fn file_entries(files: &BTreeMap<String, Vec<u8>>) -> Vec<FileEntry> {
    files
        .iter()
        .map(|(path, bytes)| FileEntry {
            path: path.clone(),
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
        })
        .collect()
}

fn signature_info(public_key: String) -> SignatureInfo {
    SignatureInfo {
        algorithm: "Ed25519".into(),
        public_key,
        file: "manifest.sig".into(),
    }
}

/// Signs `manifest_bytes` with `key` and writes the zip at `path`:
/// manifest, signature, `files`. Written beside it first and renamed, so
/// a reader never sees half a bundle; one already there is moved to
/// `superseded/`, never overwritten.
fn seal(
    key: &SigningKey,
    path: &Path,
    manifest_bytes: &[u8],
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<Exported> {
    let signature = hex::encode(key.sign(manifest_bytes).to_bytes());
    let out_dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = out_dir.join(format!(".{name}.partial"));
    let mut written = Vec::new();
    {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut written));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("manifest.json", options)?;
        zip.write_all(manifest_bytes)?;
        zip.start_file("manifest.sig", options)?;
        zip.write_all(signature.as_bytes())?;
        for (name, bytes) in files {
            zip.start_file(name.as_str(), options)?;
            zip.write_all(bytes)?;
        }
        zip.finish()?;
    }
    std::fs::write(&partial, &written).with_context(|| format!("writing {}", partial.display()))?;
    let superseded = supersede(path)?;
    std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(Exported {
        path: path.to_path_buf(),
        sha256: sha256_hex(&written),
        superseded,
    })
}

/// Moves the bundle at `path`, if there is one, to `superseded/` beside
/// it (named by when it was replaced); returns where, and its SHA-256.
fn supersede(path: &Path) -> Result<Option<(PathBuf, String)>> {
    let Ok(old) = std::fs::read(path) else {
        return Ok(None);
    };
    let dir = path.parent().unwrap_or(Path::new(".")).join("superseded");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle".into());
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let kept = dir.join(format!("{stem}.{stamp}.zip"));
    std::fs::rename(path, &kept)
        .with_context(|| format!("moving {} to {}", path.display(), kept.display()))?;
    Ok(Some((kept, sha256_hex(&old))))
}

/// What every signed bundle's manifest has: the files, the signature, and
/// for a network dossier its network.
#[derive(Deserialize)]
struct Sealed {
    format_version: u32,
    files: Vec<FileEntry>,
    signature: SignatureInfo,
    #[serde(default)]
    network_id: Option<i64>,
}

/// A verified bundle's manifest: a match's bundle or a network's dossier.
#[derive(Debug, Clone)]
pub enum Signed {
    Match(Manifest),
    Network(dossier::DossierManifest),
}

impl Signed {
    pub fn signature(&self) -> &SignatureInfo {
        match self {
            Signed::Match(m) => &m.signature,
            Signed::Network(d) => &d.signature,
        }
    }

    /// What the bundle is of, in words: "match 12 (URL), 9 files,
    /// captured …" or "seller network #3 (4 accounts, …), 31 files".
    pub fn describe(&self) -> String {
        match self {
            Signed::Match(m) => format!(
                "match {} ({}), {} files, captured {}",
                m.match_id,
                m.listing_url,
                m.files.len(),
                m.captured_at
            ),
            Signed::Network(d) => format!(
                "seller network #{} ({} accounts, {} links, {} listings, {} profile pages, {} confirmed matches), {} files",
                d.network_id,
                d.members.len(),
                d.links.len(),
                d.listings.len(),
                d.profiles.len(),
                d.confirmed.len(),
                d.files.len()
            ),
        }
    }
}

/// A bundle that checked out.
#[derive(Debug, Clone)]
pub struct Verified {
    pub manifest: Signed,
    /// Whether the signing key was checked against a trusted one; if not,
    /// anyone could have re-signed the bundle with a key of their own.
    pub key_checked: bool,
}

/// Why a bundle does not verify: one sentence naming the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct VerifyError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, VerifyError> {
    Err(VerifyError(message.into()))
}

/// Whether a zip entry name stays inside the bundle.
fn safe_name(name: &str) -> bool {
    let absolute = name.starts_with('/') || name.as_bytes().get(1) == Some(&b':');
    let escapes = name.split('/').any(|part| part == ".." || part == ".");
    !(name.is_empty() || absolute || escapes || name.contains('\\'))
}

/// Verifies the bundle at `path`; with `expected_key` (hex), also that it
/// was signed by that key.
pub fn verify(path: &Path, expected_key: Option<&str>) -> Result<Verified, VerifyError> {
    let file = std::fs::File::open(path)
        .or_else(|e| fail(format!("{} cannot be opened ({e})", path.display())))?;
    let mut zip = zip::ZipArchive::new(file)
        .or_else(|e| fail(format!("{} is not a zip file ({e})", path.display())))?;
    if zip.has_duplicate_names() {
        // `unzip` would show one copy and we would check another.
        return fail(format!(
            "{} holds two entries with the same name",
            path.display()
        ));
    }
    if zip.len() > MAX_ENTRIES {
        return fail(format!(
            "{} holds {} entries, over the limit of {MAX_ENTRIES}",
            path.display(),
            zip.len()
        ));
    }
    // Every entry's name and kind first, from the central directory alone.
    let mut unlisted: BTreeSet<String> = BTreeSet::new();
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).or_else(|e| {
            fail(format!(
                "entry {i} of {} is unreadable ({e})",
                path.display()
            ))
        })?;
        let name = entry.name().map(|n| n.to_string()).or_else(|e| {
            fail(format!(
                "entry {i} of {} has no readable name ({e})",
                path.display()
            ))
        })?;
        if !safe_name(&name) {
            return fail(format!(
                "`{name}` has a path outside the bundle (absolute or with ..)"
            ));
        }
        let kind = entry.unix_mode().map(|mode| mode & 0o170000);
        if entry.is_dir() {
            if entry.size() > 0 || entry.compressed_size() > 0 {
                return fail(format!("`{name}` is a directory entry that carries data"));
            }
            continue;
        }
        if kind.is_some_and(|kind| kind != 0 && kind != 0o100000) {
            return fail(format!(
                "`{name}` is not a regular file (a symbolic link or device entry)"
            ));
        }
        if entry.size() > MAX_ENTRY_BYTES {
            return fail(format!("`{name}` is larger than {MAX_ENTRY_BYTES} bytes"));
        }
        total = total.saturating_add(entry.size());
        if total > MAX_BUNDLE_BYTES {
            return fail(format!(
                "{} unpacks to more than {MAX_BUNDLE_BYTES} bytes",
                path.display()
            ));
        }
        unlisted.insert(name);
    }
    let mut read_small = |name: &str, limit: u64| -> Result<Vec<u8>, VerifyError> {
        let entry = zip
            .by_name(name)
            .or_else(|_| fail(format!("`{name}` is missing")))?;
        let mut bytes = Vec::new();
        entry
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .or_else(|e| fail(format!("`{name}` is unreadable ({e})")))?;
        if bytes.len() as u64 > limit {
            return fail(format!("`{name}` is larger than {limit} bytes"));
        }
        Ok(bytes)
    };
    let manifest_bytes = read_small("manifest.json", MAX_MANIFEST_BYTES)?;
    let manifest: Sealed = serde_json::from_slice(&manifest_bytes)
        .or_else(|e| fail(format!("`manifest.json` is not a knockoff manifest ({e})")))?;
    if manifest.format_version != FORMAT_VERSION {
        return fail(format!(
            "`manifest.json` is format {}, this knockoff reads {FORMAT_VERSION}",
            manifest.format_version
        ));
    }
    let signature_text = read_small(&manifest.signature.file, 1024).or_else(|_| {
        fail(format!(
            "`{}` (the signature) is missing",
            manifest.signature.file
        ))
    })?;
    unlisted.remove("manifest.json");
    unlisted.remove(&manifest.signature.file);
    for listed in &manifest.files {
        if !unlisted.remove(&listed.path) {
            return fail(format!(
                "`{}` is in the manifest but missing from the bundle",
                listed.path
            ));
        }
        // Hashed while it streams: a bundle's size never becomes memory.
        let entry = zip
            .by_name(&listed.path)
            .or_else(|e| fail(format!("`{}` is unreadable ({e})", listed.path)))?;
        let (bytes, sha256) = sha256_of_stream(entry.take(MAX_ENTRY_BYTES + 1))
            .or_else(|e| fail(format!("`{}` is unreadable ({e})", listed.path)))?;
        if bytes != listed.bytes || sha256 != listed.sha256 {
            return fail(format!(
                "`{}` differs from the manifest: sha256 {sha256} ({bytes} bytes), expected {} ({} bytes)",
                listed.path, listed.sha256, listed.bytes
            ));
        }
    }
    if let Some(extra) = unlisted.iter().next() {
        return fail(format!(
            "`{extra}` is in the bundle but not in the manifest"
        ));
    }
    let key_bytes: [u8; 32] = hex::decode(&manifest.signature.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| VerifyError("`manifest.json` has no valid public key".into()))?;
    let key = VerifyingKey::from_bytes(&key_bytes)
        .or_else(|_| fail("`manifest.json` has no valid public key"))?;
    let signature: [u8; 64] = hex::decode(String::from_utf8_lossy(&signature_text).trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            VerifyError(format!(
                "`{}` is not a hex Ed25519 signature",
                manifest.signature.file
            ))
        })?;
    key.verify(&manifest_bytes, &Signature::from_bytes(&signature))
        .or_else(|_| {
            fail(format!(
                "`{}` does not match `manifest.json`: the manifest was changed or signed by another key",
                manifest.signature.file
            ))
        })?;
    if let Some(expected) = expected_key {
        if !expected
            .trim()
            .eq_ignore_ascii_case(&manifest.signature.public_key)
        {
            return fail(format!(
                "`manifest.json` is signed by key {}, not the expected {}",
                manifest.signature.public_key,
                expected.trim()
            ));
        }
    }
    let not_knockoff = |e: serde_json::Error| {
        VerifyError(format!("`manifest.json` is not a knockoff manifest ({e})"))
    };
    let manifest = match manifest.network_id {
        Some(_) => Signed::Network(serde_json::from_slice(&manifest_bytes).map_err(not_knockoff)?),
        None => Signed::Match(serde_json::from_slice(&manifest_bytes).map_err(not_knockoff)?),
    };
    Ok(Verified {
        manifest,
        key_checked: expected_key.is_some(),
    })
}

/// The workspace's public signing key, hex, if it has one (never creates it).
pub(crate) fn workspace_public_key(workspace: &Path) -> Result<Option<String>> {
    if !workspace.join(KEY_FILE).exists() {
        return Ok(None);
    }
    signing_key(workspace).map(|key| Some(public_key_hex(&key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_must_stay_inside() {
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../x",
            "C:/x",
            "a\\b",
            "./x",
            "",
        ] {
            assert!(!safe_name(bad), "{bad}");
        }
        for good in [
            "manifest.json",
            "images/listing-1.jpg",
            "references/a/b.png",
        ] {
            assert!(safe_name(good), "{good}");
        }
    }
}
