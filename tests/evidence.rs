//! Evidence bundles end to end: a crawl of the demo marketplace into
//! SQLite, `knockoff evidence export` through the binary, `evidence verify`
//! passing on the bundle and failing, by name, on every kind of tampering;
//! the WARC read back by an independent reader (Python warcio). The
//! bundle tests export from copies of one crawled workspace.

use std::io::Write;
use std::path::{Path, PathBuf};

use knockoff::demo::catalog::Catalog;

use crate::util;

/// Runs `knockoff evidence verify` on `path`: (exit code, stderr).
fn verify(workspace: &Path, path: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["evidence", "verify", path.to_str().unwrap()];
    args.extend(extra);
    let (code, _, stderr) = util::knockoff_outcome(workspace, &args);
    (code, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_a_private_key_and_a_bundle_that_verifies() {
    let (dir, bundle, files, id) = exported_bundle().await;
    let workspace = dir.path();
    assert_eq!(bundle, workspace.join(format!("evidence/bundle-{id}.zip")));

    // The key: once per workspace, private, and the one in the manifest.
    let key_file = workspace.join(knockoff::evidence::KEY_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key = String::from_utf8(util::knockoff(workspace, &["evidence", "key"]).stdout).unwrap();
    let key = key.trim().to_string();
    assert_eq!(key.len(), 64);

    // A good bundle verifies, with or without the key pinned.
    assert_eq!(verify(workspace, &bundle, &[]).0, 0);
    assert_eq!(verify(workspace, &bundle, &["--key", &key]).0, 0);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "manifest.json",
        "manifest.sig",
        "listing.warc.gz",
        "page.html",
        "report.html",
        "notice.txt",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    assert!(names.iter().any(|n| n.starts_with("images/listing-1.")));
    assert!(names.iter().any(|n| n.starts_with("references/")));
    let manifest: serde_json::Value =
        serde_json::from_slice(file(&files, "manifest.json")).unwrap();
    assert_eq!(manifest["match_id"], id);
    assert_eq!(manifest["signature"]["public_key"], key.as_str());
    assert!(manifest["captured_at"].as_str().unwrap().ends_with('Z'));
    assert!(manifest["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["action"] == "queued"));
    assert_eq!(manifest["match_status"], "confirmed");
    assert_eq!(manifest["unreviewed"], false);
    let report = String::from_utf8(file(&files, "report.html").to_vec()).unwrap();
    assert!(report.contains("data:image/") && !report.contains("<script"));
    assert!(!report.contains("UNREVIEWED"));
    // The report pairs the matched photo with its reference, prints the
    // key that signs it, and its timeline runs forward.
    assert!(
        report.contains("The listing's photo beside the brand's reference photo"),
        "{report}"
    );
    assert!(report.contains(&key), "the signing key is printed");
    let times: Vec<&str> = report
        .split("<h2>Timeline</h2>")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap()
        .split("<th>")
        .skip(1)
        .map(|cell| cell.split("</th>").next().unwrap())
        .collect();
    assert!(times.len() >= 4, "{times:?}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert!(report.contains("<th>Description</th>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_match_nobody_confirmed_gets_a_bundle_only_when_asked_and_marked_unreviewed() {
    let (dir, _, store) = util::judged_copy("evidence 47", || Catalog::generate(47, 16)).await;
    let id = store
        .queue(knockoff::status::StatusFilter::Pending)
        .unwrap()[0]
        .id
        .to_string();
    let (code, _, err) = util::knockoff_outcome(dir.path(), &["evidence", "export", &id]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("match {id} is pending, not confirmed"))
            && err.contains("--unreviewed"),
        "{err}"
    );
    assert!(!dir
        .path()
        .join(format!("evidence/bundle-{id}.zip"))
        .exists());

    let out = util::knockoff(dir.path(), &["evidence", "export", "--unreviewed", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert_eq!(verify(dir.path(), &bundle, &[]).0, 0);
    let files = util::zip_entries(&bundle);
    let manifest: serde_json::Value =
        serde_json::from_slice(file(&files, "manifest.json")).unwrap();
    assert_eq!(manifest["unreviewed"], true);
    assert_eq!(manifest["match_status"], "pending");
    let report = String::from_utf8(file(&files, "report.html").to_vec()).unwrap();
    assert!(
        report.contains("UNREVIEWED: no reviewer has confirmed this match"),
        "{report}"
    );
    let notice = String::from_utf8(file(&files, "notice.txt").to_vec()).unwrap();
    assert!(notice.starts_with("UNREVIEWED — DO NOT SEND"), "{notice}");
    // The export is in the audit log, with the bundle's hash.
    let exports: Vec<String> = store
        .audit_log(Some(knockoff::store::MatchId(id.parse().unwrap())))
        .unwrap()
        .into_iter()
        .filter(|row| row.action == "evidence exported")
        .filter_map(|row| row.detail)
        .collect();
    assert_eq!(exports.len(), 1, "{exports:?}");
    assert!(exports[0].contains("sha256 "), "{exports:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_decision_makes_a_fresh_bundle_and_keeps_the_old_one() {
    let (dir, bundle, files, id) = exported_bundle().await;
    let store = knockoff::store::Store::open(&dir.path().join("knockoff.db")).unwrap();
    let match_id = knockoff::store::MatchId(id);
    let evidence = dir.path().join("evidence");
    assert_eq!(
        knockoff::evidence::current_bundle(&store, match_id, &evidence).unwrap(),
        Some(bundle.clone())
    );
    // Dismissed, then confirmed again with a note: the bundle no longer
    // says what the match is.
    for (decision, note) in [
        ("dismiss", "genuine?"),
        ("confirm", "checked with the brand"),
    ] {
        let (code, _, err) = util::knockoff_outcome(
            dir.path(),
            &["queue", decision, &id.to_string(), "--note", note],
        );
        assert_eq!(code, 0, "{err}");
    }
    assert_eq!(
        knockoff::evidence::current_bundle(&store, match_id, &evidence).unwrap(),
        None
    );
    let out = util::knockoff(dir.path(), &["evidence", "export", &id.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = util::zip_entries(&bundle);
    let manifest: serde_json::Value =
        serde_json::from_slice(file(&fresh, "manifest.json")).unwrap();
    let actions: Vec<&str> = manifest["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.ends_with(&["evidence exported", "dismissed", "confirmed"]),
        "{actions:?}"
    );
    // The old one is kept, byte for byte, and both hashes are audited.
    let kept: Vec<PathBuf> = std::fs::read_dir(evidence.join("superseded"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(util::zip_entries(&kept[0]), files);
    let last = store
        .audit_log(Some(match_id))
        .unwrap()
        .into_iter()
        .rfind(|row| row.action == "evidence exported")
        .unwrap();
    let detail = last.detail.unwrap();
    use sha2::Digest;
    let old_sha = hex::encode(sha2::Sha256::digest(std::fs::read(&kept[0]).unwrap()));
    let new_sha = hex::encode(sha2::Sha256::digest(std::fs::read(&bundle).unwrap()));
    assert!(
        detail.contains(&old_sha) && detail.contains(&new_sha),
        "{detail}"
    );
    assert_eq!(
        knockoff::evidence::current_bundle(&store, match_id, &evidence).unwrap(),
        Some(bundle)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_changed_byte_in_any_file_is_named() {
    let (dir, _, files, _) = exported_bundle().await;
    let tampered = dir.path().join("tampered.zip");
    for victim in [
        "page.html",
        "listing.warc.gz",
        "report.html",
        "notice.txt",
        "images/",
        "references/",
    ] {
        let mut changed = files.clone();
        let (name, bytes) = changed
            .iter_mut()
            .find(|(n, _)| n.starts_with(victim))
            .unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        let name = name.clone();
        util::write_zip(&tampered, &changed);
        let (code, stderr) = verify(dir.path(), &tampered, &[]);
        assert_eq!(code, 1, "{victim}");
        assert!(
            stderr.contains(&format!("`{name}` differs")),
            "{victim}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_manifest_no_longer_matches_its_signature() {
    let (dir, _, files, _) = exported_bundle().await;
    let tampered = dir.path().join("tampered.zip");
    let mut changed = files.clone();
    let manifest_bytes = &mut changed
        .iter_mut()
        .find(|(n, _)| n == "manifest.json")
        .unwrap()
        .1;
    let text = String::from_utf8(manifest_bytes.clone()).unwrap();
    *manifest_bytes = text
        .replacen("\"match_id\": ", "\"match_id\": 9", 1)
        .into_bytes();
    util::write_zip(&tampered, &changed);
    let (code, stderr) = verify(dir.path(), &tampered, &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("`manifest.sig` does not match `manifest.json`"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_extra_and_escaping_files_are_named() {
    let (dir, _, files, _) = exported_bundle().await;
    let workspace = dir.path();
    let tampered = workspace.join("tampered.zip");
    let missing: Vec<_> = files
        .iter()
        .filter(|(n, _)| n != "notice.txt")
        .cloned()
        .collect();
    util::write_zip(&tampered, &missing);
    let (code, stderr) = verify(workspace, &tampered, &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("`notice.txt` is in the manifest but missing"),
        "{stderr}"
    );
    let mut extra = files.clone();
    extra.push(("images/extra.jpg".into(), b"not evidence".to_vec()));
    util::write_zip(&tampered, &extra);
    let (code, stderr) = verify(workspace, &tampered, &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("`images/extra.jpg` is in the bundle but not in the manifest"),
        "{stderr}"
    );
    for evil in ["../evil.txt", "/etc/evil"] {
        let mut traversal = files.clone();
        traversal.push((evil.into(), b"x".to_vec()));
        util::write_zip(&tampered, &traversal);
        let (code, stderr) = verify(workspace, &tampered, &[]);
        assert_eq!(code, 1);
        assert!(
            stderr.contains(&format!("`{evil}` has a path outside the bundle")),
            "{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_checked_against_another_workspaces_key_fails() {
    let (dir, bundle, _, _) = exported_bundle().await;
    let other = tempfile::tempdir().unwrap();
    let other_key =
        String::from_utf8(util::knockoff(other.path(), &["evidence", "key"]).stdout).unwrap();
    let (code, stderr) = verify(dir.path(), &bundle, &["--key", other_key.trim()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not the expected"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_reader_checks_every_warc_digest() {
    if !util::have_warcio() {
        return;
    }
    let (dir, _, files, _) = exported_bundle().await;
    let warc = dir.path().join("listing.warc.gz");
    std::fs::write(&warc, file(&files, "listing.warc.gz")).unwrap();
    let script = "import sys\n\
        from warcio.archiveiterator import ArchiveIterator\n\
        kinds = []\n\
        with open(sys.argv[1], 'rb') as f:\n\
        \x20   for record in ArchiveIterator(f, check_digests='raise'):\n\
        \x20       record.content_stream().read()\n\
        \x20       kinds.append(record.rec_type)\n\
        print(' '.join(kinds))\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&warc)
        .output()
        .expect("python3 runs (installed with warcio by .ci/run)");
    assert!(
        out.status.success(),
        "warcio (pip install warcio; .ci/run does) rejected the WARC: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kinds = String::from_utf8_lossy(&out.stdout);
    assert!(
        kinds.starts_with("warcinfo request response metadata request response metadata"),
        "{kinds}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_are_taken_at_capture_time_and_bundled() {
    if !util::have_chromium() {
        return;
    }
    let fixture = util::DemoFixture::start(Catalog::generate(59, 8), false, util::FAST).await;
    util::edit_toml(&fixture.path().join("knockoff.toml"), |doc| {
        util::set(doc, "evidence.screenshot", true);
    });
    let (store, _) =
        util::crawl_workspace(fixture.path(), knockoff::crawl::CrawlOptions::default()).await;
    let config = knockoff::config::load(fixture.path()).unwrap();
    assert!(config.settings.evidence_screenshot);
    let for_judge = (config.clone(), store.clone());
    tokio::task::spawn_blocking(move || {
        knockoff::judge::judge_workspace(&for_judge.0, &for_judge.1).unwrap()
    })
    .await
    .unwrap();
    // Rendering made no request of its own: the crawl stayed polite.
    fixture.assert_polite();

    let entry = store
        .queue(knockoff::status::StatusFilter::Pending)
        .unwrap()
        .remove(0);
    let review = store
        .review_entry(knockoff::store::MatchId(entry.id))
        .unwrap()
        .unwrap();
    let (png, _) = store
        .screenshot(review.listing_id)
        .unwrap()
        .expect("a screenshot");
    let info = knockoff::photo::inspect(&png, 100_000_000).unwrap();
    assert_eq!((info.format.name(), info.width), ("png", 1280));

    let out = util::knockoff(
        fixture.path(),
        &["evidence", "export", "--unreviewed", &entry.id.to_string()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(knockoff::evidence::verify(&bundle, None).is_ok());
    let files = util::zip_entries(&bundle);
    assert_eq!(
        files.iter().find(|(n, _)| n == "screenshot.png").unwrap().1,
        png
    );
    let warc = files
        .iter()
        .find(|(n, _)| n == "listing.warc.gz")
        .unwrap()
        .1
        .clone();
    if !util::have_warcio() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("listing.warc.gz");
    std::fs::write(&path, warc).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys\nfrom warcio.archiveiterator import ArchiveIterator\n\
             print(' '.join(r.rec_type for r in ArchiveIterator(open(sys.argv[1], 'rb'), check_digests='raise')))",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .trim()
        .ends_with("resource"));
}

#[test]
fn a_screenshot_reaches_nothing_the_captured_page_names() {
    if !util::have_chromium() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let away = format!("http://127.0.0.1:{port}");
    let page = format!(
        "<!DOCTYPE html><link rel=stylesheet href=\"{away}/s.css\"><h1>Orvane</h1>\
         <img src=\"{away}/p.png\"><iframe src=\"{away}/frame\"></iframe>\
         <video src=\"{away}/v.mp4\" autoplay></video><object data=\"{away}/o\"></object>\
         <img src=\"http://localhost:{port}/l.png\">"
    );
    let png = knockoff::evidence::screenshot::render(
        std::path::Path::new("/usr/bin/chromium"),
        page.as_bytes(),
    )
    .unwrap();
    assert!(knockoff::photo::inspect(&png, 100_000_000).is_ok());
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// A bundle's files: (name, bytes), in zip order.
type Files = Vec<(String, Vec<u8>)>;

/// A copy of the judged evidence workspace with the top match's bundle
/// exported: (workspace, bundle path, its files, the match id).
async fn exported_bundle() -> (tempfile::TempDir, PathBuf, Files, i64) {
    let (dir, _, store) = util::judged_copy("evidence 47", || Catalog::generate(47, 16)).await;
    let id = store
        .queue(knockoff::status::StatusFilter::Pending)
        .unwrap()[0]
        .id;
    let (code, _, err) = util::knockoff_outcome(dir.path(), &["queue", "confirm", &id.to_string()]);
    assert_eq!(code, 0, "{err}");
    let out = util::knockoff(dir.path(), &["evidence", "export", &id.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let files = util::zip_entries(&bundle);
    (dir, bundle, files, id)
}

/// The bytes of the bundle file `name`.
fn file<'f>(files: &'f Files, name: &str) -> &'f [u8] {
    &files.iter().find(|(n, _)| n == name).unwrap().1
}

/// `files` with `path` replaced by `bytes`, the manifest updated to match
/// and signed by `key`: a forgery only the key check can catch.
fn resigned(
    files: &[(String, Vec<u8>)],
    path: &str,
    bytes: &[u8],
    key: &ed25519_dalek::SigningKey,
) -> Vec<(String, Vec<u8>)> {
    use ed25519_dalek::Signer;
    use sha2::Digest;
    let mut files = files.to_vec();
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&files.iter().find(|(n, _)| n == "manifest.json").unwrap().1)
            .unwrap();
    for entry in manifest["files"].as_array_mut().unwrap() {
        if entry["path"] == path {
            entry["sha256"] = hex::encode(sha2::Sha256::digest(bytes)).into();
            entry["bytes"] = bytes.len().into();
        }
    }
    manifest["signature"]["public_key"] = hex::encode(key.verifying_key().to_bytes()).into();
    let manifest = serde_json::to_vec_pretty(&manifest).unwrap();
    let signature = hex::encode(key.sign(&manifest).to_bytes());
    for (name, content) in files.iter_mut() {
        match name.as_str() {
            "manifest.json" => *content = manifest.clone(),
            "manifest.sig" => *content = signature.clone().into_bytes(),
            n if n == path => *content = bytes.to_vec(),
            _ => {}
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_resigned_with_another_key_is_refused_or_flagged_unchecked() {
    let (fixture, _, files, _) = exported_bundle().await;
    let attacker = tempfile::tempdir().unwrap();
    let key = knockoff::evidence::signing_key(attacker.path()).unwrap();
    let forged = resigned(&files, "page.html", b"<h1>nothing to see</h1>", &key);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forged.zip");
    util::write_zip(&path, &forged);
    // In the workspace that signed the original, its own key is the one trusted.
    let (code, stderr) = verify(fixture.path(), &path, &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not the expected"), "{stderr}");
    // Elsewhere, with no key to trust, it says so and does not pass.
    let nowhere = tempfile::tempdir().unwrap();
    let (code, stderr) = verify(nowhere.path(), &path, &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("was not checked: pass --key"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_names_directory_data_and_symlinks_are_refused() {
    let (fixture, _, files, _) = exported_bundle().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crafted.zip");
    let crafted = |patch: &dyn Fn(&mut Files), rename: Option<(&str, &str)>| {
        let mut changed = files.clone();
        patch(&mut changed);
        util::write_zip(&path, &changed);
        if let Some((from, to)) = rename {
            // Same length, so every offset in the zip stays right.
            let bytes = std::fs::read(&path).unwrap();
            let (from, to) = (from.as_bytes(), to.as_bytes());
            let mut out = Vec::with_capacity(bytes.len());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i..].starts_with(from) {
                    out.extend_from_slice(to);
                    i += from.len();
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            std::fs::write(&path, out).unwrap();
        }
        verify(fixture.path(), &path, &[])
    };
    // An unlisted page.html placed first: what `unzip` would show.
    let (code, stderr) = crafted(
        &|f| f.insert(0, ("page.htmX".into(), b"<h1>fake</h1>".to_vec())),
        Some(("page.htmX", "page.html")),
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("two entries with the same name"),
        "{stderr}"
    );
    // A directory entry that carries data.
    let (code, stderr) = crafted(
        &|f| f.push(("hiddenX".into(), b"payload".to_vec())),
        Some(("hiddenX", "hidden/")),
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("`hidden/` is a directory entry that carries data"),
        "{stderr}"
    );
    // A listed file replaced by a symbolic link whose target is its text.
    let notice = files
        .iter()
        .find(|(n, _)| n == "notice.txt")
        .unwrap()
        .1
        .clone();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for (name, bytes) in &files {
        if name == "notice.txt" {
            zip.add_symlink(
                name.as_str(),
                String::from_utf8(notice.clone()).unwrap(),
                options,
            )
            .unwrap();
        } else {
            zip.start_file(name.as_str(), options).unwrap();
            zip.write_all(bytes).unwrap();
        }
    }
    zip.finish().unwrap();
    let (code, stderr) = verify(fixture.path(), &path, &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("`notice.txt` is not a regular file"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifying_huge_listed_entries_streams_them() {
    let (fixture, _, files, _) = exported_bundle().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.zip");
    // Four listed entries of 128 MB each (zeros: a few hundred KB zipped).
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default().large_file(true);
    let zeros = vec![0u8; 1 << 20];
    let big: Vec<String> = (0..4)
        .map(|i| format!("images/listing-{}.jpg", i + 1))
        .collect();
    for (name, bytes) in &files {
        zip.start_file(name.as_str(), options).unwrap();
        if big.contains(name) {
            for _ in 0..128 {
                zip.write_all(&zeros).unwrap();
            }
        } else {
            zip.write_all(bytes).unwrap();
        }
    }
    for name in big.iter().filter(|n| !files.iter().any(|(f, _)| f == *n)) {
        zip.start_file(name.as_str(), options).unwrap();
        for _ in 0..128 {
            zip.write_all(&zeros).unwrap();
        }
    }
    zip.finish().unwrap();
    let bundle = path.to_str().unwrap();
    let done = util::run_measured(
        fixture.path(),
        &["evidence", "verify", bundle],
        std::time::Duration::from_secs(120),
    );
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert!(
        done.stderr.contains("differs from the manifest"),
        "{}",
        done.stderr
    );
    assert!(
        done.peak_rss_mb < 64.0,
        "verifying held {:.0} MB",
        done.peak_rss_mb
    );
}

#[test]
fn captured_pages_render_without_running_their_scripts() {
    if !util::have_chromium() {
        return;
    }
    let page = b"<html><body style=\"margin:0;background:#00ff00\">\
        <script>document.body.style.background = '#ff0000';</script></body></html>";
    let png = knockoff::evidence::screenshot::render(Path::new("/usr/bin/chromium"), page).unwrap();
    let image = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!(
        image.get_pixel(20, 20).0,
        [0, 255, 0],
        "the page's script ran"
    );
}
