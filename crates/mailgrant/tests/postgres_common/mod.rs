//! A PostgreSQL schema of its own for each test, in the database at
//! `MAILGRANT_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`, which `.ci/run` starts).

#![allow(
    dead_code,
    reason = "each test file that uses PostgreSQL uses a different part"
)]

use sqlx::Connection as _;

pub fn postgres_url() -> String {
    std::env::var("MAILGRANT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema of its own in the test database, dropped when the test ends.
pub struct Schema {
    name: String,
}

impl Schema {
    pub async fn new() -> Self {
        let name = format!("mailgrant_test_{:016x}", rand::random::<u64>());
        let mut connection = sqlx::PgConnection::connect(&postgres_url())
            .await
            .expect("PostgreSQL answers at MAILGRANT_TEST_POSTGRES_URL (see .ci/run)");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut connection)
            .await
            .unwrap();
        Self { name }
    }

    /// The test database, with this schema first on the search path.
    pub fn url(&self) -> String {
        let base = postgres_url();
        let separator = if base.contains('?') { '&' } else { '?' };
        format!("{base}{separator}options=-c%20search_path%3D{}", self.name)
    }
}

impl Schema {
    /// Runs `sql` in this schema, behind the stores' backs.
    pub async fn execute(&self, sql: &str) {
        let mut connection = sqlx::PgConnection::connect(&self.url()).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut connection)
            .await
            .unwrap();
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // A blocking connection of its own: the test's runtime may be gone.
        let (url, name) = (postgres_url(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let mut connection = sqlx::PgConnection::connect(&url).await?;
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {name} CASCADE")))
                        .execute(&mut connection)
                        .await
                })
        })
        .join();
        if !matches!(dropped, Ok(Ok(_))) {
            eprintln!("could not drop the test schema {}: {dropped:?}", self.name);
        }
    }
}
