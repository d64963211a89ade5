//! The parser properties of `tests/parser_properties.rs`, 1,000,000 cases
//! each (or `MAILGRANT_PROPTEST_CASES`), with the time each took:
//! `cargo bench -p google-emulator --bench parser_properties`.

#[path = "../tests/parser_properties.rs"]
mod parser_properties;

fn main() {
    parser_properties::bench();
}
