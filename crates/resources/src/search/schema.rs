//! The index's fields. Only the id is stored: a hit's title, text and names are read from the
//! database for the page of results, so they are always current and the index stays small.
//!
//! All words go to one field, `text`: the title three times, the tags twice, the description
//! and the file's extracted text once, so a word in the title weighs most (BM25 term
//! frequency) while a query word is one posting list, not a union over four fields: that is
//! what keeps a common word (课件, 教学) fast at a million resources.
//!
//! `facets` holds one flat facet per dimension and value (`/stage/<id>`, `/subject/<id>`,
//! `/edition/<id>`, `/volume/<id>`, `/chapter/<id>`, `/section/<id>`, `/kind/<code>`,
//! `/level/<scope>`, `/school/<org id>`): a resource hanging on a section carries its unit
//! (`chapter`), volume, edition, subject and stage too, so a chapter filter includes its sections.
//! One collector counts every dimension in one pass. `vis` holds the visibility terms of
//! [`crate::access::Audience::terms`].

use super::tokenizer;
use tantivy::schema::{
    FAST, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions,
};

pub const ID: &str = "id";
pub const TEXT: &str = "text";
pub const FACETS: &str = "facets";
pub const VIS: &str = "vis";
pub const AUTHOR: &str = "author";
pub const QUALITY: &str = "quality";
pub const CREATED: &str = "created";

/// The facet dimensions, as the first part of a facet path.
pub const DIMENSIONS: &[&str] = &[
    "stage", "subject", "edition", "volume", "chapter", "section", "kind", "level", "school",
];

#[derive(Clone, Copy, Debug)]
pub struct Fields {
    pub id: Field,
    pub text: Field,
    pub facets: Field,
    pub vis: Field,
    pub author: Field,
    pub quality: Field,
    pub created: Field,
}

/// The schema of this version of the index.
pub fn schema() -> Schema {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer::NAME)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    b.add_text_field(ID, STRING | STORED);
    b.add_text_field(TEXT, text);
    b.add_facet_field(FACETS, FacetOptions::default());
    b.add_text_field(VIS, STRING);
    b.add_text_field(AUTHOR, STRING);
    b.add_f64_field(QUALITY, FAST);
    b.add_i64_field(CREATED, FAST | INDEXED);
    b.build()
}

impl Fields {
    /// The fields of `schema` (built by [`schema`]).
    pub fn of(schema: &Schema) -> tantivy::Result<Self> {
        Ok(Self {
            id: schema.get_field(ID)?,
            text: schema.get_field(TEXT)?,
            facets: schema.get_field(FACETS)?,
            vis: schema.get_field(VIS)?,
            author: schema.get_field(AUTHOR)?,
            quality: schema.get_field(QUALITY)?,
            created: schema.get_field(CREATED)?,
        })
    }
}
