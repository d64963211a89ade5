//! Operator commands on the store: users, messages, keys.

use std::sync::Arc;

use anyhow::{Context, bail};
use mailgrant::config::AuthorizedUser;
use mailgrant::crypto::Keyring;
use mailgrant::files::{self, Existing};
use mailgrant::rotation::reencrypt_all;
use mailgrant::store::StoredCredential;
use mailgrant::{ExposeSecret, SecretString};

use super::{KeysCommand, UsersCommand};
use crate::state::App;

pub(super) async fn resolve(app: &App, user: &str) -> anyhow::Result<StoredCredential> {
    let store = app.broker.store();
    let found = if user.contains('@') {
        store.find_by_email(user).await?
    } else {
        store.get(user).await?
    };
    found.with_context(|| format!("no stored user {user}"))
}

/// Turns "authorize again" into a message that names the user and the URL.
pub(super) fn explain(user: &StoredCredential) -> impl Fn(mailgrant::Error) -> anyhow::Error + '_ {
    move |error| match error {
        mailgrant::Error::ReauthorizationRequired {
            authorization_url,
            reason,
            ..
        } => anyhow::anyhow!(
            "user {} ({}) must authorize again: {reason}; send them to {authorization_url}",
            user.email.as_deref().unwrap_or("-"),
            user.user_id
        ),
        other => other.into(),
    }
}

fn status(credential: &StoredCredential) -> String {
    match &credential.revoked {
        Some(revocation) => format!("revoked ({})", revocation.reason),
        None => "active".to_owned(),
    }
}

pub(super) async fn users(command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::List { google } => {
            let app = google.app().await?;
            let mut after: Option<String> = None;
            loop {
                let page = app.broker.store().list(after.as_deref(), 200).await?;
                for user in &page {
                    println!(
                        "{}\t{}\t{}",
                        user.user_id,
                        user.email.as_deref().unwrap_or("-"),
                        status(user)
                    );
                }
                match page.last() {
                    Some(last) if page.len() == 200 => after = Some(last.user_id.clone()),
                    _ => return Ok(()),
                }
            }
        }
        UsersCommand::Show { user, google } => {
            let app = google.app().await?;
            let user = resolve(&app, &user).await?;
            println!("id:            {}", user.user_id);
            println!("email:         {}", user.email.as_deref().unwrap_or("-"));
            println!("name:          {}", user.name.as_deref().unwrap_or("-"));
            println!("status:        {}", status(&user));
            println!(
                "refresh token: {}",
                if user.refresh_token.is_some() {
                    "stored (encrypted)"
                } else {
                    "none"
                }
            );
            println!("scopes:        {}", user.scopes.join(" "));
            super::events::show(app.events.store().as_ref(), &user.user_id).await
        }
        UsersCommand::Token { user, google } => {
            let app = google.app().await?;
            let user = resolve(&app, &user).await?;
            let token = app
                .broker
                .access_token(&user.user_id)
                .await
                .map_err(explain(&user))?;
            let remaining = token.expires_at - mailgrant::store::now_unix();
            eprintln!(
                "expires in {}s; scopes: {}",
                remaining,
                token.scopes.join(" ")
            );
            println!("{}", expose(&token.access_token));
            Ok(())
        }
        UsersCommand::Revoke { user, google } => {
            let app = google.app().await?;
            let user = resolve(&app, &user).await?;
            if !app.disconnect(&user.user_id).await? {
                bail!("no stored user {}", user.user_id);
            }
            println!("revoked at Google and deleted: {}", user.user_id);
            Ok(())
        }
        UsersCommand::Recheck { user, google } => {
            let app = google.app().await?;
            let user = resolve(&app, &user).await?;
            let reinstated = app
                .broker
                .recheck(&user.user_id)
                .await
                .map_err(explain(&user))?;
            if reinstated {
                println!(
                    "Google accepts the stored grant again: {} is active",
                    user.user_id
                );
            } else {
                println!(
                    "Google accepts the stored grant: {} is active",
                    user.user_id
                );
            }
            Ok(())
        }
        UsersCommand::Export {
            user,
            output,
            google,
        } => {
            let app = google.app().await?;
            let user = resolve(&app, &user).await?;
            let refresh_token = app
                .broker
                .export_refresh_token(&user.user_id)
                .await
                .map_err(explain(&user))?;
            let client = app.broker.oauth();
            // The format google-auth's `Credentials.from_authorized_user_info` reads.
            let json = serde_json::json!({
                "type": "authorized_user",
                "client_id": client.client_id(),
                "client_secret": client.client_secret().expose_secret(),
                "refresh_token": expose(&refresh_token),
                "account": user.email,
                "universe_domain": "googleapis.com",
            });
            let text = serde_json::to_string_pretty(&json)?;
            match output {
                Some(path) => {
                    write_private(&path, &text)?;
                    eprintln!(
                        "wrote {} (it holds a refresh token: keep it private)",
                        path.display()
                    );
                }
                None => println!("{text}"),
            }
            Ok(())
        }
        UsersCommand::Import { file, google } => {
            let app = google.app().await?;
            let grant = AuthorizedUser::load(&file)?;
            let client_id = &grant.client_id;
            let ours = app.broker.oauth().client_id();
            if client_id != ours {
                bail!(
                    "{} holds a grant to OAuth client {client_id}; this server is client {ours}, and Google refreshes a token only for the client it was issued to",
                    file.display()
                );
            }
            let refresh_token = grant.refresh_token;
            let connected = app
                .broker
                .import_refresh_token(&refresh_token)
                .await
                .with_context(|| {
                    format!(
                        "Google did not accept the refresh token in {}; nothing was stored",
                        file.display()
                    )
                })?;
            println!(
                "imported {}\t{}",
                connected.user.id,
                connected.user.email.as_deref().unwrap_or("-")
            );
            Ok(())
        }
    }
}

pub(super) async fn keys(command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Generate => {
            println!("{}", Keyring::generate_config_value());
            Ok(())
        }
        KeysCommand::Rotate { store } => {
            let (credentials, keys) = store.open().await?;
            let keys = if store.encryption_key.is_some() {
                keys
            } else {
                // Key file: a new key in front, written before any token uses it.
                let rotated = Arc::unwrap_or_clone(keys).rotated();
                let path = rotated.write_key_file(&store.data_dir)?;
                eprintln!(
                    "new key {} is current in {}",
                    rotated.current_key_id(),
                    path.display()
                );
                Arc::new(rotated)
            };
            let report = reencrypt_all(credentials.as_ref(), &keys).await?;
            println!(
                "re-encrypted {} users with key {}; {} already on it",
                report.reencrypted,
                keys.current_key_id(),
                report.unchanged
            );
            println!("older keys are no longer needed by stored tokens and can be removed");
            Ok(())
        }
    }
}

/// Writes `text` to `path` with 0600 rights, whole or not at all.
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    files::write_private(path, &format!("{text}\n"), Existing::Replace)
        .with_context(|| format!("writing {}", path.display()))
}

/// The one place the CLI prints a token: the operator asked for it.
fn expose(token: &SecretString) -> &str {
    token.expose_secret()
}
