//! The store on PostgreSQL, against a real server (Debian's, started on
//! loopback by `.ci/run`; skipped loudly without one): the same schema as
//! SQLite's, and `knockoff store copy` moving a crawled, judged and
//! reviewed store there whole.

use std::collections::BTreeMap;

use knockoff::demo::catalog::Catalog;
use knockoff::store::Store;

use crate::util::{self, TestDatabase};

/// Every table's columns, in order.
type Schema = BTreeMap<String, Vec<String>>;

fn sqlite_schema(store: &Store) -> Schema {
    let mut schema = Schema::new();
    let tables = store
        .query_strings(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .unwrap();
    for table in tables {
        let columns = store
            .query_strings(&format!(
                "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
            ))
            .unwrap();
        schema.insert(table, columns);
    }
    schema
}

fn postgres_schema(client: &mut postgres::Client) -> Schema {
    let mut schema = Schema::new();
    for row in client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> 'knockoff_schema' \
             ORDER BY table_name, ordinal_position",
            &[],
        )
        .unwrap()
    {
        schema.entry(row.get(0)).or_default().push(row.get(1));
    }
    schema
}

#[tokio::test]
async fn a_store_copied_to_postgresql_holds_every_row_and_byte() {
    let Some(server) = util::postgres_server() else {
        return;
    };
    let (dir, _, store) = util::judged_copy("evidence 47", || Catalog::generate(47, 16)).await;
    // The PostgreSQL client blocks: off the test's runtime.
    tokio::task::spawn_blocking(move || copy_checked(&server, dir.path(), &store))
        .await
        .unwrap();
}

