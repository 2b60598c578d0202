//! The full-text index of crawled listings (tantivy): fuzzy product queries
//! for the judge, and search for people.
//!
//! Documents hold the listing id and its title, description and seller,
//! [`normalise`](crate::matching::text::normalise)d first, so the index
//! and the judge agree on what a word is ("0rvane" is indexed as
//! "orvane").

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, Query, QueryParser};
use tantivy::schema::{Field, Schema, Value, FAST, INDEXED, STORED, TEXT};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::matching::text::{allowed_edits, normalised_text, ProductTerms};

/// Memory for the index writer, tantivy's minimum for one thread: past it
/// the writer flushes a segment, so indexing a store of any size holds no
/// more than this (a larger budget only grew the peak with the store).
const WRITER_MEMORY: usize = 15_000_000;

/// A listing as indexed.
#[derive(Debug, Clone)]
pub struct TextDoc<'a> {
    pub id: i64,
    pub title: &'a str,
    pub description: &'a str,
    pub seller: &'a str,
}

/// The listings index.
pub struct TextIndex {
    index: Index,
    reader: IndexReader,
    id: Field,
    title: Field,
    body: Field,
    seller: Field,
}

/// Changes to the listings index, searchable once committed.
pub(crate) struct TextWriter<'a> {
    index: &'a TextIndex,
    writer: IndexWriter,
}

impl TextWriter<'_> {
    /// Adds `docs`, each replacing the listing's earlier document.
    pub(crate) fn add(&mut self, docs: &[TextDoc]) -> Result<()> {
        let index = self.index;
        for d in docs {
            self.writer
                .delete_term(Term::from_field_i64(index.id, d.id));
            self.writer.add_document(doc!(
                index.id => d.id,
                index.title => normalised_text(d.title),
                index.body => normalised_text(d.description),
                index.seller => normalised_text(d.seller),
            ))?;
        }
        Ok(())
    }

    /// Makes what was added searchable.
    pub(crate) fn commit(&mut self) -> Result<()> {
        self.writer.commit().context("committing the text index")?;
        self.index.reader.reload()?;
        Ok(())
    }
}

fn schema() -> (Schema, [Field; 4]) {
    let mut builder = Schema::builder();
    let id = builder.add_i64_field("id", INDEXED | STORED | FAST);
    let title = builder.add_text_field("title", TEXT);
    let body = builder.add_text_field("body", TEXT);
    let seller = builder.add_text_field("seller", TEXT);
    (builder.build(), [id, title, body, seller])
}

impl TextIndex {
    /// Opens the index in `dir`, creating it (empty) when there is none or
    /// when what is there has another schema.
    pub fn open(dir: &Path) -> Result<TextIndex> {
        let (schema, _) = schema();
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let index = match Index::open_in_dir(dir) {
            Ok(index) if index.schema() == schema => index,
            _ => {
                // Stale or foreign: start again (it is derived from the store).
                std::fs::remove_dir_all(dir)
                    .with_context(|| format!("clearing {}", dir.display()))?;
                std::fs::create_dir_all(dir)?;
                Index::create_in_dir(dir, schema)
                    .with_context(|| format!("creating the text index in {}", dir.display()))?
            }
        };
        TextIndex::from_index(index)
    }

    /// An index in memory, for the accuracy harness.
    #[cfg(feature = "demo")]
    pub(crate) fn in_memory() -> Result<TextIndex> {
        TextIndex::from_index(Index::create_in_ram(schema().0))
    }

    fn from_index(index: Index) -> Result<TextIndex> {
        let (_, [id, title, body, seller]) = schema();
        // Another process (a crawl from cron, the scheduler's judging pass)
        // commits to the same folder: the reader follows its commits.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()
            .context("opening a text index reader")?;
        Ok(TextIndex {
            index,
            reader,
            id,
            title,
            body,
            seller,
        })
    }

    /// Number of listings indexed.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds or replaces `docs`; with `clear`, drops everything else first.
    /// (The evaluation's and tests' shorthand for one batch.)
    #[cfg(any(test, feature = "demo"))]
    pub(crate) fn upsert(&self, docs: &[TextDoc], clear: bool) -> Result<()> {
        let mut writer = self.writer(clear)?;
        writer.add(docs)?;
        writer.commit()
    }

