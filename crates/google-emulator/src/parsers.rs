//! The emulator's parsers of outside input (mbox files, RFC 2822 headers
//! and dates, Gmail's `q`, batch requests), reachable from its property
//! tests and their benchmark (`tests/parser_properties.rs`,
//! `benches/parser_properties.rs`). Not an API: hidden from the docs, and
//! free to change.

pub use crate::date::{parse_rfc2822 as parse_date, rfc2822 as write_date};
pub use crate::gmail::batch::wire::{
    PartRequest, boundary as batch_boundary, content_id as batch_content_id,
    parse_part as parse_batch_part,
};
pub use crate::mailbox::{Address, Mailbox, Message};
pub use crate::mbox::{import as import_mbox, split as split_mbox};
pub use crate::multipart::split as split_multipart;
pub use crate::rfc2822::{
    addresses, decode_words, field, headers, media_type, parameter, quoted_printable, split_head,
};
pub use crate::search::{Expr, Query, Target, Term};
