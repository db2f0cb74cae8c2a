//! A service's Postgres schema and its migrations.
//!
//! Each service owns one schema (`intake`, `scheduling`, ...). Its migrations
//! and this crate's (the outbox and inbox tables) run as one list, with the
//! search path set to the schema, so the migrations table
//! (`<schema>._sqlx_migrations`) and the messaging tables land in the service's
//! own schema and a service's database role needs nothing outside it.

use sqlx::migrate::{Migration, Migrator};
use sqlx::{Connection, PgConnection};
use std::borrow::Cow;

/// A validated schema name, safe to splice into SQL as an identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema(String);

#[derive(Debug, thiserror::Error)]
#[error("schema name {0:?} must be 1-48 characters of a-z, 0-9 and '_', starting with a letter")]
pub struct InvalidSchema(String);

impl Schema {
    pub fn new(name: &str) -> Result<Self, InvalidSchema> {
        let mut chars = name.chars();
        let valid = (1..=48).contains(&name.len())
            && chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(InvalidSchema(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `schema.table`, for SQL built at start-up (never per message).
    pub fn table(&self, table: &str) -> String {
        format!("{}.{}", self.0, table)
    }
}

/// The messaging tables' migrations. Versions below 1000 belong to this crate;
/// services number theirs from timestamps, so the two never collide.
static MESSAGING: Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("could not connect to Postgres to migrate schema {schema}")]
    Connect {
        schema: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("could not prepare schema {schema}")]
    Prepare {
        schema: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("migrating schema {schema} failed")]
    Migrate {
        schema: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

/// Creates the schema if needed and applies the messaging migrations and the
/// service's own, in version order, inside that schema.
///
/// Safe to run from several replicas at once: sqlx takes an advisory lock.
pub async fn migrate(
    database_url: &str,
    schema: &Schema,
    service_migrations: &Migrator,
) -> Result<(), MigrateError> {
    let name = schema.as_str().to_owned();
    let mut conn = PgConnection::connect(database_url)
        .await
        .map_err(|source| MigrateError::Connect {
            schema: name.clone(),
            source,
        })?;
    let prepare = format!(
        "CREATE SCHEMA IF NOT EXISTS {0}; SET search_path TO {0}",
        schema.as_str()
    );
    // Two replicas creating the schema at once may race; the loser sees a
    // unique violation and finds the schema there on its second try.
    if sqlx::raw_sql(&prepare).execute(&mut conn).await.is_err() {
        sqlx::raw_sql(&prepare)
            .execute(&mut conn)
            .await
            .map_err(|source| MigrateError::Prepare {
                schema: name.clone(),
                source,
            })?;
    }

    let mut all: Vec<Migration> = MESSAGING.iter().cloned().collect();
    all.extend(service_migrations.iter().cloned());
    all.sort_by_key(|m| m.version);
    let combined = Migrator {
        migrations: Cow::Owned(all),
        ..Migrator::DEFAULT
    };
    combined
        .run(&mut conn)
        .await
        .map_err(|source| MigrateError::Migrate {
            schema: name,
            source,
        })?;
    let _ = conn.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_that_could_inject_sql_are_refused() {
        assert!(Schema::new("intake").is_ok());
        assert!(Schema::new("t_0a1b").is_ok());
        for bad in ["", "Intake", "a;drop", "a.b", "1a", &"a".repeat(49)] {
            assert!(Schema::new(bad).is_err(), "{bad:?}");
        }
    }
}
