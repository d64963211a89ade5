//! `mailgrant messages list` and `mailgrant messages sync`: a stored user's
//! mailbox as JSON lines, with a progress bar and a state file for
//! incremental runs.

use std::io::{BufWriter, IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use mailgrant::gmail::{
    ListMessages, MessageFormat, SyncError, SyncKind, SyncOptions, SyncProgress, SyncRecord,
    SyncReport, SyncSink,
};
use mailgrant::store::StoredCredential;
use serde::{Deserialize, Serialize};

use super::operator::{explain, resolve};
use super::{MessagesCommand, SyncFormat};
use crate::state::App;

pub(super) async fn messages(command: MessagesCommand) -> anyhow::Result<()> {
    match command {
        MessagesCommand::List {
            user,
            query,
            max_results,
            google,
        } => {
            let app = google.app().await?;
            let user = resolve(&app, &user).await?;
            let params = ListMessages {
                q: query,
                max_results: Some(max_results),
                page_token: None,
                ..ListMessages::default()
            };
            let page = app
                .gmail
                .user(&user.user_id)
                .list_messages(&params)
                .await
                .map_err(explain(&user))?;
            for message in page.messages {
                println!("{}\t{}", message.id, message.thread_id);
            }
            Ok(())
        }
        MessagesCommand::Sync {
            user,
            query,
            format,
            headers,
            output,
            state,
            google,
        } => {
            let app = google.app().await?;
            let user = resolve(&app, &user).await?;
            let options = SyncOptions {
                query,
                format: message_format(format),
                metadata_headers: headers,
                include_spam_trash: false,
            };
            sync(&app, &user, options, output, state).await
        }
    }
}

fn message_format(format: SyncFormat) -> MessageFormat {
    match format {
        SyncFormat::Minimal => MessageFormat::Minimal,
        SyncFormat::Metadata => MessageFormat::Metadata,
        SyncFormat::Full => MessageFormat::Full,
        SyncFormat::Raw => MessageFormat::Raw,
    }
}

/// `messages sync`: JSON lines out, a progress bar and a summary on stderr,
/// and the new history id in the state file once everything is written.
async fn sync(
    app: &App,
    user: &StoredCredential,
    options: SyncOptions,
    output: Option<PathBuf>,
    state_path: Option<PathBuf>,
) -> anyhow::Result<()> {
    let fresh = SyncState {
        user_id: user.user_id.clone(),
        history_id: String::new(),
        query: options.query.clone(),
        format: options.format,
        metadata_headers: options.metadata_headers.clone(),
    };
    let since = match &state_path {
        Some(path) => match SyncState::load(path)? {
            Some(old) => old.start_for(&fresh, path)?,
            None => None,
        },
        None => None,
    };
    let out: Box<dyn Write> = match &output {
        Some(path) => Box::new(
            std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let mut sink = JsonLines {
        out: BufWriter::new(out),
        bar: progress_bar(output.is_none()),
    };
    let started = Instant::now();
    let result = app
        .gmail
        .user(&user.user_id)
        .sync(since.as_deref(), &options, &mut sink)
        .await;
    sink.bar.finish_and_clear();
    let written = |e: std::io::Error| {
        let to = output
            .as_ref()
            .map_or("stdout".to_owned(), |p| p.display().to_string());
        anyhow::Error::new(e).context(format!("writing the records to {to}"))
    };
    let report = match result {
        Ok(report) => report,
        Err(SyncError::Gmail(error)) => return Err(explain(user)(*error)),
        Err(SyncError::Sink(error)) => return Err(written(error)),
    };
    sink.out.flush().map_err(written)?;
    if let Some(path) = &state_path {
        SyncState {
            history_id: report.history_id.clone(),
            ..fresh
        }
        .save(path)?;
    }
    eprintln!("{}", summary(user, &report, started.elapsed()));
    Ok(())
}

/// One line: which sync, what it sent, how long it took.
fn summary(user: &StoredCredential, report: &SyncReport, elapsed: Duration) -> String {
    let who = user.email.as_deref().unwrap_or(&user.user_id);
    let kind = match &report.kind {
        SyncKind::Incremental => "incremental sync".to_owned(),
        SyncKind::FullAfterExpiry { expired_history_id } => {
            format!("full sync (history from {expired_history_id} has expired)")
        }
        _ => "full sync".to_owned(),
    };
    let mut line = format!(
        "{kind} of {who}: {} messages, {} deleted, {} unmatched",
        report.messages, report.deleted, report.unmatched
    );
    if report.kind == SyncKind::Incremental {
        line.push_str(&format!(" from {} history records", report.history_records));
    }
    if report.vanished > 0 {
        line.push_str(&format!(", {} deleted while listing", report.vanished));
    }
    line.push_str(&format!(
        " in {:.1}s; history id {}",
        elapsed.as_secs_f64(),
        report.history_id
    ));
    line
}

/// What `--state FILE` keeps between runs.
#[derive(Debug, Serialize, Deserialize)]
struct SyncState {
    user_id: String,
    history_id: String,
    query: Option<String>,
    format: MessageFormat,
    #[serde(default)]
    metadata_headers: Vec<String>,
}

impl SyncState {
    fn load(path: &Path) -> anyhow::Result<Option<Self>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        serde_json::from_str(&text).map(Some).with_context(|| {
            format!(
                "{} is not a sync state file; remove it to sync everything again",
                path.display()
            )
        })
    }

    /// Where this run starts: this state's history id if it was written
    /// for the same selection; a full sync (`None`) if the selection
    /// changed, since the old output holds other messages or shapes.
    fn start_for(self, run: &SyncState, path: &Path) -> anyhow::Result<Option<String>> {
        if self.user_id != run.user_id {
            bail!(
                "{} holds the sync state of user {}, not {}; use another --state file",
                path.display(),
                self.user_id,
                run.user_id
            );
        }
        if (&self.query, self.format, &self.metadata_headers)
            != (&run.query, run.format, &run.metadata_headers)
        {
            eprintln!(
                "{} was written for another --query, --format or --header; doing a full sync",
                path.display()
            );
            return Ok(None);
        }
        Ok(Some(self.history_id).filter(|id| !id.is_empty()))
    }

    /// Written whole or not at all: a temporary file, then a rename.
    fn save(&self, path: &Path) -> anyhow::Result<()> {
        let temporary = path.with_extension("tmp");
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(&temporary, text + "\n")
            .and_then(|()| std::fs::rename(&temporary, path))
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// The sync's records as JSON lines, and its progress on the bar.
struct JsonLines<W: Write> {
    out: W,
    bar: ProgressBar,
}

impl<W: Write> SyncSink for JsonLines<W> {
    type Error = std::io::Error;

    fn record(&mut self, record: SyncRecord) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, &record)?;
        self.out.write_all(b"\n")
    }

    fn progress(&mut self, progress: SyncProgress) {
        if self.bar.length() != Some(progress.total) {
            self.bar.set_length(progress.total);
        }
        self.bar.set_position(progress.done);
    }
}

/// Count, rate and ETA on stderr; nothing when stderr is not a terminal
/// (a log file or a pipe gets only the summary), nor when the records
/// themselves scroll by on the same terminal.
fn progress_bar(records_to_stdout: bool) -> ProgressBar {
    let stdout_shown = records_to_stdout && std::io::stdout().is_terminal();
    if !std::io::stderr().is_terminal() || stdout_shown {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{spinner} {pos}/{len} messages [{wide_bar}] {rate} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key(
        "rate",
        |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/s", state.per_sec());
        },
    )
    .progress_chars("=> ");
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
