//! Runs the parser properties of `tests/parser_properties.rs`, this crate's
//! and the emulator's: 10,000 cases each under `cargo test`, 1,000,000 each
//! in the `parser_properties` benchmark, `MAILGRANT_PROPTEST_CASES` in
//! either when it is set.
//!
//! A property is written once, with [`properties!`]; it becomes a `#[test]`
//! of the same name and an entry of the benchmark. The generators both
//! crates' properties use (pieces of input, line ends, batch bodies) are
//! here too.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// One property: runs its cases, `Err` naming the smallest failing input.
pub type Property = fn(&mut TestRunner) -> Result<(), String>;

fn runner(default_cases: u32) -> TestRunner {
    let cases = match std::env::var("MAILGRANT_PROPTEST_CASES") {
        Ok(value) => value
            .parse()
            .expect("MAILGRANT_PROPTEST_CASES is a number of cases"),
        Err(_) => default_cases,
    };
    TestRunner::new(Config {
        cases,
        // A failure found is kept as an ordinary #[test], not in a file.
        failure_persistence: None,
        ..Config::default()
    })
}

/// Runs `property` as a test: 10,000 cases.
#[allow(
    dead_code,
    reason = "the `#[test]`s call it, which a benchmark build leaves out"
)]
pub fn check(property: Property) {
    if let Err(failure) = property(&mut runner(10_000)) {
        panic!("{failure}");
    }
}

/// Runs every property with 1,000,000 cases and prints how long each took;
/// exits with 1 when one fails. Words on the command line (`cargo bench
/// ... -- mbox`) keep only the properties whose names hold one of them.
pub fn bench(properties: &[(&str, Property)]) {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this
    // target without it, and a million cases do not belong in a test run.
    if !std::env::args().any(|a| a == "--bench") {
        println!("a benchmark: run it with `cargo bench --bench <this target>`");
        return;
    }
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let chosen = properties.iter().filter(|(name, _)| {
        filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
    });
    let mut failed = 0;
    for (name, property) in chosen {
        let mut runner = runner(1_000_000);
        let cases = runner.config().cases;
        let start = std::time::Instant::now();
        let outcome = property(&mut runner);
        let elapsed = start.elapsed();
        println!(
            "{name}: {cases} cases in {:.2} s ({:.1} µs a case)",
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / f64::from(cases.max(1))
        );
        if let Err(failure) = outcome {
            println!("  FAILED: {failure}");
            failed += 1;
        }
    }
    if failed > 0 {
        std::process::exit(1);
    }
}

/// Strings that match `regex`, compiled once: a bare `&str` strategy
/// compiles its regex again for every value, which was most of the time.
pub fn pattern(regex: &str) -> BoxedStrategy<String> {
    proptest::string::string_regex(regex)
        .expect("a valid regex")
        .boxed()
}

/// Strings of `len` characters from `set`: for long ones, several times
/// cheaper to generate than a regex's character class.
pub fn text_of(
    set: impl IntoIterator<Item = char>,
    len: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = String> {
    let set: Vec<char> = set.into_iter().collect();
    prop::collection::vec(prop::sample::select(set), len).prop_map(String::from_iter)
}

/// Text made of `pieces` side by side, up to `max` of them: inputs that reach
/// deeper into a parser than random bytes do.
pub fn fragments(pieces: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(pieces), 0..=max).prop_map(|p| p.concat())
}

/// Up to `max` arbitrary bytes.
pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

/// A line end as mail and batch bodies have them: CRLF, or a bare LF.
pub fn line_end() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["\r\n", "\n"][..])
}

/// How a batch body (https://developers.google.com/gmail/api/guides/batch)
/// is framed: its boundary, the content type that names it, line ends and
/// a preamble.
#[derive(Clone, Debug)]
pub struct Framing {
    pub boundary: String,
    pub content_type: String,
    pub eol: &'static str,
    pub preamble: String,
}

/// A framing with a boundary of RFC 2046's characters, named in the
/// content type quoted, bare, or bare with no space and other letter case.
pub fn framing() -> impl Strategy<Value = Framing> {
    (
        pattern("[A-Za-z0-9_.=+-]{1,30}"),
        prop::sample::select(&["quoted", "bare", "terse"][..]),
        line_end(),
        pattern("[a-z ]{0,20}"),
    )
        .prop_map(|(boundary, form, eol, preamble)| {
            let content_type = match form {
                "quoted" => format!("multipart/mixed; boundary=\"{boundary}\""),
                "bare" => format!("multipart/mixed; boundary={boundary}"),
                _ => format!("Multipart/Mixed;boundary={boundary}"),
            };
            Framing {
                boundary,
                content_type,
                eol,
                preamble,
            }
        })
}

impl Framing {
    /// The body: each `(Content-ID, HTTP message)` of `parts` an
    /// `application/http` part between `--boundary` lines.
    pub fn body(&self, parts: &[(Option<String>, String)]) -> Vec<u8> {
        let Self {
            boundary,
            eol,
            preamble,
            ..
        } = self;
        let mut out = format!("{preamble}{eol}");
        for (content_id, http) in parts {
            out.push_str(&format!(
                "--{boundary}{eol}Content-Type: application/http{eol}"
            ));
            if let Some(id) = content_id {
                out.push_str(&format!("Content-ID: {id}{eol}"));
            }
            out.push_str(&format!("{eol}{http}{eol}"));
        }
        out.push_str(&format!("--{boundary}--{eol}epilogue"));
        out.into_bytes()
    }
}

/// The body of one part of a batch: JSON-ish text of up to 80 characters,
/// with no `-`, so that it holds no delimiter, and no CR, which would join
/// the line break in front of the next delimiter.
pub fn part_body() -> impl Strategy<Value = String> {
    text_of(
        "abcdefghijklmnopqrstuvwxyz0123456789{}\":,[] \n".chars(),
        0..=80,
    )
}

/// An HTTP message: its start line, header lines, an empty line and the
/// body, lines ending in `eol`.
pub fn http_message(
    start_line: &str,
    headers: &[(String, String)],
    body: &str,
    eol: &str,
) -> String {
    let mut out = format!("{start_line}{eol}");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}{eol}"));
    }
    out.push_str(&format!("{eol}{body}"));
    out
}

/// Declares properties. Each
///
/// ```ignore
/// /// What it checks.
/// fn a_sentence_saying_what_holds(input in strategy, other in strategy) {
///     prop_assert!(...);
/// }
/// ```
///
/// becomes `property::a_sentence_saying_what_holds` (a [`Property`]), a
/// `#[test]` of that name under `cargo test`, and a line of `bench()`.
macro_rules! properties {
    ($(
        $(#[$meta:meta])*
        fn $name:ident($($input:pat in $strategy:expr),+ $(,)?) $body:block
    )*) => {
        /// The properties, as [`property_common::Property`] functions.
        mod property {
            use super::*;
            $(
                $(#[$meta])*
                pub fn $name(runner: &mut proptest::test_runner::TestRunner) -> Result<(), String> {
                    runner
                        .run(&($($strategy,)+), |($($input,)+)| {
                            $body
                            Ok(())
                        })
                        .map_err(|failure| failure.to_string())
                }
            )*
        }

        $(
            $(#[$meta])*
            #[test]
            fn $name() {
                property_common::check(property::$name);
            }
        )*

        /// Runs every property, for the benchmark.
        #[allow(dead_code, reason = "the benchmark calls it, `cargo test` does not")]
        pub fn bench() {
            property_common::bench(&[
                $((stringify!($name), property::$name as property_common::Property),)*
            ]);
        }
    };
}
pub(crate) use properties;
