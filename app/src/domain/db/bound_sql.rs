//! SQL text and its bind values, built together.

use sqlx::{any::AnyArguments, AnyConnection, Arguments};

use super::Dialect;

/// SQL text and its bind values, built together so placeholders and values cannot drift
/// apart: a value is bound where its placeholder is written, in text order (SQLite's
/// anonymous placeholders take the values in the order they were bound).
///
/// SQLite gets anonymous `?` placeholders: SQLite looks every named one (`$7`) up in a
/// list, once when it parses the statement and once per bind (sqlx asks each parameter's
/// name), so a statement of n named parameters costs n² string comparisons. That was 6 %
/// of the server's CPU in the award profile (a 64-row insert of 14 columns) and 7 % in the
/// settlement profile (the worker's statements of up to 2,000 rows), all of it while
/// holding SQLite's write lock. PostgreSQL needs `$N`.
pub struct BoundSql {
    text: String,
    args: AnyArguments<'static>,
    count: usize,
    dialect: Dialect,
}

impl BoundSql {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            text: String::new(),
            args: AnyArguments::default(),
            count: 0,
            dialect,
        }
    }

    /// For a statement to run on `conn`.
    pub fn for_connection(conn: &AnyConnection) -> Self {
        Self::new(match conn.backend_name() {
            "SQLite" => Dialect::Sqlite,
            _ => Dialect::Postgres,
        })
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Binds `value` and returns its placeholder, to be written next in the text.
    pub fn bind<T>(&mut self, value: T) -> String
    where
        T: sqlx::Encode<'static, sqlx::Any> + sqlx::Type<sqlx::Any> + 'static,
    {
        // Encoding integers, strings and NULLs for the Any driver does not fail.
        self.args.add(value).expect("encode a bind value");
        self.count += 1;
        match self.dialect {
            Dialect::Sqlite => "?".to_owned(),
            Dialect::Postgres => format!("${}", self.count),
        }
    }

    /// The statement with its values (taken: call once, when the text is complete).
    pub fn query(&mut self) -> sqlx::query::Query<'_, sqlx::Any, AnyArguments<'_>> {
        let args = std::mem::take(&mut self.args);
        sqlx::query_with(&self.text, args)
    }
}
