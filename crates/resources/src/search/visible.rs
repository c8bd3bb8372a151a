//! The visibility filter: the documents carrying any of the viewer's terms, as a bit set per
//! segment, kept for the next search of the same viewer (segments never change; a deleted
//! document is skipped by the segment's own deletes). A teacher's searches in a row read the
//! postings of their terms once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tantivy::index::SegmentId;
use tantivy::query::{
    BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, Term};

/// A segment and a viewer's terms.
type Key = (SegmentId, Vec<String>);

/// Bit sets by segment and set of terms.
#[derive(Default)]
pub struct VisibleCache(Mutex<HashMap<Key, Arc<tantivy::BitSet>>>);

/// Entries kept at most (a bit set is an eighth of a byte per document).
const KEEP: usize = 128;

#[derive(Clone)]
pub struct Visible {
    pub field: Field,
    pub terms: Vec<String>,
    pub cache: Arc<VisibleCache>,
}

impl std::fmt::Debug for Visible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Visible({:?})", self.terms)
    }
}

impl Query for Visible {
    fn weight(&self, _: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Visible {
    fn bits(&self, reader: &SegmentReader) -> tantivy::Result<Arc<tantivy::BitSet>> {
        let key = (reader.segment_id(), self.terms.clone());
        if let Some(b) = self
            .cache
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(b.clone());
        }
        let mut bits = tantivy::BitSet::with_max_value(reader.max_doc());
        let inverted = reader.inverted_index(self.field)?;
        for t in &self.terms {
            let term = Term::from_field_text(self.field, t);
            if let Some(mut postings) = inverted.read_postings(&term, IndexRecordOption::Basic)? {
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    bits.insert(doc);
                    doc = postings.advance();
                }
            }
        }
        let bits = Arc::new(bits);
        let mut cache = self.cache.0.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= KEEP {
            cache.clear();
        }
        cache.insert(key, bits.clone());
        Ok(bits)
    }
}

impl Weight for Visible {
    fn scorer(&self, reader: &SegmentReader, _: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let bits = self.bits(reader)?;
        Ok(Box::new(ConstScorer::new(
            BitSetDocSet::from((*bits).clone()),
            0.0,
        )))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let visible = self.bits(reader)?.contains(doc);
        Ok(Explanation::new(
            if visible { "visible" } else { "not visible" },
            0.0,
        ))
    }
}