fn copy_checked(server: &str, dir: &std::path::Path, store: &Store) {
    // A decision, so the audit log and the matches' review columns hold
    // something to copy.
    let pending = store
        .query_strings("SELECT id FROM matches ORDER BY id LIMIT 1")
        .unwrap();
    let (code, _, err) =
        util::knockoff_outcome(dir, &["--by", "rita", "queue", "confirm", &pending[0]]);
    assert_eq!(code, 0, "{err}");
    let database = TestDatabase::create(server);
    let password = "never-written-anywhere-7f3a";
    let copied = util::knockoff_with_env(
        dir,
        &["store", "copy", "--to", &database.url],
        &[("PGPASSWORD", password)],
    );
    let stdout = String::from_utf8_lossy(&copied.stdout);
    assert!(
        copied.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    assert!(stdout.contains("the counts agree"), "{stdout}");

    let mut client = database.client();
    // The same tables and columns, made by the same migrations.
    assert_eq!(postgres_schema(&mut client), sqlite_schema(store));
    // Every row of every table, value for value; blobs byte for byte.
    for (table, columns) in sqlite_schema(store) {
        // Qualified: PostgreSQL would sort by an output column of the
        // same name (text) first.
        let order = if columns.contains(&"id".to_string()) {
            format!("{table}.id")
        } else {
            columns
                .iter()
                .map(|c| format!("{table}.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for column in &columns {
            let mut here = store
                .query_strings(&format!("SELECT {column} FROM {table} ORDER BY {order}"))
                .unwrap();
            let mut there: Vec<String> = client
                .query(
                    &format!(
                        "SELECT CASE WHEN {column} IS NULL THEN '' \
                         WHEN pg_typeof({column}) = 'bytea'::regtype THEN encode({column}::text::bytea, 'hex') \
                         ELSE {column}::text END AS value FROM {table} ORDER BY {order}"
                    ),
                    &[],
                )
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect();
            if !order.ends_with(".id") {
                // Keyed by text: the two engines' collations may differ.
                here.sort();
                there.sort();
            }
            assert_eq!(there.len(), here.len(), "{table}.{column}");
            for (a, b) in here.iter().zip(&there) {
                // Reals print alike in both, up to the last digit.
                let same = a == b
                    || a.parse::<f64>()
                        .ok()
                        .zip(b.parse::<f64>().ok())
                        .is_some_and(|(x, y)| x == y);
                assert!(same, "{table}.{column}: {a} here, {b} there");
            }
        }
    }
    // The audit log stays append-only there too.
    let refused = client.execute("DELETE FROM audit_log", &[]).unwrap_err();
    assert!(
        refused.to_string().contains("append-only")
            || format!("{refused:?}").contains("append-only")
    );
    // New rows continue after the copied ids.
    let next: i64 = client
        .query_one(
            "INSERT INTO runs (started_at, status, targets) \
             VALUES ('2026-12-07T00:00:00Z', 'finished', '[]') RETURNING id",
            &[],
        )
        .map(|row| row.get(0))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let most = store.query_strings("SELECT MAX(id) FROM runs").unwrap();
    assert_eq!(next, most[0].parse::<i64>().unwrap() + 1);
    client
        .execute("DELETE FROM runs WHERE id = $1", &[&next])
        .unwrap();

    // A second copy into the same database is refused, and changes nothing.
    let (code, _, err) = util::knockoff_outcome(dir, &["store", "copy", "--to", &database.url]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is not empty") && err.contains(&database.name),
        "{err}"
    );
    // The password was never written to the workspace.
    for (path, bytes) in util::files_under(dir) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(password),
            "{} holds the password",
            path.display()
        );
    }
}

#[test]
fn a_password_in_the_url_is_refused_and_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = util::knockoff_outcome(
        dir.path(),
        &[
            "store",
            "copy",
            "--to",
            "postgres://alice:s3cret-pw@127.0.0.1:1/brand",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("PGPASSWORD"), "{err}");
    assert!(
        !err.contains("s3cret-pw") && !out.contains("s3cret-pw"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_named() {
    let (workspace, _, _) = util::judged_copy("evidence 47", || Catalog::generate(47, 16)).await;
    let (code, _, err) = util::knockoff_outcome(
        workspace.path(),
        &[
            "store",
            "copy",
            "--to",
            "postgres://alice@127.0.0.1:1/brand",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("postgres://alice@127.0.0.1:1/brand"), "{err}");
    assert!(err.contains("onnection refused"), "{err}");
}

#[tokio::test]
async fn a_schema_from_a_newer_knockoff_is_refused_by_name() {
    let Some(server) = util::postgres_server() else {
        return;
    };
    let (workspace, _, _) = util::judged_copy("evidence 47", || Catalog::generate(47, 16)).await;
    tokio::task::spawn_blocking(move || {
        let database = TestDatabase::create(&server);
        database
            .client()
            .batch_execute(
                "CREATE TABLE knockoff_schema (version BIGINT NOT NULL); \
                 INSERT INTO knockoff_schema VALUES (999)",
            )
            .unwrap();
        let (code, _, err) =
            util::knockoff_outcome(workspace.path(), &["store", "copy", "--to", &database.url]);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(&database.url) && err.contains("schema version 999"),
            "{err}"
        );
        // Nothing was made there.
        let tables: i64 = database
            .client()
            .query_one(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(tables, 1);
    })
    .await
    .unwrap();
}

/// The queue of a workspace as `queue list --format json` prints it:
/// (listing URL, product, status, score to 3 places).
fn queue_of(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    sites: &Sites,
) -> Vec<(String, String, String, String)> {
    let output = util::knockoff_with_env(dir, &["queue", "list", "--format", "json"], env);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let mut queue: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                sites.named(e["listing_url"].as_str().unwrap()),
                e["product_id"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
                format!("{:.3}", e["score"].as_f64().unwrap()),
            )
        })
        .collect();
    queue.sort();
    queue
}

/// A marketplace's origins, to compare two marketplaces' pages by path.
struct Sites(Vec<(String, &'static str)>);

impl Sites {
    fn of(market: &knockoff::demo::Marketplace) -> Sites {
        let origin = |url: &url::Url| url.as_str().trim_end_matches('/').to_string();
        Sites(vec![
            (origin(&market.shopfront), "shopfront:"),
            (origin(&market.bazaar), "bazaar:"),
            (origin(&market.cdn), "cdn:"),
        ])
    }

    fn named(&self, text: &str) -> String {
        self.0
            .iter()
            .fold(text.to_string(), |text, (origin, name)| {
                text.replace(origin, name)
            })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_on_postgresql_stores_and_queues_what_one_on_sqlite_does() {
    let Some(server) = util::postgres_server() else {
        return;
    };
    let catalog = || Catalog::generate(48, 14);
    let on_sqlite = util::DemoFixture::start(catalog(), false, util::FAST).await;
    let on_postgres = util::DemoFixture::start(catalog(), false, util::FAST).await;
    let (sqlite_dir, postgres_dir) = (
        on_sqlite.path().to_path_buf(),
        on_postgres.path().to_path_buf(),
    );
    let (sqlite_sites, postgres_sites) =
        (Sites::of(&on_sqlite.market), Sites::of(&on_postgres.market));
    tokio::task::spawn_blocking(move || {
        let database = TestDatabase::create(&server);
        let env = [("KNOCKOFF_STORE_URL", database.url.as_str())];
        let check = util::knockoff_with_env(&postgres_dir, &["check"], &env);
        let said = String::from_utf8_lossy(&check.stdout);
        assert!(said.contains("reachable, empty"), "{said}");
        for (dir, env) in [(&sqlite_dir, &[][..]), (&postgres_dir, &env[..])] {
            let crawled = util::knockoff_with_env(dir, &["crawl"], env);
            assert!(
                crawled.status.success(),
                "{}",
                String::from_utf8_lossy(&crawled.stderr)
            );
        }
        // Nothing of the store went to the workspace: no SQLite file.
        assert!(!postgres_dir.join("knockoff.db").exists());
        let check = util::knockoff_with_env(&postgres_dir, &["check"], &env);
        let said = String::from_utf8_lossy(&check.stdout);
        assert!(said.contains("reachable, schema version"), "{said}");
        // The variable overrides a URL in knockoff.toml, which is still read.
        let settings = postgres_dir.join("knockoff.toml");
        let mut text = std::fs::read_to_string(&settings).unwrap();
        text.push_str("\n[store]\nurl = \"postgres://nobody@127.0.0.1:1/elsewhere\"\n");
        std::fs::write(&settings, text).unwrap();
        let check = util::knockoff_with_env(&postgres_dir, &["check"], &env);
        let said = String::from_utf8_lossy(&check.stdout);
        assert!(
            check.status.success() && said.contains(&database.url),
            "{said}{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let queue = queue_of(&postgres_dir, &env, &postgres_sites);
        assert!(queue.len() >= 5, "{queue:?}");
        assert_eq!(queue, queue_of(&sqlite_dir, &[], &sqlite_sites));
        // Every listing, field for field.
        let sqlite = Store::open(&sqlite_dir.join("knockoff.db")).unwrap();
        let postgres = Store::open_postgres(&database.url.parse().unwrap()).unwrap();
        let listings = |store: &Store, sites: &Sites| {
            let mut all: Vec<String> = store
                .listings(None)
                .unwrap()
                .into_iter()
                .map(|l| sites.named(&format!("{} {:?}", l.url, l.listing)))
                .collect();
            all.sort();
            all
        };
        let stored = listings(&postgres, &postgres_sites);
        assert!(stored.len() >= 14, "{stored:?}");
        assert_eq!(stored, listings(&sqlite, &sqlite_sites));
    })
    .await
    .unwrap();
}

/// Starts `knockoff crawl` in `dir` on the store `url`, quietly.
fn spawn_crawl(dir: &std::path::Path, url: &str) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_knockoff"))
        .arg("--workspace")
        .arg(dir)
        .arg("crawl")
        .env("KNOCKOFF_STORE_URL", url)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_crawls_share_one_run_and_one_killed_loses_and_repeats_nothing() {
    let Some(server) = util::postgres_server() else {
        return;
    };
    let catalog = || Catalog::generate(49, 36);
    let rates = util::Rates {
        shopfront: 4.0,
        bazaar: 4.0,
        default: 12.0,
    };
    let fixture = util::DemoFixture::start(catalog(), false, rates).await;
    // Short leases, so the killed crawl's items come back within the test.
    util::edit_toml(&fixture.path().join("knockoff.toml"), |doc| {
        util::set(doc, "store.lease_secs", 5i64);
    });
    // Three machines: a workspace each (the same files), one store.
    let files = util::files_under(fixture.path());
    let workspaces: Vec<tempfile::TempDir> = (0..3).map(|_| util::restore(&files)).collect();
    let one_box = util::DemoFixture::start(catalog(), false, util::FAST).await;
    let (one_box_dir, one_box_sites) = (one_box.path().to_path_buf(), Sites::of(&one_box.market));
    let sites = Sites::of(&fixture.market);
    let dirs: Vec<std::path::PathBuf> = workspaces.iter().map(|w| w.path().to_path_buf()).collect();
    let database = tokio::task::spawn_blocking(move || TestDatabase::create(&server))
        .await
        .unwrap();
    let url = database.url.clone();
    let mut crawls: Vec<std::process::Child> = dirs.iter().map(|d| spawn_crawl(d, &url)).collect();
    // Kill -9 the first once a dozen listings are stored, and start
    // another in its place.
    let listings_stored = {
        let url = url.clone();
        move || -> u64 {
            let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls) else {
                return 0;
            };
            client
                .query_one("SELECT COUNT(*) FROM listings", &[])
                .map(|row| row.get::<_, i64>(0) as u64)
                .unwrap_or(0)
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let count = listings_stored.clone();
        if tokio::task::spawn_blocking(count).await.unwrap() >= 12 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the crawls stored nothing in time"
        );
    }
    crawls[0].kill().unwrap();
    crawls[0].wait().unwrap();
    let at_kill = tokio::task::spawn_blocking(listings_stored.clone())
        .await
        .unwrap();
    crawls.push(spawn_crawl(&dirs[0], &url));
    let outcomes = tokio::task::spawn_blocking(move || {
        crawls
            .into_iter()
            .skip(1)
            .map(|child| child.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for output in &outcomes {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // No host ever got more than its rate in any second, across all crawls.
    fixture.assert_polite();
    // Each page fetched once, but for the few the killed crawl had in
    // hand (taken over when their leases lapsed).
    let mut fetches: BTreeMap<String, u32> = BTreeMap::new();
    for request in fixture.market.log.requests() {
        *fetches
            .entry(format!("{:?}{}", request.host, request.path))
            .or_default() += 1;
    }
    let again: Vec<_> = fetches.iter().filter(|(_, n)| **n > 1).collect();
    eprintln!(
        "killed at {at_kill} listings; {} pages, {} fetched again: {again:?}",
        fetches.len(),
        again.len()
    );
    assert!(again.len() <= 16, "{again:?}");
    let (dir, url2) = (dirs[1].clone(), url.clone());
    tokio::task::spawn_blocking(move || {
        let _database = database;
        let crawled = util::knockoff(&one_box_dir, &["crawl"]);
        assert!(
            crawled.status.success(),
            "{}",
            String::from_utf8_lossy(&crawled.stderr)
        );
        let store = Store::open_postgres(&url2.parse().unwrap()).unwrap();
        let one = Store::open(&one_box_dir.join("knockoff.db")).unwrap();
        // One run, drained, whoever drained it.
        let runs = store.runs(5).unwrap();
        assert_eq!(runs.len(), 1);
        assert!(
            !runs[0].running && runs[0].to_do == 0,
            "{:?}",
            runs[0].summary
        );
        // Every listing once, field for field as a one-box crawl reads it.
        let listings = |store: &Store, sites: &Sites| {
            let mut all: Vec<String> = store
                .listings(None)
                .unwrap()
                .into_iter()
                .map(|l| sites.named(&format!("{} {:?}", l.url, l.listing)))
                .collect();
            all.sort();
            all
        };
        let shared = listings(&store, &sites);
        assert!(shared.len() >= 36, "{}", shared.len());
        assert!(
            at_kill < shared.len() as u64,
            "killed after the crawl ended"
        );
        assert_eq!(shared, listings(&one, &one_box_sites));
        // The same queue as the one-box run.
        let env = [("KNOCKOFF_STORE_URL", url2.as_str())];
        assert_eq!(
            queue_of(&dir, &env, &sites),
            queue_of(&one_box_dir, &[], &one_box_sites)
        );
    })
    .await
    .unwrap();
}

/// A judge killed holding leases to judge listings: another judging pass
/// waits for those leases to lapse and judges the listings, instead of
/// leaving them to the next pass.
#[tokio::test]
async fn listings_a_dead_judge_held_are_judged_once_its_leases_lapse() {
    let Some(server) = util::postgres_server() else {
        return;
    };
    let (workspace, _, _) = util::judged_copy("evidence 47", || Catalog::generate(47, 16)).await;
    util::edit_toml(&workspace.path().join("knockoff.toml"), |doc| {
        util::set(doc, "store.lease_secs", 5i64);
    });
    tokio::task::spawn_blocking(move || {
        let database = TestDatabase::create(&server);
        let env = [("KNOCKOFF_STORE_URL", database.url.as_str())];
        let index = || {
            let out = util::knockoff_with_env(workspace.path(), &["index"], &env);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        };
        let copied =
            util::knockoff_outcome(workspace.path(), &["store", "copy", "--to", &database.url]);
        assert_eq!(copied.0, 0, "{}", copied.2);
        index();
        // Three listings stale again, each leased for 3 s more to a judge
        // on another machine that died (under the key a pass would use).
        let mut db = database.client();
        let dead: Vec<(i64, String)> = db
            .query(
                "DELETE FROM judged WHERE listing_id IN
                   (SELECT listing_id FROM judged ORDER BY listing_id LIMIT 3)
                 RETURNING listing_id, judge_key",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(dead.len(), 3);
        for (listing, key) in &dead {
            db.execute(
                "INSERT INTO judging (listing_id, judge_key, lease_owner, lease_until)
                 VALUES ($1, $2, 'dead-host:1', CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) + 3000)
                 ON CONFLICT (listing_id) DO UPDATE SET judge_key = excluded.judge_key,
                   lease_owner = excluded.lease_owner, lease_until = excluded.lease_until",
                &[listing, key],
            )
            .unwrap();
        }
        let started = std::time::Instant::now();
        index();
        let judged: i64 = db
            .query_one(
                "SELECT COUNT(*) FROM judged WHERE listing_id = ANY($1)",
                &[&dead.iter().map(|(l, _)| *l).collect::<Vec<i64>>()],
            )
            .unwrap()
            .get(0);
        assert_eq!(judged, 3, "judged once the dead judge's leases lapsed");
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(2500),
            "waited for the leases: {:?}",
            started.elapsed()
        );
    })
    .await
    .unwrap();
}
