//! The mailgrant server: an axum app around the `mailgrant` library, and the
//! `mailgrant` command line.

pub mod api_keys;
pub mod cli;
pub mod error;
pub mod routes;
pub mod session;
pub mod state;

pub use routes::router;
pub use state::{App, AppState, Settings};

/// mimalloc instead of glibc's malloc for the binary, its tests and its
/// benchmarks. Serving and syncing Gmail is allocation-heavy (JSON, MIME,
/// many small strings, freed on another thread than the one that
/// allocated them); with glibc's allocator, malloc and free were a fifth of
/// the CPU profile of a mailbox sync, and the sync took about 15 % longer
/// (BENCHMARKS.md, "Gmail sync"). Declared here rather than in `main.rs` so
/// that the benchmarks, which link this library, run with the allocator
/// the binary ships with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