    /// A writer that adds or replaces documents a batch at a time and makes
    /// them searchable when committed; with `clear`, everything else is
    /// dropped first.
    pub(crate) fn writer(&self, clear: bool) -> Result<TextWriter<'_>> {
        let writer: IndexWriter = self
            .index
            .writer_with_num_threads(1, WRITER_MEMORY)
            .context("opening the text index for writing")?;
        if clear {
            writer.delete_all_documents()?;
        }
        Ok(TextWriter {
            index: self,
            writer,
        })
    }

    /// Ids of the listings whose title or description has a word of the
    /// product's within its allowed edits.
    pub(crate) fn product_hits(&self, terms: &ProductTerms) -> Result<HashSet<i64>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in terms.words() {
            let edits = allowed_edits(word.chars().count()) as u8;
            for field in [self.title, self.body] {
                let term = Term::from_field_text(field, &word);
                clauses.push((
                    Occur::Should,
                    Box::new(FuzzyTermQuery::new(term, edits, true)),
                ));
            }
        }
        if clauses.is_empty() {
            return Ok(HashSet::new());
        }
        let searcher = self.reader.searcher();
        let docs = searcher.search(&BooleanQuery::new(clauses), &DocSetCollector)?;
        let mut ids = HashSet::with_capacity(docs.len());
        for address in docs {
            let column = searcher
                .segment_reader(address.segment_ord)
                .fast_fields()
                .i64("id")?;
            ids.extend(column.first(address.doc_id));
        }
        Ok(ids)
    }

    /// Full-text search over title, description and seller: ids of the
    /// best `limit` listings, best first. The query is normalised like the
    /// documents; words are ANDed.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<i64>> {
        let normalised = normalised_text(query);
        if normalised.is_empty() {
            return Ok(Vec::new());
        }
        let mut parser =
            QueryParser::for_index(&self.index, vec![self.title, self.body, self.seller]);
        parser.set_conjunction_by_default();
        let (query, _errors) = parser.parse_query_lenient(&normalised);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let mut ids = Vec::with_capacity(top.len());
        for (_, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = doc.get_first(self.id).and_then(|v| v.as_i64()) {
                ids.push(id);
            }
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_sees_what_another_instance_commits() {
        let dir = tempfile::tempdir().unwrap();
        let serving = TextIndex::open(&dir.path().join("text")).unwrap();
        assert!(serving.search("tidewatch", 10).unwrap().is_empty());
        // The scheduler's judging pass opens its own instance and commits.
        let judging = TextIndex::open(&dir.path().join("text")).unwrap();
        let doc = TextDoc {
            id: 7,
            title: "Orvane Tidewatch",
            description: "",
            seller: "",
        };
        judging.upsert(&[doc], false).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while serving.search("tidewatch", 10).unwrap() != [7] {
            assert!(std::time::Instant::now() < deadline, "never saw the commit");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    #[test]
    fn fuzzy_product_queries_and_search_over_a_real_index() {
        let dir = tempfile::tempdir().unwrap();
        let index = TextIndex::open(&dir.path().join("text")).unwrap();
        let docs = [
            (1, "0rvane Cloudstpe replica", "", "luxe"),
            (2, "Vantor Classic sneaker", "designed in-house", "urban"),
            (3, "Used Orvane cloud step", "receipt included", "jane_d"),
            (4, "Silicone case", "fits the Orvane Tidewatch", "gadget"),
        ];
        let docs: Vec<TextDoc> = docs
            .iter()
            .map(|&(id, title, description, seller)| TextDoc {
                id,
                title,
                description,
                seller,
            })
            .collect();
        index.upsert(&docs, false).unwrap();
        let cloudstep = ProductTerms::new("Orvane", "Orvane Cloudstep 3", &["cloud step".into()]);
        let mut hits: Vec<i64> = index
            .product_hits(&cloudstep)
            .unwrap()
            .into_iter()
            .collect();
        hits.sort();
        assert_eq!(hits, [1, 3]);
        assert_eq!(index.search("tidewatch", 10).unwrap(), [4]);
        assert_eq!(index.search("ORVANE used", 10).unwrap(), [3]);
        // Re-indexing a listing replaces it; reopening keeps what was committed.
        index
            .upsert(
                &[TextDoc {
                    id: 2,
                    title: "Orvane Cloudstep",
                    description: "",
                    seller: "",
                }],
                false,
            )
            .unwrap();
        drop(index);
        let reopened = TextIndex::open(&dir.path().join("text")).unwrap();
        assert_eq!(reopened.len(), 4);
        assert_eq!(reopened.product_hits(&cloudstep).unwrap().len(), 3);
        assert!(reopened.search("vantor", 10).unwrap().is_empty());
    }
}
