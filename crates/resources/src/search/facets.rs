//! Counting facet values in one pass over the matching documents. Tantivy's `FacetCollector`
//! turns every counted ordinal back into its facet path on every search (a dictionary lookup
//! per value, about two thousand at a million resources); here each segment's ordinals are
//! decoded once, cached by segment (segments never change), and a search only adds numbers.

use super::engine::SHOWN;
use super::schema;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::fastfield::FacetReader;
use tantivy::index::SegmentId;
use tantivy::schema::Facet;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Per facet ordinal of a segment: the shown dimension (index into [`SHOWN`]) and the value.
type Map = Arc<Vec<Option<(usize, String)>>>;

/// The decoded ordinals of each segment seen.
#[derive(Default)]
pub struct FacetMaps(Mutex<HashMap<SegmentId, Map>>);

impl FacetMaps {
    fn get(&self, segment: SegmentId, reader: &FacetReader) -> tantivy::Result<Map> {
        if let Some(m) = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&segment)
        {
            return Ok(m.clone());
        }
        let mut map = Vec::with_capacity(reader.num_facets());
        let mut facet = Facet::root();
        for ord in 0..reader.num_facets() as u64 {
            reader.facet_from_ord(ord, &mut facet)?;
            let path = facet.to_path();
            let entry = match (path.first(), path.get(1)) {
                (Some(dim), Some(value)) => SHOWN
                    .iter()
                    .position(|(d, _)| d == dim)
                    .map(|i| (i, (*value).to_owned())),
                _ => None,
            };
            map.push(entry);
        }
        let map = Arc::new(map);
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Merged-away segments are not searched again; forget them now and then.
        if cache.len() > 256 {
            cache.clear();
        }
        cache.insert(segment, map.clone());
        Ok(map)
    }
}

/// Counts per shown dimension: (value, count), most first, at most that dimension's limit.
pub type Counts = Vec<Vec<(String, u64)>>;

pub struct FacetCounter<'a> {
    pub maps: &'a FacetMaps,
}

pub struct SegmentCounter {
    reader: FacetReader,
    map: Map,
    counts: Vec<u32>,
}

impl Collector for FacetCounter<'_> {
    type Fruit = Counts;
    type Child = SegmentCounter;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentCounter> {
        let reader = segment.facet_reader(schema::FACETS)?;
        let map = self.maps.get(segment.segment_id(), &reader)?;
        Ok(SegmentCounter {
            counts: vec![0; map.len()],
            reader,
            map,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut merged: Vec<HashMap<String, u64>> = vec![HashMap::new(); SHOWN.len()];
        for fruit in fruits {
            for (dim, values) in fruit.into_iter().enumerate() {
                if let Some(m) = merged.get_mut(dim) {
                    for (v, n) in values {
                        *m.entry(v).or_default() += n;
                    }
                }
            }
        }
        Ok(merged
            .into_iter()
            .zip(SHOWN)
            .map(|(m, (_, limit))| {
                let mut values: Vec<(String, u64)> = m.into_iter().collect();
                values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                values.truncate(*limit);
                values
            })
            .collect())
    }
}

impl SegmentCollector for SegmentCounter {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _: Score) {
        for ord in self.reader.facet_ords(doc) {
            if let Some(c) = self.counts.get_mut(ord as usize) {
                *c += 1;
            }
        }
    }

    fn harvest(self) -> Counts {
        let mut out: Counts = vec![Vec::new(); SHOWN.len()];
        for (ord, n) in self.counts.iter().enumerate() {
            if *n > 0
                && let Some(Some((dim, value))) = self.map.get(ord)
                && let Some(values) = out.get_mut(*dim)
            {
                values.push((value.clone(), u64::from(*n)));
            }
        }
        out
    }
}
