//! The request properties of `tests/request_properties.rs`, 1,000,000 cases
//! each (or `MAILGRANT_PROPTEST_CASES`), with the time each took:
//! `cargo bench -p mailgrant-server --bench request_properties`.

#[path = "../tests/request_properties.rs"]
mod request_properties;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!(
            "request_properties: a benchmark; run it with `cargo bench -p mailgrant-server --bench request_properties`"
        );
        return;
    }
    request_properties::bench();
    assert!(
        request_properties::store_unchanged(),
        "the requests changed the stored credentials"
    );
    println!("stored credentials unchanged");
}
